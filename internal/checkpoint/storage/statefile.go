package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// localFile is a state file in a local directory: reads go straight to the
// file, with no copy through the store.
type localFile struct {
	// ctx is the context of OpenState: io.ReaderAt has no room for one.
	ctx  context.Context
	f    *os.File
	size int64
}

func (l *localFile) ReadAt(p []byte, off int64) (int, error) {
	if err := l.ctx.Err(); err != nil {
		return 0, fmt.Errorf("checkpoint storage: read %s: %w", l.f.Name(), err)
	}
	return l.f.ReadAt(p, off)
}

func (l *localFile) Size() int64 { return l.size }

func (l *localFile) Close() error { return l.f.Close() }

// blobFile is a state file in an object store; each ReadAt is one ranged GET,
// so concurrent reads of different key groups run in parallel.
type blobFile struct {
	// ctx is the context of OpenState: io.ReaderAt has no room for one.
	ctx  context.Context
	st   store
	key  string
	size int64
}

func (b *blobFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("checkpoint storage: read %s at offset %d: negative offset", b.key, off)
	}
	if off >= b.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), b.size-off)
	if n == 0 {
		return 0, nil
	}
	r, err := b.st.openRange(b.ctx, b.key, off, n)
	if err != nil {
		return 0, fmt.Errorf("checkpoint storage: read %s at offset %d: %w", b.key, off, ctxErr(b.ctx, err))
	}
	got, err := io.ReadFull(r, p[:n])
	cerr := r.Close()
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: the object is shorter than when it was opened", io.ErrUnexpectedEOF)
		}
		return got, fmt.Errorf("checkpoint storage: read %s at offset %d: %w", b.key, off, ctxErr(b.ctx, err))
	}
	if cerr != nil {
		return got, fmt.Errorf("checkpoint storage: read %s at offset %d: %w", b.key, off, ctxErr(b.ctx, cerr))
	}
	if got < len(p) {
		return got, io.EOF
	}
	return got, nil
}

func (b *blobFile) Size() int64 { return b.size }

func (b *blobFile) Close() error { return nil }
