package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// backend opens a fresh, empty storage location for one test.
type backend struct {
	name string
	// location returns a location no other test uses.
	location func(t *testing.T) string
}

// backends returns the local directory and an S3 server in this process,
// spoken to over loopback TCP by the real S3 client (minio-go), and any
// backend a build tag adds (extraBackends).
func backends(t *testing.T) []backend {
	t.Helper()
	mem := s3mem.New()
	if err := mem.CreateBucket("weir"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(srv.Close)

	// Static credentials, and no shared config or instance metadata from
	// the machine running the tests.
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	n := 0
	return append([]backend{
		{name: "local", location: func(t *testing.T) string { return filepath.Join(t.TempDir(), "checkpoints") }},
		{name: "s3", location: func(t *testing.T) string {
			n++
			return s3Location(srv.URL, "weir", fmt.Sprintf("jobs/%d/chk", n))
		}},
	}, extraBackends...)
}

// extraBackends are the backends that a build tag compiles in.
var extraBackends []backend

func s3Location(endpoint, bucket, prefix string) string {
	q := url.Values{
		"region":         {"us-east-1"},
		"endpoint":       {endpoint},
		"use_path_style": {"true"},
		"disable_https":  {"true"},
	}
	return "s3://" + bucket + "/" + prefix + "?" + q.Encode()
}

// forEachBackend runs test against every backend, each with its own storage.
func forEachBackend(t *testing.T, test func(t *testing.T, s *Storage, logs *syncBuffer)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			logs := &syncBuffer{}
			s := open(t, b.location(t), WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			test(t, s, logs)
		})
	}
}

func open(t *testing.T, location string, opts ...Option) *Storage {
	t.Helper()
	s, err := Open(t.Context(), location, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// syncBuffer collects log output from any goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Metadata in tests is "meta <dir> end"; validate rejects anything else, as
// the real decoder's checksum would.
func metadata(d Dir) []byte { return []byte("meta " + d.Name() + " end") }

func validate(b []byte) error {
	if !bytes.HasPrefix(b, []byte("meta ")) || !bytes.HasSuffix(b, []byte(" end")) {
		return fmt.Errorf("bad checksum in %d bytes", len(b))
	}
	return nil
}

func writeState(t *testing.T, s *Storage, d Dir, name, content string) {
	t.Helper()
	n, err := s.WriteState(t.Context(), d, name, strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(content)) {
		t.Fatalf("WriteState(%s, %s) = %d bytes, want %d", d, name, n, len(content))
	}
}

// checkpointAt writes a state file and, if completed, the metadata.
func checkpointAt(t *testing.T, s *Storage, id uint64, completed bool) Dir {
	t.Helper()
	d := CheckpointDir(id)
	writeState(t, s, d, "op-1/kg-0-63", "state of "+d.Name())
	if completed {
		if err := s.Commit(t.Context(), d, metadata(d)); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func readState(t *testing.T, s *Storage, d Dir, name string) (string, error) {
	t.Helper()
	f, err := s.OpenState(t.Context(), d, name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	return string(b), err
}

func names(ds []Dir) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name())
	}
	return out
}

func TestCommitMakesCompleted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, _ *syncBuffer) {
		ctx := t.Context()
		if _, _, err := s.Latest(ctx, validate); !errors.Is(err, ErrNone) {
			t.Fatalf("Latest on empty storage: %v, want ErrNone", err)
		}
		c1 := checkpointAt(t, s, 1, true)
		c2 := checkpointAt(t, s, 2, true)
		c3 := checkpointAt(t, s, 3, false) // no _metadata: not completed

		done, err := s.Completed(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := names(done), names([]Dir{c2, c1}); !slices.Equal(got, want) {
			t.Fatalf("Completed = %v, want %v", got, want)
		}
		d, md, err := s.Latest(ctx, validate)
		if err != nil || d != c2 || !bytes.Equal(md, metadata(c2)) {
			t.Fatalf("Latest = %v, %q, %v; want %v, %q", d, md, err, c2, metadata(c2))
		}
		if got, err := readState(t, s, c2, "op-1/kg-0-63"); err != nil || got != "state of "+c2.Name() {
			t.Fatalf("state of %s = %q, %v", c2, got, err)
		}
		if _, err := s.ReadMetadata(ctx, c3, validate); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ReadMetadata of incomplete %s: %v, want fs.ErrNotExist", c3, err)
		}
		if err := s.Commit(ctx, c2, metadata(c2)); err == nil || !strings.Contains(err.Error(), "already completed") {
			t.Fatalf("second Commit of %s: %v, want an already-completed error", c2, err)
		}
		// A savepoint is read by name and never listed as a checkpoint.
		sp := NewSavepointDir(2, time.UnixMilli(1700000000000))
		writeState(t, s, sp, "op-1/kg-0-63", "savepoint state")
		if err := s.Commit(ctx, sp, metadata(sp)); err != nil {
			t.Fatal(err)
		}
		if md, err := s.ReadMetadata(ctx, sp, validate); err != nil || !bytes.Equal(md, metadata(sp)) {
			t.Fatalf("ReadMetadata(%s) = %q, %v", sp, md, err)
		}
		if done, _ := s.Completed(ctx); len(done) != 2 {
			t.Fatalf("Completed after a savepoint = %v, want the 2 checkpoints", names(done))
		}
	})
}

// TestCommitRace commits each of several directories from four goroutines
// at once, each with metadata of its own, as a coordinator cut off from
// its cluster and the one that replaced it may: one commit of each wins,
// the others fail, and the metadata is the winner's.
func TestCommitRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, _ *syncBuffer) {
		ctx := t.Context()
		const dirs, writers = 20, 4
		won := make([][]int, dirs)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range dirs {
			d := CheckpointDir(uint64(100 + i))
			for w := range writers {
				wg.Go(func() {
					err := s.Commit(ctx, d, append(metadata(d), byte('a'+w)))
					switch {
					case err == nil:
						mu.Lock()
						won[i] = append(won[i], w)
						mu.Unlock()
					case !strings.Contains(err.Error(), "already completed"):
						t.Errorf("Commit of %s by writer %d: %v, want success or an already-completed error", d, w, err)
					}
				})
			}
		}
		wg.Wait()
		for i, ws := range won {
			d := CheckpointDir(uint64(100 + i))
			if len(ws) != 1 {
				t.Fatalf("%s: writers %v committed it, want exactly one", d, ws)
			}
			md, err := s.ReadMetadata(ctx, d, func([]byte) error { return nil })
			if want := append(metadata(d), byte('a'+ws[0])); err != nil || !bytes.Equal(md, want) {
				t.Fatalf("%s: metadata %q, %v; want the winner's, %q", d, md, err, want)
			}
		}
	})
}

func TestLatestSkipsUnusableMetadata(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, logs *syncBuffer) {
		ctx := t.Context()
		good := checkpointAt(t, s, 7, true)
		truncated := checkpointAt(t, s, 8, false)
		if err := s.Commit(ctx, truncated, metadata(truncated)[:6]); err != nil {
			t.Fatal(err)
		}
		corrupt := checkpointAt(t, s, 9, false)
		if err := s.Commit(ctx, corrupt, []byte("\x00garbage\xff")); err != nil {
			t.Fatal(err)
		}

		d, md, err := s.Latest(ctx, validate)
		if err != nil || d != good || !bytes.Equal(md, metadata(good)) {
			t.Fatalf("Latest = %v, %q, %v; want %v", d, md, err, good)
		}
		out := logs.String()
		for _, want := range []string{
			"level=WARN", "using the previous one",
			"checkpoint=" + corrupt.Name(), "previous=" + truncated.Name(),
			"checkpoint=" + truncated.Name(), "previous=" + good.Name(),
		} {
			if !strings.Contains(out, want) {
				t.Errorf("log lacks %q:\n%s", want, out)
			}
		}
		if _, err := s.ReadMetadata(ctx, corrupt, validate); err == nil || !strings.Contains(err.Error(), "invalid") {
			t.Errorf("ReadMetadata of corrupt %s: %v, want an invalid-metadata error", corrupt, err)
		}

		// With the good one gone, nothing qualifies.
		if err := s.Discard(ctx, good); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Latest(ctx, validate); !errors.Is(err, ErrNone) {
			t.Fatalf("Latest with only bad checkpoints: %v, want ErrNone", err)
		}
		if !strings.Contains(logs.String(), "no previous checkpoint remains") {
			t.Errorf("log does not say no previous checkpoint remains:\n%s", logs)
		}
	})
}

func TestRetain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, _ *syncBuffer) {
		ctx := t.Context()
		completed := map[uint64]bool{1: true, 2: false, 3: true, 4: true, 5: true, 6: false}
		for id := uint64(1); id <= 6; id++ {
			checkpointAt(t, s, id, completed[id])
		}
		sp := SavepointDir("before-upgrade")
		writeState(t, s, sp, "op-1/kg-0-63", "savepoint state")
		if err := s.Commit(ctx, sp, metadata(sp)); err != nil {
			t.Fatal(err)
		}
		spNoMeta := SavepointDir("savepoint-0-1")
		writeState(t, s, spNoMeta, "x", "incomplete savepoint")

		if err := s.Retain(ctx, 0); err == nil {
			t.Fatal("Retain(0) succeeded; want an error")
		}
		if err := s.Retain(ctx, 2); err != nil {
			t.Fatal(err)
		}
		done, err := s.Completed(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := names(done), names([]Dir{CheckpointDir(5), CheckpointDir(4)}); !slices.Equal(got, want) {
			t.Fatalf("Completed after Retain(2) = %v, want %v", got, want)
		}
		for _, gone := range []uint64{1, 2, 3} {
			if _, err := readState(t, s, CheckpointDir(gone), "op-1/kg-0-63"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("state of %s after Retain: %v, want fs.ErrNotExist", CheckpointDir(gone), err)
			}
		}
		// Newer than the newest completed: may be in progress, so kept.
		if _, err := readState(t, s, CheckpointDir(6), "op-1/kg-0-63"); err != nil {
			t.Errorf("in-progress checkpoint 6 was touched: %v", err)
		}
		for _, d := range []Dir{sp, spNoMeta} {
			name := "op-1/kg-0-63"
			if d == spNoMeta {
				name = "x"
			}
			if _, err := readState(t, s, d, name); err != nil {
				t.Errorf("savepoint %s was touched by Retain: %v", d, err)
			}
		}
		if s.localRoot != "" {
			for _, gone := range []uint64{1, 2, 3} {
				if _, err := os.Stat(filepath.Join(s.localRoot, CheckpointDir(gone).Name())); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("directory of %s remains: %v", CheckpointDir(gone), err)
				}
			}
		}
	})
}

func TestDiscard(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, _ *syncBuffer) {
		ctx := t.Context()
		d := checkpointAt(t, s, 11, false)
		for i := range 40 { // more files than deletes run at once
			writeState(t, s, d, fmt.Sprintf("op-%d/kg-%d", i%3, i), "x")
		}
		if err := s.Commit(ctx, d, metadata(d)); err != nil {
			t.Fatal(err)
		}
		keep := checkpointAt(t, s, 12, true)
		if err := s.Discard(ctx, d); err != nil {
			t.Fatal(err)
		}
		if done, err := s.Completed(ctx); err != nil || !slices.Equal(names(done), []string{keep.Name()}) {
			t.Fatalf("Completed after Discard = %v, %v; want [%s]", names(done), err, keep)
		}
		if _, err := readState(t, s, d, "op-1/kg-1"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("state of discarded checkpoint: %v, want fs.ErrNotExist", err)
		}
		if err := s.Discard(ctx, d); err != nil {
			t.Fatalf("discarding again: %v, want nil", err)
		}
		if err := s.Discard(ctx, Dir{}); err == nil {
			t.Fatal("Discard(Dir{}) succeeded; want an error")
		}
	})
}

// pattern is a reproducible byte stream of a given length that is never in
// memory whole: byte i is a hash of i.
type pattern struct{ off, size int64 }

func patternByte(i int64) byte { return byte(uint64(i) * 0x9E3779B97F4A7C15 >> 56) }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), p.size-p.off))
	for i := range n {
		b[i] = patternByte(p.off + int64(i))
	}
	p.off += int64(n)
	return n, nil
}

func checkPattern(t *testing.T, got []byte, off int64) {
	t.Helper()
	for i, c := range got {
		if want := patternByte(off + int64(i)); c != want {
			t.Fatalf("byte at %d = %#x, want %#x", off+int64(i), c, want)
		}
	}
}

func TestOpenStateRandomAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, _ *syncBuffer) {
		ctx := t.Context()
		d := CheckpointDir(3)
		const size = 1 << 20
		if n, err := s.WriteState(ctx, d, "op-2/kg-0-127", &pattern{size: size}); err != nil || n != size {
			t.Fatalf("WriteState = %d, %v", n, err)
		}
		f, err := s.OpenState(ctx, d, "op-2/kg-0-127")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Size() != size {
			t.Fatalf("Size = %d, want %d", f.Size(), size)
		}
		for _, off := range []int64{0, 1, 4095, 500_000, size - 100} {
			buf := make([]byte, 100)
			n, err := f.ReadAt(buf, off)
			if err != nil || n != 100 {
				t.Fatalf("ReadAt(100, %d) = %d, %v", off, n, err)
			}
			checkPattern(t, buf, off)
		}
		// Past the end: what there is, then io.EOF.
		buf := make([]byte, 100)
		if n, err := f.ReadAt(buf, size-40); n != 40 || err != io.EOF {
			t.Fatalf("ReadAt across the end = %d, %v; want 40, io.EOF", n, err)
		}
		checkPattern(t, buf[:40], size-40)
		if n, err := f.ReadAt(buf, size); n != 0 || err != io.EOF {
			t.Fatalf("ReadAt at the end = %d, %v; want 0, io.EOF", n, err)
		}
		if _, err := f.ReadAt(buf, -1); err == nil {
			t.Fatal("ReadAt at -1 succeeded")
		}
		// Key groups are read in parallel.
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				buf := make([]byte, 4096)
				off := int64(g) * 100_000
				if _, err := f.ReadAt(buf, off); err != nil {
					t.Errorf("parallel ReadAt at %d: %v", off, err)
					return
				}
				checkPattern(t, buf, off)
			})
		}
		wg.Wait()
		if _, err := s.OpenState(ctx, d, "op-2/missing"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("OpenState of a missing file: %v, want fs.ErrNotExist", err)
		}
	})
}

func TestLargeStateStreams(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, _ *syncBuffer) {
		ctx := t.Context()
		d := CheckpointDir(4)
		const size = 20 << 20
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		n, err := s.WriteState(ctx, d, "op-1/big", &pattern{size: size})
		runtime.ReadMemStats(&after)
		if err != nil || n != size {
			t.Fatalf("WriteState = %d, %v", n, err)
		}
		// The upload is streamed: locally through a small copy buffer. (The
		// S3 client buffers a few multipart parts, and the fake server here
		// keeps every object in memory, so only the local case is measured.)
		if alloc := after.TotalAlloc - before.TotalAlloc; s.localRoot != "" && alloc > size/4 {
			t.Errorf("writing %d bytes allocated %d: the stream was buffered", size, alloc)
		}
		f, err := s.OpenState(ctx, d, "op-1/big")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Size() != size {
			t.Fatalf("Size = %d, want %d", f.Size(), size)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		buf := make([]byte, 64<<10)
		for range 10 {
			off := rng.Int64N(size - int64(len(buf)))
			if _, err := f.ReadAt(buf, off); err != nil {
				t.Fatalf("ReadAt at %d: %v", off, err)
			}
			checkPattern(t, buf, off)
		}
	})
}

func TestConcurrentWrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, _ *syncBuffer) {
		ctx := t.Context()
		d := CheckpointDir(5)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				name := fmt.Sprintf("op-%d/kg-%d", i%4, i)
				if _, err := s.WriteState(ctx, d, name, &pattern{size: int64(1000 + i)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if err := s.Commit(ctx, d, metadata(d)); err != nil {
			t.Fatal(err)
		}
		for i := range 16 {
			f, err := s.OpenState(ctx, d, fmt.Sprintf("op-%d/kg-%d", i%4, i))
			if err != nil {
				t.Fatal(err)
			}
			if f.Size() != int64(1000+i) {
				t.Errorf("size of file %d = %d, want %d", i, f.Size(), 1000+i)
			}
			f.Close()
		}
	})
}

// stallingReader gives some bytes, then calls stall and fails with err.
type stallingReader struct {
	n     int
	stall func() error
}

func (r *stallingReader) Read(b []byte) (int, error) {
	if r.n > 0 {
		n := min(len(b), r.n)
		clear(b[:n])
		r.n -= n
		return n, nil
	}
	return 0, r.stall()
}

func TestContextCancellation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, _ *syncBuffer) {
		d := checkpointAt(t, s, 1, true)
		cancelled, cancel := context.WithCancel(t.Context())
		cancel()
		checks := map[string]error{}
		_, checks["WriteState"] = s.WriteState(cancelled, CheckpointDir(2), "x", strings.NewReader("x"))
		checks["Commit"] = s.Commit(cancelled, CheckpointDir(2), metadata(CheckpointDir(2)))
		_, checks["Completed"] = s.Completed(cancelled)
		_, _, checks["Latest"] = s.Latest(cancelled, validate)
		_, checks["ReadMetadata"] = s.ReadMetadata(cancelled, d, validate)
		_, checks["OpenState"] = s.OpenState(cancelled, d, "op-1/kg-0-63")
		checks["Retain"] = s.Retain(cancelled, 1)
		checks["Discard"] = s.Discard(cancelled, d)
		for op, err := range checks {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a cancelled context: %v, want context.Canceled", op, err)
			}
		}

		// Cancelled mid-stream: the file must not appear, not even in part.
		ctx, cancel := context.WithCancel(t.Context())
		r := &stallingReader{n: 6 << 20, stall: func() error { cancel(); return ctx.Err() }}
		if _, err := s.WriteState(ctx, CheckpointDir(2), "partial", r); !errors.Is(err, context.Canceled) {
			t.Fatalf("WriteState cancelled mid-stream: %v, want context.Canceled", err)
		}
		// A failing reader likewise leaves nothing.
		boom := errors.New("boom")
		r = &stallingReader{n: 1 << 20, stall: func() error { return boom }}
		if _, err := s.WriteState(t.Context(), CheckpointDir(2), "failed", r); !errors.Is(err, boom) {
			t.Fatalf("WriteState from a failing reader: %v, want boom", err)
		}
		for _, name := range []string{"partial", "failed"} {
			if _, err := s.OpenState(t.Context(), CheckpointDir(2), name); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after an aborted write, OpenState(%s): %v, want fs.ErrNotExist", name, err)
			}
		}

		// A file opened under a context stops reading when it ends.
		fctx, fcancel := context.WithCancel(t.Context())
		f, err := s.OpenState(fctx, d, "op-1/kg-0-63")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fcancel()
		if _, err := f.ReadAt(make([]byte, 1), 0); !errors.Is(err, context.Canceled) {
			t.Errorf("ReadAt after the context ended: %v, want context.Canceled", err)
		}
	})
}

func TestNames(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, _ *syncBuffer) {
		ctx := t.Context()
		for _, name := range []string{"", "_metadata", "op/_x", ".hidden", "a//b", "a/", "/a", "../x", "a/../b", "a b", "ü"} {
			if _, err := s.WriteState(ctx, CheckpointDir(1), name, strings.NewReader("x")); err == nil || !strings.HasPrefix(err.Error(), "checkpoint storage: ") {
				t.Errorf("WriteState(%q): %v, want a checkpoint storage error", name, err)
			}
		}
		for _, name := range []string{"", "chk-1", "a/b", "_x", ".x", "with space"} {
			if _, err := s.WriteState(ctx, SavepointDir(name), "x", strings.NewReader("x")); err == nil {
				t.Errorf("WriteState in savepoint %q succeeded; want an error", name)
			}
		}
	})
}

func TestParseDir(t *testing.T) {
	for _, tc := range []struct {
		name      string
		id        uint64
		savepoint bool
		err       bool
	}{
		{name: "chk-00000000000000000042", id: 42},
		{name: "chk-18446744073709551615", id: 1<<64 - 1},
		{name: "savepoint-3-1700000000000", savepoint: true},
		{name: "before-upgrade", savepoint: true},
		{name: "chk-42", err: true},
		{name: "chk-0000000000000000004x", err: true},
		{name: "", err: true},
		{name: "_metadata", err: true},
		{name: "a/b", err: true},
	} {
		d, err := ParseDir(tc.name)
		if tc.err {
			if err == nil {
				t.Errorf("ParseDir(%q) = %v; want an error", tc.name, d)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseDir(%q): %v", tc.name, err)
			continue
		}
		id, ok := d.Checkpoint()
		if d.Name() != tc.name || d.IsSavepoint() != tc.savepoint || ok == tc.savepoint || (ok && id != tc.id) {
			t.Errorf("ParseDir(%q) = %q savepoint=%v id=%d,%v", tc.name, d, d.IsSavepoint(), id, ok)
		}
	}
	if got := CheckpointDir(42).Name(); got != "chk-00000000000000000042" {
		t.Errorf("CheckpointDir(42) = %q", got)
	}
	if got := NewSavepointDir(7, time.UnixMilli(1700000000123)).Name(); got != "savepoint-7-1700000000123" {
		t.Errorf("NewSavepointDir = %q", got)
	}
}

func TestParseRestorePath(t *testing.T) {
	chk := CheckpointDir(42)
	for _, tc := range []struct {
		path, location string
		dir            Dir
		err            string
	}{
		{path: "/var/weir/chk-00000000000000000042", location: "/var/weir", dir: chk},
		{path: "/var/weir/chk-00000000000000000042/", location: "/var/weir", dir: chk},
		{path: "/var/weir/chk-00000000000000000042/_metadata", location: "/var/weir", dir: chk},
		{path: "chk-00000000000000000042", location: ".", dir: chk},
		{path: "/var/weir/savepoints/savepoint-3-1700000000000/_metadata", location: "/var/weir/savepoints", dir: SavepointDir("savepoint-3-1700000000000")},
		{path: "file:///var/weir/chk-00000000000000000042/_metadata", location: "file:///var/weir", dir: chk},
		{path: "file:///chk-00000000000000000042", location: "file:///", dir: chk},
		{path: "s3://bucket/jobs/pvuv/chk-00000000000000000042/?region=eu-west-1", location: "s3://bucket/jobs/pvuv?region=eu-west-1", dir: chk},
		{path: "gs://bucket/before-upgrade/_metadata", location: "gs://bucket", dir: SavepointDir("before-upgrade")},
		{path: "", err: "empty restore path"},
		{path: "/", err: "names no directory"},
		{path: "s3://bucket/", err: "names no directory"},
		{path: "/var/weir/chk-42", err: "not a checkpoint directory name"},
	} {
		loc, dir, err := ParseRestorePath(tc.path)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRestorePath(%q) = %q, %v, %v; want an error with %q", tc.path, loc, dir, err, tc.err)
			}
			continue
		}
		if err != nil || loc != filepath.FromSlash(tc.location) && loc != tc.location || dir != tc.dir {
			t.Errorf("ParseRestorePath(%q) = %q, %v, %v; want %q, %v", tc.path, loc, dir, err, tc.location, tc.dir)
		}
	}
}

func TestOpenRestore(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			location := b.location(t)
			s := open(t, location)
			sp := SavepointDir("before-upgrade")
			writeState(t, s, sp, "op-1/kg-0-63", "savepoint state")
			if err := s.Commit(ctx, sp, metadata(sp)); err != nil {
				t.Fatal(err)
			}
			paths := []string{}
			if b.name == "local" {
				paths = append(paths,
					filepath.Join(location, sp.Name()),
					filepath.Join(location, sp.Name(), MetadataName),
					(&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(location, sp.Name()))}).String())
			} else {
				u, _ := url.Parse(location)
				u.Path += "/" + sp.Name() + "/" + MetadataName
				paths = append(paths, u.String())
			}
			for _, p := range paths {
				rs, dir, err := OpenRestore(ctx, p)
				if err != nil {
					t.Fatalf("OpenRestore(%q): %v", p, err)
				}
				md, err := rs.ReadMetadata(ctx, dir, validate)
				if err != nil || !bytes.Equal(md, metadata(sp)) {
					t.Errorf("ReadMetadata via %q = %q, %v", p, md, err)
				}
				if got, err := readState(t, rs, dir, "op-1/kg-0-63"); err != nil || got != "savepoint state" {
					t.Errorf("state via %q = %q, %v", p, got, err)
				}
				rs.Close()
			}
		})
	}
	// A restore path that does not exist is not created.
	missing := filepath.Join(t.TempDir(), "nowhere", "chk-00000000000000000001")
	if _, _, err := OpenRestore(t.Context(), missing); err == nil {
		t.Fatalf("OpenRestore(%q) succeeded; want an error", missing)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenRestore created %s", filepath.Dir(missing))
	}
}

func TestOpenBadLocations(t *testing.T) {
	mem := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	defer srv.Close()
	backends(t) // for the AWS environment
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ location, want string }{
		{"", "empty location"},
		{"ftp://host/dir", `unsupported scheme "ftp": use a directory, file:///abs/path, s3://bucket/prefix, gs://bucket/prefix or azblob://container/prefix`},
		{"file://host/dir", "must hold an absolute path"},
		{"file:///var/lib/weir?mode=1", "query parameters"},
		{file, "not a directory"},
		{"s3:///prefix", "names no bucket"},
		{"s3://b/p?prefix=q", "keep one"},
		{s3Location(srv.URL, "no-such-bucket", "p"), "the bucket does not exist"},
		{s3Location(srv.URL, "weir", "p") + "&colour=blue", "check the URL's query parameters"},
	} {
		s, err := Open(t.Context(), tc.location)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded; want an error", tc.location)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "checkpoint storage: ") || !strings.Contains(msg, tc.want) {
			t.Errorf("Open(%q): %v\nwant a checkpoint storage error containing %q", tc.location, err, tc.want)
		}
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Open(cancelled, s3Location(srv.URL, "weir", "p")); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context: %v, want context.Canceled", err)
	}
}

// TestProbes: a probe written by one process reads back, replaced by a
// later write; a missing one is not an error; probes are not checkpoints.
func TestProbes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, _ *syncBuffer) {
		ctx := context.Background()
		if _, ok, err := s.ReadProbe(ctx, "coordinator.a"); ok || err != nil {
			t.Fatalf("ReadProbe of a missing probe: ok %v, err %v; want false, nil", ok, err)
		}
		for _, content := range []string{"one", "two"} {
			if err := s.WriteProbe(ctx, "coordinator.a", []byte(content)); err != nil {
				t.Fatal(err)
			}
			b, ok, err := s.ReadProbe(ctx, "coordinator.a")
			if err != nil || !ok || string(b) != content {
				t.Fatalf("ReadProbe: %q, %v, %v; want %q", b, ok, err, content)
			}
		}
		if err := s.WriteProbe(ctx, "../x", nil); err == nil {
			t.Error("WriteProbe accepted a name with a slash")
		}
		checkpointAt(t, s, 1, true)
		done, err := s.Completed(ctx)
		if err != nil || len(done) != 1 {
			t.Fatalf("Completed with a probe beside a checkpoint: %v, %v; want one checkpoint", names(done), err)
		}
	})
}

// TestPathOf: the path of a directory reads back as the same location and
// directory, query parameters of an object store included.
func TestPathOf(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := open(t, b.location(t))
			for _, d := range []Dir{CheckpointDir(7), NewSavepointDir(3, time.UnixMilli(1700000000000))} {
				p := s.PathOf(d)
				loc, got, err := ParseRestorePath(p)
				if err != nil || got != d || strings.TrimSuffix(loc, "/") != strings.TrimSuffix(s.Location(), "/") {
					t.Errorf("PathOf(%s) = %s, read back as %s in %s (%v); want %s in %s", d, p, got, loc, err, d, s.Location())
				}
				rs, _, err := OpenRestore(t.Context(), p)
				if err != nil {
					t.Errorf("OpenRestore(%s): %v", p, err)
				} else {
					rs.Close()
				}
			}
		})
	}
}

// TestCopyNew: the local store's create-only write where hard links are
// missing creates the file whole, and fails on one that exists, leaving it.
func TestCopyNew(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := os.WriteFile(src, []byte("metadata"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := copyNew(src, dst); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := copyNew(src, dst); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("copyNew onto an existing file: %v, want fs.ErrExist", err)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != "metadata" {
		t.Fatalf("the existing file holds %q, %v; want it left as it was", b, err)
	}
}
