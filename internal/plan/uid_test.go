package plan

import (
	"testing"

	"github.com/weirstream/weir/internal/runtime"
)

// TestDefaultUIDs: a default UID depends on an operator's kind, types and
// inputs, not on when it was added; a name given by the user is its UID.
func TestDefaultUIDs(t *testing.T) {
	build := func(extra, insertUpstream bool) map[string]string {
		var b graph
		if extra {
			other := b.source("other", 0)
			other.Signature = "out=int"
			b.op("other-sink", 0, runtime.Forward, other)
		}
		src := b.source("src", 0)
		src.Signature = "out=string"
		in := src
		if insertUpstream {
			in = b.op("filter", 0, runtime.Forward, src)
		}
		count := b.op("count", 0, runtime.Hash, in)
		sink := b.op("sink", 0, runtime.Forward, count)
		sink.Named = true
		AssignUIDs(&b.g)
		return map[string]string{"src": src.UID, "count": count.UID, "sink": sink.UID}
	}
	base := build(false, false)
	if base["sink"] != "sink" {
		t.Errorf("a named operator's UID is %q, want its name", base["sink"])
	}
	if got := build(true, false); got["src"] != base["src"] || got["count"] != base["count"] {
		t.Errorf("an unrelated pipeline added first changed the UIDs: %v, want %v", got, base)
	}
	if got := build(false, true); got["count"] == base["count"] {
		t.Errorf("an operator inserted upstream left the UID of count alone (%q): its input changed", got["count"])
	}
	twice := build(false, false)
	if twice["count"] != base["count"] {
		t.Errorf("UIDs differ between two builds of one graph: %q and %q", twice["count"], base["count"])
	}
}
