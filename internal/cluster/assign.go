package cluster

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/fxamacker/cbor/v2"

	"github.com/weirstream/weir/internal/keygroup"
)

// MaxSlots bounds the slots of a cluster, all workers together: no chain
// can use more, since parallelism never exceeds the upper bound of max
// parallelism.
const MaxSlots = keygroup.UpperBound

// Assignment is the plan of one generation, computed by the coordinator (the
// group leader) in Balance and handed to every member in its SyncGroup
// answer. It is pure data: every member derives the same placement from it.
//
// Workers lists the accepted workers sorted by ID; worker k owns the slots
// [Start, Start+Slots), the first starting at 0 and each starting where the
// one before ends, so the slots of all workers are disjoint and cover
// [0, Slots). A member that may not take part gets the same plan with
// Refused set to the reason; it is not among Workers.
type Assignment struct {
	// Generation is the group generation the plan was computed for: the
	// job's epoch.
	Generation int32 `cbor:"1,keyasint,omitempty"`
	// Coordinator is the Worker.ID of the group leader that computed the
	// plan; it triggers checkpoints and runs source enumerators.
	Coordinator string `cbor:"2,keyasint,omitempty"`
	// Fingerprint is the job graph fingerprint every accepted worker has.
	Fingerprint string `cbor:"3,keyasint,omitempty"`
	// Workers are the accepted workers and their slots, in slot order
	// (which is ID order).
	Workers []WorkerSlots `cbor:"4,keyasint,omitempty"`
	// Slots is the total number of slots S, the sum of the workers'. The
	// job's default parallelism is min(S, max parallelism).
	Slots int `cbor:"5,keyasint,omitempty"`
	// Refused is empty for a member that takes part; otherwise it says why
	// the member may not.
	Refused string `cbor:"6,keyasint,omitempty"`
}

// WorkerSlots is one worker of an Assignment and the slots it owns:
// [Start, Start+Slots).
type WorkerSlots struct {
	// ID is the worker's Worker.ID.
	ID string `cbor:"1,keyasint,omitempty"`
	// Addr is the host:port of the worker's data and control server.
	Addr string `cbor:"2,keyasint,omitempty"`
	// Start is the worker's first slot.
	Start int `cbor:"3,keyasint,omitempty"`
	// Slots is the number of slots the worker owns, at least 1.
	Slots int `cbor:"4,keyasint,omitempty"`
}

// End is one past the worker's last slot.
func (w WorkerSlots) End() int { return w.Start + w.Slots }

// SlotOf returns the slot that runs subtask i of a chain of parallelism p:
// i*S/p, rounded down. Chains of equal parallelism thus put subtask i in the
// same slot (a forward edge between them stays inside one process), and a
// chain of parallelism p <= S spreads over the slots evenly. A parallelism
// larger than S (set explicitly on an operator) is placed by the same rule,
// several subtasks to a slot. SlotOf returns -1 when i is not in [0, p) or
// the assignment has no slots.
func (a Assignment) SlotOf(i, p int) int {
	if p < 1 || i < 0 || i >= p || a.Slots < 1 {
		return -1
	}
	return int(int64(i) * int64(a.Slots) / int64(p))
}

// WorkerOf returns the worker that runs subtask i of a chain of parallelism
// p: the one owning SlotOf(i, p). It returns the zero WorkerSlots (empty ID)
// when SlotOf does not place the subtask.
func (a Assignment) WorkerOf(i, p int) WorkerSlots {
	s := a.SlotOf(i, p)
	if s < 0 {
		return WorkerSlots{}
	}
	k := sort.Search(len(a.Workers), func(k int) bool { return a.Workers[k].End() > s })
	if k == len(a.Workers) || a.Workers[k].Start > s {
		return WorkerSlots{}
	}
	return a.Workers[k]
}

// Worker returns the slots of the worker with the given ID, and false when
// the assignment does not include it.
func (a Assignment) Worker(id string) (WorkerSlots, bool) {
	k, ok := slices.BinarySearchFunc(a.Workers, id, func(w WorkerSlots, id string) int { return strings.Compare(w.ID, id) })
	if !ok {
		return WorkerSlots{}, false
	}
	return a.Workers[k], true
}

// Subtasks returns the subtasks of a chain of parallelism p that the worker
// with the given ID runs: [lo, hi), a contiguous range since SlotOf grows
// with i. It is empty (lo == hi) when the worker runs none of them or is not
// in the assignment.
func (a Assignment) Subtasks(id string, p int) (lo, hi int) {
	w, ok := a.Worker(id)
	if !ok || p < 1 || a.Slots < 1 {
		return 0, 0
	}
	// SlotOf(i, p) >= Start  <=>  i*S >= Start*p  <=>  i >= ceil(Start*p/S);
	// SlotOf(i, p) < End     <=>  i*S < End*p     <=>  i < ceil(End*p/S).
	s := int64(a.Slots)
	ceil := func(n int64) int { return int((n + s - 1) / s) }
	return ceil(int64(w.Start) * int64(p)), ceil(int64(w.End()) * int64(p))
}

// Parallelism returns the default parallelism of the job under this
// assignment: the total slots, capped by the job's max parallelism.
func (a Assignment) Parallelism(maxParallelism int) int {
	return min(a.Slots, maxParallelism)
}

// Validate reports every way the assignment breaks its invariants (see the
// package doc), or nil.
func (a Assignment) Validate() error {
	var errs []error
	if a.Generation < 0 {
		errs = append(errs, fmt.Errorf("generation %d is negative", a.Generation))
	}
	if len(a.Workers) > MaxSlots {
		errs = append(errs, fmt.Errorf("%d workers, more than the %d slots a cluster may have", len(a.Workers), MaxSlots))
		return errors.Join(errs...)
	}
	next := 0
	coordinator := false
	for k, w := range a.Workers {
		switch {
		case w.ID == "":
			errs = append(errs, fmt.Errorf("worker %d has no ID", k))
		case k > 0 && a.Workers[k-1].ID >= w.ID:
			errs = append(errs, fmt.Errorf("worker %q comes after %q: workers must be sorted by ID, each once", w.ID, a.Workers[k-1].ID))
		}
		if w.Slots < 1 || w.Slots > MaxSlots {
			errs = append(errs, fmt.Errorf("worker %q has %d slots, not 1 to %d", w.ID, w.Slots, MaxSlots))
			continue
		}
		if w.Start != next {
			errs = append(errs, fmt.Errorf("worker %q starts at slot %d, not %d where the worker before it ends", w.ID, w.Start, next))
		}
		next += w.Slots
		if next > MaxSlots {
			errs = append(errs, fmt.Errorf("the workers have more than %d slots", MaxSlots))
			break
		}
		coordinator = coordinator || w.ID == a.Coordinator
	}
	if a.Slots != next {
		errs = append(errs, fmt.Errorf("total slots %d is not %d, the sum of the workers' slots", a.Slots, next))
	}
	if len(a.Workers) > 0 && !coordinator {
		errs = append(errs, fmt.Errorf("coordinator %q is not among the workers", a.Coordinator))
	}
	return errors.Join(errs...)
}

// The encoding of an Assignment: assignmentMagic, one version byte, then
// the core deterministic CBOR of the Assignment (a map keyed by the small
// integers of the cbor tags, so names may change but numbers never do).
// Equal assignments encode to equal bytes: Kafka compares a restarted
// leader's plan with the one it stored byte for byte.
const (
	assignmentMagic   = "WEIRASG"
	assignmentVersion = 1
)

// maxEncoded bounds the bytes of an encoded assignment or join metadata
// that a decoder accepts. Both travel in Kafka group requests.
const maxEncoded = 1 << 20

// ErrMalformed is wrapped by the errors of DecodeAssignment and decodeWorker
// for bytes that are not an encoding this build reads.
var ErrMalformed = errors.New("cluster: not a weir cluster message")

var (
	groupEnc cbor.EncMode
	groupDec cbor.DecMode
)

func init() {
	var err error
	groupEnc, err = cbor.EncOptions{
		Sort:        cbor.SortCoreDeterministic,
		IndefLength: cbor.IndefLengthForbidden,
	}.EncMode()
	if err != nil {
		panic(fmt.Sprintf("cluster: CBOR encoding options: %v", err))
	}
	groupDec, err = cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		MaxNestedLevels:  8,
		MaxArrayElements: MaxSlots,
		MaxMapPairs:      32,
		UTF8:             cbor.UTF8DecodeInvalid, // IDs and reasons are Go strings: any bytes
	}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("cluster: CBOR decoding options: %v", err))
	}
}

// EncodeAssignment returns the versioned binary encoding of a valid
// assignment.
func EncodeAssignment(a Assignment) ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("cluster: encode assignment: %w", err)
	}
	return encodeVersioned(assignmentMagic, assignmentVersion, a)
}

// DecodeAssignment decodes what EncodeAssignment wrote and checks it. Its
// errors wrap ErrMalformed, and say what is wrong; it never panics, whatever
// the bytes.
func DecodeAssignment(b []byte) (Assignment, error) {
	var a Assignment
	if err := decodeVersioned(b, assignmentMagic, assignmentVersion, "assignment", &a); err != nil {
		return Assignment{}, err
	}
	if err := a.Validate(); err != nil {
		return Assignment{}, fmt.Errorf("%w: assignment breaks its invariants: %w", ErrMalformed, err)
	}
	return a, nil
}

func encodeVersioned(magic string, version byte, v any) ([]byte, error) {
	body, err := groupEnc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cluster: encode %T: %w", v, err)
	}
	b := make([]byte, 0, len(magic)+1+len(body))
	b = append(b, magic...)
	b = append(b, version)
	return append(b, body...), nil
}

func decodeVersioned(b []byte, magic string, version byte, what string, v any) error {
	if len(b) > maxEncoded {
		return fmt.Errorf("%w: %s of %d bytes is larger than %d", ErrMalformed, what, len(b), maxEncoded)
	}
	if len(b) < len(magic)+1 || string(b[:len(magic)]) != magic {
		return fmt.Errorf("%w: %s has no %q header (%d bytes): every worker of a job must run weir", ErrMalformed, what, magic, len(b))
	}
	if got := b[len(magic)]; got != version {
		return fmt.Errorf("%w: %s is format version %d, this build reads version %d: run the same weir release on every worker", ErrMalformed, what, got, version)
	}
	if err := groupDec.Unmarshal(b[len(magic)+1:], v); err != nil {
		return fmt.Errorf("%w: %s body: %w", ErrMalformed, what, err)
	}
	return nil
}
