package hybrid_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/hybrid"
	"github.com/weirstream/weir/weirtest"
)

// backlog writes the files of three sources under dir: a/1.log and
// a/2.log, b/1.log, c/1.log. Line "a2-007" is line 7 of a/2.log; the
// first letter names the source. It returns every line, in order.
func backlog(t *testing.T, dir string) []string {
	t.Helper()
	var all []string
	for _, f := range []struct {
		name string
		n    int
	}{{"a/1.log", 30}, {"a/2.log", 30}, {"b/1.log", 40}, {"c/1.log", 50}} {
		var b strings.Builder
		prefix := strings.ReplaceAll(strings.TrimSuffix(f.name, ".log"), "/", "")
		for i := range f.n {
			line := fmt.Sprintf("%s-%03d", prefix, i)
			all = append(all, line)
			b.WriteString(line + "\n")
		}
		path := filepath.Join(dir, f.name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return all
}

// files is a bounded file source cut into ranges of about 14 lines, so
// that several readers share each file.
func files(t *testing.T, pattern string) *file.Source {
	t.Helper()
	src, err := file.NewSource(pattern, file.SplitSize(100))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// sourceOf returns the index of the source a line comes from.
func sourceOf(line string) int { return int(line[0] - 'a') }

// TestJobReadsSourcesInOrder reads two bounded file sources, then a third
// made from where the second ended: every line arrives once, and the
// collector, chained to the readers, sees no line of a source before
// every line of the sources before it.
func TestJobReadsSourcesInOrder(t *testing.T) {
	for _, p := range []int{1, 3} {
		t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
			dir := t.TempDir()
			want := backlog(t, dir)
			var prevs []hybrid.End
			hs, err := hybrid.New[string](files(t, filepath.Join(dir, "a", "*.log")),
				hybrid.Then[string](files(t, filepath.Join(dir, "b", "*.log"))),
				hybrid.ThenFunc(source.Bounded, func(prev hybrid.End) (source.Source[string], error) {
					prevs = append(prevs, prev)
					return file.NewSource(filepath.Join(dir, "c", "*.log"), file.SplitSize(100))
				}))
			if err != nil {
				t.Fatal(err)
			}
			env := weir.NewEnv(weir.Parallelism(p))
			out := weirtest.NewCollector[string]()
			weir.SinkTo(weir.FromSource(env, hs), out)
			if err := env.Execute(context.Background(), "hybrid"); err != nil {
				t.Fatal(err)
			}
			got := out.Records()
			for i := 1; i < len(got); i++ {
				if sourceOf(got[i]) < sourceOf(got[i-1]) {
					t.Fatalf("line %q of source %d arrived after %q of source %d", got[i], sourceOf(got[i]), got[i-1], sourceOf(got[i-1]))
				}
			}
			if p == 1 && !slices.Equal(got, want) {
				t.Fatalf("one reader: got the lines in another order than the files':\n got %v\nwant %v", got, want)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("got %d lines, want each of %d once", len(got), len(want))
			}
			if len(prevs) != 1 || prevs[0].Source != 1 {
				t.Fatalf("the third source was made %d times, after %+v; want once, after source 1", len(prevs), prevs)
			}
		})
	}
}

// gated wraps a source whose readers, after emitting `after` records,
// hold until a checkpoint taken while they hold has completed. A failure
// injected after that is certain to restore a checkpoint taken inside
// this source.
type gated struct {
	*file.Source
	after    int
	released *atomic.Bool
}

func (g gated) NewReader(ctx source.ReaderContext) (source.Reader[string], error) {
	r, err := g.Source.NewReader(ctx)
	if err != nil {
		return nil, err
	}
	return &gateReader{Reader: r, after: g.after, released: g.released}, nil
}

type gateReader struct {
	source.Reader[string]
	after    int
	n        int
	holding  bool
	snapID   int64
	done     bool
	released *atomic.Bool
}

type counting struct {
	source.Output[string]
	n *int
}

func (c counting) Collect(v string) { *c.n++; c.Output.Collect(v) }

func (r *gateReader) Poll(ctx context.Context, out source.Output[string]) (source.Status, error) {
	if r.holding {
		return source.NothingAvailable, nil
	}
	st, err := r.Reader.Poll(ctx, counting{out, &r.n})
	if !r.done && r.n >= r.after {
		r.holding, r.done = true, true
	}
	return st, err
}

func (r *gateReader) Snapshot(id int64) ([]source.Split, error) {
	if r.holding && r.snapID == 0 {
		r.snapID = id
	}
	return r.Reader.Snapshot(id)
}

func (r *gateReader) NotifyCheckpointComplete(_ context.Context, id int64) error {
	if r.holding && r.snapID != 0 && id >= r.snapID {
		r.holding = false
		r.released.Store(true)
	}
	return nil
}

// TestJobRestoresBeforeAndAfterSwitch fails the job once, right after a
// checkpoint taken while the first source (before the switches) or the
// third (after them) was being read, and restarts it from that
// checkpoint: the committed output has every line exactly once. After the
// switches, the restore makes the third source again from the End stored
// in the checkpoint.
func TestJobRestoresBeforeAndAfterSwitch(t *testing.T) {
	for _, tc := range []struct {
		name string
		gate int
		p    int
	}{
		{"before/p=1", 0, 1}, {"before/p=3", 0, 3},
		{"after/p=1", 2, 1}, {"after/p=3", 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			want := backlog(t, dir)
			var released, failed atomic.Bool
			gate := func(src *file.Source, i int) source.Source[string] {
				if i == tc.gate {
					return gated{Source: src, after: 5, released: &released}
				}
				return src
			}
			var mu sync.Mutex
			var prevs []hybrid.End
			hs, err := hybrid.New(gate(files(t, filepath.Join(dir, "a", "*.log")), 0),
				hybrid.Then(gate(files(t, filepath.Join(dir, "b", "*.log")), 1)),
				hybrid.ThenFunc(source.Bounded, func(prev hybrid.End) (source.Source[string], error) {
					mu.Lock()
					prevs = append(prevs, prev)
					mu.Unlock()
					return gate(files(t, filepath.Join(dir, "c", "*.log")), 2), nil
				}))
			if err != nil {
				t.Fatal(err)
			}
			env := weir.NewEnv(weir.Parallelism(tc.p), weir.Checkpoints(10*time.Millisecond, t.TempDir()),
				weir.Restart(weir.FixedDelayRestart(3, time.Millisecond)))
			lines := weir.Process(weir.FromSource(env, hs), func(_ *weir.Context, v string, out weir.Emitter[string]) error {
				if sourceOf(v) == tc.gate && released.Load() && !failed.Swap(true) {
					return errors.New("injected failure")
				}
				out.Emit(v)
				return nil
			})
			out := weirtest.NewTxCollector[string]()
			weir.SinkTo(lines, out)
			if err := env.Execute(context.Background(), "hybrid"); err != nil {
				t.Fatal(err)
			}
			if !failed.Load() {
				t.Fatal("no failure was injected")
			}
			got := out.Records()
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("after a restore the committed output has %d lines, want each of %d once:\n got %v", len(got), len(want), got)
			}
			mu.Lock()
			defer mu.Unlock()
			wantCalls := 1
			if tc.gate == 2 {
				wantCalls = 2 // at the switch, and at the restore
			}
			if len(prevs) != wantCalls {
				t.Fatalf("the third source was made %d times, want %d", len(prevs), wantCalls)
			}
			for _, prev := range prevs {
				if prev.Source != 1 {
					t.Fatalf("the third source was made after %+v, want after source 1", prev)
				}
			}
		})
	}
}

// TestSwitchErrorFailsJob: a source that is not what its Switch declared
// fails the job at the switch, with an error that says so.
func TestSwitchErrorFailsJob(t *testing.T) {
	dir := t.TempDir()
	backlog(t, dir)
	hs, err := hybrid.New[string](files(t, filepath.Join(dir, "a", "*.log")),
		hybrid.ThenFunc(source.Unbounded, func(hybrid.End) (source.Source[string], error) {
			return files(t, filepath.Join(dir, "b", "*.log")), nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv(weir.Parallelism(2))
	weir.SinkTo(weir.FromSource(env, hs), weirtest.NewCollector[string]())
	err = env.Execute(context.Background(), "hybrid")
	if err == nil || !strings.Contains(err.Error(), "source 1") || !strings.Contains(err.Error(), "declared unbounded") {
		t.Fatalf("got %v, want the job to fail because source 1 is bounded but was declared unbounded", err)
	}

	boom := errors.New("no topic")
	hs, err = hybrid.New[string](files(t, filepath.Join(dir, "a", "*.log")),
		hybrid.ThenFunc(source.Bounded, func(hybrid.End) (source.Source[string], error) { return nil, boom }))
	if err != nil {
		t.Fatal(err)
	}
	env = weir.NewEnv(weir.Parallelism(2))
	weir.SinkTo(weir.FromSource(env, hs), weirtest.NewCollector[string]())
	if err := env.Execute(context.Background(), "hybrid"); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the Switch's error", err)
	}
}

func TestNewValidates(t *testing.T) {
	dir := t.TempDir()
	backlog(t, dir)
	bounded := files(t, filepath.Join(dir, "a", "*.log"))
	follow, err := file.NewSource(filepath.Join(dir, "a", "*.log"), file.Follow())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		first source.Source[string]
		then  []hybrid.Switch[string]
		want  []string // "" for no error
	}{
		{"ok", bounded, []hybrid.Switch[string]{hybrid.Then[string](follow)}, nil},
		{"alone", follow, nil, nil},
		{"nil first", nil, nil, []string{"first source is nil"}},
		{"unbounded first", follow, []hybrid.Switch[string]{hybrid.Then[string](bounded)}, []string{"first source is unbounded"}},
		{"unbounded middle", bounded, []hybrid.Switch[string]{hybrid.Then[string](follow), hybrid.Then[string](bounded)}, []string{"source 1 is unbounded"}},
		{"empty switch", bounded, []hybrid.Switch[string]{{}, hybrid.Then[string](nil)}, []string{"source 1 has neither", "source 2 has neither"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs, err := hybrid.New(tc.first, tc.then...)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if got := hs.Boundedness(); got != source.Unbounded {
					t.Fatalf("Boundedness %v, want that of the last source, unbounded", got)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
