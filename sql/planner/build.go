package planner

import (
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/sql/catalog"
	"github.com/weirstream/weir/sql/exec"
	"github.com/weirstream/weir/sql/expr"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
)

// Updating reports whether n's rows are an updating changelog (-U/+U/-D
// rows): a plain GROUP BY or a deduplication by event time under it.
func Updating(n Node) bool {
	switch x := n.(type) {
	case *GroupAgg:
		return true
	case *Rank:
		if x.Input.props().win == nil {
			return true
		}
	}
	for _, in := range n.Inputs() {
		if Updating(in) {
			return true
		}
	}
	return false
}

// Builder adds plans to one weir job. Plans built by one Builder share
// the sources of the tables they read (a statement set reads each table
// once).
type Builder struct {
	p     *Planner
	env   *weir.Env
	scans map[string]weir.Stream[types.Row]
	// DeadLetters are the records the tables' sources could not decode.
	DeadLetters []weir.Stream[source.DeadLetter]
	// Closers release what the job's lookups hold; call them when it ends.
	Closers []func() error
}

// NewBuilder returns a Builder that adds to env.
func (p *Planner) NewBuilder(env *weir.Env) *Builder {
	return &Builder{p: p, env: env, scans: map[string]weir.Stream[types.Row]{}}
}

// Query adds n to the job and returns its rows. id names the statement
// (its sink tables, say): every operator's uid is id, the node's path in
// the plan and a hash of its definition, so that the same SQL restores
// its state after a restart.
func (bd *Builder) Query(n Node, id string) (weir.Stream[types.Row], error) {
	return bd.node(n, id, "0")
}

// Sink adds INSERT INTO's plan to the job.
func (bd *Builder) Sink(s *Sink, id string) error {
	rows, err := bd.node(s.Input, id, "0")
	if err != nil {
		return err
	}
	f, opts, err := bd.p.Tables.Resolve(s.Table.Name, tableOptions(s.Table))
	if err != nil {
		return err
	}
	sf, ok := f.(table.SinkFactory)
	if !ok {
		return fmt.Errorf("planner: table %s (connector '%s') cannot be written to: INSERT INTO a table whose connector writes (filesystem, kafka, redis, print, blackhole)", s.Table.Name, f.Connector())
	}
	ctx := bd.context(s.Table, id+"/sink", s.schema, opts)
	return sf.Sink(table.SinkContext{Context: ctx, Updating: Updating(s.Input), PrimaryKey: s.Table.PrimaryKey}, rows)
}

func tableOptions(t catalog.Table) []table.Option {
	out := make([]table.Option, len(t.Options))
	for i, o := range t.Options {
		out[i] = table.Option{Key: o.Key, Value: o.Value}
	}
	return out
}

func (bd *Builder) context(t catalog.Table, id string, schema types.Schema, opts table.Options) table.Context {
	return table.Context{Env: bd.env, Table: t.Name, ID: id, Schema: schema, Options: opts,
		Location: bd.p.Location, Formats: bd.p.Tables.Formats(), Stdout: bd.p.Stdout}
}

func uid(id, path string, n Node) string {
	h := fnv.New32a()
	h.Write([]byte(n.String()))
	return id + "/" + path + "-" + strconv.FormatUint(uint64(h.Sum32()), 36)
}

func (bd *Builder) node(n Node, id, path string) (weir.Stream[types.Row], error) {
	var none weir.Stream[types.Row]
	ins := make([]weir.Stream[types.Row], len(n.Inputs()))
	for i, in := range n.Inputs() {
		s, err := bd.node(in, id, path+"."+strconv.Itoa(i))
		if err != nil {
			return none, err
		}
		ins[i] = s
	}
	u := uid(id, path, n)
	switch x := n.(type) {
	case *Scan:
		return bd.scan(x)
	case *Calc:
		return bd.calc(x, ins[0], u)
	case *WindowTVF:
		return exec.WindowAssign(ins[0], x.Window, u)
	case *WindowAgg:
		return exec.WindowAggregate(ins[0], exec.WindowAggregateSpec{Window: x.Window, Keys: x.Keys, Aggs: x.Aggs}, u)
	case *GroupAgg:
		cl := exec.InsertOnly
		if Updating(x.Input) {
			cl = exec.Updating
		}
		return exec.GroupAggregate(ins[0], exec.GroupAggregateSpec{Keys: x.Keys, Aggs: x.Aggs, Input: cl}, u)
	case *Rank:
		if w := x.Input.props().win; w != nil {
			out, _, err := exec.WindowTopN(ins[0], exec.WindowTopNSpec{PartitionBy: x.PartitionBy, WindowEnd: w.end, Zone: w.zone,
				OrderBy: x.OrderBy, N: x.N, RankColumn: true}, u)
			return out, err
		}
		out, err := exec.Deduplicate(ins[0], exec.DedupSpec{Keys: x.PartitionBy, TimeCol: x.OrderBy[0].Col, Last: x.OrderBy[0].Desc}, u)
		if err != nil {
			return none, err
		}
		one := types.IntValue(1)
		return weir.Map(out, func(r types.Row) types.Row {
			return types.Row{Kind: r.Kind, Values: append(r.Values[:len(r.Values):len(r.Values)], one)}
		}, weir.Name(u+"/rownum"), weir.UID(u+"/rownum")), nil
	case *WindowJoin:
		out, _, err := exec.WindowJoin(ins[0], ins[1], x.Spec, u)
		return out, err
	case *IntervalJoin:
		return exec.IntervalJoin(ins[0], ins[1], x.Spec, u)
	case *RegularJoin:
		return exec.RegularJoin(ins[0], ins[1], x.Spec, u)
	case *LookupJoin:
		return bd.lookupJoin(x, ins[0], u)
	case *Union:
		return weir.Union(ins[0], ins[1:]...), nil
	}
	return none, fmt.Errorf("planner: cannot run the plan node %s", n)
}

func (bd *Builder) scan(s *Scan) (weir.Stream[types.Row], error) {
	var none weir.Stream[types.Row]
	if rows, ok := bd.scans[s.Table.Name]; ok {
		return rows, nil
	}
	f, opts, err := bd.p.Tables.Resolve(s.Table.Name, tableOptions(s.Table))
	if err != nil {
		return none, err
	}
	sf, ok := f.(table.ScanFactory)
	if !ok {
		return none, fmt.Errorf("planner: table %s (connector '%s') cannot be read: read a table whose connector has a source (filesystem, kafka, datagen)", s.Table.Name, f.Connector())
	}
	sc := table.ScanContext{Context: bd.context(s.Table, "scan/"+s.Table.Name, s.Physical, opts)}
	if s.Time != nil {
		ev, err := expr.Compile(s.Time, expr.CompileEnv{Location: bd.p.Location})
		if err != nil {
			return none, fmt.Errorf("planner: table %s: the time attribute %s: %w", s.Table.Name, s.Time, err)
		}
		sc.Watermark = &table.Watermark{Column: s.Table.Watermark.Column, MaxOutOfOrderness: s.Delay,
			Time: func(r types.Row) int64 {
				v, err := ev.Eval(r.Values)
				if err != nil || v.IsNull() {
					return 0
				}
				return v.Int()
			}}
	}
	scan, err := sf.Scan(sc)
	if err != nil {
		return none, err
	}
	bd.scans[s.Table.Name] = scan.Rows
	bd.DeadLetters = append(bd.DeadLetters, scan.DeadLetters)
	return scan.Rows, nil
}

// calc compiles a Calc's expressions once and runs them per row in one
// operator. A run-time error of an expression fails the job and names
// the expression.
func (bd *Builder) calc(c *Calc, in weir.Stream[types.Row], u string) (weir.Stream[types.Row], error) {
	env := expr.CompileEnv{Location: bd.p.Location}
	var pred *expr.Predicate
	if c.Filter != nil {
		p, err := expr.CompilePredicate(c.Filter, env)
		if err != nil {
			return weir.Stream[types.Row]{}, fmt.Errorf("planner: WHERE %s: %w", c.Filter, err)
		}
		pred = p
	}
	// Plain columns are copied; the rest evaluated.
	type slot struct {
		col int
		ev  *expr.Evaluator
	}
	slots := make([]slot, len(c.Exprs))
	for i, e := range c.Exprs {
		if col, ok := e.(*expr.Column); ok {
			slots[i] = slot{col: col.Index}
			continue
		}
		ev, err := expr.Compile(e, env)
		if err != nil {
			return weir.Stream[types.Row]{}, fmt.Errorf("planner: %s: %w", e, err)
		}
		slots[i] = slot{col: -1, ev: ev}
	}
	width := len(slots)
	return weir.Process(in, func(_ *weir.Context, r types.Row, out weir.Emitter[types.Row]) error {
		if pred != nil {
			ok, err := pred.Test(r.Values)
			if err != nil {
				return fmt.Errorf("sql: WHERE %s: %w", pred, err)
			}
			if !ok {
				return nil
			}
		}
		vals := make([]types.Value, width)
		for i, s := range slots {
			if s.ev == nil {
				vals[i] = r.Values[s.col]
				continue
			}
			v, err := s.ev.Eval(r.Values)
			if err != nil {
				return fmt.Errorf("sql: %s: %w", s.ev, err)
			}
			vals[i] = v
		}
		out.Emit(types.Row{Kind: r.Kind, Values: vals})
		return nil
	}, weir.Name(u), weir.UID(u)), nil
}

// lookupJoin asks the table's factory for its lookup function and joins
// through it.
func (bd *Builder) lookupJoin(j *LookupJoin, in weir.Stream[types.Row], u string) (weir.Stream[types.Row], error) {
	var none weir.Stream[types.Row]
	f, opts, err := bd.p.Tables.Resolve(j.Table.Name, tableOptions(j.Table))
	if err != nil {
		return none, err
	}
	lf, ok := f.(table.LookupFactory)
	if !ok {
		return none, fmt.Errorf("planner: table %s (connector '%s') cannot be looked up: join FOR SYSTEM_TIME AS OF a table whose connector serves lookups (redis)", j.Table.Name, f.Connector())
	}
	lk, err := lf.Lookup(table.LookupContext{Context: bd.context(j.Table, u+"/lookup", j.Physical, opts), Keys: j.KeyNames, PrimaryKey: j.Table.PrimaryKey})
	if err != nil {
		return none, err
	}
	if lk.Close != nil {
		bd.Closers = append(bd.Closers, lk.Close)
	}
	// The factory caches by the table's 'lookup.cache.*' options.
	out, _, err := exec.LookupJoin(in, exec.LookupJoinSpec{Type: j.Type, Keys: j.Keys, LeftWidth: len(j.Input.Schema()),
		RightWidth: len(j.Physical), Lookup: exec.LookupFunc(lk.Fn)}, u)
	return out, err
}
