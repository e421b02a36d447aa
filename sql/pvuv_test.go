package sql_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/sql"
	"github.com/weirstream/weir/sql/connectors"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/weirtest"
)

// accessLines generates n access-log lines, 100 a second (30000 lines
// span 6 one-minute windows), out of order by at most 2 s (inside the
// jobs' 5 s, so no line is late), 1% of them bad.
func accessLines(t testing.TB, n int) []string {
	g, err := datagen.New(datagen.Seed(3), datagen.OutOfOrderness(2*time.Second), datagen.EventsPerSecond(100), datagen.BadLineRatio(0.01))
	if err != nil {
		t.Fatal(err)
	}
	lines := make([]string, n)
	var buf []byte
	for i := range lines {
		buf, _ = g.Next(buf[:0])
		lines[i] = string(buf)
	}
	return lines
}

func writeLog(t testing.TB, lines []string) string {
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// weirPVUV runs `weir pvuv`'s job on lines and returns its results as
// "pv <start> <end> <pv> <uv>" and "top <start> <end> <rank> <uri> <views>"
// lines, sorted.
func weirPVUV(t testing.TB, lines []string) []string {
	env := weir.NewEnv(weir.Parallelism(2))
	j, err := pvuv.Build(weir.FromSource(env, weirtest.FromSlice(lines...)), pvuv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := weirtest.NewCollector[string]()
	weir.SinkTo(weir.FlatMap(j.Results, func(r pvuv.Result, out weir.Emitter[string]) {
		s, e := r.WindowStart.UnixMilli(), r.WindowEnd.UnixMilli()
		out.Emit(fmt.Sprintf("pv %d %d %d %d", s, e, r.PV, r.UV))
		for i, p := range r.TopPages {
			out.Emit(fmt.Sprintf("top %d %d %d %s %d", s, e, i+1, p.Page, p.PV))
		}
	}), out, weir.Parallelism(1))
	if err := env.Execute(context.Background(), "pvuv"); err != nil {
		t.Fatal(err)
	}
	got := out.Records()
	slices.Sort(got)
	return got
}

// collect is a test connector: a sink that formats the rows of the PV/UV
// tables as weirPVUV does into an exactly-once collector.
type collect struct{ out *collectors }

// collectors hold the rows of the two PV/UV tables, one transactional
// collector per sink.
type collectors struct{ pv, top *weirtest.TxCollector[string] }

func newCollectors() *collectors {
	return &collectors{pv: weirtest.NewTxCollector[string](), top: weirtest.NewTxCollector[string]()}
}

// Records returns the committed lines of both tables.
func (c *collectors) Records() []string { return append(c.pv.Records(), c.top.Records()...) }

func (collect) Connector() string         { return "collect" }
func (collect) Options() table.OptionSpec { return table.OptionSpec{} }
func (c collect) Sink(sc table.SinkContext, rows weir.Stream[types.Row]) error {
	top := sc.Table == "top_uris"
	lines := weir.Map(rows, func(r types.Row) string {
		v := r.Values
		if top {
			return fmt.Sprintf("top %d %d %d %s %d", v[0].Int(), v[1].Int(), v[4].Int(), v[2].Str(), v[3].Int())
		}
		return fmt.Sprintf("pv %d %d %d %d", v[0].Int(), v[1].Int(), v[2].Int(), v[3].Int())
	}, sc.OpOptions("format")...)
	out := c.out.pv
	if top {
		out = c.out.top
	}
	weir.SinkTo(lines, out, append(sc.OpOptions("sink"), weir.Parallelism(1))...)
	return nil
}

// flaky is the filesystem connector whose rows fail the job once, after
// half of them, when two checkpoints have completed.
type flaky struct {
	connectors.Filesystem
	half   int64
	seen   *atomic.Int64
	failed *atomic.Bool
}

func (f flaky) Connector() string { return "flaky-filesystem" }
func (f flaky) Scan(c table.ScanContext) (table.Scan, error) {
	s, err := f.Filesystem.Scan(c)
	if err != nil {
		return s, err
	}
	env := c.Env
	s.Rows = weir.Process(s.Rows, func(_ *weir.Context, r types.Row, out weir.Emitter[types.Row]) error {
		if n := f.seen.Add(1); n >= f.half && !f.failed.Load() {
			if completed(env) >= 2 {
				f.failed.Store(true)
				return errors.New("stop here")
			}
			// Slow down, a little per row: checkpoint barriers pass
			// between the source's batches.
			if n%16 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		out.Emit(r)
		return nil
	}, c.OpOptions("flaky")...)
	return s, nil
}

func completed(env *weir.Env) int {
	n := 0
	for _, s := range env.CheckpointStats() {
		if s.Status == weir.CheckpointCompleted {
			n++
		}
	}
	return n
}

// pvuvScript is testdata/pvuv.sql reading path, writing to the collect
// connector, with the settings of set first.
func pvuvScript(t testing.TB, path, connector string, set ...string) string {
	b, err := os.ReadFile("testdata/pvuv.sql")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	s = strings.Replace(s, "'connector' = 'filesystem', 'path' = 'access.log'", fmt.Sprintf("'connector' = '%s', 'path' = '%s'", connector, path), 1)
	s = strings.ReplaceAll(s, "'connector' = 'print'", "'connector' = 'collect'")
	var pre strings.Builder
	for i := 0; i+1 < len(set); i += 2 {
		fmt.Fprintf(&pre, "SET '%s' = '%s';\n", set[i], set[i+1])
	}
	return pre.String() + s
}

// runScript runs script, waiting for each job it starts; it returns the
// last job.
func runScript(t testing.TB, s *sql.Session, script string) (*sql.Job, error) {
	var last *sql.Job
	err := s.ExecuteScript(context.Background(), script, func(r *sql.Result) error {
		if r.Job != nil {
			last = r.Job
			return r.Job.Wait()
		}
		return nil
	})
	return last, err
}

func newSession(t testing.TB, extra ...table.Factory) (*sql.Session, *collectors) {
	out := newCollectors()
	return newSessionTo(t, out, nil, extra...), out
}

func newSessionTo(t testing.TB, out *collectors, envOpts []weir.EnvOption, extra ...table.Factory) *sql.Session {
	reg := connectors.Default(nil)
	for _, f := range append([]table.Factory{collect{out}}, extra...) {
		if err := reg.Register(f); err != nil {
			t.Fatal(err)
		}
	}
	s, err := sql.NewSession(sql.Options{Tables: reg, EnvOptions: envOpts})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	slices.Sort(got)
	if len(want) == 0 {
		t.Fatalf("%s: nothing to compare", what)
	}
	if !slices.Equal(got, want) {
		for i := 0; i < len(got) && i < len(want); i++ {
			if got[i] != want[i] {
				t.Fatalf("%s: %d lines, want %d; first difference at %d: %q, want %q", what, len(got), len(want), i, got[i], want[i])
			}
		}
		t.Fatalf("%s: %d lines, want %d", what, len(got), len(want))
	}
}

// TestPVUVSQLEqualsWeirPVUV: testdata/pvuv.sql, over generated access logs
// with bad lines, gives window by window the PV, exact UV and top 10 uris
// of `weir pvuv`, at parallelism 1 and 2.
func TestPVUVSQLEqualsWeirPVUV(t *testing.T) {
	lines := accessLines(t, 30000)
	path := writeLog(t, lines)
	want := weirPVUV(t, lines)
	t.Logf("weir pvuv: %d result lines", len(want))
	for _, p := range []string{"1", "2"} {
		t.Run("parallelism "+p, func(t *testing.T) {
			s, out := newSession(t)
			if _, err := runScript(t, s, pvuvScript(t, path, "filesystem", "parallelism.default", p)); err != nil {
				t.Fatal(err)
			}
			sameLines(t, "SQL PV/UV against weir pvuv", out.Records(), want)
		})
	}
}

// TestPVUVSQLRestores: the SQL PV/UV job with checkpoints fails once after
// half its input, and the same SQL started again restores from the latest
// checkpoint (its operator ids derive from the plan) and ends with
// exactly `weir pvuv`'s results.
func TestPVUVSQLRestores(t *testing.T) {
	lines := accessLines(t, 30000)
	path := writeLog(t, lines)
	want := weirPVUV(t, lines)
	dir := t.TempDir()
	fl := flaky{half: int64(len(lines) / 2), seen: new(atomic.Int64), failed: new(atomic.Bool)}
	out := newCollectors()
	s := newSessionTo(t, out, []weir.EnvOption{weir.Restart(weir.NoRestart())}, fl)
	set := []string{"parallelism.default", "2", "execution.checkpointing.interval", "20 ms", "state.checkpoints.dir", dir}
	if _, err := runScript(t, s, pvuvScript(t, path, "flaky-filesystem", set...)); err == nil {
		t.Fatal("the first run did not fail")
	}
	if !fl.failed.Load() {
		t.Fatal("the first run failed, but not where the test failed it")
	}
	// The same SQL in a new session (a restarted client): it restores.
	s2 := newSessionTo(t, out, nil, fl)
	job, err := runScript(t, s2, pvuvScript(t, path, "flaky-filesystem", set...))
	if err != nil {
		t.Fatal(err)
	}
	if len(job.Env().Restores()) == 0 {
		t.Fatal("the second run did not restore from the first one's checkpoint")
	}
	sameLines(t, "restored SQL PV/UV against weir pvuv", out.Records(), want)
}

// TestPVUVSQLRescales: the SQL PV/UV job with checkpoints at parallelism
// 1 fails once after two checkpoints; the same SQL at parallelism 2
// restores from them, its keyed state split between two subtasks, and the
// exactly-once output equals weir pvuv's.
func TestPVUVSQLRescales(t *testing.T) {
	lines := accessLines(t, 30000)
	path := writeLog(t, lines)
	want := weirPVUV(t, lines)
	dir := t.TempDir()
	fl := flaky{half: int64(len(lines) / 2), seen: new(atomic.Int64), failed: new(atomic.Bool)}
	out := newCollectors()
	s := newSessionTo(t, out, []weir.EnvOption{weir.Restart(weir.NoRestart())}, fl)
	set := []string{"execution.checkpointing.interval", "20 ms", "state.checkpoints.dir", dir}
	if _, err := runScript(t, s, pvuvScript(t, path, "flaky-filesystem", append([]string{"parallelism.default", "1"}, set...)...)); err == nil {
		t.Fatal("the first run did not fail")
	}
	if !fl.failed.Load() {
		t.Fatal("the first run failed, but not where the test failed it")
	}
	s2 := newSessionTo(t, out, nil, fl)
	job, err := runScript(t, s2, pvuvScript(t, path, "flaky-filesystem", append([]string{"parallelism.default", "2"}, set...)...))
	if err != nil {
		t.Fatal(err)
	}
	if len(job.Env().Restores()) == 0 {
		t.Fatal("the second run did not restore from the first one's checkpoint")
	}
	sameLines(t, "SQL PV/UV restored at parallelism 2 against weir pvuv", out.Records(), want)
}

// BenchmarkPVUVSQL runs testdata/pvuv.sql (into blackhole tables) and
// `weir pvuv`'s job on the same file of access-log lines at parallelism
// 2; compare their lines/s. The issue asks the SQL job for at least half
// of weir pvuv's speed.
func BenchmarkPVUVSQL(b *testing.B) {
	lines := accessLines(b, 200_000)
	path := writeLog(b, lines)
	b.Run("pvuv", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			env := weir.NewEnv(weir.Parallelism(2))
			src, err := file.NewSource(path)
			if err != nil {
				b.Fatal(err)
			}
			j, err := pvuv.Build(weir.FromSource(env, src), pvuv.Options{})
			if err != nil {
				b.Fatal(err)
			}
			weir.SinkTo(j.Results, sink.Func[pvuv.Result](func(context.Context, pvuv.Result) error { return nil }))
			if err := env.Execute(context.Background(), "pvuv"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(lines)*b.N)/time.Since(start).Seconds(), "lines/s")
	})
	b.Run("sql", func(b *testing.B) {
		script := strings.ReplaceAll(pvuvScript(b, path, "filesystem", "parallelism.default", "2"), "'connector' = 'collect'", "'connector' = 'blackhole'")
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			s, err := sql.NewSession(sql.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := runScript(b, s, script); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(lines)*b.N)/time.Since(start).Seconds(), "lines/s")
	})
}
