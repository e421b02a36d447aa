package async

import (
	"context"
	"testing"

	"github.com/weirstream/weir/sink"
)

// BenchmarkWrite measures what the base costs per record: Write, batching
// and dispatch to a destination that answers at once.
func BenchmarkWrite(b *testing.B) {
	for _, o := range []struct {
		name string
		o    Options[int]
	}{
		{"batch=500", Options[int]{}},
		{"batch=500/sized", Options[int]{Size: func(int) int { return 100 }}},
		{"batch=10", Options[int]{MaxBatchSize: 10}},
	} {
		b.Run(o.name, func(b *testing.B) {
			o.o.Logger = quiet
			s, err := NewSink(func(sink.WriterContext) (Submitter[int], error) {
				return SubmitterFunc[int](func(context.Context, []int) ([]int, error) { return nil, nil }), nil
			}, func(v int) (int, error) { return v, nil }, o.o)
			if err != nil {
				b.Fatal(err)
			}
			w, err := s.NewWriter(wctx{})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := w.Write(ctx, i); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(s.Metrics().MeanBatchSize(), "records/request")
		})
	}
}
