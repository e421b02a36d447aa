package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/connector/kafka/kafkatest"
)

// These tests run weir pvuv in this process, through run, as main does.

// runIn runs the command line args in this process and returns what it
// did. A job that does not end within a minute fails the test.
func runIn(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	code := run(ctx, args, &stdout, &stderr)
	if ctx.Err() != nil {
		t.Fatalf("weir %s did not end within a minute; stderr:\n%s", strings.Join(args, " "), stderr.String())
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// TestSinkUsageListsEverySink: a --sink that is no output says every
// form --sink takes, not only stdout and file://.
func TestSinkUsageListsEverySink(t *testing.T) {
	for _, sink := range []string{"ftp://x/y", "out.jsonl", "kafka://a:b:c/t%zz"} {
		r := runIn(t, "pvuv", "--source", "datagen://?limit=10", "--sink", sink)
		if r.code != exitUsage {
			t.Errorf("--sink %s: exit %d, want %d\n%s", sink, r.code, exitUsage, r.stderr)
		}
		for _, want := range []string{"--sink: ", "stdout", "file:///", "kafka://HOST:PORT/TOPIC", "redis://HOST:PORT/DB"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("--sink %s: stderr lacks %q:\n%s", sink, want, r.stderr)
			}
		}
	}
}

// TestFailedAtStart: a job that fails before it starts (here its --http
// address is taken) says that it failed at start, and why; not that it
// finished after 0s.
func TestFailedAtStart(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := runIn(t, "pvuv", "--source", "datagen://?limit=10", "--http", ln.Addr().String(), "--progress", "off")
	if r.code != exitFail {
		t.Errorf("exit %d, want %d", r.code, exitFail)
	}
	if want := "weir pvuv: failed at start: --http: listen tcp " + ln.Addr().String(); !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "address already in use") {
		t.Errorf("stderr lacks %q and the reason:\n%s", want, r.stderr)
	}
	if strings.Contains(r.stderr, "finished") {
		t.Errorf("a job that failed at start says it finished:\n%s", r.stderr)
	}
}

// TestCheckpointFlagsWithoutDirWarn: --checkpoint-interval and
// --unaligned-checkpoints without --checkpoint-dir do nothing; the job
// runs, with a warning that says so.
func TestCheckpointFlagsWithoutDirWarn(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.jsonl")
	for _, c := range []struct {
		args []string
		warn []string
	}{
		{[]string{"--checkpoint-interval", "5s"}, []string{"--checkpoint-interval"}},
		{[]string{"--checkpoint-interval", "5s", "--unaligned-checkpoints"}, []string{"--checkpoint-interval", "--unaligned-checkpoints"}},
		{nil, nil},
	} {
		args := append([]string{"pvuv", "--source", "datagen://?limit=100", "--sink", "file://" + out, "--progress", "off"}, c.args...)
		r := runIn(t, args...)
		if r.code != exitOK {
			t.Fatalf("%v: exit %d\n%s", c.args, r.code, r.stderr)
		}
		if got := strings.Count(r.stderr, "warning:"); got != len(c.warn) {
			t.Errorf("%v: %d warnings, want %d:\n%s", c.args, got, len(c.warn), r.stderr)
		}
		for _, name := range c.warn {
			if want := "weir pvuv: warning: " + name + " has no effect without --checkpoint-dir"; !strings.Contains(r.stderr, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", c.args, want, r.stderr)
			}
		}
	}
}

// TestOutputsLiveAndKeptAtStop: without checkpoints the results and the
// bad lines reach their files as they come, whole lines, and a job
// stopped (Ctrl-C) keeps every line it wrote: the files are read while
// the job runs, and again after it stopped.
func TestOutputsLiveAndKeptAtStop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, bad := filepath.Join(dir, "out", "pvuv.jsonl"), filepath.Join(dir, "bad.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"pvuv", "--source", "datagen://?rate=4000", "--window", "1s", "--out-of-orderness", "0s",
			"--sink", "file://" + out, "--dead-letter", "file://" + bad, "--progress", "off"}, &stdout, &stderr)
	}()
	lines := func(path string) []string {
		b, _ := os.ReadFile(path)
		return strings.SplitAfter(string(b), "\n")
	}
	// Written as they come: two windows and a bad line, while the job runs.
	deadline := time.Now().Add(30 * time.Second)
	for len(lines(out)) < 3 || len(lines(bad)) < 2 {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("in 30s the job wrote %d windows and %d bad lines to its files, want 2 and 1\n%s", len(lines(out))-1, len(lines(bad))-1, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK || !strings.Contains(stderr.String(), "weir pvuv: stopped after") {
		t.Fatalf("stopped: exit %d\n%s", code, stderr.String())
	}
	for _, path := range []string{out, bad} {
		got := lines(path)
		if last := got[len(got)-1]; last != "" {
			t.Errorf("%s ends in a partial line %q", path, last)
		}
		for _, l := range got[:len(got)-1] {
			if !json.Valid([]byte(l)) {
				t.Errorf("%s: line %q is not JSON", path, l)
			}
		}
	}
}

// TestKafkaSinkTopic: weir pvuv checks the --sink topic before the job
// starts. A broker that creates topics on first use (weir kafka) creates
// it, and the windows arrive; one that does not fails the command at
// once, exit 1, with what to do: not after the input and ten restarts.
func TestKafkaSinkTopic(t *testing.T) {
	t.Parallel()
	args := func(addr, topic string) []string {
		return []string{"pvuv", "--source", "datagen://?limit=5000", "--window", "1s", "--progress", "off",
			"--sink", "kafka://" + addr + "/" + topic, "--checkpoint-dir", t.TempDir(), "--checkpoint-interval", "50ms"}
	}
	t.Run("created", func(t *testing.T) {
		b, err := kafkatest.Start(kafkatest.Config{Partitions: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		r := runIn(t, args(b.Addr(), "windows")...)
		if r.code != exitOK {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		// datagen's 5000 lines are five seconds of event time.
		if got := readCommitted(t, []kgo.Opt{kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics("windows")}, 5); len(got) != 5 {
			t.Fatalf("%d windows in the topic, want 5", len(got))
		}
	})
	t.Run("missing", func(t *testing.T) {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := runIn(t, args(c.ListenAddrs()[0], "missing")...)
		if r.code != exitFail {
			t.Errorf("exit %d, want %d", r.code, exitFail)
		}
		for _, want := range []string{`weir pvuv: failed at start: --sink: kafka: sink to topic "missing": the topic does not exist`, "create the topic"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
	})
}

// TestLongLinesAreBadLines: a line longer than the file source's limit (1
// MiB) is a bad line with the reason "too long", dead-lettered with its
// first bytes, not lost.
func TestLongLinesAreBadLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := `10.0.0.1 - - [24/Nov/2026:07:40:01 +0000] "GET /a HTTP/1.1" 200 12 "-" "curl/8"` + "\n"
	long := `10.0.0.2 - - [24/Nov/2026:07:40:02 +0000] "GET /b HTTP/1.1" 200 12 "-" "` + strings.Repeat("x", 3<<20) + "\"\n"
	logs := filepath.Join(dir, "access.log")
	if err := os.WriteFile(logs, []byte(good+long+good), 0o644); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(dir, "bad.jsonl")
	r := runIn(t, "pvuv", "--source", "file://"+logs, "--sink", "file://"+filepath.Join(dir, "out.jsonl"),
		"--dead-letter", "file://"+dead, "--progress", "off")
	if r.code != exitOK {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "3 lines (1 bad)") {
		t.Errorf("summary does not count the long line as a bad line:\n%s", r.stderr)
	}
	b, err := os.ReadFile(dead)
	if err != nil {
		t.Fatal(err)
	}
	var bad struct{ Line, Reason string }
	if err := json.Unmarshal(b, &bad); err != nil {
		t.Fatalf("dead letters %q: %v", b, err)
	}
	if bad.Reason != "too long" || !strings.HasPrefix(bad.Line, "10.0.0.2 - -") || len(bad.Line) > 64<<10 {
		t.Errorf("dead letter: reason %q, %d bytes of line starting %.20q: want \"too long\" and the line's first bytes", bad.Reason, len(bad.Line), bad.Line)
	}
}
