package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"

	"github.com/weirstream/weir/internal/snapshot"
)

// ErrDamaged is wrapped by the errors of Verify, ReadVerified and
// LatestVerified that report a completed checkpoint or savepoint whose state
// files do not match its metadata: a file is missing, or has another size or
// checksum. Such a checkpoint cannot be restored; LatestVerified skips it.
var ErrDamaged = errors.New("checkpoint storage: damaged checkpoint")

// DamagedError reports the state files of a checkpoint or savepoint that do
// not match its metadata. It wraps ErrDamaged and snapshot.ErrCorrupt.
type DamagedError struct {
	Location string
	Dir      Dir
	// Files holds every damaged file, in metadata order.
	Files []FileProblem
}

// FileProblem is one damaged state file and what is wrong with it.
type FileProblem struct {
	// Name is the file's name inside the checkpoint directory.
	Name string
	// Err says what is wrong: it matches fs.ErrNotExist for a missing file
	// and wraps snapshot.ErrCorrupt otherwise.
	Err error
}

func (e *DamagedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "checkpoint storage: %s in %s is damaged: ", e.Dir, e.Location)
	for i, f := range e.Files {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.String())
	}
	b.WriteString(": restore from another checkpoint or savepoint")
	return b.String()
}

// Unwrap makes a DamagedError match ErrDamaged and snapshot.ErrCorrupt.
func (e *DamagedError) Unwrap() []error { return []error{ErrDamaged, snapshot.ErrCorrupt} }

// String names the file and its problem, without package prefixes.
func (f FileProblem) String() string { return "state file " + f.Name + " " + f.Problem() }

// Problem says what is wrong with the file, without its name: "is
// missing", "checksum mismatch (...)".
func (f FileProblem) Problem() string {
	if errors.Is(f.Err, fs.ErrNotExist) {
		return "is missing"
	}
	msg := strings.TrimPrefix(f.Err.Error(), snapshot.ErrCorrupt.Error()+": ")
	return strings.TrimPrefix(msg, f.Name+" ")
}

// verifyConcurrency bounds the files read at once by Verify: enough to
// overlap the requests of an object store, few enough for a local disk.
const verifyConcurrency = 4

// Verify checks every state file that m, the metadata of dir, references:
// that it exists, has the size the metadata records and, read to its end,
// the CRC-32C it records. It first looks up every file's size (one stat or
// HEAD request each), so that a missing or truncated file is found without
// reading the others, then reads the files of the right size, a few at a
// time, in 1 MiB reads (one streamed GET each on an object store).
//
// Verify thus reads every byte of the checkpoint's state, as much as a
// restore at any parallelism reads: restoring verified state reads it twice
// (the second time mostly from the page cache on a local disk). That is the
// price of finding a flipped bit before any state is restored, when an
// earlier checkpoint can still be used instead.
//
// It returns nil, a *DamagedError naming every damaged file, or another
// error when the storage cannot be read (the context's error when ctx
// ends): an unreadable file is not proof of damage.
func (s *Storage) Verify(ctx context.Context, dir Dir, m *snapshot.Metadata) error {
	if err := dir.validate(); err != nil {
		return err
	}
	refs := m.Files()
	problems := make([]error, len(refs))
	errs := make([]error, len(refs))
	run := func(check func(i int, f snapshot.FileRef) (problem, err error), todo []int) []int {
		var (
			wg  sync.WaitGroup
			sem = make(chan struct{}, verifyConcurrency)
		)
		for _, i := range todo {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				problems[i], errs[i] = check(i, refs[i])
			})
		}
		wg.Wait()
		var ok []int
		for _, i := range todo {
			if problems[i] == nil && errs[i] == nil {
				ok = append(ok, i)
			}
		}
		return ok
	}
	all := make([]int, len(refs))
	for i := range all {
		all[i] = i
	}
	sized := run(func(_ int, f snapshot.FileRef) (error, error) { return s.checkSize(ctx, dir, f) }, all)
	if err := firstErr(ctx, errs); err != nil {
		return fmt.Errorf("checkpoint storage: verify %s in %s: %w", dir, s.location, err)
	}
	run(func(_ int, f snapshot.FileRef) (error, error) { return s.checkSum(ctx, dir, f) }, sized)
	if err := firstErr(ctx, errs); err != nil {
		return fmt.Errorf("checkpoint storage: verify %s in %s: %w", dir, s.location, err)
	}
	var damaged []FileProblem
	for i, p := range problems {
		if p != nil {
			damaged = append(damaged, FileProblem{Name: refs[i].Name, Err: p})
		}
	}
	if len(damaged) > 0 {
		return &DamagedError{Location: s.location, Dir: dir, Files: damaged}
	}
	return nil
}

func firstErr(ctx context.Context, errs []error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkSize returns a problem if f is missing or has another size, and an
// error if its size cannot be read.
func (s *Storage) checkSize(ctx context.Context, dir Dir, f snapshot.FileRef) (problem, err error) {
	if checkStateName(f.Name) != nil {
		return fmt.Errorf("%w: %s is not a valid state file name", snapshot.ErrCorrupt, f.Name), nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key := dir.key(f.Name)
	size, err := s.st.size(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return err, nil
	}
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	switch {
	case size < f.Size:
		return fmt.Errorf("%w: %s has %d bytes, its metadata says %d (truncated)", snapshot.ErrCorrupt, f.Name, size, f.Size), nil
	case size > f.Size:
		return fmt.Errorf("%w: %s has %d bytes, its metadata says %d", snapshot.ErrCorrupt, f.Name, size, f.Size), nil
	}
	return nil, nil
}

// checkSum reads f to its end and checks its size and checksum.
func (s *Storage) checkSum(ctx context.Context, dir Dir, f snapshot.FileRef) (problem, err error) {
	key := dir.key(f.Name)
	r, err := s.st.open(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return err, nil // deleted since its size was read
	}
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	defer r.Close()
	err = snapshot.CheckFile(r, f)
	switch {
	case err == nil:
		return nil, nil
	case errors.Is(err, snapshot.ErrCorrupt):
		return err, nil
	default:
		return nil, ctxErr(ctx, err)
	}
}

// ctxReader stops reading when ctx ends, as an object store's readers do.
type ctxReader struct {
	ctx context.Context
	r   io.ReadCloser
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (c *ctxReader) Close() error { return c.r.Close() }

// ReadVerified reads the metadata of dir, decodes it, passes it to check
// (nil for none; say why the job cannot use it, such as another max
// parallelism) and verifies every state file it references (see Verify).
// It is what a restore from a path the user gives needs, and what
// inspection shows. A dir without metadata gives an error that matches
// fs.ErrNotExist; unusable metadata an error that wraps the check's error
// or snapshot.ErrCorrupt or snapshot.ErrVersion; damaged files a
// *DamagedError.
func (s *Storage) ReadVerified(ctx context.Context, dir Dir, check func(*snapshot.Metadata) error) (*snapshot.Metadata, error) {
	if err := dir.validate(); err != nil {
		return nil, err
	}
	var m *snapshot.Metadata
	_, err := s.readMetadata(ctx, dir, func(b []byte) error {
		var err error
		if m, err = snapshot.DecodeMetadata(b); err != nil {
			return err
		}
		if check != nil {
			return check(m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.Verify(ctx, dir, m); err != nil {
		return nil, err
	}
	return m, nil
}

// LatestVerified returns the newest completed checkpoint that ReadVerified
// accepts with check, and its metadata: the checkpoint to restore. A newer
// one whose metadata is unusable or whose state files are damaged is
// skipped with a warning that names it, the damaged file and the
// checkpoint used instead. It returns ErrNone when no checkpoint
// qualifies, and an error when the storage cannot be read, rather than
// fall back past a checkpoint that may be whole.
func (s *Storage) LatestVerified(ctx context.Context, check func(*snapshot.Metadata) error) (Dir, *snapshot.Metadata, error) {
	done, err := s.Completed(ctx)
	if err != nil {
		return Dir{}, nil, err
	}
	for i, dir := range done {
		m, err := s.ReadVerified(ctx, dir, check)
		if err == nil {
			return dir, m, nil
		}
		if ctx.Err() != nil {
			return Dir{}, nil, fmt.Errorf("checkpoint storage: find latest checkpoint in %s: %w", s.location, ctx.Err())
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue // Deleted since listing (retention): not a problem.
		}
		what := "unusable metadata"
		attrs := []any{"checkpoint", dir.Name(), "location", s.location}
		var (
			damaged *DamagedError
			invalid metadataError
		)
		switch {
		case errors.As(err, &damaged):
			what = "damaged state files"
			attrs = append(attrs, "file", damaged.Files[0].Name)
		case errors.As(err, &invalid):
		default:
			return Dir{}, nil, fmt.Errorf("checkpoint storage: find latest checkpoint in %s: %w", s.location, err)
		}
		attrs = append(attrs, "error", err)
		msg := "checkpoint storage: skipping checkpoint with " + what + "; using the previous one"
		if i+1 < len(done) {
			attrs = append(attrs, "previous", done[i+1].Name())
		} else {
			msg = "checkpoint storage: skipping checkpoint with " + what + "; no previous checkpoint remains"
		}
		s.logger.WarnContext(ctx, msg, attrs...)
	}
	return Dir{}, nil, ErrNone
}
