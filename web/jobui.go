package web

import (
	"embed"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/weirstream/weir"
)

// The job UI: one page of plain JavaScript modules, embedded, drawn with
// SVG. It uses only the API below and the others of Handler.

//go:embed ui
var uiFiles embed.FS

// uiPolicy lets the page load and fetch from its own origin only.
const uiPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// grapher is implemented by jobs that describe their graph (*weir.Env).
type grapher interface{ Graph() weir.JobGraph }

// filler is implemented by jobs that measure their channels (*weir.Env).
type filler interface{ Channels() []weir.ChannelFill }

// clusterFiller is implemented by jobs that may run on several workers
// (*weir.Env): the fill of every worker's channels.
type clusterFiller interface{ ClusterChannels() []weir.ChannelFill }

// failer is implemented by jobs that keep their failures (*weir.Env).
type failer interface{ Exceptions() []weir.JobException }

// bottleneckWindow is how far back GET /api/bottleneck looks: long enough
// to smooth a burst, short enough to follow a change.
const bottleneckWindow = 10 * time.Second

// mountUI adds the job UI and its APIs to mux.
func mountUI(mux *http.ServeMux, job Job, hist *History) {
	ui, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // cannot happen: the directory is embedded
	}
	static := http.StripPrefix("/ui/", http.FileServerFS(ui))
	mux.HandleFunc("GET /ui/", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", uiPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache") // embedded files have no time: revalidate
		static.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /api/graph", func(w http.ResponseWriter, r *http.Request) {
		g, ok := job.(grapher)
		if !ok {
			writeError(w, http.StatusNotFound, "web: this job does not describe its graph")
			return
		}
		writeJSON(w, http.StatusOK, g.Graph())
	})
	mux.HandleFunc("GET /api/channels", func(w http.ResponseWriter, r *http.Request) {
		out := []weir.ChannelFill{}
		if c, ok := job.(clusterFiller); ok {
			out = append(out, c.ClusterChannels()...)
		} else if f, ok := job.(filler); ok {
			out = append(out, f.Channels()...)
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /api/exceptions", func(w http.ResponseWriter, r *http.Request) {
		out := []weir.JobException{}
		if f, ok := job.(failer); ok {
			out = append(out, f.Exceptions()...)
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /api/restores", func(w http.ResponseWriter, r *http.Request) {
		out := []restoreJSON{}
		if rs, ok := job.(restorer); ok {
			for _, x := range rs.Restores() {
				out = append(out, restoreJSON{Time: x.Time, Path: x.Path, Checkpoint: x.Checkpoint})
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /api/subtasks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, subtasksOf(job))
	})
	mux.HandleFunc("GET /api/history", func(w http.ResponseWriter, r *http.Request) {
		since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
		hist.maybeSample(time.Now())
		writeJSON(w, http.StatusOK, historyJSON(hist, hist.Samples(since)))
	})
	mux.HandleFunc("GET /api/bottleneck", func(w http.ResponseWriter, r *http.Request) {
		hist.maybeSample(time.Now())
		var g weir.JobGraph
		if gr, ok := job.(grapher); ok {
			g = gr.Graph()
		}
		loads := recentLoads(hist.Samples(0))
		b := FindBottleneck(g, loads)
		writeJSON(w, http.StatusOK, bottleneckJSON{Bottleneck: b, Loads: loads, WindowMs: bottleneckWindow.Milliseconds()})
	})
	mux.HandleFunc("GET /api/profile", serveProfile)
}

type bottleneckJSON struct {
	Bottleneck
	// Loads are the shares of every chain the bottleneck was found from.
	Loads    map[string]Load `json:"loads"`
	WindowMs int64           `json:"window_ms"`
}

// recentLoads returns the chains' loads over the last bottleneckWindow of
// samples (or all of them when the history is shorter; since the job's
// start when there is one sample).
func recentLoads(samples []Sample) map[string]Load {
	if len(samples) == 0 {
		return map[string]Load{}
	}
	b := samples[len(samples)-1]
	a := Sample{Subtasks: make([]SubtaskSample, len(b.Subtasks))}
	for i, s := range b.Subtasks {
		a.Subtasks[i] = SubtaskSample{Chain: s.Chain, Subtask: s.Subtask} // zero counters: since the start
	}
	for i := len(samples) - 2; i >= 0; i-- {
		a = samples[i]
		if b.Time-a.Time >= bottleneckWindow.Milliseconds() {
			break
		}
	}
	return Loads(a, b)
}

// historyAnswer is GET /api/history's answer: samples as arrays of
// numbers, chains by index, to keep an hour of them small.
type historyAnswer struct {
	IntervalMs int64    `json:"interval_ms"`
	Chains     []string `json:"chains"`
	// Fields names the numbers of each subtask's array.
	Fields  []string       `json:"fields"`
	Samples []sampleAnswer `json:"samples"`
}

type sampleAnswer struct {
	Time     int64     `json:"t"`
	Subtasks [][]int64 `json:"s"`
}

var historyFields = []string{"chain", "subtask", "records_in", "records_out", "busy_ms", "idle_ms", "backpressured_ms", "input_watermark", "output_watermark"}

func historyJSON(h *History, samples []Sample) historyAnswer {
	out := historyAnswer{IntervalMs: h.Interval().Milliseconds(), Chains: []string{}, Fields: historyFields, Samples: make([]sampleAnswer, 0, len(samples))}
	index := map[string]int64{}
	for _, s := range samples {
		sa := sampleAnswer{Time: s.Time, Subtasks: make([][]int64, 0, len(s.Subtasks))}
		for _, st := range s.Subtasks {
			i, ok := index[st.Chain]
			if !ok {
				i = int64(len(out.Chains))
				index[st.Chain] = i
				out.Chains = append(out.Chains, st.Chain)
			}
			sa.Subtasks = append(sa.Subtasks, []int64{i, int64(st.Subtask), st.RecordsIn, st.RecordsOut,
				st.BusyMs, st.IdleMs, st.BackpressuredMs, st.InputWatermark, st.OutputWatermark})
		}
		out.Samples = append(out.Samples, sa)
	}
	return out
}

// taskTimingJSON is one task's part in a checkpoint: milliseconds from
// the trigger to each step (see weir.CheckpointTaskTiming), and the bytes
// it stored.
type taskTimingJSON struct {
	Task           string  `json:"task"`
	BarrierMs      float64 `json:"barrier_ms"`
	AlignmentEndMs float64 `json:"alignment_end_ms"`
	SnapshotEndMs  float64 `json:"snapshot_end_ms"`
	UploadEndMs    float64 `json:"upload_end_ms"`
	AckMs          float64 `json:"ack_ms"`
	Size           int64   `json:"size"`
}

func timings(m map[string]weir.CheckpointTaskTiming) []taskTimingJSON {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	out := make([]taskTimingJSON, 0, len(m))
	for _, task := range slices.Sorted(maps.Keys(m)) {
		t := m[task]
		out = append(out, taskTimingJSON{Task: task, BarrierMs: ms(t.Barrier), AlignmentEndMs: ms(t.Aligned),
			SnapshotEndMs: ms(t.Snapshotted), UploadEndMs: ms(t.Uploaded), AckMs: ms(t.Acknowledged), Size: t.Size})
	}
	return out
}

// restorer is implemented by jobs that keep their lineage (*weir.Env).
type restorer interface{ Restores() []weir.Restore }

type restoreJSON struct {
	Time       time.Time `json:"time"`
	Path       string    `json:"path"`
	Checkpoint int64     `json:"checkpoint"`
}
