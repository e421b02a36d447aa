package plan

import (
	"fmt"
	"hash/fnv"
	"sort"

	"github.com/weirstream/weir/internal/job"
)

// AssignUIDs gives every operator without a UID its default: its name
// when the user named it (weir.Name), otherwise a hash of its place in
// the graph — its kind and signature (record types, a source's type), its
// inputs' UIDs and partitioning, the side output it is, and its rank among
// operators that share all of these. An edit
// elsewhere in the graph (an operator added downstream or on another
// branch) leaves the hash alone; one upstream changes it, as in Flink.
// Nodes come in the order they were added, so inputs are assigned first.
func AssignUIDs(g *Graph) {
	seen := map[uint64]int{} // place hash -> operators with it so far
	for _, n := range g.Nodes {
		if n.UID != "" {
			continue
		}
		if n.Named {
			n.UID = n.Name
			continue
		}
		h := placeHash(n)
		rank := seen[h]
		seen[h] = rank + 1
		n.UID = fmt.Sprintf("%s-%016x", n.Kind, mix(h, uint64(rank)))
	}
}

func placeHash(n *Node) uint64 {
	f := fnv.New64a()
	fmt.Fprintf(f, "%s\x00%s\x00", n.Kind, n.Signature)
	for _, e := range n.Inputs {
		fmt.Fprintf(f, "in:%s:%d\x00", e.From.UID, e.Pattern)
	}
	if n.SideOf != nil {
		fmt.Fprintf(f, "side:%s:%s\x00", n.SideOf.UID, n.Tag.Name)
	}
	var union []string
	for _, u := range n.UnionOf {
		union = append(union, u.UID)
	}
	sort.Strings(union)
	for _, u := range union {
		fmt.Fprintf(f, "union:%s\x00", u)
	}
	return f.Sum64()
}

func mix(h, rank uint64) uint64 {
	f := fnv.New64a()
	fmt.Fprintf(f, "%d:%d", h, rank)
	return f.Sum64()
}

// States returns every UID under which the graph's operators may keep
// state in a checkpoint, with the operator's name: each operator's, a
// source's enumerator's, and the records in flight into each operator
// that starts a chain.
func (p *Plan) States() map[string]string {
	out := map[string]string{}
	for _, n := range p.Graph.Nodes {
		if n.UnionOf != nil || n.SideOf != nil {
			continue
		}
		out[n.UID] = n.Name
		if n.Source != nil {
			out[EnumeratorUID(n.UID)] = n.Name + " (enumerator)"
		}
		if p.IsHead(n) {
			out[job.ChannelsUID(n.UID)] = n.Name + " (records in flight)"
		}
	}
	return out
}
