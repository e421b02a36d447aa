package pvuv

import (
	"fmt"

	"github.com/axiomhq/hyperloglog"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/window"
)

// HLLPrecision is the precision of every HyperLogLog sketch the job keeps
// (Options.UV "hll", and the daily UV in both modes): 2^14 = 16384
// registers, 16 KiB per sketch.
const HLLPrecision = 14

// HLLStandardError is the relative standard error of a HyperLogLog estimate
// at HLLPrecision: 1.04/√16384 = 0.8125%. About 99.7% of estimates are
// within three standard errors (±2.44%) of the true count.
const HLLStandardError = 0.008125

// hllShards is how many shards of the visitors the sketching steps are
// keyed by: enough to spread the work over the subtasks, few enough that
// a window's sketches are cheap to merge at parallelism 1.
const hllShards = 64

// newSketch returns an empty sketch of HLLPrecision. Sketches are dense
// from the start: adding a visitor is one register update, where the
// sparse form sorts and re-encodes its list as it grows.
func newSketch() *hyperloglog.Sketch { return hyperloglog.NewNoSparse() }

// clientHash hashes a client address to 64 uniformly distributed bits, the
// same in every process and on every restart (sketches in checkpoints hold
// these hashes): FNV-1a, then the MurmurHash3 finaliser, which spreads
// every input bit over every output bit as HyperLogLog needs.
func clientHash(client string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(client); i++ {
		h ^= uint64(client[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// shardOf is the shard of a client's hash.
func shardOf(hash uint64) int { return int(hash % hllShards) }

// sketchAcc is one shard's page views and sketch of its visitors in one
// window. Its fields are exported because accumulators are stored in
// checkpoints; the codec stores the sketch as the bytes of its
// MarshalBinary and reads it back with UnmarshalBinary (so does it for
// the sketches in the merge's and the daily step's state). On the heap
// backend the sketch stays decoded between checkpoints, so adding a
// visitor costs one register update; on the pebble backend every record
// reads and writes it whole (16 KiB).
type sketchAcc struct {
	Views    int64
	Reported int64 // views already sent downstream (see counter)
	Sketch   *hyperloglog.Sketch
}

// sketchHits sketches the visitors of page views (Options.UV "hll").
// Tumbling windows never merge accumulators, so it has no Merge.
var sketchHits = weir.AggregateFunc[Hit, *sketchAcc, *sketchAcc]{
	Init: func() *sketchAcc { return &sketchAcc{Sketch: newSketch()} },
	Add: func(a *sketchAcc, h Hit) *sketchAcc {
		a.Views++
		a.Sketch.InsertHash(clientHash(h.Client))
		return a
	},
	Result: func(a *sketchAcc) *sketchAcc { return a },
}

// reportSketch sends a shard's window downstream: the views it did not
// report yet, and its whole sketch (merging a sketch twice changes
// nothing, so a refiring may resend it). A refiring without new views
// sends nothing.
func reportSketch(_ int, w window.Window, a *sketchAcc, out weir.Emitter[partial]) error {
	views := a.Views - a.Reported
	if views == 0 && a.Reported > 0 {
		return nil
	}
	b, err := a.Sketch.MarshalBinary()
	if err != nil {
		return fmt.Errorf("pvuv: encode the HyperLogLog sketch of window %v: %w (this is a bug in pvuv: please report it)", w, err)
	}
	a.Reported = a.Views
	out.Emit(partial{Window: w.Start, End: w.End, PV: views, Sketch: b})
	return nil
}

// mergeSketch merges the encoded sketch add into into, or into a new
// sketch when into is nil, and returns it. what names the state for error
// messages.
func mergeSketch(into *hyperloglog.Sketch, add []byte, what string) (*hyperloglog.Sketch, error) {
	s := new(hyperloglog.Sketch)
	if err := s.UnmarshalBinary(add); err != nil {
		return nil, fmt.Errorf("pvuv: %s: a partial result holds no valid HyperLogLog sketch: %w (this is a bug in pvuv: please report it)", what, err)
	}
	if into == nil {
		return s, nil
	}
	if err := into.Merge(s); err != nil {
		return nil, fmt.Errorf("pvuv: %s: %w (was the state restored from a checkpoint of another version? start without it)", what, err)
	}
	return into, nil
}
