package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/weirstream/weir/internal/checkpoint/storage"
)

// savepoints takes the savepoints asked through the API one at a time and
// keeps the newest retain of them.
type savepoints struct {
	timeout time.Duration
	retain  int // 0 keeps all
	log     *slog.Logger

	mu struct {
		sync.Mutex
		busy  bool     // a savepoint (or stop) is in progress
		taken []string // paths taken through the API, oldest first
	}
}

// handle serves POST /api/savepoints (take is TriggerSavepoint) or
// /api/stop (StopWithSavepoint). A request while another one runs is
// refused with 409. The savepoint does not end when its client goes: it
// runs to completion or opts.SavepointTimeout, and holds the place of the
// one in progress until then, so that clients that give up cannot pile
// savepoints up in the job.
func (s *savepoints) handle(take func(context.Context) (string, error), stop bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.begin() {
			writeError(w, http.StatusConflict, "web: a savepoint is in progress: wait for it to complete, then ask again")
			return
		}
		defer s.end()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.timeout)
		defer cancel()
		path, err := take(ctx)
		if err != nil {
			writeError(w, http.StatusConflict, err.Error())
			return
		}
		s.log.Info("web: savepoint taken through the API", "path", path, "stop", stop)
		s.prune(ctx, path)
		writeJSON(w, http.StatusOK, map[string]string{"path": path})
	}
}

func (s *savepoints) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.busy {
		return false
	}
	s.mu.busy = true
	return true
}

func (s *savepoints) end() {
	s.mu.Lock()
	s.mu.busy = false
	s.mu.Unlock()
}

// prune records path and deletes the oldest savepoints taken through the
// API beyond retain. A savepoint that cannot be deleted is logged and
// forgotten: retention is best effort and never fails a request.
func (s *savepoints) prune(ctx context.Context, path string) {
	s.mu.Lock()
	s.mu.taken = append(s.mu.taken, path)
	var drop []string
	if s.retain > 0 && len(s.mu.taken) > s.retain {
		n := len(s.mu.taken) - s.retain
		drop = append(drop, s.mu.taken[:n]...)
		s.mu.taken = append(s.mu.taken[:0], s.mu.taken[n:]...)
	}
	s.mu.Unlock()
	for _, p := range drop {
		if err := discard(ctx, p); err != nil {
			s.log.Warn("web: cannot delete an old savepoint", "path", p, "retain", s.retain, "err", err)
			continue
		}
		s.log.Info("web: deleted an old savepoint", "path", p, "retain", s.retain)
	}
}

// discard deletes the savepoint at path, local or in object storage.
func discard(ctx context.Context, path string) error {
	st, dir, err := storage.OpenRestore(ctx, path)
	if err != nil {
		return fmt.Errorf("web: open savepoint %s: %w", path, err)
	}
	defer st.Close()
	if !dir.IsSavepoint() {
		return fmt.Errorf("web: %s is not a savepoint: kept", path)
	}
	return st.Discard(ctx, dir)
}
