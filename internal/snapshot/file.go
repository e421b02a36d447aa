package snapshot

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
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

// VerifyKeyed reads a subtask's whole keyed-state file and checks its size
// and CRC-32C against the metadata (invariant 4). A restore reads only some
// groups and checks their chunks; VerifyKeyed checks every byte, for an
// inspection tool or before trusting a checkpoint copied elsewhere. Errors
// wrap ErrCorrupt, or are I/O errors.
func VerifyKeyed(r io.ReaderAt, s *Subtask) error {
	if s.KeyedFile == "" {
		return nil
	}
	table := castagnoli()
	h := crc32.New(table)
	n, err := io.Copy(h, io.NewSectionReader(r, 0, s.KeyedSize))
	if err != nil {
		return fmt.Errorf("snapshot: reading keyed file %s: %w", s.KeyedFile, err)
	}
	if n != s.KeyedSize {
		return fmt.Errorf("%w: keyed file %s has %d bytes, its metadata says %d", ErrCorrupt, s.KeyedFile, n, s.KeyedSize)
	}
	var one [1]byte
	if m, err := r.ReadAt(one[:], s.KeyedSize); m > 0 || (err != nil && !errors.Is(err, io.EOF)) {
		if m == 0 {
			return fmt.Errorf("snapshot: reading keyed file %s: %w", s.KeyedFile, err)
		}
		return fmt.Errorf("%w: keyed file %s is longer than the %d bytes its metadata says", ErrCorrupt, s.KeyedFile, s.KeyedSize)
	}
	if got := h.Sum32(); got != s.KeyedCRC {
		return fmt.Errorf("%w: keyed file %s checksum mismatch (metadata %08x, file %08x)", ErrCorrupt, s.KeyedFile, s.KeyedCRC, got)
	}
	return nil
}
