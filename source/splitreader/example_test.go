package splitreader_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/splitreader"
	"github.com/weirstream/weir/weirtest"
)

// Range is a split: the numbers [Next, End). Next is its position.
type Range struct {
	ID   string `json:"id"`
	Next int64  `json:"next"`
	End  int64  `json:"end"`
}

// SplitID implements source.Split.
func (r *Range) SplitID() string { return r.ID }

// Numbers is a bounded source of the numbers [0, N), cut into ranges of
// PerSplit numbers.
type Numbers struct{ N, PerSplit int64 }

// Boundedness implements source.Source.
func (Numbers) Boundedness() source.Boundedness { return source.Bounded }

// NewEnumerator cuts the ranges, or takes those a restored checkpoint
// had not assigned.
func (s Numbers) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	e := &rangeEnumerator{ctx: ctx}
	if rc, ok := ctx.(source.RestoringContext); ok {
		if splits, restoring := rc.Restored(); restoring {
			e.pending = splits
			return e, nil
		}
	}
	for start := int64(0); start < s.N; start += s.PerSplit {
		id := fmt.Sprint("range-", start)
		e.pending = append(e.pending, &Range{ID: id, Next: start, End: min(start+s.PerSplit, s.N)})
	}
	return e, nil
}

// rangeEnumerator hands out one range per request.
type rangeEnumerator struct {
	ctx     source.EnumeratorContext
	pending []source.Split
}

func (e *rangeEnumerator) Start(context.Context) error { return nil }

func (e *rangeEnumerator) HandleSplitRequest(subtask int) {
	if len(e.pending) == 0 {
		e.ctx.NoMoreSplits(subtask)
		return
	}
	e.ctx.Assign(subtask, e.pending[0])
	e.pending = e.pending[1:]
}

// AddSplitsBack takes back the ranges of a failed reader, with their
// positions, to be read first.
func (e *rangeEnumerator) AddSplitsBack(splits []source.Split, _ int) {
	e.pending = append(slices.Clone(splits), e.pending...)
}

// Snapshot returns the unassigned ranges (source.SnapshottingEnumerator).
func (e *rangeEnumerator) Snapshot() ([]source.Split, error) { return slices.Clone(e.pending), nil }

func (e *rangeEnumerator) Close() error { return nil }

// NewReader is where the base comes in: the connector supplies only the
// reader of one range.
func (Numbers) NewReader(ctx source.ReaderContext) (source.Reader[int64], error) {
	open := func(_ context.Context, r *Range) (splitreader.Reader[int64, *Range], error) {
		return &rangeReader{pos: *r}, nil
	}
	return splitreader.New(ctx, open, splitreader.Options{Name: "numbers"}), nil
}

// rangeReader reads one range.
type rangeReader struct{ pos Range }

// Read emits up to 1000 numbers.
func (r *rangeReader) Read(_ context.Context, out source.Output[int64]) (splitreader.Status, error) {
	for n := 0; n < 1000 && r.pos.Next < r.pos.End; n++ {
		out.Collect(r.pos.Next)
		r.pos.Next++
	}
	if r.pos.Next == r.pos.End {
		return splitreader.Finished, nil
	}
	return splitreader.MoreAvailable, nil
}

// Split returns a copy of the range at its position.
func (r *rangeReader) Split() *Range {
	c := r.pos
	return &c
}

func (r *rangeReader) Close() error { return nil }

// EncodeSplit and DecodeSplit store ranges in checkpoints
// (source.Checkpointed). A real connector versions the format.
func (Numbers) EncodeSplit(s source.Split) ([]byte, error) { return json.Marshal(s) }

func (Numbers) DecodeSplit(b []byte) (source.Split, error) {
	var r Range
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("numbers: decode split: %w", err)
	}
	return &r, nil
}

func Example() {
	env := weir.NewEnv(weir.Parallelism(2))
	out := weirtest.NewCollector[int64]()
	weir.SinkTo(weir.FromSource(env, Numbers{N: 10_000, PerSplit: 1_500}), out)
	if err := env.Execute(context.Background(), "numbers"); err != nil {
		fmt.Println(err)
		return
	}
	var sum int64
	for _, v := range out.Records() {
		sum += v
	}
	fmt.Println(out.Len(), sum)
	// Output: 10000 49995000
}
