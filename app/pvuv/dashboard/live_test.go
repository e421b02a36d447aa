package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/weirstream/weir/app/pvuv/dashboard"
	"github.com/weirstream/weir/internal/redistest"
)

// smallSendBuffers gives every accepted connection a small send buffer,
// so that a client that does not read blocks the server's writes soon.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// hgetalls returns how many HGETALL commands Redis has run.
func hgetalls(t *testing.T, c rueidis.Client) int64 {
	t.Helper()
	info, err := c.Do(t.Context(), c.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(info, "\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_hgetall:calls="); ok {
			n, err := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
			if err != nil {
				t.Fatalf("INFO commandstats: %q: %v", line, err)
			}
			return n
		}
	}
	return 0
}

// watcher reads a live stream to its end, counting its events and keeping
// the page views of the newest window.
type watcher struct {
	events atomic.Int64
	pv     atomic.Int64
}

func (w *watcher) watch(t *testing.T, events <-chan event) {
	for ev := range events {
		var l dashboard.Live
		if ev.name != "" || json.Unmarshal([]byte(ev.data), &l) != nil || l.Window == nil {
			t.Errorf("unexpected event %q: %s", ev.name, ev.data)
			continue
		}
		w.pv.Store(l.Window.PV)
		w.events.Add(1)
	}
}

// TestLiveManyViewers opens hundreds of live streams, most of which never
// read their events. Every stream opens; Redis sees one read of the live
// record per interval, not one per stream; the streams that do not read
// end once their connections' buffers are full, and the others get every
// update all along.
func TestLiveManyViewers(t *testing.T) {
	const slow, active = 240, 60
	r := redistest.Start(t)
	l := layout{c: r.Client(t), prefix: "test:pvuv"}
	d, err := dashboard.New(dashboard.Config{RedisURL: r.URL(), Prefix: l.prefix, Logger: testLogger(t),
		LiveInterval: 10 * time.Millisecond, LiveWriteTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(d)
	srv.Listener = smallSendBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(func() {
		d.Close()
		srv.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	must(t, l.window(ctx, win(base, 1, 1, false), nil))

	// Viewers that open the stream, read its header and then nothing.
	for i := range slow {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.(*net.TCPConn).SetReadBuffer(4096)
		fmt.Fprintf(c, "GET /api/live HTTP/1.1\r\nHost: dashboard\r\n\r\n")
		status, err := bufio.NewReaderSize(c, 64).ReadString('\n')
		if err != nil || !strings.HasPrefix(status, "HTTP/1.1 200 ") {
			t.Fatalf("slow viewer %d: %q, %v; want 200", i, status, err)
		}
	}
	// Viewers that read every event.
	viewers := make([]*watcher, active)
	var wg sync.WaitGroup
	for i := range viewers {
		resp, events := openLive(ctx, t, srv.URL)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("viewer %d after %d slow ones: status %d", i, slow, resp.StatusCode)
		}
		viewers[i] = &watcher{}
		wg.Go(func() { viewers[i].watch(t, events) })
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	// until waits for cond; the deadline is a safety net for a broken
	// machine, not a measure of speed.
	deadline := time.Now().Add(2 * time.Minute)
	until := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not in two minutes", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	seen := func(pv int64) func() bool {
		return func() bool {
			for _, w := range viewers {
				if w.pv.Load() != pv {
					return false
				}
			}
			return true
		}
	}

	// The viewers that read see updates while the others fill their
	// buffers, and after those were dropped.
	reads0 := hgetalls(t, l.c)
	events0 := make([]int64, active)
	for i, w := range viewers {
		events0[i] = w.events.Load()
	}
	pv := int64(1)
	for d.LiveStreams() > active {
		pv++
		must(t, l.window(ctx, win(base, pv, 1, false), nil))
		until(fmt.Sprintf("every reading viewer sees pv %d", pv), seen(pv))
	}
	for range 3 {
		pv++
		must(t, l.window(ctx, win(base, pv, 1, false), nil))
		until(fmt.Sprintf("every reading viewer sees pv %d after the slow ones left", pv), seen(pv))
	}
	if n := d.LiveStreams(); n != active {
		t.Fatalf("%d live streams open, want the %d that read", n, active)
	}

	// One read per interval for everyone: a poll is three HGETALLs (the
	// window, its day and the counters), and each poll makes at most one
	// event for a viewer.
	polls := (hgetalls(t, l.c) - reads0) / 3
	most := int64(0)
	for i, w := range viewers {
		most = max(most, w.events.Load()-events0[i])
	}
	t.Logf("%d polls of Redis, at most %d events to a reading viewer, %d updates", polls, most, pv-1)
	if polls > 2*most+10 {
		t.Fatalf("Redis was read %d times while a viewer got at most %d events: more than one read per interval", polls, most)
	}

	// The viewers leave: their streams end, and so does the poller
	// (goleak checks it at the end of the package's tests).
	cancel()
	wg.Wait()
	until("every stream ends", func() bool { return d.LiveStreams() == 0 })
}

// TestLiveMemory: with ProcessMemory the live events carry the process's
// memory; without, they do not.
func TestLiveMemory(t *testing.T) {
	for _, withMemory := range []bool{false, true} {
		e := newEnv(t, dashboard.Config{ProcessMemory: withMemory})
		ctx, cancel := context.WithCancel(context.Background())
		_, events := openLive(ctx, t, e.url)
		ev := next(t, events)
		cancel()
		for range events {
		}
		var l dashboard.Live
		must(t, json.Unmarshal([]byte(ev.data), &l))
		switch {
		case !withMemory && l.Memory != nil:
			t.Errorf("without ProcessMemory the event has memory: %s", ev.data)
		case withMemory && (l.Memory == nil || l.Memory.HeapInUse <= 0 || l.Memory.Runtime < l.Memory.HeapInUse || l.Memory.Goroutines <= 0):
			t.Errorf("with ProcessMemory the event has no plausible memory: %s", ev.data)
		case withMemory && runtime.GOOS == "linux" && l.Memory.RSS <= 0:
			t.Errorf("on Linux the event has no resident set size: %s", ev.data)
		}
	}
}
