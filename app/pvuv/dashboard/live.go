package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// live reads the live record from Redis once per LiveInterval, in one
// goroutine, and hands each read to every viewer of /api/live: Redis sees
// one read per interval whatever the number of viewers.
//
// Invariants:
//
//  1. At most one poller runs; it runs while there are viewers and the
//     dashboard is open, and stops when the last viewer leaves.
//  2. A viewer holds at most one event it has not written: a newer one
//     replaces it. A viewer that cannot keep up skips events, and the
//     poller never waits for a viewer.
//  3. A write to a viewer that takes longer than LiveWriteTimeout ends
//     that viewer's stream (a viewer that stopped reading fills its
//     connection's buffers, then its writes block); nobody else notices.
type live struct {
	d *Dashboard
	// ctx ends the reads in flight when the dashboard closes.
	ctx    context.Context
	cancel context.CancelFunc

	mu struct {
		sync.Mutex
		viewers map[*viewer]struct{}
		polling bool
		last    *liveEvent // the newest read; nil before the first
	}
}

// liveEvent is one read of the live record, encoded once for every viewer.
type liveEvent struct {
	at   time.Time
	data []byte // the server-sent event, ready to write
	// status and msg answer a viewer that has no stream yet when the read
	// failed (status is 0 when it succeeded).
	status int
	msg    string
}

// viewer is one open /api/live stream.
type viewer struct {
	next chan *liveEvent // capacity 1: the newest event not yet written
}

// errTooManyViewers is join's answer when MaxLiveStreams streams are open.
var errTooManyViewers = errors.New("dashboard: too many live streams")

func newLive(d *Dashboard) *live {
	l := &live{d: d}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.mu.viewers = map[*viewer]struct{}{}
	return l
}

// join adds a viewer and makes sure that the poller runs. The viewer's
// first event is the newest read if it is younger than LiveInterval;
// otherwise it comes with the poller's next read.
func (l *live) join() (*viewer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.mu.viewers) >= l.d.cfg.MaxLiveStreams {
		return nil, errTooManyViewers
	}
	v := &viewer{next: make(chan *liveEvent, 1)}
	l.mu.viewers[v] = struct{}{}
	if last := l.mu.last; last != nil && time.Since(last.at) < l.d.cfg.LiveInterval {
		v.next <- last
	}
	if !l.mu.polling {
		l.mu.polling = true
		go l.poll()
	}
	return v, nil
}

// leave removes a viewer; the poller stops at its next turn when it was
// the last.
func (l *live) leave(v *viewer) {
	l.mu.Lock()
	delete(l.mu.viewers, v)
	l.mu.Unlock()
}

// LiveStreams returns the number of /api/live streams open now.
func (d *Dashboard) LiveStreams() int {
	d.live.mu.Lock()
	defer d.live.mu.Unlock()
	return len(d.live.mu.viewers)
}

// close stops the poller's read in flight; the poller then returns.
func (l *live) close() { l.cancel() }

// poll reads the live record every LiveInterval and offers each read to
// every viewer, until no viewer is left or the dashboard closes.
func (l *live) poll() {
	tick := time.NewTicker(l.d.cfg.LiveInterval)
	defer tick.Stop()
	for {
		l.mu.Lock()
		if len(l.mu.viewers) == 0 || l.ctx.Err() != nil {
			l.mu.polling = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()

		ev := l.read()
		l.mu.Lock()
		l.mu.last = ev
		for v := range l.mu.viewers {
			v.offer(ev)
		}
		l.mu.Unlock()

		select {
		case <-tick.C:
		case <-l.ctx.Done():
		}
	}
}

// read reads the live record once and encodes it as an event: a plain
// event with the record, or a "redis-error" event that says what is wrong.
func (l *live) read() *liveEvent {
	d := l.d
	now := time.Now()
	ctx, cancel := context.WithTimeout(l.ctx, d.cfg.Timeout)
	defer cancel()
	rec, err := d.store.live(ctx, now)
	ev := &liveEvent{at: now}
	if err != nil {
		ev.status, ev.msg = d.classify(err)
		ev.data = encodeEvent("redis-error", errorBody{Error: ev.msg})
		return ev
	}
	d.noteUp()
	if d.cfg.ProcessMemory {
		m := ReadMemory()
		rec.Memory = &m
	}
	ev.data = encodeEvent("", rec)
	return ev
}

// offer makes ev the viewer's next event, in place of one it has not
// written yet. Only the poller and join send, both holding live.mu.
func (v *viewer) offer(ev *liveEvent) {
	select {
	case v.next <- ev:
		return
	default:
	}
	select {
	case <-v.next: // the viewer is behind: it skips the older event
	default:
	}
	select {
	case v.next <- ev:
	default:
	}
}

// encodeEvent encodes one server-sent event; its data is v as one line of
// JSON (encoding/json escapes line breaks inside strings).
func encodeEvent(event string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen: the records are plain structs
		event, b = "redis-error", []byte(`{"error":"dashboard: cannot encode the live record"}`)
	}
	var out []byte
	if event != "" {
		out = fmt.Appendf(out, "event: %s\n", event)
	}
	out = append(out, "data: "...)
	out = append(out, b...)
	return append(out, "\n\n"...)
}

// serveLive streams the newest window, its day and the counters as
// server-sent events, one every LiveInterval, until the client leaves, the
// dashboard closes, or a write takes longer than LiveWriteTimeout.
func (d *Dashboard) serveLive(w http.ResponseWriter, r *http.Request) {
	v, err := d.live.join()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("dashboard: %d live streams are open, the most Config.MaxLiveStreams allows; close a dashboard tab or raise the limit", d.cfg.MaxLiveStreams))
		return
	}
	defer d.live.leave(v)

	var first *liveEvent
	select {
	case first = <-v.next:
	case <-r.Context().Done():
		return
	case <-d.done:
		writeError(w, http.StatusServiceUnavailable, errClosed)
		return
	}
	if first.status != 0 {
		writeError(w, first.status, first.msg) // no stream yet: a plain error answer
		return
	}

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	// send writes and flushes within LiveWriteTimeout: a viewer that does
	// not read must not hold a goroutine and a connection for ever.
	send := func(b []byte) error {
		// Servers that cannot set deadlines (a test's recorder) send
		// without one.
		rc.SetWriteDeadline(time.Now().Add(d.cfg.LiveWriteTimeout))
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	w.WriteHeader(http.StatusOK)
	// retry: how long EventSource waits before it reconnects.
	if err := send(append(fmt.Appendf(nil, "retry: %d\n\n", (2*d.cfg.LiveInterval).Milliseconds()), first.data...)); err != nil {
		d.log.Debug("live stream ended", "err", err)
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-d.done:
			return
		case ev := <-v.next:
			if err := send(ev.data); err != nil {
				d.log.Debug("live stream ended: the viewer does not read", "err", err)
				return
			}
		}
	}
}
