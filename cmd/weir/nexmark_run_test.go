package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/connector/kafka/kafkatest"
	"github.com/weirstream/weir/connector/nexmark"
)

func TestNexmarkRunAndBenchUsageErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want []string // in stderr
	}{
		{[]string{"nexmark", "run"}, []string{"--query: missing"}},
		{[]string{"nexmark", "run", "--query", "q23"}, []string{`--query: "q23" is not a Nexmark query`}},
		{[]string{"nexmark", "run", "--query", "q1", "--events", "-3", "--rate", "0", "--parallelism", "0"},
			[]string{"3 problems", "--events: -3 is negative", "--rate: 0 is out of range", "--parallelism: 0 is out of range"}},
		{[]string{"nexmark", "run", "--query", "q1", "--seed", "x"}, []string{`--seed: "x"`}},
		{[]string{"nexmark", "run", "--query", "q1", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"nexmark", "run", "--query", "q1", "--source", "ftp://host/events"}, []string{`--source: unknown scheme "ftp"`, "file://, datagen:// or kafka://"}},
		{[]string{"nexmark", "run", "--query", "q1", "--source", "datagen://?rate=10"}, []string{"generates access-log lines, not Nexmark events", "datagen://nexmark?events="}},
		{[]string{"nexmark", "run", "--query", "q1", "--source", "datagen://nexmark?events=10", "--events", "5", "--out-of-orderness", "1s"},
			[]string{"--events: applies to the generator without --source", "--out-of-orderness: applies to file:// and kafka:// sources"}},
		{[]string{"nexmark", "run", "--query", "q1", "--source", "file:///nonexistent/events*.jsonl"}, []string{"matches no file"}},
		{[]string{"nexmark", "run", "--query", "q1", "--sink", "redis://127.0.0.1:6379/0"}, []string{"--sink: Redis takes weir pvuv's windows", "kafka://HOST:PORT/TOPIC"}},
		{[]string{"nexmark", "run", "--query", "q1", "--sink", "kafka://127.0.0.1:9/rows"}, []string{"--sink: exactly-once delivery to Kafka", "add --checkpoint-dir"}},
		{[]string{"nexmark", "run", "--query", "q1", "--sink", "nowhere"}, []string{`--sink: "nowhere" is not an output`}},
		{[]string{"nexmark", "run", "--query", "q1", "--dead-letter", "file:///tmp/bad.jsonl"}, []string{"--dead-letter: only lines of a file:// or kafka:// --source"}},
		{[]string{"bench", "nexmark", "--query", "q0,q99,x"}, []string{`--query: "q99" is not`, `--query: "x" is not`}},
		{[]string{"bench", "nexmark", "--events", "0", "--parallelism", "999", "--checkpoint-interval", "0s"},
			[]string{"--events: 0 is not a positive number", "--parallelism: 999 is out of range", "--checkpoint-interval: 0s is not positive"}},
		{[]string{"bench", "frob"}, []string{"cluster and nexmark"}},
	} {
		code, _, stderr := runWeirCtx(t.Context(), c.args...)
		if code != exitUsage {
			t.Errorf("weir %s: exit %d, want 2\nstderr:\n%s", strings.Join(c.args, " "), code, stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("weir %s: stderr lacks %q:\n%s", strings.Join(c.args, " "), w, stderr)
			}
		}
	}
	for _, args := range [][]string{{"nexmark", "run", "-h"}, {"bench", "nexmark", "-h"}} {
		if code, stdout, _ := runWeirCtx(t.Context(), args...); code != exitOK || !strings.Contains(stdout, "--query") {
			t.Errorf("weir %s: exit %d\n%s", strings.Join(args, " "), code, stdout)
		}
	}
}

// weir nexmark run --query q0 writes every generated bid as a JSON line
// with the columns of Flink's q0.
func TestNexmarkRun(t *testing.T) {
	t.Parallel()
	g, err := nexmark.New(nexmark.Seed(3), nexmark.EventsPerSecond(500))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for n := range int64(1000) {
		if e := g.Event(n); e.Kind == nexmark.KindBid {
			b, _ := json.Marshal(map[string]any{"auction": e.Bid.Auction, "bidder": e.Bid.Bidder, "price": e.Bid.Price,
				"dateTime": e.Bid.DateTime, "extra": e.Bid.Extra})
			want = append(want, string(b))
		}
	}
	code, stdout, stderr := runWeirCtx(t.Context(), "nexmark", "run", "--query", "q0", "--events", "1000", "--seed", "3", "--rate", "500", "--parallelism", "2")
	if code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	var got []string
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", sc.Bytes(), err)
		}
		b, _ := json.Marshal(m) // keys sorted, as want's
		got = append(got, string(b))
	}
	for i := range want {
		var m map[string]any
		json.Unmarshal([]byte(want[i]), &m)
		b, _ := json.Marshal(m)
		want[i] = string(b)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%d rows, want the %d bids", len(got), len(want))
	}
}

// weir bench nexmark prints a line per query that starts with its name
// and ends with its ratio to Flink's figure (none for q6).
func TestBenchNexmark(t *testing.T) {
	t.Parallel()
	takeTurn(t, cpuTurn)
	code, stdout, stderr := runWeirCtx(t.Context(), "bench", "nexmark", "--query", "q0,q6", "--events", "20000", "--checkpoint-interval", "50ms")
	if code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "query") {
		t.Fatalf("output:\n%s", stdout)
	}
	if !regexp.MustCompile(`^q0 .* 155\.02K +\d+\.\d\dx$`).MatchString(lines[1]) {
		t.Errorf("q0's line: %q", lines[1])
	}
	if !regexp.MustCompile(`^q6 .* - +-$`).MatchString(lines[2]) {
		t.Errorf("q6's line: %q", lines[2])
	}
}

// nexmarkEventsFile writes n events of 'weir nexmark generate' at 50 events
// per second of event time (so that windowed queries have many windows)
// into a file in dir, and returns its path.
func nexmarkEventsFile(t *testing.T, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, "events.jsonl")
	if code, _, stderr := runWeirCtx(t.Context(), "nexmark", "generate", "--events", strconv.Itoa(n), "--rate", "50", "--seed", "7", "--out", path); code != exitOK {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	return path
}

// generatedRows returns the sorted rows of the query over the generator
// of nexmarkEventsFile's events.
func generatedRows(t *testing.T, query string, n int) []string {
	t.Helper()
	code, stdout, stderr := runWeirCtx(t.Context(), "nexmark", "run", "--query", query, "--events", strconv.Itoa(n), "--rate", "50", "--seed", "7")
	if code != exitOK {
		t.Fatalf("%s over the generator: exit %d\n%s", query, code, stderr)
	}
	rows := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(rows) < 5 {
		t.Fatalf("%s over the generator: %d rows, too few to compare", query, len(rows))
	}
	slices.Sort(rows)
	return rows
}

// A file of generated events through --source file:// and --sink file://
// gives exactly the rows of the same query over the generator: windowed
// (q5 sliding, q7 tumbling) and not (q1), with and without checkpoints,
// at parallelism 2 (the file is read by byte ranges, a watermark each).
func TestNexmarkRunFileSource(t *testing.T) {
	t.Parallel()
	const n = 5000
	dir := t.TempDir()
	events := nexmarkEventsFile(t, dir, n)
	for _, query := range []string{"q1", "q5", "q7"} {
		want := generatedRows(t, query, n)
		for _, ckpt := range []bool{false, true} {
			out := filepath.Join(dir, fmt.Sprintf("%s-%v", query, ckpt), "rows.jsonl")
			args := []string{"nexmark", "run", "--query", query, "--source", "file://" + events, "--sink", "file://" + out, "--parallelism", "2"}
			if ckpt {
				args = append(args, "--checkpoint-dir", filepath.Join(dir, query+"-ckpt"), "--checkpoint-interval", "20ms")
			}
			code, _, stderr := runWeirCtx(t.Context(), args...)
			if code != exitOK {
				t.Fatalf("%s: exit %d\n%s", strings.Join(args, " "), code, stderr)
			}
			if w := fmt.Sprintf("%s finished after", query); !strings.Contains(stderr, w) || !strings.Contains(stderr, "5,000 events (0 bad)") {
				t.Errorf("%s: summary:\n%s", query, stderr)
			}
			got := readLines(t, out)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s (checkpoints %v): %d rows from the file, %d from the generator; they differ", query, ckpt, len(got), len(want))
			}
		}
	}
}

// Lines that are no event go to --dead-letter with their reason and are
// counted; the others still give every row.
func TestNexmarkRunDeadLetters(t *testing.T) {
	t.Parallel()
	const n = 5000
	dir := t.TempDir()
	lines := readLines(t, nexmarkEventsFile(t, dir, n))
	bad := []string{`{"type":"bid","oops":1}`, "not json"}
	mixed := slices.Concat(lines[:100], bad, lines[100:])
	in := filepath.Join(dir, "mixed.jsonl")
	if err := os.WriteFile(in, []byte(strings.Join(mixed, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, dead := filepath.Join(dir, "rows.jsonl"), filepath.Join(dir, "bad.jsonl")
	code, _, stderr := runWeirCtx(t.Context(), "nexmark", "run", "--query", "q7", "--source", "file://"+in, "--sink", "file://"+out, "--dead-letter", "file://"+dead)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "5,002 events (2 bad)") {
		t.Errorf("summary lacks the 2 bad lines:\n%s", stderr)
	}
	got := readLines(t, out)
	slices.Sort(got)
	if want := generatedRows(t, "q7", n); !slices.Equal(got, want) {
		t.Errorf("%d rows, want the %d of the generator", len(got), len(want))
	}
	var letters []nexmarkBadLine
	for _, l := range readLines(t, dead) {
		var b nexmarkBadLine
		if err := json.Unmarshal([]byte(l), &b); err != nil {
			t.Fatalf("dead letter %q: %v", l, err)
		}
		letters = append(letters, b)
	}
	if len(letters) != 2 || letters[0].Line != bad[0] || !strings.Contains(letters[0].Reason, `unknown field "oops"`) ||
		letters[1].Line != bad[1] || !strings.Contains(letters[1].Reason, "malformed event") {
		t.Errorf("dead letters: %+v", letters)
	}
}

// Events from one Kafka topic (two partitions, each in event-time order)
// give the rows of the generator in another topic, exactly once through
// transactions.
func TestNexmarkRunKafka(t *testing.T) {
	t.Parallel()
	const n = 5000
	b, err := kafkatest.Start(kafkatest.Config{Partitions: 2, Topics: []string{"events", "rows"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	produceLines(t, b.Addr(), "events", 2, []string{nexmarkEventsFile(t, dir, n)})
	want := generatedRows(t, "q7", n)
	code, _, stderr := runWeirCtx(t.Context(), "nexmark", "run", "--query", "q7", "--source", "kafka://"+b.Addr()+"/events?bounded=true",
		"--sink", "kafka://"+b.Addr()+"/rows", "--checkpoint-dir", filepath.Join(dir, "ckpt"), "--checkpoint-interval", "20ms")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := consumeCommitted(t, b.Addr(), "rows", len(want))
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%d rows in the topic, want the %d of the generator:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
}

// A --sink file that cannot be created is a usage error that says what
// to do, before the query starts.
func TestNexmarkRunUnwritableSink(t *testing.T) {
	t.Parallel()
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runWeirCtx(t.Context(), "nexmark", "run", "--query", "q0", "--events", "10", "--sink", "file://"+filepath.Join(notDir, "rows.jsonl"))
	if code != exitUsage || !strings.Contains(stderr, "--sink: cannot create the directory") || !strings.Contains(stderr, "name a file in a directory you can write") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}

// With --http the running query serves its API; over an endless Kafka
// source it writes each row as it makes it, and cancelling it (Ctrl-C)
// stops it with exit 0, every row written.
func TestNexmarkRunHTTPAndStop(t *testing.T) {
	t.Parallel()
	const n = 500
	b, err := kafkatest.Start(kafkatest.Config{Partitions: 2, Topics: []string{"events"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	in := nexmarkEventsFile(t, dir, n)
	produceLines(t, b.Addr(), "events", 2, []string{in})
	bidCount := 0
	for _, l := range readLines(t, in) {
		if strings.HasPrefix(l, `{"type":"bid"`) {
			bidCount++
		}
	}
	out := filepath.Join(dir, "rows.jsonl")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"nexmark", "run", "--query", "q0", "--source", "kafka://" + b.Addr() + "/events",
			"--sink", "file://" + out, "--http", "127.0.0.1:0"}, &stdout, stderr)
	}()
	// Only a failure waits this long.
	deadline := time.After(30 * time.Second)
	base := ""
	for base == "" {
		select {
		case <-deadline:
			t.Fatalf("no job API after 30s\n%s", stderr.String())
		case code := <-done:
			t.Fatalf("exit %d before it served\n%s", code, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if m := regexp.MustCompile(`job API on (http://[^/]+)/api/`).FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		}
	}
	resp, err := http.Get(base + "/api/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/metrics: %s", resp.Status)
	}
	for {
		if b, _ := os.ReadFile(out); bytes.Count(b, []byte("\n")) >= bidCount {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("fewer than the %d bids in %s after 30s\n%s", bidCount, out, stderr.String())
		case code := <-done:
			t.Fatalf("exit %d before the rows\n%s", code, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != exitOK || !strings.Contains(stderr.String(), "q0 stopped after") {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if got := len(readLines(t, out)); got != bidCount {
		t.Errorf("%d rows after the stop, want the %d bids", got, bidCount)
	}
}
