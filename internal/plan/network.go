package plan

import (
	"context"

	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/source"
)

// Network runs a job across the processes of a cluster (internal/cluster
// implements it). The planner asks it where each subtask runs, builds only
// the subtasks of this process, and has it connect what crosses
// processes: exchange channels, and the readers of a source with its
// enumerator. Without a Network (Settings.Network nil) every subtask runs
// in this process.
type Network interface {
	// Here reports whether subtask i of a chain of parallelism p runs in
	// this process.
	Here(i, p int) bool
	// Coordinator reports whether this process runs the job's source
	// enumerators and its checkpoint driver.
	Coordinator() bool
	// Link connects channel (s, r) of the exchange ex of edge e, the
	// input'th input of e.To, which crosses processes. When sender s runs
	// here, it returns the task that carries the channel's elements to the
	// receiver's process; when receiver r runs here, it makes ex the
	// destination of what arrives for the channel and returns nil.
	Link(ctx context.Context, e *Edge, input int, ex Exchange, s, r int) (func(context.Context) error, error)
	// Enumeration connects the enumeration of source n: on the
	// coordinator, the real one, whose readers in other processes get
	// proxies for mailboxes and whose split requests arrive from them; in
	// another process, the readers' side, whose mailboxes take what the
	// coordinator sends and whose split requests go to it. splits encodes
	// the source's splits.
	Enumeration(n *Node, en *runtime.Enumeration, splits source.Checkpointed) error
}

// EdgeID names an edge in every process of a cluster: the node it leads
// to, and which of its inputs it is.
type EdgeID struct {
	To, Input int
}
