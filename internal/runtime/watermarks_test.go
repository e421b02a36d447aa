package runtime

import "testing"

// TestWatermarkTracker plays transcripts of (input, event) steps and checks
// what the tracker forwards after each.
func TestWatermarkTracker(t *testing.T) {
	const none = int64(-1 << 62) // "forwards nothing"
	type step struct {
		input int
		event string // "wm", "idle", "end", "record"
		wm    int64
		want  int64
	}
	cases := []struct {
		name   string
		inputs int
		steps  []step
	}{
		{"minimum of inputs", 2, []step{
			{0, "wm", 10, none}, // input 1 has none yet
			{1, "wm", 5, 5},
			{1, "wm", 20, 10},
			{0, "wm", 30, 20},
			{0, "wm", 25, none}, // an input's watermark never goes back
		}},
		{"idle input excluded", 2, []step{
			{0, "wm", 10, none},
			{1, "idle", 0, 10},
			{0, "wm", 15, 15},
			{1, "record", 0, none}, // active again, with no watermark of its own yet
			{0, "wm", 40, none},    // input 1 holds it back again
			{1, "wm", 30, 30},
		}},
		{"all idle forwards idle", 2, []step{
			{0, "idle", 0, none},
			{1, "idle", 0, Idle},
			{0, "wm", 7, 7},
		}},
		{"ended inputs excluded, all ended is end of time", 3, []step{
			{0, "wm", 10, none},
			{1, "wm", 20, none},
			{2, "end", 0, 10},
			{0, "end", 0, 20},
			{1, "end", 0, EndOfTime},
		}},
		{"forwarded watermarks never decrease", 2, []step{
			{0, "wm", 50, none},
			{1, "wm", 60, 50},
			{0, "idle", 0, 60},
			{0, "wm", 40, none}, // back with an older watermark: stays at 60
			{1, "wm", 70, none},
			{0, "wm", 80, 70},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := NewWatermarkTracker(c.inputs)
			for i, s := range c.steps {
				var got int64
				var ok bool
				switch s.event {
				case "wm":
					got, ok = tr.Update(s.input, s.wm)
				case "idle":
					got, ok = tr.Update(s.input, Idle)
				case "end":
					got, ok = tr.End(s.input)
				case "record":
					got, ok = tr.Activate(s.input)
				}
				if !ok {
					got = none
				}
				if got != s.want {
					t.Fatalf("step %d (%s %d on input %d): forwarded %d, want %d", i, s.event, s.wm, s.input, got, s.want)
				}
			}
		})
	}
}

func TestAligner(t *testing.T) {
	ended := map[int]bool{}
	isEnded := func(i int) bool { return ended[i] }
	a := newAligner(3)
	if a.barrier(0, 1, isEnded) || a.barrier(1, 1, isEnded) {
		t.Fatal("aligned before every input delivered the barrier")
	}
	if !a.blocked[0] || !a.blocked[1] || a.blocked[2] {
		t.Fatalf("blocked = %v, want inputs 0 and 1 held back", a.blocked)
	}
	if !a.barrier(2, 1, isEnded) || a.blocked[0] {
		t.Fatal("not aligned, or not reset, after the last barrier")
	}
	// An input that ends completes the alignment.
	a.barrier(0, 2, isEnded)
	a.barrier(1, 2, isEnded)
	ended[2] = true
	if id, ok := a.aligned(isEnded); !ok || id != 2 {
		t.Fatalf("aligned after end = %d %v, want 2 true", id, ok)
	}
	// A newer barrier abandons an older alignment; a stale one is ignored.
	ended[2] = false
	a.barrier(0, 3, isEnded)
	if a.barrier(1, 4, isEnded) || a.blocked[0] || !a.blocked[1] {
		t.Fatalf("newer checkpoint did not restart alignment: %v", a.blocked)
	}
	if a.barrier(0, 3, isEnded) || a.blocked[0] {
		t.Fatal("a stale barrier blocked an input")
	}
}
