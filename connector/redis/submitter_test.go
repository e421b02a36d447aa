package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"github.com/weirstream/weir/internal/redistest"
	"github.com/weirstream/weir/sink/async"
)

// endpointOf returns the endpoint of srv.
func endpointOf(t *testing.T, srv *redistest.Server) Endpoint {
	t.Helper()
	e, err := ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// newSubmitter connects a submitter to srv; it is closed when t ends.
func newSubmitter(t *testing.T, srv *redistest.Server) *submitter {
	t.Helper()
	e := endpointOf(t, srv)
	c, err := e.connect(defaultConnConfig(), "test", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &submitter{client: c, endpoint: e}
}

func entries(t *testing.T, cmds ...[]Command) []Entry {
	t.Helper()
	var out []Entry
	for _, c := range cmds {
		e, err := NewEntry(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// commandCalls returns how often the server ran each command, from INFO
// commandstats.
func commandCalls(t *testing.T, c rueidis.Client) map[string]int {
	t.Helper()
	info, err := c.Do(t.Context(), c.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for line := range strings.SplitSeq(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ",")
		calls[strings.TrimPrefix(name, "cmdstat_")], _ = strconv.Atoi(n)
	}
	return calls
}

func TestSubmitWritesEachRecordAtomically(t *testing.T) {
	srv := redistest.Start(t)
	check := srv.Client(t)
	s := newSubmitter(t, srv)
	// The old members of the top list must go: DEL + ZADD replaces them.
	if err := check.Do(t.Context(), check.B().Zadd().Key("p:pages:0").ScoreMember().ScoreMember(99, "/old").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	before := commandCalls(t, check)
	batch := entries(t,
		[]Command{{"SET", "p:a", "1"}},
		[]Command{{"DEL", "p:pages:0"}, {"ZADD", "p:pages:0", "5", "/home", "3", "/cart"}},
		[]Command{{"HSET", "p:window:0", "pv", "8", "uv", "2"}, {"ZADD", "p:windows", "0", "0"}},
		[]Command{},                          // a record the layout writes nothing for
		[]Command{{"SET", "p:a", "2", "NX"}}, // a nil reply is an answer, not an error
	)
	retry, err := s.Submit(t.Context(), batch)
	if err != nil || retry != nil {
		t.Fatalf("Submit = %v, %v; want no retries and no error", retry, err)
	}
	if v, _ := check.Do(t.Context(), check.B().Get().Key("p:a").Build()).ToString(); v != "1" {
		t.Errorf("p:a = %q, want 1 (SET NX must not overwrite)", v)
	}
	pages, err := check.Do(t.Context(), check.B().Zrange().Key("p:pages:0").Min("0").Max("-1").Withscores().Build()).AsZScores()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(pages); got != "[{/cart 3} {/home 5}]" {
		t.Errorf("p:pages:0 = %s, want /cart 3 and /home 5 only", got)
	}
	h, _ := check.Do(t.Context(), check.B().Hgetall().Key("p:window:0").Build()).AsStrMap()
	if h["pv"] != "8" || h["uv"] != "2" {
		t.Errorf("p:window:0 = %v, want pv 8, uv 2", h)
	}
	after := commandCalls(t, check)
	if n := after["multi"] - before["multi"]; n != 2 {
		t.Errorf("MULTI ran %d times, want 2: one per record of several commands", n)
	}
	if n := after["exec"] - before["exec"]; n != 2 {
		t.Errorf("EXEC ran %d times, want 2", n)
	}
}

func TestSubmitRefusedCommandIsFatal(t *testing.T) {
	srv := redistest.Start(t)
	check := srv.Client(t)
	s := newSubmitter(t, srv)
	if err := check.Do(t.Context(), check.B().Set().Key("p:windows").Value("not a zset").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	for name, batch := range map[string][]Entry{
		"alone":             entries(t, []Command{{"SET", "p:x", "1"}}, []Command{{"ZADD", "p:windows", "0", "0"}}),
		"inside MULTI/EXEC": entries(t, []Command{{"HSET", "p:window:0", "pv", "1"}, {"ZADD", "p:windows", "0", "0"}}),
	} {
		_, err := s.Submit(t.Context(), batch)
		if err == nil {
			t.Fatalf("%s: Submit succeeded with ZADD on a string", name)
		}
		if async.IsRetryable(err) {
			t.Errorf("%s: WRONGTYPE is marked retryable: %v", name, err)
		}
		for _, want := range []string{"ZADD p:windows 0 0", `"p:windows"`, "WRONGTYPE", "delete the key"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not contain %q", name, err, want)
			}
		}
	}

	// A command Redis cannot queue aborts its transaction, and the error
	// names that command, not EXEC.
	_, err := s.Submit(t.Context(), entries(t, []Command{{"SET", "p:y", "1"}, {"NOSUCHCOMMAND", "p:y"}}))
	if err == nil || async.IsRetryable(err) || !strings.Contains(err.Error(), "NOSUCHCOMMAND p:y") || !strings.Contains(err.Error(), "fix the layout") {
		t.Fatalf("Submit with an unknown command: %v; want a fatal error naming it", err)
	}
	if n, _ := check.Do(t.Context(), check.B().Exists().Key("p:y").Build()).AsInt64(); n != 0 {
		t.Error("the aborted transaction's SET ran")
	}
}

func TestSubmitRedisDownIsRetryable(t *testing.T) {
	srv := redistest.Start(t)
	s := newSubmitter(t, srv)
	batch := entries(t, []Command{{"SET", "p:a", "1"}}, []Command{{"SET", "p:b", "1"}, {"SET", "p:c", "1"}})
	if _, err := s.Submit(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	retry, err := s.Submit(t.Context(), batch)
	if !async.IsRetryable(err) {
		t.Fatalf("Submit with Redis down = %v, %v; want a retryable error for the whole batch", retry, err)
	}
	if !strings.Contains(err.Error(), srv.URL()) {
		t.Errorf("error %q does not name the server", err)
	}
	srv.Restart()
	// The client reconnects by itself; the same batch now goes through.
	// A request may still meet the old, broken connection first.
	for i := 0; ; i++ {
		retry, err = s.Submit(t.Context(), batch)
		if err == nil && retry == nil {
			break
		}
		if !async.IsRetryable(err) || i == 10 {
			t.Fatalf("Submit after Restart = %v, %v", retry, err)
		}
	}
	if v, _ := srv.Client(t).Do(t.Context(), s.client.B().Get().Key("p:c").Build()).ToString(); v != "1" {
		t.Errorf("p:c = %q after the retry, want 1", v)
	}
}

func TestSubmitCancelled(t *testing.T) {
	srv := redistest.Start(t)
	s := newSubmitter(t, srv)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Submit(ctx, entries(t, []Command{{"SET", "p:a", "1"}}))
	if !errors.Is(err, context.Canceled) || async.IsRetryable(err) {
		t.Fatalf("Submit with a cancelled context = %v; want context.Canceled, not retryable", err)
	}
}

func TestNewEntryRejectsCommandsWithoutKey(t *testing.T) {
	for _, c := range []Command{{}, {"PING"}, {"", "k"}} {
		if _, err := NewEntry([]Command{{"SET", "k", "v"}, c}); err == nil || !strings.Contains(err.Error(), "fix the layout") {
			t.Errorf("NewEntry with %q: %v; want an error asking to fix the layout", []string(c), err)
		}
	}
	e, err := NewEntry([]Command{{"SET", "k", "v"}})
	if err != nil || e.Size() <= len("SETkv") {
		t.Fatalf("NewEntry = size %d, %v", e.Size(), err)
	}
}

func TestRetryableReplies(t *testing.T) {
	for msg, want := range map[string]bool{
		"LOADING Redis is loading the dataset in memory":                  true,
		"BUSY Redis is busy running a script":                             true,
		"TRYAGAIN Multiple keys request during rehashing of slot":         true,
		"MASTERDOWN Link with MASTER is down":                             true,
		"READONLY You can't write against a read only replica.":           true,
		"CLUSTERDOWN The cluster is down":                                 true,
		"NOREPLICAS Not enough good replicas to write.":                   true,
		"WRONGTYPE Operation against a key holding the wrong kind":        false,
		"OOM command not allowed when used memory > 'maxmemory'.":         false,
		"unknown command 'FOO', with args beginning with: ":               false,
		"NOPERM User default has no permissions to run the 'set' command": false,
		"EXECABORT Transaction discarded because of previous errors.":     false,
	} {
		if got := retryableReply(msg); got != want {
			t.Errorf("retryableReply(%q) = %v, want %v", msg, got, want)
		}
	}
}

// TestSubmitRetriesOnlyWhatFailed makes the server a replica, which
// refuses writes (READONLY) but serves reads: in a batch of both, only the
// writes are to be retried.
func TestSubmitRetriesOnlyWhatFailed(t *testing.T) {
	srv := redistest.Start(t)
	check := srv.Client(t)
	s := newSubmitter(t, srv)
	// A replica of a primary that does not exist (port 1 refuses).
	if err := check.Do(t.Context(), check.B().Replicaof().Host("127.0.0.1").Port(1).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	batch := entries(t,
		[]Command{{"GET", "p:read"}},
		[]Command{{"SET", "p:a", "1"}},
		[]Command{{"EXISTS", "p:read"}},
		[]Command{{"HSET", "p:h", "f", "1"}, {"ZADD", "p:z", "1", "m"}},
	)
	retry, err := s.Submit(t.Context(), batch)
	if err != nil || fmt.Sprint(retry) != "[1 3]" {
		t.Fatalf("Submit to a replica = %v, %v; want entries [1 3] (the writes) to retry", retry, err)
	}
	retry, err = s.Submit(t.Context(), batch[1:2])
	if !async.IsRetryable(err) || !strings.Contains(err.Error(), "READONLY") {
		t.Fatalf("Submit of writes only to a replica = %v, %v; want a retryable READONLY error", retry, err)
	}
	if err := check.Do(t.Context(), check.B().Replicaof().No().One().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if retry, err := s.Submit(t.Context(), []Entry{batch[1], batch[3]}); err != nil || retry != nil {
		t.Fatalf("retry after the server became a primary again = %v, %v", retry, err)
	}
	if v, _ := check.Do(t.Context(), check.B().Hget().Key("p:h").Field("f").Build()).ToString(); v != "1" {
		t.Fatalf("p:h f = %q after the retry, want 1", v)
	}
}

// TestScriptErrorsAreShort: an EVAL's second word is its script, hundreds
// of bytes of Lua. The errors of the sink, which its retry warnings log,
// name the script by its first line and the command by its first key,
// and do not repeat the script: not when Redis is down (retried), nor when
// Redis refuses the script (fatal).
func TestScriptErrorsAreShort(t *testing.T) {
	const name = "-- weir:test script: writes a zset"
	script := name + "\n" + strings.Repeat("-- padding that makes the script long\n", 20) + "redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1])\nreturn 1"
	srv := redistest.Start(t)
	check := srv.Client(t)
	s := newSubmitter(t, srv)
	if err := check.Do(t.Context(), check.B().Set().Key("p:windows").Value("not a zset").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	eval := entries(t, []Command{{"EVAL", script, "1", "p:windows", "7"}})
	want := func(what string, err error, fragments ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: Submit succeeded", what)
		}
		msg := err.Error()
		t.Logf("%s: %s", what, msg)
		if strings.Contains(msg, "padding") || len(msg) > 400 {
			t.Errorf("%s: the error (%d bytes) repeats the script: %s", what, len(msg), msg)
		}
		for _, f := range append(fragments, "EVAL", name) {
			if !strings.Contains(msg, f) {
				t.Errorf("%s: the error lacks %q: %s", what, f, msg)
			}
		}
	}
	_, err := s.Submit(t.Context(), eval)
	want("refused", err, `key "p:windows"`, "WRONGTYPE")
	srv.Stop()
	_, err = s.Submit(t.Context(), eval)
	if !async.IsRetryable(err) {
		t.Fatalf("Submit with Redis down = %v; want a retryable error", err)
	}
	want("Redis down", err, "p:windows")
}

func TestCommandKeyAndLabel(t *testing.T) {
	for _, c := range []struct {
		cmd        Command
		key, label string
	}{
		{Command{"HSET", "k", "f", "v"}, "k", "HSET k"},
		{Command{"EVAL", "-- name\nreturn 1", "0"}, "", "EVAL (-- name...)"},
		{Command{"eval", "return redis.call('SET', KEYS[1], 1)", "2", "a", "b"}, "a", "eval a (return redis.call('SET', KEYS[1], 1))"},
		{Command{"EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff831", "1", "a"}, "a", "EVALSHA a (e0e1f9fabfc9d4800c877a703b823ac0578ff831)"},
		{Command{"FCALL", "myfunc", "1"}, "", "FCALL (myfunc)"},
		{Command{"EVAL", strings.Repeat("x", 100), "1", "a"}, "a", "EVAL a (" + strings.Repeat("x", 61) + "...)"},
	} {
		if got := c.cmd.key(); got != c.key {
			t.Errorf("%q: key %q, want %q", []string(c.cmd), got, c.key)
		}
		if got := c.cmd.label(); got != c.label {
			t.Errorf("%q: label %q, want %q", []string(c.cmd), got, c.label)
		}
	}
}
