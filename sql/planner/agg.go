package planner

import (
	"strings"
	"time"

	"github.com/weirstream/weir/sql/ast"
	"github.com/weirstream/weir/sql/exec"
	"github.com/weirstream/weir/sql/expr"
	"github.com/weirstream/weir/sql/types"
)

// windowTVF binds TABLE(TUMBLE|HOP|CUMULATE|SESSION(…)).
func (b *binder) windowTVF(t *ast.TableFunc) (Node, error) {
	call := t.Call
	name := strings.ToUpper(call.Name)
	var params []string
	spec := exec.WindowSpec{}
	switch name {
	case "TUMBLE":
		spec.Kind, params = exec.Tumble, []string{"DATA", "TIMECOL", "SIZE", "OFFSET"}
	case "HOP":
		spec.Kind, params = exec.Hop, []string{"DATA", "TIMECOL", "SLIDE", "SIZE", "OFFSET"}
	case "CUMULATE":
		spec.Kind, params = exec.Cumulate, []string{"DATA", "TIMECOL", "STEP", "SIZE", "OFFSET"}
	case "SESSION":
		spec.Kind, params = exec.Session, []string{"DATA", "TIMECOL", "GAP"}
	default:
		return nil, b.unsupported(call, "the table function "+call.Name, "the windowing functions TUMBLE, HOP, CUMULATE and SESSION are")
	}
	args := map[string]ast.Expr{}
	for i, a := range call.Args {
		if na, ok := a.(*ast.NamedArg); ok {
			args[strings.ToUpper(na.Name)] = na.Value
			continue
		}
		if i >= len(params) {
			return nil, b.errAt(a, nil, "%s takes at most %d arguments: %s", name, len(params), strings.Join(params, ", "))
		}
		args[params[i]] = a
	}
	data, ok := args["DATA"].(*ast.TableArg)
	if !ok {
		return nil, b.errAt(call, nil, "%s needs TABLE name as its first argument (DATA)", name)
	}
	in, err := b.table(data, data.Name)
	if err != nil {
		return nil, err
	}
	desc, ok := args["TIMECOL"].(*ast.Descriptor)
	if !ok || len(desc.Columns) != 1 {
		return nil, b.errAt(call, nil, "%s needs DESCRIPTOR(time_column) as its second argument (TIMECOL)", name)
	}
	schema := in.Schema()
	col := schema.Index(desc.Columns[0])
	if col < 0 {
		return nil, b.errAt(desc, nil, "DESCRIPTOR(%s): no such column: the columns are %s", desc.Columns[0], strings.Join(schema.Names(), ", "))
	}
	if col != in.props().rowtime {
		return nil, b.errAt(desc, nil, "DESCRIPTOR(%s): %s is not a time attribute: declare WATERMARK FOR %s AS … in its table", desc.Columns[0], desc.Columns[0], desc.Columns[0])
	}
	if in.props().updating {
		return nil, b.unsupported(call, name+" over an updating relation", "window an append-only table")
	}
	spec.TimeCol = col
	if schema[col].Type.Kind == types.TimestampLTZ {
		spec.Zone = b.p.loc()
	}
	dur := func(key string, need bool) (time.Duration, error) {
		e, ok := args[key]
		if !ok {
			if need {
				return 0, b.errAt(call, nil, "%s needs its %s argument, an INTERVAL", name, key)
			}
			return 0, nil
		}
		iv, ok := e.(*ast.IntervalLit)
		if !ok {
			return 0, b.errAt(e, nil, "%s's %s must be an INTERVAL literal, such as INTERVAL '1' MINUTE", name, key)
		}
		if iv.Unit == ast.Year || iv.Unit == ast.Month || iv.Unit == ast.Quarter {
			return 0, b.unsupported(iv, "the year-month interval "+iv.String(), "write it in days, hours, minutes or seconds")
		}
		ms, err := iv.Millis()
		if err != nil {
			return 0, b.errAt(iv, err, "%s's %s", name, key)
		}
		return time.Duration(ms) * time.Millisecond, nil
	}
	switch spec.Kind {
	case exec.Session:
		spec.Gap, err = dur("GAP", true)
	default:
		if spec.Size, err = dur("SIZE", true); err != nil {
			return nil, err
		}
		if spec.Kind == exec.Hop {
			spec.Slide, err = dur("SLIDE", true)
		} else if spec.Kind == exec.Cumulate {
			spec.Step, err = dur("STEP", true)
		}
		if err == nil {
			spec.Offset, err = dur("OFFSET", false)
		}
	}
	if err != nil {
		return nil, err
	}
	if _, err := spec.Assigner(); err != nil {
		return nil, b.errAt(call, err, "%s", call)
	}
	w := &WindowTVF{Input: in, Window: spec}
	ts := types.Type{Kind: types.Timestamp, Precision: 3, NotNull: true}
	out := append(append(types.Schema(nil), schema...),
		types.Field{Name: "window_start", Type: ts}, types.Field{Name: "window_end", Type: ts}, types.Field{Name: "window_time", Type: ts})
	n := len(schema)
	w.nodeProps = nodeProps{schema: out, rowtime: n + 2, win: &windowCols{start: n, end: n + 1, zone: spec.Zone}}
	if len(data.PartitionBy) > 0 {
		w.partition = data.PartitionBy
	}
	return w, nil
}

// hasAggregate reports whether s's select list or HAVING holds an
// aggregate call.
func hasAggregate(s *ast.Select) bool {
	found := false
	check := func(n ast.Node) bool {
		if c, ok := n.(*ast.Call); ok && c.Over == nil && isAggregate(strings.ToUpper(c.Name)) {
			found = true
		}
		return !found
	}
	for _, it := range s.Items {
		ast.Inspect(it.Expr, check)
	}
	if s.Having != nil {
		ast.Inspect(s.Having, check)
	}
	return found
}

// aggregate binds a GROUP BY query (or one with aggregates and no GROUP
// BY) over in: a window aggregate when in is a windowing TVF and the
// groups hold window_start and window_end, else a group aggregate.
func (b *binder) aggregate(s *ast.Select, in Node, sc scope) (Node, scope, error) {
	// Look through a WHERE over the TVF: it filters the TVF's input.
	var tvf *WindowTVF
	var preFilter expr.Expr
	switch n := in.(type) {
	case *WindowTVF:
		tvf = n
	case *Calc:
		if t, ok := n.Input.(*WindowTVF); ok && n.Filter != nil && isIdentity(n.Exprs, t.Schema()) {
			for _, c := range expr.Columns(n.Filter) {
				if c >= len(t.Input.Schema()) {
					return nil, nil, b.unsupported(s.Where, "a WHERE on the window columns of a window aggregate", "filter the aggregate's result in an outer query")
				}
			}
			tvf, preFilter = t, n.Filter
		}
	}
	if in.props().win != nil && tvf == nil {
		return nil, nil, b.unsupported(s, "GROUP BY over the result of a windowed query", "aggregate the table in one windowed query")
	}
	ec := &exprCtx{b: b, sc: sc, where: "GROUP BY"}
	// pre is the projection that computes keys, arguments and filters.
	var pre []expr.Expr
	preIndex := map[string]int{}
	addPre := func(x expr.Expr) int {
		k := x.String() + "\x00" + x.Type().String()
		if i, ok := preIndex[k]; ok {
			return i
		}
		pre = append(pre, x)
		preIndex[k] = len(pre) - 1
		return len(pre) - 1
	}
	base := in
	if tvf != nil {
		base = tvf.Input
		addPre(expr.NewColumn(tvf.Window.TimeCol, sc[tvf.Window.TimeCol].name, sc[tvf.Window.TimeCol].typ))
	}
	nBase := len(base.Schema())
	var keys []groupKey
	hasStart, hasEnd := false, false
	for _, g := range s.GroupBy {
		x, err := ec.bind(g)
		if err != nil {
			return nil, nil, err
		}
		if tvf != nil {
			if c, ok := x.(*expr.Column); ok && c.Index >= nBase {
				switch c.Index - nBase {
				case 0:
					hasStart = true
				case 1:
					hasEnd = true
				default:
					return nil, nil, b.unsupported(g, "GROUP BY window_time", "group by window_start and window_end")
				}
				continue
			}
			for _, ci := range expr.Columns(x) {
				if ci >= nBase {
					return nil, nil, b.unsupported(g, "a group key computed from window columns", "group by window_start and window_end themselves")
				}
			}
		}
		name := "EXPR$" + itoa(len(keys))
		if c, ok := g.(*ast.ColumnRef); ok {
			name = c.Names[len(c.Names)-1]
		}
		keys = append(keys, groupKey{x: x, name: name})
	}
	if tvf != nil && (!hasStart || !hasEnd) {
		return nil, nil, b.unsupported(s, "a GROUP BY over a windowing TVF without both window_start and window_end", "GROUP BY window_start, window_end, …")
	}
	keyCols := make([]int, len(keys))
	for i, k := range keys {
		keyCols[i] = addPre(k.x)
	}
	// The aggregates of the select list and HAVING, each once.
	var aggs []exec.AggCall
	var aggText []string
	aggIndex := map[string]int{}
	ac := &exprCtx{b: b, sc: sc, where: "an aggregate's argument"}
	var aggErr error
	collect := func(n ast.Node) bool {
		if aggErr != nil {
			return false
		}
		call, ok := n.(*ast.Call)
		if !ok || !isAggregate(strings.ToUpper(call.Name)) {
			return true
		}
		if call.Over != nil {
			aggErr = b.unsupported(call, "the OVER aggregate "+strings.ToUpper(call.Name), "only ROW_NUMBER() for Top-N and deduplication is")
			return false
		}
		if _, ok := aggIndex[call.String()]; ok {
			return false
		}
		c, err := b.aggCall(call, ac, addPre)
		if err != nil {
			aggErr = err
			return false
		}
		aggIndex[call.String()] = len(aggs)
		aggs = append(aggs, c)
		aggText = append(aggText, call.String())
		return false
	}
	for _, it := range s.Items {
		ast.Inspect(it.Expr, collect)
	}
	if s.Having != nil {
		ast.Inspect(s.Having, collect)
	}
	if aggErr != nil {
		return nil, nil, aggErr
	}
	// The projection below the aggregate.
	preSchema := make(types.Schema, len(pre))
	for i, x := range pre {
		preSchema[i] = types.Field{Name: "$" + string(rune('a'+i%26)) + itoa(i), Type: x.Type()}
		if c, ok := x.(*expr.Column); ok {
			preSchema[i].Name = c.Name
		}
	}
	preNode := newCalc(base, pre, preSchema, preFilter)
	// The aggregate's output: keys…, [window_start, window_end,] aggs….
	var out types.Schema
	for _, k := range keys {
		out = append(out, types.Field{Name: k.name, Type: k.x.Type()})
	}
	winOff := len(out)
	var agg Node
	if tvf != nil {
		ts := types.Type{Kind: types.Timestamp, Precision: 3, NotNull: true}
		out = append(out, types.Field{Name: "window_start", Type: ts}, types.Field{Name: "window_end", Type: ts})
	}
	aggOff := len(out)
	for i, c := range aggs {
		t, err := c.ResultType()
		if err != nil {
			return nil, nil, b.errAt(s, err, "%s", aggText[i])
		}
		out = append(out, types.Field{Name: "$agg" + itoa(i), Type: t})
	}
	if tvf != nil {
		spec := tvf.Window
		spec.TimeCol = 0
		if len(tvf.partition) > 0 {
			if err := b.checkSessionKeys(s, tvf, keys); err != nil {
				return nil, nil, err
			}
		}
		w := &WindowAgg{Input: preNode, Window: spec, Keys: keyCols, Aggs: aggs, AggText: aggText}
		w.nodeProps = nodeProps{schema: out, rowtime: -1, win: &windowCols{start: winOff, end: winOff + 1, zone: spec.Zone}}
		agg = w
	} else {
		g := &GroupAgg{Input: preNode, Keys: keyCols, Aggs: aggs, AggText: aggText}
		g.nodeProps = nodeProps{schema: out, rowtime: -1, updating: true}
		agg = g
	}
	// The select list and HAVING over the aggregate's output.
	keyStr := make([]string, len(keys))
	for i, k := range keys {
		keyStr[i] = k.x.String()
	}
	osc := scopeOf("", out)
	hook := func(e ast.Expr) (expr.Expr, bool, error) {
		if call, ok := e.(*ast.Call); ok && call.Over == nil && isAggregate(strings.ToUpper(call.Name)) {
			i := aggIndex[call.String()]
			return expr.NewColumn(aggOff+i, call.String(), out[aggOff+i].Type), true, nil
		}
		if containsAggregate(e) {
			return nil, false, nil
		}
		q := &exprCtx{b: b, sc: sc, where: "SELECT"}
		x, err := q.bind(e)
		if err != nil {
			if _, isRef := e.(*ast.ColumnRef); isRef {
				return nil, false, err
			}
			return nil, false, nil
		}
		if c, ok := x.(*expr.Column); ok && tvf != nil && c.Index >= nBase && c.Index < nBase+2 {
			i := winOff + c.Index - nBase
			return expr.NewColumn(i, out[i].Name, out[i].Type), true, nil
		}
		for i, k := range keyStr {
			if k == x.String() {
				return expr.NewColumn(i, out[i].Name, out[i].Type), true, nil
			}
		}
		if _, ok := e.(*ast.ColumnRef); ok {
			return nil, false, b.errAt(e, nil, "column %s is neither grouped nor aggregated: add it to GROUP BY, or aggregate it", e)
		}
		if len(expr.Columns(x)) == 0 {
			return x, true, nil
		}
		return nil, false, nil
	}
	var having expr.Expr
	if s.Having != nil {
		hc := &exprCtx{b: b, sc: osc, hook: hook, where: "HAVING"}
		h, err := hc.bind(s.Having)
		if err != nil {
			return nil, nil, err
		}
		having = h
	}
	for _, it := range s.Items {
		if _, ok := it.Expr.(*ast.Star); ok {
			return nil, nil, b.unsupported(it.Expr, "* in an aggregate query", "list the grouped columns and the aggregates")
		}
	}
	var exprs []expr.Expr
	var names scope
	pc := &exprCtx{b: b, sc: osc, hook: hook, where: "SELECT"}
	for _, it := range s.Items {
		x, err := pc.bind(it.Expr)
		if err != nil {
			return nil, nil, err
		}
		exprs = append(exprs, x)
		names = append(names, scopeCol{name: itemName(it, len(names)), typ: x.Type()})
	}
	if err := checkUnique(b, s.Items, names); err != nil {
		return nil, nil, err
	}
	return newCalc(agg, exprs, names.schema(), having), names, nil
}

// groupKey is one GROUP BY expression and its output name.
type groupKey struct {
	x    expr.Expr
	name string
}

// checkSessionKeys refuses SESSION windows whose PARTITION BY is not the
// GROUP BY's keys: exec's session windows are per group key.
func (b *binder) checkSessionKeys(s *ast.Select, tvf *WindowTVF, keys []groupKey) error {
	want := map[string]bool{}
	for _, p := range tvf.partition {
		want[p] = true
	}
	got := map[string]bool{}
	for _, k := range keys {
		c, ok := k.x.(*expr.Column)
		if !ok {
			return b.unsupported(s, "SESSION with PARTITION BY and a computed group key", "group by the partition columns")
		}
		got[c.Name] = true
	}
	if len(got) != len(want) {
		return b.unsupported(s, "a SESSION window whose PARTITION BY differs from the GROUP BY keys", "GROUP BY window_start, window_end and exactly the PARTITION BY columns")
	}
	for k := range got {
		if !want[k] {
			return b.unsupported(s, "a SESSION window whose PARTITION BY differs from the GROUP BY keys", "GROUP BY window_start, window_end and exactly the PARTITION BY columns")
		}
	}
	return nil
}

func containsAggregate(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if c, ok := n.(*ast.Call); ok && c.Over == nil && isAggregate(strings.ToUpper(c.Name)) {
			found = true
		}
		return !found
	})
	return found
}

// aggCall binds one aggregate call, its argument and FILTER projected by
// addPre.
func (b *binder) aggCall(call *ast.Call, ec *exprCtx, addPre func(expr.Expr) int) (exec.AggCall, error) {
	name := strings.ToUpper(call.Name)
	var c exec.AggCall
	switch name {
	case "COUNT":
		c.Func = exec.Count
	case "SUM":
		c.Func = exec.Sum
	case "MIN":
		c.Func = exec.Min
	case "MAX":
		c.Func = exec.Max
	case "AVG":
		c.Func = exec.Avg
	case "APPROX_COUNT_DISTINCT":
		c.Func = exec.ApproxCountDistinct
	default:
		return c, b.unsupported(call, "the aggregate "+name, "the aggregates are COUNT, SUM, MIN, MAX, AVG and APPROX_COUNT_DISTINCT")
	}
	if call.Distinct && name != "COUNT" {
		return c, b.unsupported(call, name+"(DISTINCT …)", "only COUNT(DISTINCT …) is")
	}
	c.Distinct = call.Distinct
	switch {
	case call.Star || (name == "COUNT" && len(call.Args) == 0):
		if name != "COUNT" || call.Distinct {
			return c, b.errAt(call, nil, "%s needs an argument", call)
		}
		c.Func = exec.CountStar
	case len(call.Args) != 1:
		return c, b.unsupported(call, name+" of several arguments", "aggregate one expression")
	default:
		if containsAggregate(call.Args[0]) {
			return c, b.unsupported(call, "an aggregate inside an aggregate", "")
		}
		x, err := ec.bind(call.Args[0])
		if err != nil {
			return c, err
		}
		c.Arg = addPre(x)
		c.ArgType = x.Type()
	}
	if call.Filter != nil {
		x, err := ec.bind(call.Filter)
		if err != nil {
			return c, err
		}
		if x.Type().Kind != types.Boolean {
			return c, b.errAt(call.Filter, nil, "FILTER (WHERE %s) is %s, not BOOLEAN", call.Filter, x.Type())
		}
		col := addPre(x)
		c.Filter = func(r types.Row) bool { v := r.Values[col]; return !v.IsNull() && v.Bool() }
	}
	if _, err := c.ResultType(); err != nil {
		return c, b.errAt(call, err, "%s", call)
	}
	return c, nil
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
