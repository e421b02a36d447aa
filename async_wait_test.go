package weir_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/weirtest"
)

// asyncSleep sleeps d or until ctx is done.
func asyncSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// asyncLatency returns a pseudo-random call latency of up to maxMicros for v,
// the same in every run.
func asyncLatency(v, maxMicros int) time.Duration {
	r := rand.New(rand.NewPCG(uint64(v), 7))
	return time.Duration(r.IntN(maxMicros)) * time.Microsecond
}

// asyncCompletions records the order in which calls complete.
type asyncCompletions struct {
	mu    sync.Mutex
	order []int
}

func (l *asyncCompletions) add(v int) {
	l.mu.Lock()
	l.order = append(l.order, v)
	l.mu.Unlock()
}

// overtakes reports whether some call completed before a call of an
// earlier input: the calls really ran concurrently and out of order.
func (l *asyncCompletions) overtakes() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 1; i < len(l.order); i++ {
		if l.order[i] < l.order[i-1] {
			return true
		}
	}
	return false
}

func TestAsyncWaitOrderedKeepsInputOrder(t *testing.T) {
	const n = 2000
	env := weir.NewEnv()
	var done asyncCompletions
	src := weir.FromSource(env, weirtest.FromSlice(ints(n)...))
	out := weir.AsyncWait(src, func(ctx context.Context, v int) (string, error) {
		if err := asyncSleep(ctx, asyncLatency(v, 3000)); err != nil {
			return "", err
		}
		done.add(v)
		return fmt.Sprint(v), nil
	}, weir.AsyncOptions[int, string]{Capacity: 50}, weir.Name("lookup"))
	got := weirtest.NewCollector[string]()
	weir.SinkTo(out, got)
	if err := env.Execute(context.Background(), "ordered"); err != nil {
		t.Fatal(err)
	}
	if !done.overtakes() {
		t.Fatal("every call completed in input order: the test proves nothing")
	}
	recs := got.Records()
	if len(recs) != n {
		t.Fatalf("%d results, want %d", len(recs), n)
	}
	for i, r := range recs {
		if r != fmt.Sprint(i) {
			t.Fatalf("result %d is %q, want %q: ordered mode must keep input order", i, r, fmt.Sprint(i))
		}
	}
	m := env.AsyncWaitMetrics()
	if len(m) != 1 || m[0].Operator != "lookup" || m[0].Completed != n || m[0].InFlight != 0 || m[0].Retried != 0 || m[0].TimedOut != 0 || m[0].Failed != 0 {
		t.Fatalf("metrics = %+v, want %d completed and nothing else", m, n)
	}
}

// asyncSeen is a record as a downstream operator saw it: its value and time,
// and the last watermark before it.
type asyncSeen struct {
	Value, Time, Watermark int64
}

// TestAsyncWaitNoRecordOvertakesWatermark plays rounds of records, each
// round closed by a watermark, through AsyncWait with random latencies. A
// process function after it sees, for every record, the last watermark
// that came before: it must be the watermark that preceded the record in
// the input, neither an older one (a record left after a later watermark)
// nor a newer one (a record overtook it).
func TestAsyncWaitNoRecordOvertakesWatermark(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const rounds, perRound = 25, 30
	for _, unordered := range []bool{false, true} {
		t.Run(fmt.Sprintf("unordered=%v", unordered), func(t *testing.T) {
			script := weirtest.NewScript[int]()
			want := map[int]int64{} // value -> the watermark before it (Unix ms; 0 for none)
			var prev int64
			for r := range rounds {
				for j := range perRound {
					v := r*perRound + j
					script.Record(v, base.Add(time.Duration(r)*time.Second+time.Duration(j)*time.Millisecond))
					want[v] = prev
				}
				wm := base.Add(time.Duration(r)*time.Second + 999*time.Millisecond)
				script.Watermark(wm)
				prev = wm.UnixMilli()
			}
			env := weir.NewEnv()
			var done asyncCompletions
			src := weir.FromSource(env, script, weir.Parallelism(1))
			res := weir.AsyncWait(src, func(ctx context.Context, v int) (int, error) {
				if err := asyncSleep(ctx, asyncLatency(v, 4000)); err != nil {
					return 0, err
				}
				done.add(v)
				return v, nil
			}, weir.AsyncOptions[int, int]{Unordered: unordered, Capacity: 64})
			obs := weir.Process(res, func(ctx *weir.Context, v int, out weir.Emitter[asyncSeen]) error {
				ts, _ := ctx.Timestamp()
				var wm int64
				if w := ctx.Watermark(); !w.IsZero() {
					wm = w.UnixMilli()
				}
				out.Emit(asyncSeen{Value: int64(v), Time: ts.UnixMilli(), Watermark: wm})
				return nil
			})
			got := weirtest.NewCollector[asyncSeen]()
			weir.SinkTo(obs, got)
			if err := env.Execute(context.Background(), "watermarks"); err != nil {
				t.Fatal(err)
			}
			if !done.overtakes() {
				t.Fatal("every call completed in input order: the test proves nothing")
			}
			recs := got.Records()
			if len(recs) != rounds*perRound {
				t.Fatalf("%d results, want %d", len(recs), rounds*perRound)
			}
			reordered := false
			for i, r := range recs {
				v := int(r.Value)
				if r.Watermark != want[v] {
					t.Fatalf("record %d left after watermark %d, want %d: it crossed a watermark", v, r.Watermark, want[v])
				}
				if wantTime := base.Add(time.Duration(v/perRound)*time.Second + time.Duration(v%perRound)*time.Millisecond).UnixMilli(); r.Time != wantTime {
					t.Fatalf("record %d has time %d, want its input's %d", v, r.Time, wantTime)
				}
				if i > 0 && r.Value < recs[i-1].Value {
					reordered = true
				}
			}
			if reordered != unordered {
				t.Fatalf("results reordered = %v in unordered = %v mode", reordered, unordered)
			}
		})
	}
}

// TestAsyncWaitCapacityBoundsCalls holds every call until Capacity calls
// run at once: AsyncWait must reach the bound and never pass it.
func TestAsyncWaitCapacityBoundsCalls(t *testing.T) {
	const capacity, n = 8, 300
	for _, unordered := range []bool{false, true} {
		env := weir.NewEnv()
		var running, most atomic.Int64
		full := make(chan struct{})
		var once sync.Once
		src := weir.FromSource(env, weirtest.FromSlice(ints(n)...))
		res := weir.AsyncWait(src, func(ctx context.Context, v int) (int, error) {
			now := running.Add(1)
			defer running.Add(-1)
			for {
				m := most.Load()
				if now <= m || most.CompareAndSwap(m, now) {
					break
				}
			}
			if now == capacity {
				once.Do(func() { close(full) })
			}
			select { // the first calls wait until the bound is reached
			case <-full:
			case <-ctx.Done():
				return 0, ctx.Err()
			}
			return v, asyncSleep(ctx, 200*time.Microsecond)
		}, weir.AsyncOptions[int, int]{Unordered: unordered, Capacity: capacity})
		got := weirtest.NewCollector[int]()
		weir.SinkTo(res, got)
		if err := env.Execute(context.Background(), "capacity"); err != nil {
			t.Fatal(err)
		}
		if most.Load() != capacity {
			t.Fatalf("unordered=%v: at most %d calls ran at once, want exactly Capacity %d", unordered, most.Load(), capacity)
		}
		if got.Len() != n {
			t.Fatalf("unordered=%v: %d results, want %d", unordered, got.Len(), n)
		}
	}
}

// asyncSlowEvens is a call that never answers for even inputs (until its
// context ends) and answers odd ones at once.
func asyncSlowEvens(ctx context.Context, v int) (int, error) {
	if v%2 == 0 {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return v, nil
}

func TestAsyncWaitTimeoutHandler(t *testing.T) {
	const n = 40
	env := weir.NewEnv()
	src := weir.FromSource(env, weirtest.FromSlice(ints(n)...))
	res := weir.AsyncWait(src, asyncSlowEvens, weir.AsyncOptions[int, int]{
		Timeout:   20 * time.Millisecond,
		OnTimeout: func(_ context.Context, v int) (int, error) { return -v, nil },
	}, weir.Name("lookup"))
	got := weirtest.NewCollector[int]()
	weir.SinkTo(res, got)
	if err := env.Execute(context.Background(), "timeout"); err != nil {
		t.Fatal(err)
	}
	for i, v := range got.Records() {
		want := i
		if i%2 == 0 {
			want = -i
		}
		if v != want {
			t.Fatalf("result %d = %d, want %d (even inputs time out into OnTimeout's -v)", i, v, want)
		}
	}
	if got.Len() != n {
		t.Fatalf("%d results, want %d", got.Len(), n)
	}
	if m := env.AsyncWaitMetrics()[0]; m.TimedOut != n/2 || m.Completed != n/2 || m.Failed != 0 || m.InFlight != 0 {
		t.Fatalf("metrics = %+v, want %d timed out and %d completed", m, n/2, n/2)
	}
}

func TestAsyncWaitTimeoutFailsJob(t *testing.T) {
	env := weir.NewEnv()
	src := weir.FromSource(env, weirtest.FromSlice(ints(10)...))
	res := weir.AsyncWait(src, asyncSlowEvens, weir.AsyncOptions[int, int]{Timeout: 10 * time.Millisecond}, weir.Name("lookup"))
	weir.SinkTo(res, weirtest.NewCollector[int]())
	err := env.Execute(context.Background(), "timeout")
	var oe *weir.OperatorError
	if !errors.Is(err, weir.ErrAsyncTimeout) || !errors.As(err, &oe) || oe.Operator != "lookup" || !strings.Contains(err.Error(), "OnTimeout") {
		t.Fatalf("err = %v, want ErrAsyncTimeout in an OperatorError of lookup that points to OnTimeout", err)
	}
	if m := env.AsyncWaitMetrics()[0]; m.TimedOut < 1 || m.Failed < 1 || m.InFlight != 0 {
		t.Fatalf("metrics = %+v, want a timeout that failed and nothing left in flight", m)
	}
}

var errAsyncTransient = errors.New("transient")

// asyncAttempts records when each input was tried.
type asyncAttempts struct {
	mu sync.Mutex
	at map[int][]time.Time
}

func (a *asyncAttempts) add(v int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.at == nil {
		a.at = map[int][]time.Time{}
	}
	a.at[v] = append(a.at[v], time.Now())
	return len(a.at[v])
}

func (a *asyncAttempts) of(v int) []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.at[v]
}

func TestAsyncWaitRetryFixedDelayOnError(t *testing.T) {
	const n = 50
	env := weir.NewEnv()
	var tries asyncAttempts
	src := weir.FromSource(env, weirtest.FromSlice(ints(n)...))
	res := weir.AsyncWait(src, func(_ context.Context, v int) (int, error) {
		if tries.add(v) < 3 {
			return 0, fmt.Errorf("lookup %d: %w", v, errAsyncTransient)
		}
		return v, nil
	}, weir.AsyncOptions[int, int]{
		Retry:        weir.FixedDelayRetry(3, 2*time.Millisecond),
		RetryOnError: func(err error) bool { return errors.Is(err, errAsyncTransient) },
	})
	got := weirtest.NewCollector[int]()
	weir.SinkTo(res, got)
	if err := env.Execute(context.Background(), "retry"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Records(), ints(n)) {
		t.Fatalf("results = %v, want 0..%d", got.Records(), n-1)
	}
	for v := range n {
		at := tries.of(v)
		if len(at) != 3 {
			t.Fatalf("input %d tried %d times, want 3", v, len(at))
		}
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < 2*time.Millisecond {
				t.Fatalf("input %d: retry %d came %v after the previous attempt, before the 2ms delay", v, i, gap)
			}
		}
	}
	if m := env.AsyncWaitMetrics()[0]; m.Retried != 2*n || m.Completed != n {
		t.Fatalf("metrics = %+v, want %d retries and %d completed", m, 2*n, n)
	}
}

func TestAsyncWaitRetryStopsOnUnretryableError(t *testing.T) {
	env := weir.NewEnv()
	var tries asyncAttempts
	src := weir.FromSource(env, weirtest.FromSlice(ints(20)...))
	res := weir.AsyncWait(src, func(_ context.Context, v int) (int, error) {
		tries.add(v)
		if v == 7 {
			return 0, errors.New("not found")
		}
		return v, nil
	}, weir.AsyncOptions[int, int]{
		Retry:        weir.FixedDelayRetry(5, time.Millisecond),
		RetryOnError: func(err error) bool { return errors.Is(err, errAsyncTransient) },
	}, weir.Name("enrich"))
	weir.SinkTo(res, weirtest.NewCollector[int]())
	err := env.Execute(context.Background(), "retry")
	var oe *weir.OperatorError
	if !errors.As(err, &oe) || oe.Operator != "enrich" || !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), "attempt 1 of at most 5") {
		t.Fatalf("err = %v, want enrich's 'not found' after one attempt", err)
	}
	if n := len(tries.of(7)); n != 1 {
		t.Fatalf("input 7 tried %d times: RetryOnError refused, so once", n)
	}
}

func TestAsyncWaitRetryExponentialOnResult(t *testing.T) {
	const n = 20
	env := weir.NewEnv()
	var tries asyncAttempts
	src := weir.FromSource(env, weirtest.FromSlice(ints(n)...))
	res := weir.AsyncWait(src, func(_ context.Context, v int) (string, error) {
		// Even inputs are found at the fourth attempt, odd ones never.
		if k := tries.add(v); v%2 == 1 || k < 4 {
			return "", nil
		}
		return fmt.Sprint(v), nil
	}, weir.AsyncOptions[int, string]{
		Unordered:     true,
		Retry:         weir.ExponentialBackoffRetry(5, time.Millisecond, 3*time.Millisecond, 2),
		RetryOnResult: func(s string) bool { return s == "" },
	})
	got := weirtest.NewCollector[string]()
	weir.SinkTo(res, got)
	if err := env.Execute(context.Background(), "retry"); err != nil {
		t.Fatal(err)
	}
	var want []string
	for v := range n {
		if v%2 == 0 {
			want = append(want, fmt.Sprint(v))
		} else {
			want = append(want, "") // attempts spent: the last result leaves
		}
	}
	g := got.Records()
	slices.Sort(g)
	slices.Sort(want)
	if !slices.Equal(g, want) {
		t.Fatalf("results = %q, want %q", g, want)
	}
	// The delays grow 1ms, 2ms, then stay at the 3ms cap.
	minGaps := []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 3 * time.Millisecond}
	for v := range n {
		at := tries.of(v)
		wantTries := 4
		if v%2 == 1 {
			wantTries = 5
		}
		if len(at) != wantTries {
			t.Fatalf("input %d tried %d times, want %d", v, len(at), wantTries)
		}
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < minGaps[i-1] {
				t.Fatalf("input %d: retry %d came %v after the previous attempt, want at least %v", v, i, gap, minGaps[i-1])
			}
		}
	}
	if m := env.AsyncWaitMetrics()[0]; m.Retried != n/2*3+n/2*4 {
		t.Fatalf("metrics = %+v, want %d retries", m, n/2*3+n/2*4)
	}
}

func TestAsyncWaitErrorAndPanicNameOperator(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(context.Context, int) (int, error)
		want string
	}{
		{"error", func(_ context.Context, v int) (int, error) {
			if v == 37 {
				return 0, errors.New("boom")
			}
			return v, nil
		}, "boom"},
		{"panic", func(_ context.Context, v int) (int, error) {
			if v == 37 {
				panic("kaboom")
			}
			return v, nil
		}, "panic: kaboom"},
	} {
		env := weir.NewEnv(weir.Parallelism(2))
		src := weir.FromSource(env, weirtest.FromSlice(ints(200)...))
		res := weir.AsyncWait(src, tc.fn, weir.AsyncOptions[int, int]{}, weir.Name("lookup"))
		weir.SinkTo(res, weirtest.NewCollector[int]())
		err := env.Execute(context.Background(), "fail")
		var oe *weir.OperatorError
		if !errors.As(err, &oe) || oe.Operator != "lookup" || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: err = %v, want an OperatorError of lookup saying %q", tc.name, err, tc.want)
		}
		var pe *weir.PanicError
		if tc.name == "panic" && (!errors.As(err, &pe) || len(pe.Stack) == 0) {
			t.Fatalf("err = %#v, want a PanicError with its stack", err)
		}
		if m := env.AsyncWaitMetrics()[0]; m.Failed != 1 || m.InFlight != 0 {
			t.Fatalf("%s: metrics = %+v, want one failure and nothing left in flight", tc.name, m)
		}
	}
}

func TestAsyncWaitValidation(t *testing.T) {
	env := weir.NewEnv()
	src := weir.FromSource(env, weirtest.FromSlice(1))
	res := weir.AsyncWait(src, func(context.Context, int) (int, error) { return 0, nil }, weir.AsyncOptions[int, int]{
		Capacity:      -1,
		Timeout:       -time.Second,
		OnTimeout:     func(context.Context, int) (int, error) { return 0, nil },
		Retry:         weir.RetryStrategy{MaxAttempts: 1, Delay: -1, Multiplier: 0.5, MaxDelay: -1},
		RetryOnError:  func(error) bool { return true },
		RetryOnResult: func(int) bool { return true },
	}, weir.Name("lookup"))
	weir.SinkTo(res, weirtest.NewCollector[int]())
	err := env.Execute(context.Background(), "invalid")
	if err == nil {
		t.Fatal("Execute accepted invalid AsyncOptions")
	}
	for _, want := range []string{`"lookup"`, "Capacity -1", "Timeout -1s", "OnTimeout is set without a Timeout", "Retry.Delay", "Retry.MaxDelay", "Retry.Multiplier 0.5", "RetryOnError is set", "RetryOnResult is set"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}

type asyncHidden struct {
	Page  string
	count int //lint:ignore U1000 an unexported field makes the type unencodable, which the test needs
}

func TestAsyncWaitUnencodableInputFailsAtStart(t *testing.T) {
	env := weir.NewEnv(weir.Checkpoints(time.Second, t.TempDir()))
	var calls atomic.Int64
	src := weir.FromSource(env, weirtest.FromSlice(asyncHidden{Page: "/"}))
	res := weir.AsyncWait(src, func(_ context.Context, h asyncHidden) (string, error) { calls.Add(1); return h.Page, nil },
		weir.AsyncOptions[asyncHidden, string]{}, weir.Name("lookup"))
	weir.SinkTo(res, weirtest.NewCollector[string]())
	err := env.Execute(context.Background(), "hidden")
	if err == nil || !strings.Contains(err.Error(), `"lookup"`) || !strings.Contains(err.Error(), "unexported field count") {
		t.Fatalf("err = %v, want one naming lookup and the unexported field", err)
	}
	if calls.Load() != 0 {
		t.Fatal("the job ran before it failed")
	}
}

// asyncJob reads n numbers slowly, looks each up through a slow call and
// sends the results to out through a process function that fails as fail
// says.
func asyncJob(env *weir.Env, n int, unordered bool, calls *atomic.Int64, fail func(int) error, out *weirtest.TxCollector[int]) {
	src := weirtest.FromSlice(ints(n)...)
	src.BatchSize = 2
	src.Delay = time.Millisecond
	s := weir.FromSource(env, src, weir.Name("source"))
	res := weir.AsyncWait(s, func(ctx context.Context, v int) (int, error) {
		calls.Add(1)
		return v, asyncSleep(ctx, 2*time.Millisecond+asyncLatency(v, 2000))
	}, weir.AsyncOptions[int, int]{Unordered: unordered, Capacity: 10}, weir.Name("lookup"))
	res = weir.Process(res, func(_ *weir.Context, v int, out weir.Emitter[int]) error {
		if err := fail(v); err != nil {
			return err
		}
		out.Emit(v)
		return nil
	}, weir.Name("flaky"))
	weir.SinkTo(res, out, weir.Name("sink"), weir.Parallelism(1))
}

// TestAsyncWaitRestoreExactlyOnce fails the job again and again after
// checkpoints that hold inputs in flight (the calls are slower than the
// source, so the queue is always full): each restore calls them again, and
// every result is committed exactly once.
func TestAsyncWaitRestoreExactlyOnce(t *testing.T) {
	const n = 800
	for _, unordered := range []bool{false, true} {
		var failures, calls, committed atomic.Int64
		env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, t.TempDir()),
			weir.Restart(weir.FixedDelayRestart(-1, time.Millisecond)))
		out := weirtest.NewTxCollector[int]()
		asyncJob(env, n, unordered, &calls, func(int) error {
			// Fail once after each of the first checkpoints that completed
			// (the sink committed), so that the job restores from it.
			c, last := int64(out.Commits()), committed.Load()
			if failures.Load() < 3 && c > last && committed.CompareAndSwap(last, c) {
				failures.Add(1)
				return errors.New("injected failure")
			}
			return nil
		}, out)
		if err := env.Execute(context.Background(), "restore"); err != nil {
			t.Fatal(err)
		}
		if failures.Load() < 3 {
			t.Fatalf("unordered=%v: only %d failures injected", unordered, failures.Load())
		}
		got := out.Records()
		slices.Sort(got)
		if !slices.Equal(got, ints(n)) {
			t.Fatalf("unordered=%v: after %d failures %d results committed, want each of 0..%d once", unordered, failures.Load(), len(got), n-1)
		}
		if calls.Load() <= n {
			t.Fatalf("unordered=%v: %d calls for %d inputs: nothing was called again after a restore", unordered, calls.Load(), n)
		}
		if m := env.AsyncWaitMetrics()[0]; m.InFlight != 0 {
			t.Fatalf("metrics = %+v, want nothing in flight at the end", m)
		}
	}
}

// TestAsyncWaitRestoreRescaled stops a job at parallelism 2 and restores it
// at 1 and 3: the inputs in flight move to the new subtasks.
func TestAsyncWaitRestoreRescaled(t *testing.T) {
	const n = 800
	for _, p := range []int{1, 3} {
		dir := t.TempDir()
		var calls atomic.Int64
		first := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, dir), weir.Restart(weir.NoRestart()))
		out := weirtest.NewTxCollector[int]()
		asyncJob(first, n, true, &calls, func(int) error {
			if out.Commits() >= 2 { // after checkpoints
				return errors.New("stop here")
			}
			return nil
		}, out)
		if err := first.Execute(context.Background(), "first"); err == nil {
			t.Fatal("the first run did not fail")
		}
		second := weir.NewEnv(weir.Parallelism(p), weir.Checkpoints(20*time.Millisecond, dir))
		asyncJob(second, n, true, &calls, func(int) error { return nil }, out)
		if err := second.Execute(context.Background(), "second"); err != nil {
			t.Fatal(err)
		}
		got := out.Records()
		slices.Sort(got)
		if !slices.Equal(got, ints(n)) {
			t.Fatalf("2 -> %d: %d results committed, want each of 0..%d once", p, len(got), n-1)
		}
	}
}

// ExampleAsyncWait looks up each page's title through a slow service,
// with up to ten lookups in flight and results in input order.
func ExampleAsyncWait() {
	titles := map[string]string{"/": "Home", "/docs": "Documentation", "/blog": "Blog"}
	lookup := func(ctx context.Context, page string) (string, error) {
		select { // a round trip to the service
		case <-time.After(time.Millisecond):
		case <-ctx.Done():
			return "", ctx.Err()
		}
		return page + " = " + titles[page], nil
	}
	env := weir.NewEnv()
	pages := weir.FromSource(env, weirtest.FromSlice("/", "/docs", "/blog"))
	named := weir.AsyncWait(pages, lookup, weir.AsyncOptions[string, string]{
		Capacity: 10,
		Timeout:  time.Second,
		Retry:    weir.ExponentialBackoffRetry(3, 10*time.Millisecond, time.Second, 2),
	}, weir.Name("titles"))
	out := weirtest.NewCollector[string]()
	weir.SinkTo(named, out)
	if err := env.Execute(context.Background(), "titles"); err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range out.Records() {
		fmt.Println(r)
	}
	// Output:
	// / = Home
	// /docs = Documentation
	// /blog = Blog
}
