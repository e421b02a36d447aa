package redistest_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/redis/rueidis"
	"go.uber.org/goleak"

	"github.com/weirstream/weir/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, c rueidis.Client, key string) (string, bool) {
	t.Helper()
	v, err := c.Do(t.Context(), c.B().Get().Key(key).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return "", false
	}
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	return v, true
}

func set(t *testing.T, c rueidis.Client, key, value string) {
	t.Helper()
	if err := c.Do(t.Context(), c.B().Set().Key(key).Value(value).Build()).Error(); err != nil {
		t.Fatalf("SET %s: %v", key, err)
	}
}

func TestStartServesAndHasNoPersistence(t *testing.T) {
	s := redistest.Start(t)
	if want := "redis://" + s.Addr() + "/0"; s.URL() != want {
		t.Errorf("URL = %q, want %q", s.URL(), want)
	}
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Errorf("Addr = %q, want a loopback address", s.Addr())
	}
	c := s.Client(t)
	set(t, c, "k", "v")
	if v, ok := get(t, c, "k"); !ok || v != "v" {
		t.Fatalf("GET k = %q, %v; want v", v, ok)
	}
	for param, want := range map[string]string{"save": "", "appendonly": "no", "bind": "127.0.0.1"} {
		kv, err := c.Do(t.Context(), c.B().ConfigGet().Parameter(param).Build()).AsStrMap()
		if err != nil {
			t.Fatalf("CONFIG GET %s: %v", param, err)
		}
		if kv[param] != want {
			t.Errorf("CONFIG GET %s = %q, want %q", param, kv[param], want)
		}
	}
}

func TestTwoServersAreIndependent(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("both servers on %s", a.Addr())
	}
	set(t, a.Client(t), "k", "a")
	if _, ok := get(t, b.Client(t), "k"); ok {
		t.Fatal("a key written to one server is on the other")
	}
}

func TestStopAndRestartStartsEmpty(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	set(t, c, "k", "v")
	addr := s.Addr()
	s.Stop()
	if s.Running() {
		t.Fatal("Running after Stop")
	}
	if err := c.Do(t.Context(), c.B().Ping().Build()).Error(); err == nil {
		t.Fatal("PING succeeded while the server was stopped")
	}
	s.Stop() // a second Stop does nothing
	s.Restart()
	if !s.Running() || s.Addr() != addr {
		t.Fatalf("after Restart: Running = %v, Addr = %s; want true, %s", s.Running(), s.Addr(), addr)
	}
	if v, ok := get(t, c, "k"); ok {
		t.Fatalf("GET k = %q after a crash and restart; want no key (no persistence)", v)
	}
}

func TestShutdownAndRestartKeepsData(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	for i := range 100 {
		set(t, c, fmt.Sprint("k", i), fmt.Sprint(i))
	}
	s.Shutdown()
	if s.Running() {
		t.Fatal("Running after Shutdown")
	}
	s.Restart()
	for i := range 100 {
		if v, ok := get(t, c, fmt.Sprint("k", i)); !ok || v != fmt.Sprint(i) {
			t.Fatalf("GET k%d = %q, %v after Shutdown and Restart; want %d", i, v, ok, i)
		}
	}
	// A crash after that loses the data again.
	s.Stop()
	s.Restart()
	if _, ok := get(t, c, "k0"); ok {
		t.Fatal("data survived Stop (a crash) after an earlier Shutdown")
	}
}

// fatalRecorder is a testing.TB whose Fatal records the message and ends
// the goroutine, as testing's does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Fatal(args ...any) { r.msg = fmt.Sprint(args...); runtime.Goexit() }
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingServerFailsLoudly(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redistest.Start(rec)
		rec.msg = "Start returned"
	}()
	<-done
	if rec.msg != redistest.NotInstalled {
		t.Fatalf("Start without redis-server on PATH: %q, want a failure saying %q", rec.msg, redistest.NotInstalled)
	}
	if !strings.Contains(rec.msg, "scripts/test-deps.sh") {
		t.Fatalf("the failure does not say how to install redis-server: %q", rec.msg)
	}
}
