package nexmark_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/weirtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeCtx is a reader and enumerator context outside a job.
type fakeCtx struct {
	subtask, parallelism int
	assigned             map[int][]source.Split
	noMore               map[int]bool
	restored             []source.Split
	restoring            bool
}

func newFakeCtx(parallelism int) *fakeCtx {
	return &fakeCtx{parallelism: parallelism, assigned: map[int][]source.Split{}, noMore: map[int]bool{}}
}

func (f *fakeCtx) Subtask() int        { return f.subtask }
func (f *fakeCtx) Parallelism() int    { return f.parallelism }
func (f *fakeCtx) Checkpointing() bool { return true }
func (f *fakeCtx) RequestSplit()       {}
func (f *fakeCtx) Assign(subtask int, splits ...source.Split) {
	f.assigned[subtask] = append(f.assigned[subtask], splits...)
}
func (f *fakeCtx) NoMoreSplits(subtask int)         { f.noMore[subtask] = true }
func (f *fakeCtx) Restored() ([]source.Split, bool) { return f.restored, f.restoring }

// stamped is an event with the timestamp the source gave it.
type stamped struct {
	ev nexmark.Event
	ts int64
}

type sliceOut struct{ got []stamped }

func (o *sliceOut) Collect(v nexmark.Event) { o.got = append(o.got, stamped{v, -1}) }
func (o *sliceOut) CollectAt(v nexmark.Event, ts int64) {
	o.got = append(o.got, stamped{v, ts})
}

// poll polls r up to polls times or until it ends.
func poll(t *testing.T, r source.Reader[nexmark.Event], out *sliceOut, polls int) source.Status {
	t.Helper()
	for range polls {
		st, err := r.Poll(t.Context(), out)
		if err != nil {
			t.Fatal(err)
		}
		if st == source.EndOfInput {
			return st
		}
	}
	return source.MoreAvailable
}

func newSource(t *testing.T, opts ...nexmark.SourceOption) *nexmark.Source {
	t.Helper()
	src, err := nexmark.NewSource(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// Each subtask reads its own split; together they emit every event number
// once, each with its event time, in order within a split.
func TestSplitsDisjoint(t *testing.T) {
	const total, p = 10_007, 3
	src := newSource(t, nexmark.Seed(9), nexmark.Events(total))
	if src.Boundedness() != source.Bounded {
		t.Fatal("a source with Events is not bounded")
	}
	g := src.Generator()
	ec := newFakeCtx(p)
	en, err := src.NewEnumerator(ec)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]bool, total)
	for i := range p {
		en.HandleSplitRequest(i)
		if len(ec.assigned[i]) != 1 || !ec.noMore[i] {
			t.Fatalf("subtask %d got %v, no more %v: want one split", i, ec.assigned[i], ec.noMore[i])
		}
		rc := newFakeCtx(p)
		rc.subtask = i
		r, _ := src.NewReader(rc)
		if err := r.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		r.AddSplits(ec.assigned[i])
		r.NoMoreSplits()
		out := &sliceOut{}
		if poll(t, r, out, 1000) != source.EndOfInput {
			t.Fatalf("subtask %d did not end", i)
		}
		r.Close()
		prev := int64(-1)
		for k, s := range out.got {
			n := int64(i + k*p)
			if seen[n] || s.ts != g.TimestampMillis(n) || s.ts < prev || !reflect.DeepEqual(s.ev, g.Event(n)) {
				t.Fatalf("subtask %d, record %d: not event %d with its time", i, k, n)
			}
			seen[n], prev = true, s.ts
		}
	}
	if i := slices.Index(seen, false); i >= 0 {
		t.Fatalf("event %d was not emitted", i)
	}
}

// A job at parallelism 3 emits what one sequential run of the generator
// makes, no more and no less.
func TestSourceJob(t *testing.T) {
	const total = 5_000
	src := newSource(t, nexmark.Seed(4), nexmark.Events(total))
	env := weir.NewEnv(weir.Parallelism(3))
	col := weirtest.NewCollector[nexmark.Event]()
	weir.SinkTo(weir.FromSource(env, src), col, weir.Parallelism(1))
	if err := env.Execute(t.Context(), "nexmark-test"); err != nil {
		t.Fatal(err)
	}
	got := col.Records()
	key := func(ev nexmark.Event) string { return string(ev.AppendJSON(nil)) }
	var gotKeys, wantKeys []string
	for _, ev := range got {
		gotKeys = append(gotKeys, key(ev))
	}
	for n := range int64(total) {
		wantKeys = append(wantKeys, key(src.Generator().Event(n)))
	}
	slices.Sort(gotKeys)
	slices.Sort(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Fatalf("the job emitted %d events, not the generator's %d", len(gotKeys), len(wantKeys))
	}
}

// A reader restored from a checkpointed position goes on with exactly the
// next event, also when the splits move to fewer subtasks.
func TestSnapshotRestore(t *testing.T) {
	const total = 9_000
	src := newSource(t, nexmark.Seed(3), nexmark.Events(total))
	g := src.Generator()
	ec := newFakeCtx(2)
	en, _ := src.NewEnumerator(ec)

	// Both subtasks read a little; the checkpoint holds their positions.
	var snap []source.Split
	before := map[string]int{}
	for i := range 2 {
		en.HandleSplitRequest(i)
		rc := newFakeCtx(2)
		rc.subtask = i
		r, _ := src.NewReader(rc)
		r.Start(t.Context())
		r.AddSplits(ec.assigned[i])
		out := &sliceOut{}
		poll(t, r, out, 1+i)
		s, err := r.Snapshot(1)
		if err != nil || len(s) != 1 {
			t.Fatalf("Snapshot = %v, %v", s, err)
		}
		sp := s[0].(*nexmark.Split)
		if sp.Next != int64(len(out.got)) || sp.Next == 0 {
			t.Fatalf("snapshot position %d after %d events", sp.Next, len(out.got))
		}
		before[sp.SplitID()] = len(out.got)
		// Through the checkpoint's encoding.
		b, err := src.EncodeSplit(sp)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := src.DecodeSplit(b)
		if err != nil || !reflect.DeepEqual(dec, sp) {
			t.Fatalf("DecodeSplit(%s) = %v, %v; want %v", b, dec, err, sp)
		}
		snap = append(snap, dec)
		r.Close()
	}
	pending, _ := en.(source.SnapshottingEnumerator).Snapshot()
	if len(pending) != 0 {
		t.Fatalf("enumerator snapshot %v after assigning every split", pending)
	}

	// Restore at parallelism 1: one reader gets both splits back and
	// emits the rest.
	rec := newFakeCtx(1)
	rec.restoring = true
	en, _ = src.NewEnumerator(rec)
	en.AddSplitsBack(snap, 0)
	en.HandleSplitRequest(0)
	if len(rec.assigned[0]) != 2 || !rec.noMore[0] {
		t.Fatalf("restored enumerator assigned %v", rec.assigned[0])
	}
	r, _ := src.NewReader(newFakeCtx(1))
	r.Start(t.Context())
	r.AddSplits(rec.assigned[0])
	r.NoMoreSplits()
	out := &sliceOut{}
	if poll(t, r, out, 1000) != source.EndOfInput {
		t.Fatal("the restored reader did not end")
	}
	r.Close()
	seen := make([]int, total)
	for id, n := range before {
		idx := 0
		if strings.HasPrefix(id, "nexmark-1-") {
			idx = 1
		}
		for k := range n {
			seen[idx+2*k]++
		}
	}
	// Each split's events after its position, in order.
	want := map[int][]int64{}
	for idx := range 2 {
		for n := int64(idx + 2*before[(&nexmark.Split{Index: idx, Count: 2}).SplitID()]); n < total; n += 2 {
			want[idx] = append(want[idx], n)
		}
	}
	var got0, got1 []int64
	for _, s := range out.got {
		n := eventNumber(t, g, s)
		seen[n]++
		if n%2 == 0 {
			got0 = append(got0, n)
		} else {
			got1 = append(got1, n)
		}
	}
	if !slices.Equal(got0, want[0]) || !slices.Equal(got1, want[1]) {
		t.Fatalf("restored splits emitted %d and %d events, want %d and %d after the positions", len(got0), len(got1), len(want[0]), len(want[1]))
	}
	for n, c := range seen {
		if c != 1 {
			t.Fatalf("event %d emitted %d times over the checkpoint", n, c)
		}
	}
}

// eventNumber finds the number of an emitted event from its timestamp and
// its neighbours.
func eventNumber(t *testing.T, g *nexmark.Generator, s stamped) int64 {
	t.Helper()
	// At the default 10 events a millisecond, the candidates are the ten
	// numbers of its millisecond.
	base := (s.ts - nexmark.DefaultStartUnixMilli) * 10
	for n := base; n < base+10; n++ {
		if reflect.DeepEqual(s.ev, g.Event(n)) {
			return n
		}
	}
	t.Fatalf("event at %d is none of the generator's", s.ts)
	return -1
}

func TestEnumeratorRestoredUnassigned(t *testing.T) {
	src := newSource(t, nexmark.Splits(4))
	if src.Boundedness() != source.Unbounded {
		t.Fatal("a source without Events is bounded")
	}
	ec := newFakeCtx(2)
	en, _ := src.NewEnumerator(ec)
	snap, _ := en.(source.SnapshottingEnumerator).Snapshot()
	if len(snap) != 4 {
		t.Fatalf("fresh enumerator with Splits(4) holds %v", snap)
	}
	en.HandleSplitRequest(1)
	if got := ec.assigned[1]; len(got) != 2 || got[0].SplitID() != "nexmark-1-of-4" || got[1].SplitID() != "nexmark-3-of-4" {
		t.Fatalf("subtask 1 of 2 got %v, want splits 1 and 3 of 4", got)
	}
	snap, _ = en.(source.SnapshottingEnumerator).Snapshot()
	rc := newFakeCtx(3)
	rc.restoring, rc.restored = true, snap
	en, _ = src.NewEnumerator(rc)
	for i := range 3 {
		en.HandleSplitRequest(i)
	}
	if len(rc.assigned[0]) != 1 || len(rc.assigned[2]) != 1 || len(rc.assigned[1]) != 0 {
		t.Fatalf("restored at parallelism 3: %v, want splits 0 and 2 of 4 on subtasks 0 and 2", rc.assigned)
	}
}

func TestNewSourceErrors(t *testing.T) {
	_, err := nexmark.NewSource(nexmark.Events(-1), nexmark.Splits(0), nexmark.Seed(1), nexmark.EventsPerSecond(-1))
	if err == nil {
		t.Fatal("NewSource accepted bad options")
	}
	for _, opt := range []string{"Events(-1)", "Splits(0)", "EventsPerSecond(-1)"} {
		if !strings.Contains(err.Error(), "nexmark: "+opt) {
			t.Errorf("error does not name %s:\n%v", opt, err)
		}
	}
	for _, bad := range []string{`{"v":2,"index":0,"count":1}`, `{"v":1,"index":1,"count":1}`, `{"v":1,"index":0,"count":1,"next":-1}`, `nope`} {
		if _, err := (&nexmark.Source{}).DecodeSplit([]byte(bad)); err == nil {
			t.Errorf("DecodeSplit(%s) succeeded", bad)
		}
	}
	if _, err := (&nexmark.Source{}).EncodeSplit(otherSplit{}); err == nil {
		t.Error("EncodeSplit of a foreign split succeeded")
	}
}

type otherSplit struct{}

func (otherSplit) SplitID() string { return "other" }
