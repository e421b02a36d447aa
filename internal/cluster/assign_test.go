package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// plan builds a valid assignment of workers with the given slots, named
// w0, w1, ... in slot order; w0 coordinates.
func assignment(slots ...int) Assignment {
	a := Assignment{Generation: 7, Coordinator: "w0", Fingerprint: "fp"}
	for k, n := range slots {
		a.Workers = append(a.Workers, WorkerSlots{ID: fmt.Sprintf("w%d", k), Addr: fmt.Sprintf("10.0.0.%d:7070", k), Start: a.Slots, Slots: n})
		a.Slots += n
	}
	return a
}

func TestSlotOf(t *testing.T) {
	for _, tc := range []struct {
		name  string
		slots []int
		p     int
		want  []int // slot of subtask i
	}{
		{"p = S", []int{2, 2}, 4, []int{0, 1, 2, 3}},
		{"p < S spreads evenly", []int{2, 2, 2}, 3, []int{0, 2, 4}},
		{"p < S, not a divisor", []int{4, 3}, 3, []int{0, 2, 4}},
		{"p = 1", []int{3, 1}, 1, []int{0}},
		{"one slot", []int{1}, 1, []int{0}},
		{"p > S: several subtasks per slot", []int{1, 1}, 5, []int{0, 0, 0, 1, 1}},
		{"p > S, uneven workers", []int{1, 2}, 6, []int{0, 0, 1, 1, 2, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := assignment(tc.slots...)
			var got []int
			for i := range tc.p {
				got = append(got, a.SlotOf(i, tc.p))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("SlotOf(i, %d) for S=%d = %v, want %v", tc.p, a.Slots, got, tc.want)
			}
		})
	}
}

func TestSlotOfOutOfRange(t *testing.T) {
	a := assignment(2)
	for _, c := range [][2]int{{-1, 2}, {2, 2}, {0, 0}, {0, -1}} {
		if got := a.SlotOf(c[0], c[1]); got != -1 {
			t.Errorf("SlotOf(%d, %d) = %d, want -1", c[0], c[1], got)
		}
		if w := a.WorkerOf(c[0], c[1]); w.ID != "" {
			t.Errorf("WorkerOf(%d, %d) = %+v, want none", c[0], c[1], w)
		}
	}
	if got := (Assignment{}).SlotOf(0, 1); got != -1 {
		t.Errorf("SlotOf on an empty assignment = %d, want -1", got)
	}
}

// TestPlacementProperties checks, for every small cluster and parallelism,
// that WorkerOf agrees with SlotOf and the workers' ranges, that Subtasks
// lists exactly the subtasks WorkerOf places on each worker, that every
// subtask is placed once, that chains of equal parallelism place alike,
// and that p <= S never puts two subtasks in one slot.
func TestPlacementProperties(t *testing.T) {
	for _, slots := range [][]int{{1}, {3}, {1, 1}, {2, 1}, {1, 2, 3}, {4, 4, 4, 4}, {5, 1, 7}} {
		a := assignment(slots...)
		for p := 1; p <= 3*a.Slots+1; p++ {
			count := map[string]int{}
			used := map[int]bool{}
			for i := range p {
				s := a.SlotOf(i, p)
				w := a.WorkerOf(i, p)
				if s < w.Start || s >= w.End() {
					t.Fatalf("S=%d p=%d: subtask %d in slot %d, but WorkerOf = %+v", a.Slots, p, i, s, w)
				}
				if p <= a.Slots && used[s] {
					t.Fatalf("S=%d p=%d: two subtasks in slot %d", a.Slots, p, s)
				}
				used[s] = true
				if i > 0 && s < a.SlotOf(i-1, p) {
					t.Fatalf("S=%d p=%d: slots not increasing at subtask %d", a.Slots, p, i)
				}
				count[w.ID]++
			}
			total := 0
			for _, w := range a.Workers {
				lo, hi := a.Subtasks(w.ID, p)
				for i := lo; i < hi; i++ {
					if got := a.WorkerOf(i, p).ID; got != w.ID {
						t.Fatalf("S=%d p=%d: Subtasks(%s) = [%d,%d) includes %d, which runs on %s", a.Slots, p, w.ID, lo, hi, i, got)
					}
				}
				if hi-lo != count[w.ID] {
					t.Fatalf("S=%d p=%d: Subtasks(%s) = [%d,%d), but %d subtasks run there", a.Slots, p, w.ID, lo, hi, count[w.ID])
				}
				total += hi - lo
			}
			if total != p {
				t.Fatalf("S=%d p=%d: Subtasks cover %d subtasks", a.Slots, p, total)
			}
		}
	}
	if lo, hi := assignment(2).Subtasks("nobody", 4); lo != hi {
		t.Errorf("Subtasks of an unknown worker = [%d,%d), want empty", lo, hi)
	}
}

func TestWorkerAndParallelism(t *testing.T) {
	a := assignment(2, 3)
	if w, ok := a.Worker("w1"); !ok || w.Start != 2 || w.Slots != 3 {
		t.Errorf("Worker(w1) = %+v, %v", w, ok)
	}
	if _, ok := a.Worker("w9"); ok {
		t.Error("Worker(w9) found")
	}
	if got := a.Parallelism(128); got != 5 {
		t.Errorf("Parallelism(128) = %d, want the 5 slots", got)
	}
	if got := a.Parallelism(4); got != 4 {
		t.Errorf("Parallelism(4) = %d, want max parallelism 4", got)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Assignment)
		want string
	}{
		{"gap", func(a *Assignment) { a.Workers[1].Start = 3 }, `worker "w1" starts at slot 3, not 2`},
		{"overlap", func(a *Assignment) { a.Workers[1].Start = 1 }, `worker "w1" starts at slot 1, not 2`},
		{"total", func(a *Assignment) { a.Slots = 9 }, "total slots 9 is not 4"},
		{"order", func(a *Assignment) { a.Workers[0].ID, a.Workers[1].ID = "w1", "w0" }, `worker "w0" comes after "w1"`},
		{"duplicate", func(a *Assignment) { a.Workers[1].ID = "w0" }, `worker "w0" comes after "w0"`},
		{"no slots", func(a *Assignment) { a.Workers[1].Slots = 0 }, `worker "w1" has 0 slots`},
		{"no id", func(a *Assignment) { a.Workers[0].ID = "" }, "worker 0 has no ID"},
		{"coordinator", func(a *Assignment) { a.Coordinator = "x" }, `coordinator "x" is not among the workers`},
		{"generation", func(a *Assignment) { a.Generation = -1 }, "generation -1 is negative"},
		{"too many slots", func(a *Assignment) { a.Workers[1].Slots = MaxSlots; a.Slots = MaxSlots + 2 }, "more than 32768 slots"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := assignment(2, 2)
			tc.edit(&a)
			err := a.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want it to say %q", err, tc.want)
			}
			if _, err := EncodeAssignment(a); err == nil {
				t.Fatal("EncodeAssignment accepted an invalid assignment")
			}
		})
	}
	if err := assignment(2, 2).Validate(); err != nil {
		t.Fatalf("valid plan: %v", err)
	}
}

func TestAssignmentRoundTrip(t *testing.T) {
	refused := assignment(1, 2)
	refused.Refused = `worker "x" runs another job graph`
	for _, a := range []Assignment{
		{},
		{Generation: 1},
		assignment(1),
		assignment(3, 1, 4, 1, 5),
		refused,
		{Generation: 1 << 30, Coordinator: "é\x00\xff", Workers: []WorkerSlots{{ID: "é\x00\xff", Slots: MaxSlots}}, Slots: MaxSlots},
	} {
		b, err := EncodeAssignment(a)
		if err != nil {
			t.Fatalf("encode %+v: %v", a, err)
		}
		got, err := DecodeAssignment(b)
		if err != nil {
			t.Fatalf("decode %+v: %v", a, err)
		}
		if !equalAssignments(got, a) {
			t.Fatalf("round trip: got %+v, want %+v", got, a)
		}
		again, _ := EncodeAssignment(got)
		if !bytes.Equal(again, b) {
			t.Fatalf("equal assignments encode to different bytes")
		}
	}
}

func TestDecodeAssignmentErrors(t *testing.T) {
	good, err := EncodeAssignment(assignment(2))
	if err != nil {
		t.Fatal(err)
	}
	bad := assignment(2)
	bad.Slots = 3
	body, err := groupEnc.Marshal(bad)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "no \"WEIRASG\" header"},
		{"consumer protocol", []byte{0, 1, 0, 0, 0, 0}, "no \"WEIRASG\" header"},
		{"newer version", append([]byte(assignmentMagic+"\x02"), good[len(assignmentMagic)+1:]...), "format version 2, this build reads version 1"},
		{"truncated", good[:len(good)-1], "assignment body"},
		{"trailing bytes", append(slices.Clone(good), 0), "assignment body"},
		{"broken invariant", append([]byte(assignmentMagic+"\x01"), body...), "total slots 3 is not 2"},
		{"too large", append([]byte(assignmentMagic+"\x01"), make([]byte, maxEncoded)...), "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeAssignment(tc.b)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeAssignment = %v, want ErrMalformed saying %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeAssignment: DecodeAssignment never panics; what it accepts
// is valid, encodes again, and decodes to an equal assignment with the
// same bytes (core deterministic CBOR: the only encoding of a value).
func FuzzDecodeAssignment(f *testing.F) {
	for _, a := range []Assignment{{}, assignment(1), assignment(2, 3), {Generation: 3, Refused: "no"}} {
		b, err := EncodeAssignment(a)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(assignmentMagic + "\x01\xa0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAssignment(b)
		if err != nil {
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("decoded an invalid assignment: %v", err)
		}
		enc, err := EncodeAssignment(a)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", a, err)
		}
		back, err := DecodeAssignment(enc)
		if err != nil {
			t.Fatalf("decode(encode(a)): %v", err)
		}
		if !equalAssignments(back, a) {
			t.Fatalf("decode(encode(a)) = %+v, want %+v", back, a)
		}
	})
}

// equalAssignments compares assignments, an empty Workers equal to nil.
func equalAssignments(a, b Assignment) bool {
	return a.Generation == b.Generation && a.Coordinator == b.Coordinator && a.Fingerprint == b.Fingerprint &&
		a.Slots == b.Slots && a.Refused == b.Refused && slices.Equal(a.Workers, b.Workers)
}
