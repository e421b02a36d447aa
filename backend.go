package weir

import (
	"fmt"
	"path/filepath"

	"github.com/weirstream/weir/internal/backend/pebble"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/keyedstate"
	"github.com/weirstream/weir/internal/plan"
)

// stateBackend is where keyed state lives: chosen once, from the
// StateBackend option, when the Env is configured.
type stateBackend interface {
	// String names the backend as StateBackend takes it.
	String() string
	// openKV opens the store of subtask t of operator uid, closed when
	// the task ends; nil for the heap, where state lives in Go values.
	openKV(t *plan.Subtask, uid string) (keyedstate.KV, error)
}

// newBackend returns the backend StateBackend named, or an error that says
// what to write instead.
func newBackend(name, dir string) (stateBackend, error) {
	switch name {
	case "heap":
		return heapBackend{}, nil
	case "pebble":
		if dir == "" {
			return nil, fmt.Errorf("weir: StateBackend pebble needs a directory for its databases: give a local directory with room for the state")
		}
		return pebbleBackend{dir: dir}, nil
	}
	return nil, fmt.Errorf("weir: StateBackend %q is unknown: use \"heap\" or \"pebble\"", name)
}

// heapBackend keeps state in Go maps.
type heapBackend struct{}

func (heapBackend) String() string                                      { return "heap" }
func (heapBackend) openKV(*plan.Subtask, string) (keyedstate.KV, error) { return nil, nil }

// pebbleBackend keeps state in one pebble database per operator subtask,
// under dir.
type pebbleBackend struct{ dir string }

func (pebbleBackend) String() string { return "pebble" }

func (b pebbleBackend) openKV(t *plan.Subtask, uid string) (keyedstate.KV, error) {
	db, err := pebble.Open(filepath.Join(b.dir, fmt.Sprintf("%s.%d", job.FileSafe(uid), t.Index)))
	if err != nil {
		return nil, fmt.Errorf("state backend pebble: %w", err)
	}
	t.OnClose(db.Close)
	return db, nil
}
