package web

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// maxProfileSeconds bounds GET /api/profile's seconds.
const maxProfileSeconds = 60

// Frame is one node of a flame graph: a function, the samples of the
// stacks that pass through it here, and the functions it called.
type Frame struct {
	Name string `json:"name"`
	// Value is nanoseconds: of CPU, or in an off-CPU profile of time
	// goroutines spent in the stack.
	Value    int64    `json:"value"`
	Children []*Frame `json:"children,omitempty"`
}

// flameLimits bound a flame graph sent to a page: frames deeper than
// maxDepth are cut, and a frame below minShare of the total is folded
// into its parent.
const (
	maxDepth = 128
	minShare = 0.001
)

// serveProfile answers GET /api/profile?seconds=N[&operator=X][&kind=offcpu][&format=pprof]:
// a CPU profile of the next N seconds (default 10, at most 60), its
// samples filtered to those of operator X's subtasks (a chain, or an
// operator of one) when given, as a flame graph (JSON, Frame) or, with
// format=pprof, as the profile itself for go tool pprof. Only one CPU
// profile runs at a time in a process: another one (of /debug/pprof/
// profile, or of a second request) is answered 409.
//
// kind=offcpu profiles where the goroutines are instead of what burns
// CPU: the stacks of every goroutine, taken every 100 ms for N seconds
// (goroutineProfile), valued by the time they spent there, so that an
// operator that waits (on a channel, a lock, a slow call) shows where.
func serveProfile(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	seconds := 10
	if s := q.Get("seconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxProfileSeconds {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("web: seconds=%q: give a whole number of seconds from 1 to %d", s, maxProfileSeconds))
			return
		}
		seconds = n
	}
	kind := q.Get("kind")
	if kind != "" && kind != "cpu" && kind != "offcpu" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("web: kind=%s: use cpu (on-CPU samples) or offcpu (where goroutines wait)", quoteShort(kind)))
		return
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "pprof" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("web: format=%s: use json (a flame graph) or pprof (for go tool pprof)", quoteShort(format)))
		return
	}
	var p *profile.Profile
	var err error
	if kind == "offcpu" {
		p, err = goroutineProfile(r.Context(), time.Duration(seconds)*time.Second, offCPUInterval)
	} else {
		p, err = cpuProfile(r.Context(), time.Duration(seconds)*time.Second)
	}
	if err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	operator := q.Get("operator")
	if operator != "" {
		FilterOperator(p, operator)
	}
	if format == "pprof" {
		name := "cpu"
		if kind == "offcpu" {
			name = "offcpu"
		}
		if operator != "" {
			name += "-" + fileSafe(operator)
		}
		name += ".pprof"
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		if err := p.Write(w); err != nil {
			writeError(w, http.StatusInternalServerError, "web: write the profile: "+err.Error())
		}
		return
	}
	writeJSON(w, http.StatusOK, Flame(p))
}

// cpuProfile profiles the process's CPU for d, or until ctx ends.
func cpuProfile(ctx context.Context, d time.Duration) (*profile.Profile, error) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		return nil, fmt.Errorf("web: a CPU profile is being taken already (by /debug/pprof/profile or another page): wait for it to end, then ask again: %w", err)
	}
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
	pprof.StopCPUProfile()
	p, err := profile.Parse(&buf)
	if err != nil {
		return nil, fmt.Errorf("web: parse the CPU profile: %w", err)
	}
	return p, nil
}

// offCPUInterval is the time between two goroutine profiles of kind=offcpu.
const offCPUInterval = 100 * time.Millisecond

// goroutineProfile takes the stacks of every goroutine (with their pprof
// labels) every interval for d, or until ctx ends, and merges them into
// one profile whose samples are valued in nanoseconds: each sighting of
// a goroutine in a stack counts interval. It sees goroutines that run as
// well as those that wait, at a cost of a brief stop of the world per
// snapshot.
func goroutineProfile(ctx context.Context, d, interval time.Duration) (*profile.Profile, error) {
	var ps []*profile.Profile
	t := time.NewTicker(interval)
	defer t.Stop()
	end := time.Now().Add(d)
	for {
		var buf bytes.Buffer
		if err := pprof.Lookup("goroutine").WriteTo(&buf, 0); err != nil {
			return nil, fmt.Errorf("web: take a goroutine profile: %w", err)
		}
		p, err := profile.Parse(&buf)
		if err != nil {
			return nil, fmt.Errorf("web: parse a goroutine profile: %w", err)
		}
		for _, s := range p.Sample {
			for i := range s.Value {
				s.Value[i] *= int64(interval)
			}
		}
		p.SampleType = []*profile.ValueType{{Type: "wall", Unit: "nanoseconds"}}
		p.PeriodType = &profile.ValueType{Type: "wall", Unit: "nanoseconds"}
		p.Period = int64(interval)
		ps = append(ps, p)
		if !time.Now().Add(interval).Before(end) {
			break
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return profile.Merge(ps)
		}
	}
	return profile.Merge(ps)
}

// FilterOperator keeps the samples of p that the subtasks of operator ran:
// those whose "operator" label (the chain a subtask runs, "a -> b") is
// operator or has it as one of its operators.
func FilterOperator(p *profile.Profile, operator string) {
	p.Sample = slices.DeleteFunc(p.Sample, func(s *profile.Sample) bool {
		for _, chain := range s.Label["operator"] {
			if chain == operator || slices.Contains(strings.Split(chain, " -> "), operator) {
				return false
			}
		}
		return true
	})
}

// Flame folds the samples of p into a flame graph: the root is the whole
// profile, each child a function called from its parent, valued by the
// CPU time of the samples whose stacks pass there.
func Flame(p *profile.Profile) *Frame {
	vi := len(p.SampleType) - 1
	for i, st := range p.SampleType {
		if st.Type == "cpu" || st.Type == "wall" {
			vi = i
		}
	}
	root := &Frame{Name: "all"}
	if vi < 0 {
		return root
	}
	index := map[*Frame]map[string]*Frame{}
	for _, s := range p.Sample {
		v := s.Value[vi]
		root.Value += v
		cur := root
		depth := 0
		for i := len(s.Location) - 1; i >= 0 && depth < maxDepth; i-- {
			lines := s.Location[i].Line
			for j := len(lines) - 1; j >= 0 && depth < maxDepth; j-- { // the last line is the caller of inlined ones
				name := "?"
				if lines[j].Function != nil {
					name = lines[j].Function.Name
				}
				kids := index[cur]
				if kids == nil {
					kids = map[string]*Frame{}
					index[cur] = kids
				}
				next := kids[name]
				if next == nil {
					next = &Frame{Name: name}
					kids[name] = next
					cur.Children = append(cur.Children, next)
				}
				next.Value += v
				cur = next
				depth++
			}
		}
	}
	prune(root, int64(float64(root.Value)*minShare))
	return root
}

// prune drops frames below min, and orders children by value.
func prune(f *Frame, min int64) {
	f.Children = slices.DeleteFunc(f.Children, func(c *Frame) bool { return c.Value < min })
	slices.SortFunc(f.Children, func(a, b *Frame) int { return cmp.Compare(b.Value, a.Value) })
	for _, c := range f.Children {
		prune(c, min)
	}
}

// fileSafe keeps letters, digits, - and _ of s for a file name.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}
