package snapshot

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes data to path so that, after a crash at any moment,
// path holds either its old contents or all of data: it writes a temporary
// file in the same directory, syncs it, renames it over path and syncs the
// directory. The file's mode is 0644. On error the temporary file is
// removed and path is untouched.
func WriteFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("snapshot: writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("snapshot: writing %s: %w", tmp, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("snapshot: writing %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("snapshot: syncing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("snapshot: closing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("snapshot: renaming %s to %s: %w", tmp, path, err)
	}
	// The rename is durable only once the directory entry is.
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("snapshot: syncing directory of %s: %w", path, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("snapshot: syncing directory of %s: %w", path, err)
	}
	return nil
}

// FileRef is a file that a checkpoint's metadata references, with the size
// and whole-file CRC-32C the metadata records for it (invariant 4).
type FileRef struct {
	// Name is the file's name relative to the checkpoint's directory,
	// slash-separated.
	Name string
	Size int64
	CRC  uint32
}

// Files returns every file that m references, in metadata order, each once:
// today the keyed-state files of its subtasks (operator and channel state
// live inside the metadata). A checkpoint is whole when each of them exists
// and CheckFile accepts its bytes.
func (m *Metadata) Files() []FileRef {
	var refs []FileRef
	seen := make(map[FileRef]bool)
	for _, op := range m.Operators {
		for _, s := range op.Subtasks {
			if s.KeyedFile == "" {
				continue
			}
			f := FileRef{Name: s.KeyedFile, Size: s.KeyedSize, CRC: s.KeyedCRC}
			if !seen[f] {
				seen[f] = true
				refs = append(refs, f)
			}
		}
	}
	return refs
}

// verifyBuffer is the read size of CheckFile: large, so that a file on
// object storage streams in few reads.
const verifyBuffer = 1 << 20

// CheckFile reads r to its end and checks that it holds exactly f.Size bytes
// whose CRC-32C is f.CRC. It reads at most one byte past f.Size. Errors wrap
// ErrCorrupt and name the file and what differs (shorter, longer, checksum),
// or are r's errors, wrapped.
func CheckFile(r io.Reader, f FileRef) error {
	if f.Size < 0 {
		return fmt.Errorf("%w: %s has a negative size %d in its metadata", ErrCorrupt, f.Name, f.Size)
	}
	h := crc32.New(castagnoli())
	n, err := io.CopyBuffer(h, io.LimitReader(r, f.Size), make([]byte, min(f.Size+1, verifyBuffer)))
	if err != nil {
		return fmt.Errorf("snapshot: reading %s: %w", f.Name, err)
	}
	if n < f.Size {
		return fmt.Errorf("%w: %s has %d bytes, its metadata says %d (truncated)", ErrCorrupt, f.Name, n, f.Size)
	}
	var one [1]byte
	m, err := io.ReadFull(r, one[:])
	if m > 0 {
		return fmt.Errorf("%w: %s is longer than the %d bytes its metadata says", ErrCorrupt, f.Name, f.Size)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("snapshot: reading %s: %w", f.Name, err)
	}
	if got := h.Sum32(); got != f.CRC {
		return fmt.Errorf("%w: %s checksum mismatch (metadata %08x, file %08x)", ErrCorrupt, f.Name, f.CRC, got)
	}
	return nil
}

// VerifyKeyed reads a subtask's whole keyed-state file and checks its size
// and CRC-32C against the metadata (invariant 4). A restore reads only some
// groups and checks their chunks; VerifyKeyed checks every byte, for an
// inspection tool or before trusting a checkpoint copied elsewhere. Errors
// wrap ErrCorrupt, or are I/O errors.
func VerifyKeyed(r io.ReaderAt, s *Subtask) error {
	if s.KeyedFile == "" {
		return nil
	}
	// The section ends far past the file; ReadAt reports the file's end.
	return CheckFile(io.NewSectionReader(r, 0, math.MaxInt64), FileRef{Name: "keyed file " + s.KeyedFile, Size: s.KeyedSize, CRC: s.KeyedCRC})
}
