package splitreader_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/splitreader"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memSplit is the records "ID:i" for i in [Next, End). An unbounded split
// never finishes: at End it has nothing available.
type memSplit struct {
	ID        string
	Next, End int
	Unbounded bool
}

func (s *memSplit) SplitID() string { return s.ID }

func records(id string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s:%d", id, i))
	}
	return out
}

// otherSplit is a split of another source.
type otherSplit struct{}

func (otherSplit) SplitID() string { return "other" }

// memReader reads a memSplit, batch records per Read.
type memReader struct {
	h      *harness
	pos    memSplit
	batch  int
	closed int
}

func (r *memReader) Read(_ context.Context, out source.Output[string]) (splitreader.Status, error) {
	r.h.reads[r.pos.ID]++
	r.h.log = append(r.h.log, "read "+r.pos.ID)
	if r.closed > 0 {
		r.h.t.Errorf("Read of split %s after Close", r.pos.ID)
	}
	if err := r.h.readErr[r.pos.ID]; err != nil {
		return splitreader.MoreAvailable, err
	}
	for n := 0; n < r.batch && r.pos.Next < r.pos.End; n++ {
		out.Collect(fmt.Sprintf("%s:%d", r.pos.ID, r.pos.Next))
		r.pos.Next++
	}
	switch {
	case r.pos.Next < r.pos.End:
		return splitreader.MoreAvailable, nil
	case r.pos.Unbounded:
		return splitreader.NothingAvailable, nil
	}
	r.h.finished[r.pos.ID] = true
	return splitreader.Finished, nil
}

func (r *memReader) Split() *memSplit {
	c := r.pos
	return &c
}

func (r *memReader) Close() error {
	r.closed++
	r.h.log = append(r.h.log, "close "+r.pos.ID)
	return r.h.closeErr[r.pos.ID]
}

// harness is a reader's context and its open function, with a log of
// what the base did.
type harness struct {
	t        *testing.T
	requests int
	batch    int
	log      []string
	readers  map[string]*memReader
	finished map[string]bool // a Read said Finished
	reads    map[string]int
	openErr  map[string]error
	readErr  map[string]error
	closeErr map[string]error
}

func newHarness(t *testing.T, batch int) *harness {
	return &harness{t: t, batch: batch, readers: map[string]*memReader{}, finished: map[string]bool{}, reads: map[string]int{},
		openErr: map[string]error{}, readErr: map[string]error{}, closeErr: map[string]error{}}
}

func (h *harness) Subtask() int        { return 0 }
func (h *harness) Parallelism() int    { return 1 }
func (h *harness) Checkpointing() bool { return true }
func (h *harness) RequestSplit()       { h.requests++ }

func (h *harness) open(_ context.Context, s *memSplit) (splitreader.Reader[string, *memSplit], error) {
	if err := h.openErr[s.ID]; err != nil {
		return nil, err
	}
	h.log = append(h.log, "open "+s.ID)
	r := &memReader{h: h, pos: *s, batch: h.batch}
	h.readers[s.ID] = r
	return r, nil
}

func (h *harness) newReader(o splitreader.Options) source.Reader[string] {
	return splitreader.New(h, h.open, o)
}

// plainOut is an Output with no optional capability.
type plainOut struct{ got []string }

func (o *plainOut) Collect(v string)            { o.got = append(o.got, v) }
func (o *plainOut) CollectAt(v string, _ int64) { o.Collect(v) }

// runtimeOut is an Output with the capabilities the runtime's has: one
// output per split, dead letters and watermarks.
type runtimeOut struct {
	plainOut                      // records not given to a split's output
	all      []string             // every record, in order
	splits   map[string]*splitOut // by split ID
	log      *[]string            // ForSplit (first call) and ReleaseSplit
	dead     []source.DeadLetter
}

func newRuntimeOut(log *[]string) *runtimeOut {
	return &runtimeOut{splits: map[string]*splitOut{}, log: log}
}

func (o *runtimeOut) ForSplit(id string) source.Output[string] {
	so, ok := o.splits[id]
	if !ok {
		so = &splitOut{o: o}
		o.splits[id] = so
		*o.log = append(*o.log, "output "+id)
	}
	return so
}

func (o *runtimeOut) ReleaseSplit(id string) {
	*o.log = append(*o.log, "release "+id)
	delete(o.splits, id)
}

func (o *runtimeOut) DeadLetter(d source.DeadLetter) { o.dead = append(o.dead, d) }
func (o *runtimeOut) EmitWatermark(int64)            {}

type splitOut struct {
	o   *runtimeOut
	got []string
}

func (s *splitOut) Collect(v string) {
	s.got = append(s.got, v)
	s.o.all = append(s.o.all, v)
}
func (s *splitOut) CollectAt(v string, _ int64)    { s.Collect(v) }
func (s *splitOut) DeadLetter(d source.DeadLetter) { s.o.DeadLetter(d) }
func (s *splitOut) EmitWatermark(int64)            {}

func poll(t *testing.T, r source.Reader[string], out source.Output[string]) source.Status {
	t.Helper()
	st, err := r.Poll(t.Context(), out)
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	return st
}

// drain polls until EndOfInput.
func drain(t *testing.T, r source.Reader[string], out source.Output[string]) {
	t.Helper()
	for range 10_000 {
		if poll(t, r, out) == source.EndOfInput {
			return
		}
	}
	t.Fatal("the reader did not end")
}

func TestSequentialReadsOneSplitAtATimeInOrder(t *testing.T) {
	h := newHarness(t, 2)
	r := h.newReader(splitreader.Options{})
	defer r.Close()
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if h.requests != 1 {
		t.Fatalf("Start made %d split requests, want 1", h.requests)
	}
	out := newRuntimeOut(&h.log)
	if st := poll(t, r, out); st != source.NothingAvailable {
		t.Fatalf("Poll without splits = %v", st)
	}
	if h.requests != 1 {
		t.Fatalf("%d requests while one is outstanding, want 1", h.requests)
	}
	r.AddSplits([]source.Split{&memSplit{ID: "a", Next: 1, End: 6}, &memSplit{ID: "b", End: 3}})
	for len(out.all) < 8 {
		if st := poll(t, r, out); st != source.MoreAvailable {
			t.Fatalf("Poll with splits left = %v", st)
		}
		if len(h.log) > 0 && h.log[len(h.log)-1] == "open b" && h.readers["a"].closed == 0 {
			t.Fatal("split b opened while a is still open")
		}
	}
	// Both read; the base asked for more as soon as it held nothing.
	if h.requests != 2 {
		t.Fatalf("%d requests after both splits finished, want 2", h.requests)
	}
	if st := poll(t, r, out); st != source.NothingAvailable {
		t.Fatalf("Poll after the splits, before NoMoreSplits = %v", st)
	}
	r.NoMoreSplits()
	if st := poll(t, r, out); st != source.EndOfInput {
		t.Fatalf("Poll after NoMoreSplits = %v", st)
	}
	if h.requests != 2 {
		t.Fatalf("%d requests in all, want 2", h.requests)
	}
	want := append(records("a", 1, 6), records("b", 0, 3)...)
	if !slices.Equal(out.all, want) || len(out.got) != 0 {
		t.Fatalf("records %q (%q outside split outputs), want %q", out.all, out.got, want)
	}
	// b's output exists before a's is released: the reader is never
	// without a split to hold its watermark.
	wantLog := []string{
		"open a", "output a", "read a", "read a", "read a", "output b", "release a", "close a",
		"open b", "read b", "read b", "release b", "close b",
	}
	if !slices.Equal(h.log, wantLog) {
		t.Fatalf("log %q, want %q", h.log, wantLog)
	}
	for _, id := range []string{"a", "b"} {
		if c := h.readers[id].closed; c != 1 {
			t.Fatalf("split %s closed %d times", id, c)
		}
	}
}

func TestPollReadsOncePerCall(t *testing.T) {
	h := newHarness(t, 1)
	r := h.newReader(splitreader.Options{})
	defer r.Close()
	r.Start(t.Context())
	r.AddSplits([]source.Split{&memSplit{ID: "a", End: 3}, &memSplit{ID: "b", End: 3}})
	out := &plainOut{}
	for i := 1; i <= 3; i++ {
		poll(t, r, out)
		if h.reads["a"] != i || len(out.got) != i {
			t.Fatalf("after %d Polls: %d Reads, %d records", i, h.reads["a"], len(out.got))
		}
	}
	if h.reads["b"] != 0 {
		t.Fatal("b was read in the Poll that finished a")
	}
}

func TestPushModeNeverRequests(t *testing.T) {
	h := newHarness(t, 10)
	r := h.newReader(splitreader.Options{Push: true})
	defer r.Close()
	r.Start(t.Context())
	out := &plainOut{}
	poll(t, r, out)
	r.AddSplits([]source.Split{&memSplit{ID: "a", End: 5}})
	poll(t, r, out)
	poll(t, r, out)
	r.NoMoreSplits()
	drain(t, r, out)
	if h.requests != 0 {
		t.Fatalf("a push-mode reader made %d split requests", h.requests)
	}
	if !slices.Equal(out.got, records("a", 0, 5)) {
		t.Fatalf("records %q", out.got)
	}
}

func TestRestoredSplitsBeforeStartAreReadFirst(t *testing.T) {
	h := newHarness(t, 10)
	r := h.newReader(splitreader.Options{})
	defer r.Close()
	r.AddSplits([]source.Split{&memSplit{ID: "a", Next: 3, End: 5}})
	r.Start(t.Context())
	if h.requests != 0 {
		t.Fatal("a reader that holds a split asked for another at Start")
	}
	out := &plainOut{}
	poll(t, r, out)
	if !slices.Equal(out.got, records("a", 3, 5)) {
		t.Fatalf("records %q", out.got)
	}
	if h.requests != 1 {
		t.Fatalf("%d requests after the restored split finished, want 1", h.requests)
	}
}

func TestConcurrentReadsSplitsInTurn(t *testing.T) {
	h := newHarness(t, 10)
	r := h.newReader(splitreader.Options{Concurrent: true})
	defer r.Close()
	r.Start(t.Context())
	out := newRuntimeOut(&h.log)
	poll(t, r, out)
	// a always has more; b and c have little, and c never ends.
	r.AddSplits([]source.Split{
		&memSplit{ID: "a", End: 1_000_000},
		&memSplit{ID: "b", End: 25},
		&memSplit{ID: "c", End: 5, Unbounded: true},
	})
	for i := 1; i <= 6; i++ {
		before := clone(h.reads)
		poll(t, r, out)
		for id, n := range h.reads {
			if n-before[id] > 1 {
				t.Fatalf("Poll %d read split %s %d times", i, id, n-before[id])
			}
		}
	}
	// Three splits open at once, each read in turn although a never runs
	// dry.
	if got := out.splits["b"]; len(out.splits) != 2 || got != nil {
		t.Fatalf("open outputs %v: want b finished and released", keys(out.splits))
	}
	if got := out.splits["c"].got; !slices.Equal(got, records("c", 0, 5)) {
		t.Fatalf("c: %q", got)
	}
	if h.reads["b"] != 3 || h.readers["b"].closed != 1 {
		t.Fatalf("b: %d reads, closed %d times; want 3 and 1", h.reads["b"], h.readers["b"].closed)
	}
	if !slices.Contains(h.log, "release b") {
		t.Fatal("b was not released")
	}
	// Every split got its output when it was opened, before any Read: a
	// split that has not emitted yet holds the watermark back.
	if want := []string{"open a", "output a", "open b", "output b", "open c", "output c", "read a"}; !slices.Equal(h.log[:len(want)], want) {
		t.Fatalf("log starts %q, want %q", h.log[:len(want)], want)
	}
	// With a unbounded too, the reader does not end.
	r.NoMoreSplits()
	for range 5 {
		if poll(t, r, out) == source.EndOfInput {
			t.Fatal("EndOfInput with unfinished splits")
		}
	}
	if h.requests != 1 {
		t.Fatalf("%d requests while holding splits, want only the one at Start", h.requests)
	}
}

func TestConcurrentNothingAvailable(t *testing.T) {
	h := newHarness(t, 10)
	r := h.newReader(splitreader.Options{Concurrent: true})
	defer r.Close()
	r.Start(t.Context())
	r.AddSplits([]source.Split{&memSplit{ID: "a", End: 3, Unbounded: true}, &memSplit{ID: "b", Unbounded: true}})
	out := &plainOut{}
	if st := poll(t, r, out); st != source.NothingAvailable {
		t.Fatalf("Poll = %v, want NothingAvailable when every split has nothing more", st)
	}
	if len(out.got) != 3 || h.reads["a"] != 1 || h.reads["b"] != 1 {
		t.Fatalf("got %q, reads %v", out.got, h.reads)
	}
}

func clone(m map[string]int) map[string]int {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestRejectsSplitsItCannotRead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		splits []source.Split
		want   []string
	}{
		{"foreign type", []source.Split{otherSplit{}}, []string{`mem: `, `split "other"`, "splitreader_test.otherSplit", "*splitreader_test.memSplit", "only the splits its own enumerator made"}},
		{"twice", []source.Split{&memSplit{ID: "a", End: 1}, &memSplit{ID: "a", End: 1}}, []string{`mem: `, `split "a"`, "still holds it"}},
		{"nil", []source.Split{nil}, []string{"mem: ", "nil split"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 10)
			r := h.newReader(splitreader.Options{Name: "mem"})
			defer r.Close()
			r.Start(t.Context())
			r.AddSplits(tc.splits)
			for range 2 { // the error sticks
				_, err := r.Poll(t.Context(), &plainOut{})
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
			}
		})
	}
}

func TestSplitFinishedCanBeAssignedAgain(t *testing.T) {
	h := newHarness(t, 10)
	r := h.newReader(splitreader.Options{})
	defer r.Close()
	r.Start(t.Context())
	out := &plainOut{}
	r.AddSplits([]source.Split{&memSplit{ID: "a", End: 1}})
	poll(t, r, out)
	r.AddSplits([]source.Split{&memSplit{ID: "a", Next: 1, End: 2}})
	r.NoMoreSplits()
	drain(t, r, out)
	if !slices.Equal(out.got, records("a", 0, 2)) {
		t.Fatalf("records %q", out.got)
	}
}

var errBroken = errors.New("broken")

func TestOpenErrorKeepsTheSplitQueued(t *testing.T) {
	h := newHarness(t, 10)
	h.openErr["b"] = errBroken
	r := h.newReader(splitreader.Options{})
	defer r.Close()
	r.Start(t.Context())
	r.AddSplits([]source.Split{&memSplit{ID: "a", End: 2}, &memSplit{ID: "b", Next: 4, End: 9}})
	out := &plainOut{}
	poll(t, r, out)
	_, err := r.Poll(t.Context(), out)
	if !errors.Is(err, errBroken) {
		t.Fatalf("Poll = %v, want the open error", err)
	}
	snap, err := r.Snapshot(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 1 || *snap[0].(*memSplit) != (memSplit{ID: "b", Next: 4, End: 9}) {
		t.Fatalf("Snapshot = %v, want b at its assigned position", snap)
	}
}

func TestReadAndCloseErrorsFailPoll(t *testing.T) {
	h := newHarness(t, 10)
	h.readErr["a"] = errBroken
	r := h.newReader(splitreader.Options{})
	r.Start(t.Context())
	r.AddSplits([]source.Split{&memSplit{ID: "a", End: 2}})
	if _, err := r.Poll(t.Context(), &plainOut{}); !errors.Is(err, errBroken) {
		t.Fatalf("Poll = %v, want the Read error", err)
	}
	r.Close()

	h = newHarness(t, 10)
	h.closeErr["a"] = errBroken
	r = h.newReader(splitreader.Options{Name: "mem"})
	defer r.Close()
	r.Start(t.Context())
	r.AddSplits([]source.Split{&memSplit{ID: "a", End: 2}})
	_, err := r.Poll(t.Context(), &plainOut{})
	if !errors.Is(err, errBroken) || !strings.HasPrefix(err.Error(), `mem: close finished split "a"`) {
		t.Fatalf("Poll = %v, want the Close error of the finished split", err)
	}
}

// badStatus returns a status that does not exist.
type badStatus struct{ memReader }

func (r *badStatus) Read(context.Context, source.Output[string]) (splitreader.Status, error) {
	return splitreader.Status(7), nil
}

func (r *badStatus) Close() error { return nil }

func TestUnknownStatusFailsPoll(t *testing.T) {
	r := splitreader.New(newHarness(t, 1), func(context.Context, *memSplit) (splitreader.Reader[string, *memSplit], error) {
		return &badStatus{}, nil
	}, splitreader.Options{})
	defer r.Close()
	r.AddSplits([]source.Split{&memSplit{ID: "a", End: 1}})
	_, err := r.Poll(t.Context(), &plainOut{})
	if err == nil || !strings.Contains(err.Error(), "Status(7)") {
		t.Fatalf("Poll = %v", err)
	}
}

func TestNilOpenFailsStart(t *testing.T) {
	r := splitreader.New[string, *memSplit](newHarness(t, 1), nil, splitreader.Options{Name: "mem"})
	if err := r.Start(t.Context()); err == nil || !strings.HasPrefix(err.Error(), "mem: ") {
		t.Fatalf("Start = %v", err)
	}
	r.AddSplits([]source.Split{&memSplit{ID: "a", End: 1}})
	if _, err := r.Poll(t.Context(), &plainOut{}); err == nil || !strings.Contains(err.Error(), "nil open function") {
		t.Fatalf("Poll = %v", err)
	}
}

func TestCloseClosesEveryOpenSplit(t *testing.T) {
	h := newHarness(t, 2)
	h.closeErr["c"] = errBroken
	r := h.newReader(splitreader.Options{Concurrent: true})
	r.Start(t.Context())
	r.AddSplits([]source.Split{&memSplit{ID: "a", End: 2}, &memSplit{ID: "b", End: 50}, &memSplit{ID: "c", End: 50}})
	out := &plainOut{}
	for range 3 {
		poll(t, r, out)
	}
	r.AddSplits([]source.Split{&memSplit{ID: "d", End: 5}}) // queued, never opened
	if h.readers["a"].closed != 1 {
		t.Fatal("the finished split a is not closed")
	}
	err := r.Close()
	if !errors.Is(err, errBroken) || !strings.Contains(err.Error(), `close split "c"`) {
		t.Fatalf("Close = %v, want c's error", err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if n := h.readers[id].closed; n != 1 {
			t.Fatalf("split %s closed %d times, want once", id, n)
		}
	}
	if h.readers["d"] != nil {
		t.Fatal("Close opened a queued split")
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := r.Poll(t.Context(), out); !errors.Is(err, source.ErrClosed) {
		t.Fatalf("Poll after Close = %v", err)
	}
	if _, err := r.Snapshot(9); !errors.Is(err, source.ErrClosed) {
		t.Fatalf("Snapshot after Close = %v", err)
	}
	if err := r.Start(t.Context()); !errors.Is(err, source.ErrClosed) {
		t.Fatalf("Start after Close = %v", err)
	}
	if err := r.(source.CheckpointListener).NotifyCheckpointComplete(t.Context(), 1); err != nil {
		t.Fatalf("NotifyCheckpointComplete after Close = %v, want nothing done", err)
	}
}

// deadReader reports every odd record as a dead letter, if it can.
type deadReader struct {
	memReader
	couldReport *bool
}

func (r *deadReader) Read(_ context.Context, out source.Output[string]) (splitreader.Status, error) {
	dl, ok := out.(source.DeadLetterOutput)
	*r.couldReport = ok
	for ; r.pos.Next < r.pos.End; r.pos.Next++ {
		v := fmt.Sprintf("%s:%d", r.pos.ID, r.pos.Next)
		if r.pos.Next%2 == 1 && ok {
			dl.DeadLetter(source.DeadLetter{Split: r.pos.ID, Position: fmt.Sprint(r.pos.Next), Raw: []byte(v), Reason: "odd"})
			continue
		}
		out.Collect(v)
	}
	return splitreader.Finished, nil
}

func TestDeadLettersPassThrough(t *testing.T) {
	for _, withDead := range []bool{true, false} {
		var could bool
		h := newHarness(t, 1)
		r := splitreader.New(h, func(_ context.Context, s *memSplit) (splitreader.Reader[string, *memSplit], error) {
			return &deadReader{memReader: memReader{h: h, pos: *s}, couldReport: &could}, nil
		}, splitreader.Options{})
		r.AddSplits([]source.Split{&memSplit{ID: "a", End: 4}})
		r.NoMoreSplits()
		var log []string
		var out source.Output[string] = &plainOut{}
		rt := newRuntimeOut(&log)
		if withDead {
			out = rt
		}
		drain(t, r, out)
		r.Close()
		if could != withDead {
			t.Fatalf("runtime output with dead letters %v: the split's output has them: %v", withDead, could)
		}
		if withDead {
			if len(rt.dead) != 2 || rt.dead[1].Position != "3" || rt.dead[1].Split != "a" || !slices.Equal(rt.all, []string{"a:0", "a:2"}) {
				t.Fatalf("dead letters %+v, records %q", rt.dead, rt.all)
			}
		}
	}
}

// listeningReader records the checkpoints it hears of.
type listeningReader struct {
	memReader
	heard *[]string
}

func (r *listeningReader) CheckpointComplete(_ context.Context, id int64, s *memSplit) error {
	*r.heard = append(*r.heard, fmt.Sprintf("%d %s@%d", id, s.ID, s.Next))
	return nil
}

func TestCheckpointCompleteGetsSnapshottedPositions(t *testing.T) {
	h := newHarness(t, 2)
	var heard []string
	r := splitreader.New(h, func(_ context.Context, s *memSplit) (splitreader.Reader[string, *memSplit], error) {
		return &listeningReader{memReader: memReader{h: h, pos: *s, batch: 2}, heard: &heard}, nil
	}, splitreader.Options{Concurrent: true})
	defer r.Close()
	r.Start(t.Context())
	r.AddSplits([]source.Split{
		&memSplit{ID: "a", End: 100},
		&memSplit{ID: "b", End: 3, Unbounded: true},
		&memSplit{ID: "c", End: 1},
	})
	out := &plainOut{}
	listener := r.(source.CheckpointListener)
	ctx := t.Context()

	poll(t, r, out) // a@2
	r.Snapshot(1)   // a@2 b@0 c@0
	poll(t, r, out) // b@2
	poll(t, r, out) // c finished, a@4
	r.Snapshot(2)   // a@4 b@2
	poll(t, r, out) // b@3, a@6
	r.Snapshot(3)   // a@6 b@3
	if err := listener.NotifyCheckpointComplete(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// c was open at checkpoint 1 but has finished since: its reader is
	// closed and hears nothing.
	if want := []string{"1 a@2", "1 b@0"}; !slices.Equal(heard, want) {
		t.Fatalf("checkpoint 1: heard %q, want %q", heard, want)
	}
	// 2 is skipped; 3 covers it.
	heard = nil
	if err := listener.NotifyCheckpointComplete(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if want := []string{"3 a@6", "3 b@3"}; !slices.Equal(heard, want) {
		t.Fatalf("checkpoint 3: heard %q, want %q", heard, want)
	}
	heard = nil
	listener.NotifyCheckpointComplete(ctx, 2)
	listener.NotifyCheckpointComplete(ctx, 3)
	if len(heard) != 0 {
		t.Fatalf("old checkpoints heard again: %q", heard)
	}
}

func TestStatusString(t *testing.T) {
	for st, want := range map[splitreader.Status]string{
		splitreader.MoreAvailable: "MoreAvailable", splitreader.NothingAvailable: "NothingAvailable",
		splitreader.Finished: "Finished", 9: "Status(9)",
	} {
		if st.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(st), st.String(), want)
		}
	}
}

// TestSnapshotRestoreExactlyOnce fails the reader at random points and
// restores a new one from its last snapshot, dropping what was emitted
// after that snapshot, as a job restoring a checkpoint does: every record
// comes out exactly once, each split's in order, and in sequential mode
// in the order the splits were assigned.
func TestSnapshotRestoreExactlyOnce(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		for seed := range uint64(30) {
			rng := rand.New(rand.NewPCG(seed, 3))
			var splits []source.Split
			var want []string
			for i := range 1 + rng.IntN(6) {
				id := fmt.Sprint("s", i)
				n := rng.IntN(40)
				splits = append(splits, &memSplit{ID: id, End: n})
				want = append(want, records(id, 0, n)...)
			}
			h := newHarness(t, 1+rng.IntN(7))
			o := splitreader.Options{Concurrent: concurrent}
			start := func(restore []source.Split) source.Reader[string] {
				h.finished = map[string]bool{}
				r := h.newReader(o)
				r.AddSplits(restore)
				r.NoMoreSplits()
				if err := r.Start(t.Context()); err != nil {
					t.Fatal(err)
				}
				return r
			}
			r := start(splits)
			state := splits
			var committed, pending []string
			for steps := 0; ; steps++ {
				if steps > 10_000 {
					t.Fatal("the reader did not end")
				}
				out := &plainOut{}
				st := poll(t, r, out)
				pending = append(pending, out.got...)
				if st == source.EndOfInput {
					committed = append(committed, pending...)
					break
				}
				switch rng.IntN(4) {
				case 0: // a checkpoint
					snap, err := r.Snapshot(int64(steps))
					if err != nil {
						t.Fatal(err)
					}
					state, committed, pending = snap, append(committed, pending...), nil
					for _, s := range snap {
						if h.finished[s.SplitID()] {
							t.Fatalf("snapshot holds finished split %+v", *s.(*memSplit))
						}
					}
				case 1: // a failure: restore the last checkpoint
					r.Close()
					r, pending = start(state), nil
				}
			}
			r.Close()
			if !concurrent && !slices.Equal(committed, want) {
				t.Fatalf("seed %d: got %q, want %q", seed, committed, want)
			}
			got := slices.Clone(committed)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("concurrent %v, seed %d: got %q, want %q", concurrent, seed, got, want)
			}
			for _, sp := range splits {
				id := sp.SplitID()
				var mine []string
				for _, v := range committed {
					if strings.HasPrefix(v, id+":") {
						mine = append(mine, v)
					}
				}
				if !slices.Equal(mine, records(id, 0, sp.(*memSplit).End)) {
					t.Fatalf("seed %d: split %s out of order: %q", seed, id, mine)
				}
			}
		}
	}
}
