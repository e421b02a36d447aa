package kafka

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/source"
)

// srcStartEnum creates and starts the enumerator of src with ctx, and closes
// it when the test ends.
func srcStartEnum(t *testing.T, src *Source[string], ctx source.EnumeratorContext) *enumerator[string] {
	t.Helper()
	en, err := src.NewEnumerator(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := en.(*enumerator[string])
	t.Cleanup(func() { e.Close() })
	if err := e.Start(srcCtx(t)); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEnumeratorAssignsToOwnersAndEndsBounded: a bounded source assigns
// every partition once, to its owner, from the earliest offset to the end,
// and then tells every reader that no more splits follow.
func TestEnumeratorAssignsToOwnersAndEndsBounded(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 4, "clicks")
	srcProduce(t, b, "clicks", 4, 5)
	ctx := newSrcEnumCtx(3)
	srcStartEnum(t, srcNew(t, b, Topics("clicks"), Bounded()), ctx)

	want := []string{"clicks-0@0..5", "clicks-1@0..5", "clicks-2@0..5", "clicks-3@0..5"}
	if got := ctx.all(); !slices.Equal(got, want) {
		t.Fatalf("assigned %v, want %v", got, want)
	}
	for sub, splits := range ctx.assigned {
		for _, s := range splits {
			if o := owner(s.Topic, s.Partition, 3); o != sub {
				t.Errorf("%s went to subtask %d, its owner is %d", s.SplitID(), sub, o)
			}
		}
	}
	for sub := range 3 {
		if !ctx.noMore[sub] {
			t.Errorf("subtask %d was not told that no more splits follow", sub)
		}
	}
}

// TestEnumeratorStartOffsets checks where each start mode starts each
// partition.
func TestEnumeratorStartOffsets(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 2, "views")
	ctx := srcCtx(t)
	base := time.UnixMilli(1_700_000_000_000)
	var recs []*kgo.Record
	for p := range int32(2) {
		for i := range 10 {
			r := srcRecord("views", p, fmt.Sprint(i))
			r.Timestamp = base.Add(time.Duration(i) * time.Second)
			recs = append(recs, r)
		}
	}
	if err := b.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	cl, err := b.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// The group committed partition 0 only: partition 1 falls back to
	// the earliest offset.
	if err := srcCommit(ctx, cl, "g", "views", map[int32]int64{0: 7}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		start StartOffsets
		group string
		want  []string
	}{
		{Earliest(), "g", []string{"views-0@0", "views-1@0"}},
		{Latest(), "g", []string{"views-0@10", "views-1@10"}},
		{Committed(), "g", []string{"views-0@7", "views-1@0"}},
		{Committed(), "never-committed", []string{"views-0@0", "views-1@0"}},
		{AtTime(base.Add(4 * time.Second)), "", []string{"views-0@4", "views-1@4"}},
		{AtTime(base.Add(time.Hour)), "", []string{"views-0@10", "views-1@10"}},
		{Offsets(map[string]map[int32]int64{"views": {1: 3}}), "", []string{"views-0@0", "views-1@3"}},
		{Offsets(map[string]map[int32]int64{"views": {0: 99, 1: 2}}), "", []string{"views-0@10", "views-1@2"}},
	} {
		t.Run(c.start.String(), func(t *testing.T) {
			ectx := newSrcEnumCtx(2)
			srcStartEnum(t, srcNew(t, b, Topics("views"), Group(c.group), Start(c.start), DiscoveryInterval(0)), ectx)
			if got := ectx.all(); !slices.Equal(got, c.want) {
				t.Fatalf("%v: assigned %v, want %v", c.start, got, c.want)
			}
		})
	}
}

// TestEnumeratorUnknownTopicFailsStart: a topic that does not exist fails
// the start with a message that names it and says what to do.
func TestEnumeratorUnknownTopicFailsStart(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 1, "present")
	en, err := srcNew(t, b, Topics("present", "absent")).NewEnumerator(newSrcEnumCtx(1))
	if err != nil {
		t.Fatal(err)
	}
	defer en.Close()
	err = en.Start(srcCtx(t))
	if err == nil || !strings.Contains(err.Error(), "absent") || !strings.Contains(err.Error(), "TopicPattern") {
		t.Fatalf("Start with a missing topic: %v; want an error naming it and the fix", err)
	}
}

// TestEnumeratorRestoreReadsNothingTwice: a bounded source is checkpointed
// after a reader finished one partition; the restored enumerator hands out
// exactly the partitions the readers still held, at their positions, and
// never the finished one.
func TestEnumeratorRestoreReadsNothingTwice(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 3, "logs")
	srcProduce(t, b, "logs", 3, 4)
	src := srcNew(t, b, Topics("logs"), Bounded())
	first := srcStartEnum(t, src, newSrcEnumCtx(2))
	snap, err := first.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 3 {
		t.Fatalf("snapshot of an enumerator that assigned everything: %v; want a marker per partition", snap)
	}
	// Round trip through the stored form, as a checkpoint does.
	snap = srcRoundTrip(t, src, snap)

	// At the checkpoint, the readers held logs-0 at offset 2 and logs-2
	// at 1; logs-1 was finished.
	ctx := srcRestoringCtx{newSrcEnumCtx(2), snap}
	en, err := src.NewEnumerator(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer en.Close()
	en.AddSplitsBack([]source.Split{
		&Split{Topic: "logs", Partition: 0, Offset: 2, Stop: 4},
		&Split{Topic: "logs", Partition: 2, Offset: 1, Stop: 4},
	}, -1)
	if err := en.Start(srcCtx(t)); err != nil {
		t.Fatal(err)
	}
	want := []string{"logs-0@2..4", "logs-2@1..4"}
	if got := ctx.all(); !slices.Equal(got, want) {
		t.Fatalf("restored enumerator assigned %v, want %v", got, want)
	}
	if !ctx.noMore[0] || !ctx.noMore[1] {
		t.Fatal("a restored bounded enumerator did not end its readers")
	}
}

// TestEnumeratorRestoreDiscoversOnlyNewPartitions: an unbounded source is
// restored after partitions were added while it was down; the readers'
// partitions resume at their positions and only the new partitions are
// discovered, from their earliest offset. A split that is both in the
// enumerator's snapshot and a reader's (assigned during the checkpoint)
// is handed out once, at the reader's position.
func TestEnumeratorRestoreDiscoversOnlyNewPartitions(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 2, "events")
	srcProduce(t, b, "events", 2, 3)
	src := srcNew(t, b, Topics("events"), DiscoveryInterval(20*time.Millisecond))

	snap := []source.Split{
		&Split{Topic: "events", Partition: 0, Stop: NoStop, known: true},
		&Split{Topic: "events", Partition: 1, Offset: 0, Stop: NoStop},
	}
	snap = srcRoundTrip(t, src, snap)
	if err := b.AddPartitions(srcCtx(t), "events", 2); err != nil {
		t.Fatal(err)
	}
	ctx := srcRestoringCtx{newSrcEnumCtx(3), snap}
	en, err := src.NewEnumerator(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer en.Close()
	en.AddSplitsBack([]source.Split{
		&Split{Topic: "events", Partition: 0, Offset: 3, Stop: NoStop},
		&Split{Topic: "events", Partition: 1, Offset: 2, Stop: NoStop},
	}, -1)
	if err := en.Start(srcCtx(t)); err != nil {
		t.Fatal(err)
	}
	want := []string{"events-0@3", "events-1@2", "events-2@0", "events-3@0"}
	srcWaitFor(t, srcCtx(t), "the new partitions", func() bool { return len(ctx.all()) >= len(want) })
	// Give discovery a few more rounds: nothing may be assigned twice.
	before := ctx.all()
	snapAfter := srcSnapshots(t, en.(*enumerator[string]), 3)
	if got := ctx.all(); !slices.Equal(got, want) || !slices.Equal(before, want) {
		t.Fatalf("restored enumerator assigned %v, want %v", got, want)
	}
	for _, s := range snapAfter {
		if !s.(*Split).known {
			t.Fatalf("snapshot after everything was assigned holds a split to assign: %v", s)
		}
	}
	for sub, splits := range ctx.assigned {
		for _, s := range splits {
			if o := owner(s.Topic, s.Partition, 3); o != sub {
				t.Errorf("%s went to subtask %d, its owner is %d", s.SplitID(), sub, o)
			}
		}
	}
}

// srcSnapshots takes n snapshots, one per discovery interval, and returns
// the last.
func srcSnapshots(t *testing.T, e *enumerator[string], n int) []source.Split {
	t.Helper()
	var snap []source.Split
	for range n {
		time.Sleep(e.src.cfg.discoveryInterval)
		var err error
		if snap, err = e.Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
	return snap
}

// TestEnumeratorDiscoversTopicsByPattern: with TopicPattern, topics created
// while the source runs are read from their start; others are not.
func TestEnumeratorDiscoversTopicsByPattern(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 1, "ev-a", "other")
	ctx := newSrcEnumCtx(2)
	srcStartEnum(t, srcNew(t, b, TopicPattern(regexp.MustCompile(`^ev-`)), DiscoveryInterval(20*time.Millisecond)), ctx)
	if got := ctx.all(); !slices.Equal(got, []string{"ev-a-0@0"}) {
		t.Fatalf("assigned %v at start, want ev-a-0@0", got)
	}
	if err := b.CreateTopic(srcCtx(t), "ev-b", 2); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic(srcCtx(t), "no-ev", 1); err != nil {
		t.Fatal(err)
	}
	want := []string{"ev-a-0@0", "ev-b-0@0", "ev-b-1@0"}
	srcWaitFor(t, srcCtx(t), "topic ev-b", func() bool { return len(ctx.all()) >= 3 })
	if got := ctx.all(); !slices.Equal(got, want) {
		t.Fatalf("assigned %v, want %v", got, want)
	}
}

// srcRoundTrip returns splits after a round trip through the stored form.
func srcRoundTrip(t *testing.T, src *Source[string], splits []source.Split) []source.Split {
	t.Helper()
	out := make([]source.Split, len(splits))
	for i, s := range splits {
		b, err := src.EncodeSplit(s)
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = src.DecodeSplit(b); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// srcCommit commits offsets of topic for group, as another consumer
// would have.
func srcCommit(ctx context.Context, cl *kgo.Client, group, topic string, offsets map[int32]int64) error {
	var os kadm.Offsets
	for p, o := range offsets {
		os.AddOffset(topic, p, o, -1)
	}
	return kadm.NewClient(cl).CommitAllOffsets(ctx, group, os)
}
