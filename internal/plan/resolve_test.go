package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/weirstream/weir/internal/runtime"
)

// graph builds a graph of untyped nodes for the planner's pure steps.
type graph struct{ g Graph }

func (b *graph) source(name string, par int) *Node {
	return b.g.Add(&Node{Kind: "source", Name: name, Parallelism: par, Source: nilSource{}})
}

func (b *graph) op(name string, par int, pattern runtime.Pattern, from ...*Node) *Node {
	n := b.g.Add(&Node{Kind: "op", Name: name, Parallelism: par, Operator: nilOperator{}})
	for _, f := range from {
		Connect(f, n, pattern, nil)
	}
	return n
}

type nilSource struct{ Source }
type nilOperator struct{ Operator }

func chains(p *Plan) string {
	var out []string
	for _, c := range p.Chains() {
		var names []string
		for _, n := range c.Nodes {
			names = append(names, n.Name)
		}
		out = append(out, fmt.Sprintf("%s x%d", strings.Join(names, " -> "), c.Parallelism))
	}
	return strings.Join(out, "; ")
}

func TestResolve(t *testing.T) {
	t.Run("forward edges of equal parallelism chain", func(t *testing.T) {
		var b graph
		src := b.source("src", 0)
		parse := b.op("parse", 0, runtime.Forward, src)
		b.op("sink", 0, runtime.Forward, parse)
		p := Resolve(&b.g, 2)
		if got, want := chains(p), "src -> parse -> sink x2"; got != want {
			t.Errorf("chains %q, want %q", got, want)
		}
	})
	t.Run("a forward edge between parallelisms rebalances and breaks the chain", func(t *testing.T) {
		var b graph
		src := b.source("src", 1)
		parse := b.op("parse", 3, runtime.Forward, src)
		p := Resolve(&b.g, 2)
		if got := p.Pattern(parse.Inputs[0]); got != runtime.Rebalance {
			t.Errorf("pattern %v, want REBALANCE", got)
		}
		if got, want := chains(p), "src x1; parse x3"; got != want {
			t.Errorf("chains %q, want %q", got, want)
		}
		if src.Outputs[0].Pattern != runtime.Forward {
			t.Error("Resolve changed the graph: plans must be pure")
		}
	})
	t.Run("keyed edges, several inputs and own tasks start chains", func(t *testing.T) {
		var b graph
		a := b.source("a", 0)
		c := b.source("c", 0)
		keyed := b.op("count", 0, runtime.Hash, a)
		union := b.op("merge", 0, runtime.Forward, keyed, c)
		async := b.op("lookup", 0, runtime.Forward, union)
		async.OwnTask = true
		b.op("sink", 0, runtime.Forward, async)
		p := Resolve(&b.g, 2)
		if got, want := chains(p), "a x2; c x2; count x2; merge x2; lookup -> sink x2"; got != want {
			t.Errorf("chains %q, want %q", got, want)
		}
	})
	t.Run("side outputs run with their producer and chain their consumers", func(t *testing.T) {
		var b graph
		src := b.source("src", 0)
		parse := b.op("parse", 3, runtime.Forward, src)
		bad := b.g.Add(&Node{Kind: "side", SideOf: parse, Tag: &Tag{Name: "bad"}})
		b.op("bad-sink", 3, runtime.Forward, bad)
		b.op("sink", 3, runtime.Forward, parse)
		p := Resolve(&b.g, 2)
		if got := p.Parallelism(bad); got != 3 {
			t.Errorf("side output parallelism %d, want its producer's 3", got)
		}
		if got := p.Sides(parse); len(got) != 1 || got[0] != bad {
			t.Errorf("side index of parse: %v", got)
		}
		if got, want := chains(p), "src x2; parse -> sink -> bad-sink x3"; got != want {
			t.Errorf("chains %q, want %q", got, want)
		}
	})
}

func TestCheck(t *testing.T) {
	var b graph
	if err := b.g.Check(128); err == nil || !strings.Contains(err.Error(), "no operators") {
		t.Errorf("empty graph: %v", err)
	}
	src := b.source("x", 0)
	b.op("x", 200, runtime.Forward, src)
	err := b.g.Check(128)
	for _, want := range []string{`two operators are named "x"`, "Parallelism 200 is out of range"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check: %v, want it to say %q", err, want)
		}
	}
}
