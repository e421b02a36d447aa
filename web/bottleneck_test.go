package web_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/web"
)

// line is a job graph of chains in a row, one operator each, plus the
// extra edges given.
func line(chains ...string) weir.JobGraph {
	var g weir.JobGraph
	for i, c := range chains {
		g.Operators = append(g.Operators, weir.GraphOperator{ID: i, Name: c, Chain: c})
		if i > 0 {
			g.Edges = append(g.Edges, weir.GraphEdge{From: i - 1, To: i, Partitioning: "HASH"})
		}
	}
	return g
}

func TestFindBottleneck(t *testing.T) {
	// A fan-out: src feeds fast and slow, slow feeds sink.
	fan := line("src", "fast")
	fan.Operators = append(fan.Operators, weir.GraphOperator{ID: 2, Name: "slow", Chain: "slow"}, weir.GraphOperator{ID: 3, Name: "sink", Chain: "sink"})
	fan.Edges = append(fan.Edges, weir.GraphEdge{From: 0, To: 2}, weir.GraphEdge{From: 2, To: 3})
	// A chain of several operators.
	chained := weir.JobGraph{Operators: []weir.GraphOperator{
		{ID: 0, Name: "src", Chain: "src -> parse"}, {ID: 1, Name: "parse", Chain: "src -> parse"}, {ID: 2, Name: "window", Chain: "window"}},
		Edges: []weir.GraphEdge{{From: 0, To: 1, Chained: true}, {From: 1, To: 2}}}
	for _, tc := range []struct {
		name   string
		g      weir.JobGraph
		loads  map[string]web.Load
		want   string
		waits  []string
		reason string // a part of the reason
	}{
		{name: "slow sink", g: line("src", "map", "sink"),
			loads: map[string]web.Load{"src": {Backpressured: 0.95}, "map": {Busy: 0.05, Backpressured: 0.9}, "sink": {Busy: 0.98}},
			want:  "sink", waits: []string{"map"}, reason: "sink is busy 98% of the time while map (backpressured 90%) waits for it"},
		{name: "busy middle", g: line("src", "map", "sink"),
			loads: map[string]web.Load{"src": {Backpressured: 0.8}, "map": {Busy: 0.9}, "sink": {Busy: 0.1}},
			want:  "map", waits: []string{"src"}},
		{name: "first busy downstream, not the busiest anywhere", g: line("src", "map", "sink"),
			loads: map[string]web.Load{"src": {Busy: 0.99}, "map": {Backpressured: 0.7}, "sink": {Busy: 0.6}},
			want:  "sink", waits: []string{"map"}},
		{name: "fan-out: the slow branch", g: fan,
			loads: map[string]web.Load{"src": {Backpressured: 0.9}, "fast": {Busy: 0.2}, "slow": {Busy: 0.95}, "sink": {Busy: 0.1}},
			want:  "slow", waits: []string{"src"}},
		{name: "waiting on the outside", g: line("src", "async"),
			loads: map[string]web.Load{"src": {Backpressured: 0.9}, "async": {Busy: 0.1}},
			want:  "async", waits: []string{"src"}, reason: "outside the job"},
		{name: "nothing waits, one saturated", g: line("src", "map"),
			loads: map[string]web.Load{"src": {Busy: 0.97}, "map": {Busy: 0.3}},
			want:  "src", reason: "nothing waits on it"},
		{name: "healthy", g: line("src", "map"),
			loads: map[string]web.Load{"src": {Busy: 0.3}, "map": {Busy: 0.4}},
			want:  "", reason: "No bottleneck"},
		{name: "no loads yet", g: line("src", "map"), loads: map[string]web.Load{}, want: ""},
		{name: "chained operators are named", g: chained,
			loads: map[string]web.Load{"src -> parse": {Backpressured: 0.9}, "window": {Busy: 0.9}},
			want:  "window", waits: []string{"src -> parse"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := web.FindBottleneck(tc.g, tc.loads)
			if b.Chain != tc.want || !slices.Equal(b.Backpressured, tc.waits) {
				t.Errorf("FindBottleneck = %q waited on by %q, want %q waited on by %q (%s)", b.Chain, b.Backpressured, tc.want, tc.waits, b.Reason)
			}
			if !strings.Contains(b.Reason, tc.reason) {
				t.Errorf("reason %q, want it to contain %q", b.Reason, tc.reason)
			}
		})
	}
}

func TestLoads(t *testing.T) {
	a := web.Sample{Time: 0, Subtasks: []web.SubtaskSample{
		{Chain: "map", Subtask: 0, BusyMs: 100, IdleMs: 100},
		{Chain: "map", Subtask: 1, BusyMs: 100, IdleMs: 100},
		{Chain: "sink", Subtask: 0, BusyMs: 500},
	}}
	b := web.Sample{Time: 1000, Subtasks: []web.SubtaskSample{
		{Chain: "map", Subtask: 0, BusyMs: 200, IdleMs: 100, BackpressuredMs: 900}, // 10% busy, 90% bp
		{Chain: "map", Subtask: 1, BusyMs: 700, IdleMs: 500},                       // 60% busy
		{Chain: "sink", Subtask: 0, BusyMs: 100},                                   // went back: restarted
		{Chain: "new", Subtask: 0, BusyMs: 100},                                    // not in a
	}}
	got := web.Loads(a, b)
	want := map[string]web.Load{"map": {Busy: 0.6, Backpressured: 0.9}}
	if len(got) != len(want) || got["map"] != want["map"] {
		t.Errorf("Loads = %v, want %v (the worst subtask of each chain; restarted and new subtasks left out)", got, want)
	}
}
