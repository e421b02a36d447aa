// Package exec is the library of row operators that SQL plans compile to:
// window TVFs and window aggregates, every aggregate function, the group
// aggregate with its changelog, window Top-N and deduplication, window,
// interval, lookup and regular joins, all on weir's DataStream API over
// weir.Stream[types.Row].
//
// # The model
//
// A planned query is a chain of operators over streams of types.Row. exec
// knows no syntax tree and no expressions: where an operator needs a
// computed value, it takes the index of a column of its input row (the
// planner first adds a projection, a weir.Map with a compiled closure,
// that computes argument expressions into columns), or a Go function the
// planner compiled once (an aggregate's FILTER (WHERE …) is a
// func(types.Row) bool). Each operator is configured by a spec struct,
// validated when it is added: a constructor returns an error that names
// what is not supported, so a plan never runs silently wrong.
//
// Every constructor takes a uid: the operators it adds are named and
// identified by it (or by it plus a documented suffix). Derive it from the
// plan (the query's name and the operator's place in it), so that a
// restart of the same SQL restores each operator's state (weir restores
// state by operator id).
//
// Event time: EventTime makes a table's time attribute the rows' event
// time and emits watermarks a bounded delay behind (WATERMARK FOR col AS
// col - INTERVAL …); a row whose time is NULL goes to a dead-letter stream
// with its reason. Windowed operators fire when the watermark passes a
// window's end; their output rows carry the window's last millisecond as
// event time, so windowed operators chain.
//
// Keys: group and join keys are encoded once per row into a Key, a
// compact comparable string (KeyOf), which keyed state and the exchange
// between subtasks use; outputs decode it back to values (DecodeKey).
//
// Changelog: a stream is insert-only or updating (Changelog). The planner
// tracks it: GroupAggregate and some Deduplicate modes emit updates (-U
// old, +U new); every other operator here emits inserts and needs
// insert-only input.
//
// # Row layouts
//
//	EventTime         the input row, unchanged
//	WindowAssign      input…, window_start, window_end, window_time
//	WindowAggregate   keys…, window_start, window_end, aggregates…
//	GroupAggregate    keys…, aggregates…                       (updating)
//	WindowTopN        input… [, rownum BIGINT]
//	Deduplicate       the kept input row                       (see DedupSpec)
//	WindowJoin        left…, right…   (NULLs for a missing side of an outer join)
//	IntervalJoin      left…, right…
//	RegularJoin       left…, right…
//	LookupJoin        input…, looked-up…   (NULLs for a LEFT join's miss)
//
// window_start and window_end are TIMESTAMP(3) values: milliseconds, as
// wall-clock times in the session time zone when the time attribute is a
// TIMESTAMP_LTZ (WindowSpec.Zone), as Flink gives them.
//
// # Aggregates
//
// An AggCall is one aggregate (COUNT(*), COUNT, COUNT(DISTINCT), SUM, MIN,
// MAX, AVG, APPROX_COUNT_DISTINCT, each with an optional FILTER). All the
// aggregates of an operator share one accumulator (Acc) per key and
// window: one state entry, checkpointed with the window's state.
// AggCall.ResultType gives each result's SQL type, with Flink's rules (the
// AVG of an INT is an INT).
//
// # Example
//
// PV and UV per minute over access-log rows (remote_addr STRING,
// time_local TIMESTAMP_LTZ(3), uri STRING), then the top 10 uris of each
// minute by views, ties by uri:
//
//	timed, err := exec.EventTime(rows, exec.EventTimeSpec{Col: 1, Delay: 5 * time.Second}, "pvuv/time")
//	minute := exec.WindowSpec{Kind: exec.Tumble, TimeCol: 1, Size: time.Minute, Zone: time.UTC}
//	pvuv, err := exec.WindowAggregate(timed.Rows, exec.WindowAggregateSpec{Window: minute, Aggs: []exec.AggCall{
//		{Func: exec.CountStar},
//		{Func: exec.Count, Distinct: true, Arg: 0, ArgType: types.StringType},
//	}}, "pvuv/totals")
//	// pvuv rows: window_start, window_end, pv, uv
//	views, err := exec.WindowAggregate(timed.Rows, exec.WindowAggregateSpec{Window: minute, Keys: []int{2},
//		Aggs: []exec.AggCall{{Func: exec.CountStar}}}, "pvuv/views")
//	// views rows: uri, window_start, window_end, views
//	top, late, err := exec.WindowTopN(views, exec.WindowTopNSpec{PartitionBy: []int{1, 2}, WindowEnd: 2, N: 10,
//		OrderBy: []exec.SortKey{{Col: 3, Type: types.BigIntType, Desc: true}, {Col: 0, Type: types.StringType}}}, "pvuv/top")
package exec
