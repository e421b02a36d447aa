package weir

import (
	"fmt"
	"testing"

	"github.com/weirstream/weir/window"
)

// TestPaneSpareAfterABurst: a window takes over the pane of the window
// dropped before it, but a pane that its window used little of goes to the
// collector, so that one burst of keys does not keep its room for good.
func TestPaneSpareAfterABurst(t *testing.T) {
	h := newHeapPanes[string, int](nil, func(k string) string { return k })
	fill := func(w int64, keys int) *pane[string, int] {
		win := window.Window{Start: w * 10, End: w*10 + 10}
		for k := range keys {
			if _, _, err := h.get(win, fmt.Sprint(k), true); err != nil {
				t.Fatal(err)
			}
			if err := h.put(1, false, false); err != nil {
				t.Fatal(err)
			}
		}
		p := h.panes[win]
		if err := h.fire(win, nil, true); err != nil {
			t.Fatal(err)
		}
		return p
	}
	burst := fill(0, 100_000)
	if h.spare != burst {
		t.Fatal("the pane of a full window is not kept")
	}
	if fill(1, 10) != burst {
		t.Fatal("the next window did not take the spare")
	}
	if h.spare != nil {
		t.Fatalf("a pane with room for %d entries is kept for a window of 10", cap(burst.accs))
	}
	small := fill(2, 10)
	if small == burst || cap(small.accs) > 1000 {
		t.Fatalf("the window after has a pane with room for %d entries", cap(small.accs))
	}
}
