package weir

import (
	"fmt"

	"github.com/weirstream/weir/window"
)

// joinPanes is what a window join keeps per key and window: the records of
// each input. Its fields are exported so that the codec can keep it in
// checkpoints and in the pebble backend.
type joinPanes[A, B any] struct {
	As []A `cbor:"1,keyasint,omitempty"`
	Bs []B `cbor:"2,keyasint,omitempty"`
}

// WindowJoin joins the records of a and b that have the same key and fall
// into the same window of assigner (window.Tumbling, window.Sliding or
// window.Session; a session spans the records of both inputs): when the
// watermark passes a window's end, it emits join(x, y) for every pair of a
// record x of a and y of b in it, with the window's last millisecond as
// the time, and drops the window's records. A window that holds records of
// only one input emits nothing (an inner join).
//
// Records that come after their window fired are dropped and counted
// (Env.DroppedLateRecords). The windows' records live on the job's state
// backend, in checkpoints, and are redistributed by key group on a restore
// at another parallelism. On the pebble backend each record rewrites its
// window's list: keep windows of a key small there.
func WindowJoin[K comparable, A, B, O any](a Stream[A], b Stream[B], keyA func(A) K, keyB func(B) K, assigner window.Assigner, join func(x A, y B) O, opts ...OpOption) Stream[O] {
	if join == nil {
		a.env.errs = append(a.env.errs, fmt.Errorf("weir: WindowJoin: the join function is nil"))
	}
	ks := keyConnected(a, b, keyA, keyB)
	agg := AggregateFunc[coRecord[A, B], joinPanes[A, B], joinPanes[A, B]]{
		Init: func() joinPanes[A, B] { return joinPanes[A, B]{} },
		Add: func(p joinPanes[A, B], v coRecord[A, B]) joinPanes[A, B] {
			if v.Two {
				p.Bs = append(p.Bs, v.In2)
			} else {
				p.As = append(p.As, v.In1)
			}
			return p
		},
		Result: func(p joinPanes[A, B]) joinPanes[A, B] { return p },
		Merge: func(p, q joinPanes[A, B]) joinPanes[A, B] {
			return joinPanes[A, B]{As: append(p.As[:len(p.As):len(p.As)], q.As...), Bs: append(p.Bs[:len(p.Bs):len(p.Bs)], q.Bs...)}
		},
	}
	return AggregateWindow(Window(ks, assigner), agg, func(_ K, _ window.Window, p joinPanes[A, B], out Emitter[O]) error {
		for _, x := range p.As {
			for _, y := range p.Bs {
				out.Emit(join(x, y))
			}
		}
		return nil
	}, append([]OpOption{kindOption("window-join")}, opts...)...)
}
