package hybrid_test

import (
	"context"
	"fmt"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/hybrid"
	"github.com/weirstream/weir/weirtest"
)

// A backlog is read first; the source after it is made from where the
// backlog ended.
func Example() {
	backlog := weirtest.FromSlice("old-1", "old-2")
	src, err := hybrid.New[string](backlog,
		hybrid.ThenFunc(source.Bounded, func(prev hybrid.End) (source.Source[string], error) {
			// A Kafka source would start at prev.Timestamp here.
			return weirtest.FromSlice(fmt.Sprintf("new-after-source-%d", prev.Source)), nil
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	env := weir.NewEnv(weir.Parallelism(1))
	out := weirtest.NewCollector[string]()
	weir.SinkTo(weir.FromSource(env, src), out)
	if err := env.Execute(context.Background(), "hybrid"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.Records())
	// Output: [old-1 old-2 new-after-source-0]
}
