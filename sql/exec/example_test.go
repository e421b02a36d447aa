package exec_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sql/exec"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/weirtest"
)

// Page views and unique visitors per minute of access-log rows
// (remote_addr, time_local), as SELECT window_start, window_end, COUNT(*),
// COUNT(DISTINCT remote_addr) FROM TABLE(TUMBLE(…, INTERVAL '1' MINUTE))
// GROUP BY window_start, window_end plans it.
func ExampleWindowAggregate() {
	at := func(s string) types.Value {
		t, _ := time.Parse(time.DateTime, "2026-12-07 "+s)
		return types.TimeValue(t)
	}
	rows := []types.Row{
		types.NewRow(types.StringValue("10.0.0.1"), at("10:00:01")),
		types.NewRow(types.StringValue("10.0.0.2"), at("10:00:30")),
		types.NewRow(types.StringValue("10.0.0.1"), at("10:00:59")),
		types.NewRow(types.StringValue("10.0.0.1"), at("10:01:10")),
	}
	env := weir.NewEnv()
	timed, err := exec.EventTime(weir.FromSource(env, weirtest.FromSlice(rows...)), exec.EventTimeSpec{Col: 1, Delay: 5 * time.Second}, "logs/time")
	if err != nil {
		panic(err)
	}
	perMinute, err := exec.WindowAggregate(timed.Rows, exec.WindowAggregateSpec{
		Window: exec.WindowSpec{Kind: exec.Tumble, TimeCol: 1, Size: time.Minute},
		Aggs: []exec.AggCall{
			{Func: exec.CountStar},
			{Func: exec.Count, Distinct: true, Arg: 0, ArgType: types.StringType},
		},
	}, "pvuv")
	if err != nil {
		panic(err)
	}
	out := weirtest.NewCollector[string]()
	weir.SinkTo(weir.Map(perMinute, func(r types.Row) string {
		// window_start, window_end, pv, uv
		return fmt.Sprintf("%s %s pv=%v uv=%v", types.Format(r.Values[0], types.TimestampType, nil),
			types.Format(r.Values[1], types.TimestampType, nil), r.Values[2], r.Values[3])
	}), out)
	if err := env.Execute(context.Background(), "pvuv"); err != nil {
		panic(err)
	}
	res := out.Records()
	slices.Sort(res)
	for _, r := range res {
		fmt.Println(r)
	}
	// Output:
	// 2026-12-07 10:00:00.000 2026-12-07 10:01:00.000 pv=3 uv=2
	// 2026-12-07 10:01:00.000 2026-12-07 10:02:00.000 pv=1 uv=1
}
