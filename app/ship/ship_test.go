package ship

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/connector/kafka/kafkatest"
	"github.com/weirstream/weir/internal/tail"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// broker starts an in-process broker whose topics have partitions
// partitions.
func broker(t *testing.T, partitions int) *kafkatest.Broker {
	t.Helper()
	b, err := kafkatest.Start(kafkatest.Config{Partitions: partitions})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// config ships dir/access*.log to topic "access", in small fast rounds.
func config(b *kafkatest.Broker, dir string) Config {
	return Config{
		Client:           kafka.Client{Brokers: []string{b.Addr()}},
		Pattern:          filepath.Join(dir, "access*.log"),
		Topic:            "access",
		Interval:         5 * time.Millisecond,
		RotationGrace:    30 * time.Millisecond,
		ProgressInterval: -1,
		Logger:           quiet,
	}
}

// logFile is a log being written, as a web server writes it.
type logFile struct {
	t    *testing.T
	name string // names the lines: "<name>-<seq>"
	f    *os.File
	seq  int
	tail string // the end of a line written in part
}

func create(t *testing.T, path, name string) *logFile {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &logFile{t: t, name: name, f: f}
}

// write completes a line written in part, then appends n lines.
func (l *logFile) write(n int) {
	l.t.Helper()
	var b strings.Builder
	b.WriteString(l.tail)
	l.tail = ""
	for range n {
		fmt.Fprintf(&b, "%s-%d\n", l.name, l.seq)
		l.seq++
	}
	l.put(b.String())
}

// partial writes the first half of the next line.
func (l *logFile) partial() {
	l.t.Helper()
	if l.tail != "" {
		l.write(0)
	}
	s := fmt.Sprintf("%s-%d\n", l.name, l.seq)
	l.seq++
	l.put(s[:len(s)/2])
	l.tail = s[len(s)/2:]
}

func (l *logFile) put(s string) {
	l.t.Helper()
	if _, err := l.f.WriteString(s); err != nil {
		l.t.Fatal(err)
	}
}

// complete returns the complete lines written so far.
func (l *logFile) complete() []string {
	n := l.seq
	if l.tail != "" {
		n--
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", l.name, i)
	}
	return out
}

// readTopic returns the values of the committed records of topic, in
// partition and offset order, as a read_committed consumer sees them.
func readTopic(t *testing.T, addr, topic string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, byPart := range ends {
		parts := slices.Sorted(func(yield func(int32) bool) {
			for p := range byPart {
				if !yield(p) {
					return
				}
			}
		})
		for _, p := range parts {
			end := byPart[p]
			if end.Err != nil || end.Offset == 0 {
				continue
			}
			cl, err := kgo.NewClient(kgo.SeedBrokers(addr),
				kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().AtStart()}}),
				kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(), kgo.DisableFetchSessions())
			if err != nil {
				t.Fatal(err)
			}
			for done := false; !done; {
				fs := cl.PollFetches(ctx)
				if err := ctx.Err(); err != nil {
					cl.Close()
					t.Fatalf("read %s/%d: %v", topic, p, err)
				}
				fs.EachRecord(func(r *kgo.Record) {
					if r.Offset < end.Offset && !r.Attrs.IsControl() {
						out = append(out, string(r.Value))
					}
					done = done || r.Offset >= end.Offset-1
				})
			}
			cl.Close()
		}
	}
	return out
}

// waitFor polls cond until it holds. It fails the test if the shipper
// returns first, or after a minute, which only a broken shipper takes.
func (r *running) waitFor(t *testing.T, what string, cond func(Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond(r.s.Stats()) {
		select {
		case <-r.finished:
			t.Fatalf("waiting for %s, the shipper returned %v; stats %+v", what, r.err, r.s.Stats())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s; stats %+v", what, r.s.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// running is a shipper started in the background.
type running struct {
	s        *Shipper
	cancel   context.CancelFunc
	finished chan struct{}
	err      error // what Run returned, once finished is closed
}

func start(t *testing.T, cfg Config, setup func(*Shipper)) *running {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, cancel: cancel, finished: make(chan struct{})}
	go func() {
		r.err = s.Run(ctx)
		close(r.finished)
	}()
	t.Cleanup(func() { r.stop() })
	return r
}

// stop cancels the shipper and returns what Run returned.
func (r *running) stop() error {
	r.cancel()
	return r.wait()
}

// wait returns what Run returned, once it has.
func (r *running) wait() error {
	<-r.finished
	return r.err
}

// checkExactlyOnce fails unless got holds every line of files exactly
// once, each file's lines in order.
func checkExactlyOnce(t *testing.T, got []string, files ...*logFile) {
	t.Helper()
	var want []string
	for _, f := range files {
		want = append(want, f.complete()...)
	}
	last := map[string]int{}
	for _, v := range got {
		name, seq, ok := strings.Cut(v, "-")
		n, err := strconv.Atoi(seq)
		if !ok || err != nil {
			t.Fatalf("the topic holds %q, which no file has", v)
		}
		if prev, ok := last[name]; ok && n <= prev {
			t.Fatalf("%s-%d arrived after %s-%d: out of file order, or twice", name, n, name, prev)
		}
		last[name] = n
	}
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	slices.Sort(want)
	if !slices.Equal(sorted, want) {
		var missing, extra []string
		for _, w := range want {
			if _, ok := slices.BinarySearch(sorted, w); !ok {
				missing = append(missing, w)
			}
		}
		for _, g := range sorted {
			if _, ok := slices.BinarySearch(want, g); !ok {
				extra = append(extra, g)
			}
		}
		t.Fatalf("got %d lines, want %d exactly once; missing %v, not written %v", len(got), len(want), missing, extra)
	}
}

// TestShipsRotatingLogs follows a log through partial lines, a rotation
// (the writer goes on appending to the renamed file before it reopens)
// and a new file: every complete line arrives once, in file order, and
// the rotated file is forgotten once read to its end.
func TestShipsRotatingLogs(t *testing.T) {
	b := broker(t, 1)
	dir := t.TempDir()
	live := filepath.Join(dir, "access.log")
	a := create(t, live, "a")
	a.write(50)
	a.partial()
	r := start(t, config(b, dir), nil)
	r.waitFor(t, "the first lines", func(st Stats) bool { return st.Lines == 50 })

	a.write(20) // completes the partial line
	// logrotate: rename, then the server writes on until it reopens.
	if err := os.Rename(live, filepath.Join(dir, "access.log.1")); err != nil {
		t.Fatal(err)
	}
	a.write(10)
	a.partial()
	a2 := create(t, live, "b")
	a2.write(30)
	a.write(5) // the old file's last lines, after the new one began
	c := create(t, filepath.Join(dir, "access-vhost.log"), "c")
	c.write(40)
	c.partial()

	want := int64(len(a.complete()) + len(a2.complete()) + len(c.complete()))
	r.waitFor(t, "every complete line, and the rotated file forgotten", func(st Stats) bool {
		return st.Lines >= want && st.Files == 2
	})
	if err := r.stop(); err != nil {
		t.Fatalf("Run returned %v after its context was cancelled, want nil", err)
	}
	checkExactlyOnce(t, readTopic(t, b.Addr(), "access"), a, a2, c)
}

// TestRestartsExactlyOnce stops the shipper again and again while logs
// are written and rotated: gracefully at random moments, or as if the
// process died in the middle of a transaction (its records sent, never
// committed). A read_committed reader sees every line exactly once.
func TestRestartsExactlyOnce(t *testing.T) {
	b := broker(t, 3)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	live := filepath.Join(dir, "access.log")
	var files []*logFile
	cur := create(t, live, "f0")
	files = append(files, cur)
	cfg := config(b, dir)
	cfg.MaxBatchLines = 25 // several transactions per run
	// A file's lines share a partition, which keeps their order.
	cfg.Key = func(line []byte) []byte { name, _, _ := bytes.Cut(line, []byte("-")); return name }
	crashes := 0
	var committed int64 // transactions committed so far
	for i := range 10 {
		cur.write(rng.IntN(80))
		if rng.IntN(2) == 0 {
			cur.partial()
		}
		// Rotate, once a position of the live file is committed: a file
		// renamed out of the pattern before that is not known to be ours.
		if i%3 == 2 && committed > 0 {
			if err := os.Rename(live, filepath.Join(dir, fmt.Sprintf("access.log.%d", i))); err != nil {
				t.Fatal(err)
			}
			cur.write(rng.IntN(10))
			cur = create(t, live, fmt.Sprintf("f%d", len(files)))
			files = append(files, cur)
			cur.write(rng.IntN(30))
		}
		hard := i%2 == 1
		var setup func(*Shipper)
		if hard {
			// Die in the middle of the k-th transaction, after its records
			// were handed to the client or sent to the broker.
			k := rng.IntN(3)
			point := []string{"produced", "flushed"}[rng.IntN(2)]
			setup = func(s *Shipper) {
				s.crash = func(p string) bool {
					if p != point {
						return false
					}
					k--
					return k < 0
				}
			}
		}
		r := start(t, cfg, setup)
		if hard {
			// Write on until the k-th transaction: a run may find little
			// to ship.
			for n := 0; ; n++ {
				if n == 2000 {
					t.Fatalf("run %d: the shipper made no transaction in 20 s of writes", i)
				}
				select {
				case <-r.finished:
				case <-time.After(10 * time.Millisecond):
					cur.write(3)
					continue
				}
				break
			}
			if err := r.wait(); !errors.Is(err, errCrashed) {
				t.Fatalf("run %d: Run returned %v, want the crash", i, err)
			}
			crashes++
			committed += r.s.Stats().Transactions
			continue
		}
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		if err := r.stop(); err != nil {
			t.Fatalf("run %d: Run returned %v after its context was cancelled, want nil", i, err)
		}
		committed += r.s.Stats().Transactions
	}
	if crashes < 4 {
		t.Fatalf("only %d runs died in a transaction", crashes)
	}
	// A last run ships the rest.
	cur.write(1)
	r := start(t, cfg, nil)
	r.waitFor(t, "the files shipped to their end", func(st Stats) bool {
		return st.Transactions > 0 && st.LagBytes == 0
	})
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, readTopic(t, b.Addr(), "access"), files...)
}

// TestTruncation: a file truncated in place while followed (copytruncate),
// and a file rewritten while no shipper ran, are shipped again from their
// start, with the truncation counted.
func TestTruncation(t *testing.T) {
	b := broker(t, 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	a := create(t, path, "a")
	a.write(20)
	r := start(t, config(b, dir), nil)
	r.waitFor(t, "the first lines", func(st Stats) bool { return st.Lines == 20 })

	// copytruncate: the copy is made elsewhere, the file starts again.
	if err := a.f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	a2 := &logFile{t: t, name: "b", f: a.f}
	a2.write(5)
	r.waitFor(t, "the lines after the truncation", func(st Stats) bool { return st.Lines == 25 })
	// A restart after a failed transaction finds the truncation again.
	if st := r.s.Stats(); st.Truncations < 1 || st.Restarts == 0 && st.Truncations != 1 {
		t.Fatalf("%d truncations counted after %d restarts, want 1", st.Truncations, st.Restarts)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	// While no shipper runs, the file is rewritten in place with more bytes
	// than were shipped: only its first bytes tell.
	if err := a.f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	a3 := &logFile{t: t, name: "c", f: a.f}
	a3.write(30)
	r = start(t, config(b, dir), nil)
	r.waitFor(t, "the rewritten file", func(st Stats) bool { return st.Lines == 30 })
	if st := r.s.Stats(); st.Truncations < 1 || st.Restarts == 0 && st.Truncations != 1 {
		t.Fatalf("the restart counted %d truncations after %d restarts, want 1", st.Truncations, st.Restarts)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, readTopic(t, b.Addr(), "access"), a, a2, a3)
}

// TestRotationsWhileStopped stops the shipper in the middle of a file and
// rotates twice, with the README's pattern (access*.log) and logrotate's
// names (access.log.1, .2), while it is down: the file it was reading has
// left the pattern, and a file it never saw came and left. The next start
// ships every line exactly once.
func TestRotationsWhileStopped(t *testing.T) {
	b := broker(t, 1)
	dir := t.TempDir()
	live := filepath.Join(dir, "access.log")
	mv := func(from, to string) {
		t.Helper()
		if err := os.Rename(filepath.Join(dir, from), filepath.Join(dir, to)); err != nil {
			t.Fatal(err)
		}
	}
	a := create(t, live, "a")
	a.write(100)
	r := start(t, config(b, dir), nil)
	r.waitFor(t, "the first lines", func(st Stats) bool { return st.Lines == 100 })
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	a.write(50) // after the stop: in the middle of the file
	mv("access.log", "access.log.1")
	a.write(10) // the server writes on until it reopens its log
	a2 := create(t, live, "b")
	a2.write(30)
	mv("access.log.1", "access.log.2")
	mv("access.log", "access.log.1")
	a3 := create(t, live, "c")
	a3.write(20)

	r = start(t, config(b, dir), nil)
	r.waitFor(t, "the lines written while stopped", func(st Stats) bool { return st.Lines == 110 && st.LagBytes == 0 })
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, readTopic(t, b.Addr(), "access"), a, a2, a3)
}

// TestCopytruncateWhileStopped: rotated with copytruncate while no
// shipper runs, the file is shorter than its position; its unshipped end is
// shipped from the copy, and the new lines from its start.
func TestCopytruncateWhileStopped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	a := create(t, path, "a")
	a.write(40)
	tl := tailerFor(t, dir, nil, quiet)
	got, pos := round(t, tl, nil)
	tl.close()
	a.write(25) // not shipped before the stop
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".1", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	a2 := &logFile{t: t, name: "b", f: a.f}
	a2.write(5)
	tl = tailerFor(t, dir, pos, quiet)
	lines, _ := round(t, tl, nil)
	checkExactlyOnce(t, append(got, lines...), a, a2)
}

// TestTruncationLogsTheLoss: a file truncated in place (copytruncate, the
// copy out of reach) with lines not shipped yet: the warning says how many
// bytes were lost.
func TestTruncationLogsTheLoss(t *testing.T) {
	dir := t.TempDir()
	a := create(t, filepath.Join(dir, "access.log"), "a")
	a.write(40)
	h := &logs{}
	tl := tailerFor(t, dir, nil, slog.New(h))
	got, _ := round(t, tl, nil)
	a.write(25)
	lost := int64(len(strings.Join(a.complete()[40:], "\n")) + 1)
	// The round's scan sees the 25 lines; the file is truncated before
	// they are read.
	a2 := &logFile{t: t, name: "b", f: a.f}
	lines, _ := round(t, tl, func() {
		if err := a.f.Truncate(0); err != nil {
			t.Fatal(err)
		}
		a2.write(5)
	})
	got = append(got, lines...)
	lines, _ = round(t, tl, nil)
	got = append(got, lines...)
	checkExactlyOnce(t, got, &logFile{name: "a", seq: 40}, a2)
	msg, v, ok := h.attr("lost_bytes_at_least")
	if !ok || v.Int64() != lost || !strings.Contains(msg, "copytruncate") {
		t.Fatalf("the truncation was logged as %q with lost_bytes_at_least %v; want %d bytes and a word on copytruncate", msg, v, lost)
	}
}

// logs keeps the records logged, for tests that check what was said.
type logs struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logs) Enabled(context.Context, slog.Level) bool { return true }
func (h *logs) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logs) WithGroup(string) slog.Handler            { return h }
func (h *logs) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r.Clone())
	h.mu.Unlock()
	return nil
}

// attr returns the message and the value of the first record with
// attribute key.
func (h *logs) attr(key string) (string, slog.Value, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		var v slog.Value
		found := false
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				v, found = a.Value, true
			}
			return !found
		})
		if found {
			return r.Message, v, true
		}
	}
	return "", slog.Value{}, false
}

// TestFenced: a second shipper with the same transactional ID takes over;
// the first stops with ErrFenced at its next transaction.
func TestFenced(t *testing.T) {
	b := broker(t, 1)
	dir := t.TempDir()
	a := create(t, filepath.Join(dir, "access.log"), "a")
	a.write(10)
	first := start(t, config(b, dir), nil)
	first.waitFor(t, "the first shipper's lines", func(st Stats) bool { return st.Lines == 10 })

	second := start(t, config(b, dir), nil)
	// Each line makes both shippers try a transaction: the first fails
	// once the second has taken the ID.
	for n := 0; ; n++ {
		if n == 2000 {
			t.Fatal("the first shipper was not fenced in 20 s of writes")
		}
		select {
		case <-first.finished:
		case <-time.After(10 * time.Millisecond):
			a.write(1)
			continue
		}
		break
	}
	err := first.wait()
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("the fenced shipper returned %v, want ErrFenced", err)
	}
	if !strings.Contains(err.Error(), "weir-ship-access") {
		t.Fatalf("the error does not name the transactional ID: %v", err)
	}
	second.waitFor(t, "the second shipper to ship everything", func(st Stats) bool {
		return st.LagBytes == 0 && st.Lines > 0
	})
	if err := second.stop(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, readTopic(t, b.Addr(), "access"), a)
}

// TestStartAtEnd: a first start skips the lines already written, but lines
// written while the shipper is stopped are shipped by the next start.
func TestStartAtEnd(t *testing.T) {
	b := broker(t, 1)
	dir := t.TempDir()
	a := create(t, filepath.Join(dir, "access.log"), "a")
	a.write(10)
	a.partial()
	cfg := config(b, dir)
	cfg.StartAtEnd = true
	r := start(t, cfg, nil)
	r.waitFor(t, "the start positions", func(st Stats) bool { return st.Transactions > 0 })
	a.write(5) // the partial line's end, then 5 lines
	r.waitFor(t, "the new lines", func(st Stats) bool { return st.Lines == 6 })
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	a.write(7)
	r = start(t, cfg, nil)
	r.waitFor(t, "the lines written while stopped", func(st Stats) bool { return st.Lines == 7 })
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	got := readTopic(t, b.Addr(), "access")
	want := a.complete()[10:]
	// The partial line's first half was there at the start: its line,
	// completed later, is the first shipped.
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestLongLines: lines longer than MaxLineBytes are skipped and counted,
// whether they fit in the buffer or not; the lines around them ship.
func TestLongLines(t *testing.T) {
	b := broker(t, 1)
	dir := t.TempDir()
	a := create(t, filepath.Join(dir, "access.log"), "a")
	a.write(3)
	a.put(strings.Repeat("x", 150) + "\n")    // longer than the limit, fits the buffer
	a.put(strings.Repeat("y", 5000) + "\n")   // longer than the buffer
	a.put(strings.Repeat("z", 3000) + "\r\n") // also, with CRLF
	a.write(4)
	cfg := config(b, dir)
	cfg.MaxLineBytes = 100
	cfg.MaxBatchBytes = 1000
	r := start(t, cfg, nil)
	r.waitFor(t, "the short lines", func(st Stats) bool { return st.Lines == 7 })
	if n := r.s.Stats().SkippedLines; n != 3 {
		t.Fatalf("%d lines skipped, want 3", n)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, readTopic(t, b.Addr(), "access"), a)
}

func TestConfig(t *testing.T) {
	_, err := New(Config{Client: kafka.Client{Brokers: []string{"nohost"}}, Pattern: "[", MaxLineBytes: 10, MaxBatchBytes: 5})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"Client.Brokers", "Pattern", "Topic is empty", "MaxBatchBytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %s:\n%v", want, err)
		}
	}
	s, err := New(Config{Client: kafka.Client{Brokers: []string{"localhost:9092"}}, Pattern: "/var/log/nginx/access*.log", Topic: "access"})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config()
	if c.PositionsTopic != "access.positions" || c.TransactionalID != "weir-ship-access" || c.Interval != DefaultInterval ||
		c.MaxBatchLines != DefaultMaxBatchLines || c.MaxLineBytes != DefaultMaxLineBytes || c.Logger == nil {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

// tailerFor returns a tailer of dir/access*.log that resumes from pos (nil:
// afresh), for tests that drive rounds by hand, without Kafka.
func tailerFor(t *testing.T, dir string, pos *positions, log *slog.Logger) *tailer {
	t.Helper()
	s, err := New(Config{Client: kafka.Client{Brokers: []string{"localhost:9092"}}, Pattern: filepath.Join(dir, "access*.log"), Topic: "access", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	tl := newTailer(s, pos)
	t.Cleanup(tl.close)
	return tl
}

// round runs one round of tl as the shipper does, as if its transaction
// committed, with between called after the scan and before the read (nil:
// nothing). It returns the lines read, and the positions committed, or nil
// when the round had nothing to commit. It fails the test if a position lies
// beyond the bytes its fingerprint covers.
func round(t *testing.T, tl *tailer, between func()) ([]string, *positions) {
	t.Helper()
	now := time.Now()
	if err := tl.scan(now); err != nil {
		t.Fatal(err)
	}
	if between != nil {
		between()
	}
	b, err := tl.read(now)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.lines) == 0 && !b.changed {
		return nil, nil
	}
	var got []string
	for _, l := range b.lines {
		got = append(got, string(l.b))
	}
	pos := tl.positions("test", now)
	for _, fp := range pos.Files {
		if int64(fp.HeadLen) < min(fp.Offset, tail.HeadMax) {
			t.Errorf("%s: position %d recorded with a fingerprint of its first %d bytes only: a resume cannot tell whether the file was rewritten", fp.Path, fp.Offset, fp.HeadLen)
		}
	}
	tl.commit()
	return got, &pos
}

// TestFingerprintCoversPosition: a file rewritten in place between a
// round's scan and its read (the scan finds it empty, the read finds lines)
// is rewritten again, longer, while no shipper runs. The positions
// committed carry a fingerprint that covers their offset, so the shipper
// that resumes ships the new content from its start. A round that reads
// past its fingerprint commits an offset that a resume cannot check: it
// goes on from the old offset in the new content (the lost lines of the
// TestTruncation flake).
func TestFingerprintCoversPosition(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	a := create(t, path, "a") // empty: copytruncate has just emptied it
	tl := tailerFor(t, dir, nil, quiet)
	var got []string
	var last *positions
	between := func() { a.write(5) }
	for range 4 { // the lines may wait for a later round
		lines, pos := round(t, tl, between)
		got, between = append(got, lines...), nil
		if pos != nil {
			last = pos
		}
	}
	checkExactlyOnce(t, got, a)
	if last == nil {
		t.Fatal("no round committed")
	}

	// Rewritten in place while no shipper runs, longer than what was
	// shipped: only its first bytes tell.
	if err := a.f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	c := &logFile{t: t, name: "c", f: a.f}
	c.write(30)
	tl = tailerFor(t, dir, last, quiet)
	got, _ = round(t, tl, nil)
	checkExactlyOnce(t, got, c)
	if n := tl.s.Stats().Truncations; n != 1 {
		t.Fatalf("%d truncations counted, want 1", n)
	}
}

// TestResume: the positions record decides where a restarted shipper
// reads a file from. It goes on from the offset only when the record's
// fingerprint covers every byte before it (or its first tail.HeadMax bytes) and
// they are still there; otherwise it cannot tell a rewritten file from the
// same one, and ships the file again from its start rather than lose lines.
func TestResume(t *testing.T) {
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	var content strings.Builder
	for i := range 30 {
		fmt.Fprintf(&content, "c-%d\n", i)
	}
	first := content.String()[:20] // c-0 to c-4
	for _, tc := range []struct {
		name    string
		offset  int64
		headLen int
		head    string
		from    int // the first line shipped
	}{
		{"the same file", 20, 20, sum(first), 5},
		{"the same file, fingerprinted further", 20, 40, sum(content.String()[:40]), 5},
		{"no fingerprint", 20, 0, "", 0},
		{"a fingerprint shorter than the offset", 20, 8, sum(first[:8]), 0},
		{"another head", 20, 20, sum("a-0\na-1\na-2\na-3\na-4\n"), 0},
		{"a fingerprint longer than the file", 20, 200, sum(content.String()[:20] + strings.Repeat("x", 180)), 0},
		{"shorter than the offset", 1000, tail.HeadMax, sum(content.String()), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "access.log")
			c := create(t, path, "c")
			c.write(30)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			id, _ := tail.Identity(fi)
			pos := &positions{Version: positionsVersion, Files: []filePosition{{
				Path: path, Dev: id.Dev, Ino: id.Ino, Offset: tc.offset, HeadLen: tc.headLen, Head: tc.head,
			}}}
			tl := tailerFor(t, dir, pos, quiet)
			got, _ := round(t, tl, nil)
			if want := c.complete()[tc.from:]; !slices.Equal(got, want) {
				t.Fatalf("shipped %v, want %v", got, want)
			}
			want := int64(0)
			if tc.from == 0 {
				want = 1 // read again from its start
			}
			if n := tl.s.Stats().Truncations; n != want {
				t.Fatalf("%d truncations counted, want %d", n, want)
			}
		})
	}
}
