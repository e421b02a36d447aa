package web

import (
	"fmt"
	"slices"
	"strings"

	"github.com/weirstream/weir"
)

// Load is how one chain of operators spent its time between two samples:
// the shares (0 to 1) of its busiest and of its most backpressured
// subtask. The worst subtask speaks for the chain: one hot key makes one
// subtask the bottleneck while its siblings idle.
type Load struct {
	Busy          float64 `json:"busy"`
	Backpressured float64 `json:"backpressured"`
}

// Thresholds of FindBottleneck: a chain is backpressured when one of its
// subtasks spent at least half its time waiting to send (Flink's "high"
// backpressure), and busy when one spent at least half of it working.
const (
	backpressuredShare = 0.5
	busyShare          = 0.5
	// saturatedShare is the busy share that makes a chain the bottleneck
	// of a job where nothing waits: it works all the time.
	saturatedShare = 0.9
)

// Bottleneck names the chain of operators that limits a job, and why.
type Bottleneck struct {
	// Chain is the limiting chain, as SubtaskMetrics.Operator names it;
	// "" when nothing limits the job.
	Chain string `json:"chain"`
	// Operators are the chain's operators.
	Operators []string `json:"operators,omitempty"`
	// Busy is the chain's busy share (0 to 1).
	Busy float64 `json:"busy"`
	// Backpressured are the backpressured chains right upstream of it:
	// those that wait for it.
	Backpressured []string `json:"backpressured,omitempty"`
	// Reason says it in words.
	Reason string `json:"reason"`
}

// FindBottleneck names the chain that limits the job of graph g, given
// each chain's load: the first busy chain downstream of backpressured
// ones, as Flink's backpressure monitor reads it. Starting at each
// backpressured chain it walks the edges downstream through chains that
// are backpressured themselves; the first one that is not is where the
// records pile up. Among those it names the busiest. When nothing is
// backpressured, a chain busy all the time (90%) limits the job (a
// source that reads as fast as it can, a map that burns CPU); otherwise
// nothing does.
func FindBottleneck(g weir.JobGraph, loads map[string]Load) Bottleneck {
	chains, down := chainGraph(g)
	bp := func(c string) bool { return loads[c].Backpressured >= backpressuredShare }
	var best string
	waiting := map[string][]string{} // candidate -> the backpressured chains right upstream of it
	for _, c := range chains {
		if !bp(c) {
			continue
		}
		seen := map[string]bool{c: true}
		queue := []string{c}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			for _, next := range down[cur] {
				if seen[next] {
					continue
				}
				seen[next] = true
				if bp(next) {
					queue = append(queue, next)
					continue
				}
				if !slices.Contains(waiting[next], cur) {
					waiting[next] = append(waiting[next], cur)
				}
				if best == "" || better(loads[next], loads[best]) {
					best = next
				}
			}
		}
	}
	if best != "" {
		b := Bottleneck{Chain: best, Operators: strings.Split(best, " -> "), Busy: loads[best].Busy, Backpressured: waiting[best]}
		up := describeUpstream(b.Backpressured, loads)
		verb := "waits"
		if len(b.Backpressured) > 1 {
			verb = "wait"
		}
		if b.Busy >= busyShare {
			b.Reason = fmt.Sprintf("%s is busy %s of the time while %s %s for it: it limits the job.", best, pct(b.Busy), up, verb)
		} else {
			b.Reason = fmt.Sprintf("%s %s for %s, which is busy only %s of the time: it may itself wait for something outside the job (a slow external system, a lock).", up, verb, best, pct(b.Busy))
		}
		return b
	}
	for _, c := range chains {
		if loads[c].Busy >= saturatedShare && (best == "" || loads[c].Busy > loads[best].Busy) {
			best = c
		}
	}
	if best != "" {
		return Bottleneck{Chain: best, Operators: strings.Split(best, " -> "), Busy: loads[best].Busy,
			Reason: fmt.Sprintf("%s is busy %s of the time and nothing waits on it: it runs as fast as it can and sets the pace of the job.", best, pct(loads[best].Busy))}
	}
	return Bottleneck{Reason: "No bottleneck: no operator is backpressured, and none is busy 90% of the time."}
}

// better reports whether a chain with load a limits the job more than one
// with load b: it is busier.
func better(a, b Load) bool { return a.Busy > b.Busy }

func describeUpstream(chains []string, loads map[string]Load) string {
	parts := make([]string, len(chains))
	for i, c := range chains {
		parts[i] = fmt.Sprintf("%s (backpressured %s)", c, pct(loads[c].Backpressured))
	}
	return strings.Join(parts, " and ")
}

func pct(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }

// chainGraph returns g's chains in the order of their first operators,
// and for each chain the chains its records go to.
func chainGraph(g weir.JobGraph) ([]string, map[string][]string) {
	chainOf := map[int]string{}
	var chains []string
	for _, op := range g.Operators {
		chainOf[op.ID] = op.Chain
		if op.Chain != "" && !slices.Contains(chains, op.Chain) {
			chains = append(chains, op.Chain)
		}
	}
	down := map[string][]string{}
	for _, e := range g.Edges {
		from, to := chainOf[e.From], chainOf[e.To]
		if from == "" || to == "" || from == to || slices.Contains(down[from], to) {
			continue
		}
		down[from] = append(down[from], to)
	}
	return chains, down
}

// Loads computes each chain's load between samples a and b (b later),
// from the subtasks present in both. A subtask whose counters went back
// (the job restarted in between) is left out.
func Loads(a, b Sample) map[string]Load {
	type key struct {
		chain   string
		subtask int
	}
	before := map[key]SubtaskSample{}
	for _, s := range a.Subtasks {
		before[key{s.Chain, s.Subtask}] = s
	}
	out := map[string]Load{}
	for _, s := range b.Subtasks {
		p, ok := before[key{s.Chain, s.Subtask}]
		if !ok {
			continue
		}
		busy, idle, bp := s.BusyMs-p.BusyMs, s.IdleMs-p.IdleMs, s.BackpressuredMs-p.BackpressuredMs
		total := busy + idle + bp
		if busy < 0 || idle < 0 || bp < 0 || total <= 0 {
			continue
		}
		l := out[s.Chain]
		l.Busy = max(l.Busy, float64(busy)/float64(total))
		l.Backpressured = max(l.Backpressured, float64(bp)/float64(total))
		out[s.Chain] = l
	}
	return out
}
