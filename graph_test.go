package weir_test

import (
	"context"
	"slices"
	"testing"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/weirtest"
)

// TestGraph describes a job with chained operators, a side output and a
// union: every operator but the union is there, each with the chain its
// metrics are named after, and every edge with its partitioning.
func TestGraph(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(2))
	if g := env.Graph(); len(g.Operators) != 0 {
		t.Fatalf("Graph before Execute: %+v, want none", g)
	}
	odd := weir.NewOutputTag[int]("odd")
	parsed := weir.Map(weir.FromSource(env, weirtest.FromSlice(1, 2, 3, 4), weir.Name("src")), func(v int) int { return v }, weir.Name("parse"))
	split := weir.Process(parsed, func(ctx *weir.Context, v int, out weir.Emitter[int]) error {
		if v%2 == 1 {
			odd.Emit(ctx, v)
			return nil
		}
		out.Emit(v)
		return nil
	}, weir.Name("split"))
	odds := weir.Map(weir.SideOutput(split, odd, weir.Name("odds")), func(v int) int { return -v }, weir.Name("negate"))
	out := weirtest.NewTxCollector[int]()
	weir.SinkTo(weir.Union(split, odds), out, weir.Name("out"), weir.Parallelism(1))
	if err := env.Execute(context.Background(), "graph"); err != nil {
		t.Fatal(err)
	}

	g := env.Graph()
	const chain = "src -> parse -> split -> negate"
	want := []weir.GraphOperator{
		{ID: 0, Name: "src", Kind: "source", Parallelism: 2, Chain: chain, Head: true, Source: true},
		{ID: 1, Name: "parse", Kind: "map", Parallelism: 2, Chain: chain},
		{ID: 2, Name: "split", Kind: "process", Parallelism: 2, Chain: chain},
		{ID: 3, Name: "odds", Kind: "side-odd", Parallelism: 2, Chain: chain},
		{ID: 4, Name: "negate", Kind: "map", Parallelism: 2, Chain: chain},
		{ID: 6, Name: "out", Kind: "sink", Parallelism: 1, Chain: "out", Head: true},
	}
	if len(g.Operators) != len(want) {
		t.Fatalf("operators %+v, want %+v", g.Operators, want)
	}
	for i, op := range g.Operators {
		if op.UID == "" {
			t.Errorf("operator %q has no UID", op.Name)
		}
		op.UID = ""
		if op != want[i] {
			t.Errorf("operator %d = %+v, want %+v", i, op, want[i])
		}
	}
	wantEdges := []weir.GraphEdge{
		{From: 0, To: 1, Partitioning: "FORWARD", Chained: true},
		{From: 1, To: 2, Partitioning: "FORWARD", Chained: true},
		{From: 2, To: 3, Partitioning: "SIDE", Chained: true},
		{From: 3, To: 4, Partitioning: "FORWARD", Chained: true},
		{From: 2, To: 6, Partitioning: "REBALANCE"},
		{From: 4, To: 6, Partitioning: "REBALANCE"},
	}
	if !slices.Equal(g.Edges, wantEdges) {
		t.Errorf("edges %+v, want %+v", g.Edges, wantEdges)
	}
	// The exchanges of the edges that are not chained: 2 senders, 1
	// receiver, 4 batches each; empty once the job ended.
	wantFill := []weir.ChannelFill{{From: 2, To: 6, Capacity: 8}, {From: 4, To: 6, Capacity: 8}}
	if fill := env.Channels(); !slices.Equal(fill, wantFill) {
		t.Errorf("Channels = %+v, want %+v", fill, wantFill)
	}
	// The chains are the names the metrics go by.
	var names []string
	for _, m := range env.Metrics() {
		if !slices.Contains(names, m.Operator) {
			names = append(names, m.Operator)
		}
	}
	if slices.Sort(names); !slices.Equal(names, []string{"out", chain}) {
		t.Errorf("metrics are named %q, want the graph's chains %q and out", names, chain)
	}
}

// TestPlan checks that Plan describes, before Execute and without running
// anything, the graph Execute then runs; that it reports what Execute
// would refuse; and that operators added after it still get UIDs of their
// own.
func TestPlan(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(2))
	src := weir.FromSource(env, weirtest.FromSlice(1, 2, 3, 4), weir.Name("src"))
	double := func(v int) int { return 2 * v }
	first := weir.Map(weir.Rebalance(src), double)
	out := weirtest.NewTxCollector[int]()
	weir.SinkTo(first, out, weir.Name("out"), weir.Parallelism(1))
	planned, err := env.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Records(); len(got) != 0 {
		t.Fatalf("Plan ran the job: the sink has %v", got)
	}
	// The same map again on the same input: its UID depends on the first's
	// rank, which Plan must not have fixed.
	second := weir.Map(weir.Rebalance(src), double)
	weir.SinkTo(second, weirtest.NewTxCollector[int](), weir.Name("out2"), weir.Parallelism(1))
	if err := env.Execute(context.Background(), "plan"); err != nil {
		t.Fatal(err)
	}
	ran := env.Graph()
	if !slices.Equal(ran.Operators[:len(planned.Operators)], planned.Operators) {
		t.Errorf("Plan gave operators %+v, Execute ran %+v", planned.Operators, ran.Operators)
	}
	if !slices.Equal(ran.Edges[:len(planned.Edges)], planned.Edges) {
		t.Errorf("Plan gave edges %+v, Execute ran %+v", planned.Edges, ran.Edges)
	}
	uids := map[string]string{}
	for _, op := range ran.Operators {
		if other, dup := uids[op.UID]; dup {
			t.Errorf("operators %q and %q share UID %q", other, op.Name, op.UID)
		}
		uids[op.UID] = op.Name
	}

	bad := weir.NewEnv(weir.Parallelism(4), weir.MaxParallelism(2))
	weir.SinkTo(weir.FromSource(bad, weirtest.FromSlice(1)), weirtest.NewTxCollector[int]())
	if _, err := bad.Plan(); err == nil {
		t.Error("Plan of a job whose parallelism exceeds its max parallelism gave no error")
	}
	if _, err := weir.NewEnv().Plan(); err == nil {
		t.Error("Plan of a job without operators gave no error")
	}
}
