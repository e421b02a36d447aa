package pvuv_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/connector/redis"
	"github.com/weirstream/weir/weirtest"
)

// endpointOf parses the URL of a test's Redis server.
func endpointOf(t testing.TB, url string) redis.Endpoint {
	t.Helper()
	e, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// generateWith writes n generated lines to a file and returns its path and
// contents.
func generateWith(t testing.TB, opts []datagen.Option, n int) (path string, data []byte) {
	t.Helper()
	g, err := datagen.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := g.WriteLines(&buf, n); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, buf.Bytes()
}

// output is what one run of the job produced.
type output struct {
	results  []pvuv.Result
	days     []pvuv.DayResult
	counters *pvuv.Counters
}

// run is one run of the job: its input and settings.
type run struct {
	path        string
	parallelism int
	splits      int // the file is read in this many splits (default 1)
	// lines, if set, are read instead of the file, from a slice source
	// that returns batch lines per poll (a barrier waits for no more).
	lines []string
	batch int
	opts  pvuv.Options
	env   []weir.EnvOption
	// between, if set, goes between the source and the job, to gate or
	// fail the lines; results are the collector of Job.Results.
	between func(env *weir.Env, lines weir.Stream[string], results *weirtest.Collector[pvuv.Result]) weir.Stream[string]
	// redis, if set, is the URL of a Redis that the job writes to with
	// Job.SinkToRedis under the prefix "job", as weir pvuv does.
	redis string
}

func (r run) execute(t testing.TB) output {
	t.Helper()
	p := max(r.parallelism, 1)
	env := weir.NewEnv(append([]weir.EnvOption{weir.Parallelism(p)}, r.env...)...)
	var lines weir.Stream[string]
	if r.lines != nil {
		src := weirtest.FromSlice(r.lines...)
		src.BatchSize = r.batch
		lines = weir.FromSource(env, src)
	} else {
		var opts []file.SourceOption
		if r.splits > 1 {
			st, err := os.Stat(r.path)
			if err != nil {
				t.Fatal(err)
			}
			opts = append(opts, file.SplitSize(st.Size()/int64(r.splits)+1))
		}
		src, err := file.NewSource(r.path, opts...)
		if err != nil {
			t.Fatal(err)
		}
		lines = weir.FromSource(env, src)
	}
	results := weirtest.NewCollector[pvuv.Result]()
	days := weirtest.NewCollector[pvuv.DayResult]()
	if r.between != nil {
		lines = r.between(env, lines, results)
	}
	job, err := pvuv.Build(lines, r.opts)
	if err != nil {
		t.Fatal(err)
	}
	weir.SinkTo(job.Results, results, weir.Parallelism(1))
	weir.SinkTo(job.Days, days, weir.Parallelism(1))
	if r.redis != "" {
		if err := job.SinkToRedis(endpointOf(t, r.redis), "job"); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Execute(context.Background(), "pvuv"); err != nil {
		t.Fatal(err)
	}
	return output{results: results.Records(), days: days.Records(), counters: job.Counters}
}

// failAfterCheckpoint returns a step for run.between that fails the job
// once, when a checkpoint completed that started after a fifth of the
// lines went through; until then it slows every line down so that one
// can (the windows then hold state). failed reports whether it failed.
// The job must take checkpoints and restart.
func failAfterCheckpoint(lines int) (between func(*weir.Env, weir.Stream[string], *weirtest.Collector[pvuv.Result]) weir.Stream[string], failed func() bool) {
	var seen atomic.Int64
	var armed atomic.Int64 // Unix ns when a fifth of the lines were read
	var done atomic.Bool
	fifth := int64(lines / 5)
	between = func(env *weir.Env, in weir.Stream[string], _ *weirtest.Collector[pvuv.Result]) weir.Stream[string] {
		return weir.Process(in, func(_ *weir.Context, line string, out weir.Emitter[string]) error {
			if n := seen.Add(1); n == fifth {
				armed.Store(time.Now().UnixNano())
			}
			if since := armed.Load(); since != 0 && !done.Load() {
				for _, c := range env.CheckpointStats() {
					if c.Status == "completed" && c.Started.UnixNano() > since {
						done.Store(true)
						return errors.New("injected failure")
					}
				}
				time.Sleep(time.Millisecond)
			}
			out.Emit(line)
			return nil
		}, weir.Name("fail"))
	}
	return between, done.Load
}

// finals returns the last final result of every window, by window start.
func finals(rs []pvuv.Result) map[int64]pvuv.Result {
	out := map[int64]pvuv.Result{}
	for _, r := range rs {
		if !r.Running {
			out[r.WindowStart.UnixMilli()] = r
		}
	}
	return out
}

// dayFinals returns the last final result of every day, by day.
func dayFinals(ds []pvuv.DayResult) map[time.Time]pvuv.DayResult {
	out := map[time.Time]pvuv.DayResult{}
	for _, d := range ds {
		if !d.Running {
			out[d.Day] = d
		}
	}
	return out
}

// truth is the exact PV and distinct clients of each window and each UTC
// day of the input, computed directly.
type truth struct {
	windows map[int64]count // by window start, Unix ms
	days    map[time.Time]count
}

type count struct{ pv, uv int64 }

func exact(t testing.TB, data []byte, size time.Duration) truth {
	t.Helper()
	wins := map[int64]map[string]int64{}
	days := map[time.Time]map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var h pvuv.Hit
		if pvuv.ParseString(sc.Text(), &h) != "" {
			continue
		}
		w := h.Time.Truncate(size).UnixMilli()
		d := h.Time.UTC().Truncate(24 * time.Hour)
		if wins[w] == nil {
			wins[w] = map[string]int64{}
		}
		if days[d] == nil {
			days[d] = map[string]int64{}
		}
		wins[w][h.Client]++
		days[d][h.Client]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	sum := func(m map[string]int64) count {
		c := count{uv: int64(len(m))}
		for _, n := range m {
			c.pv += n
		}
		return c
	}
	tr := truth{windows: map[int64]count{}, days: map[time.Time]count{}}
	for w, m := range wins {
		tr.windows[w] = sum(m)
	}
	for d, m := range days {
		tr.days[d] = sum(m)
	}
	return tr
}

// withinHLLError reports whether estimate is within three standard errors
// of the exact count (and within 1, for tiny counts).
func withinHLLError(estimate, exact int64) bool {
	tolerance := max(3*pvuv.HLLStandardError*float64(exact), 1)
	d := float64(estimate - exact)
	return -tolerance <= d && d <= tolerance
}
