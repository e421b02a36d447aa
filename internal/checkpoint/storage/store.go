package storage

import (
	"context"
	"io"
	"iter"
)

// store is what Storage needs of a place that holds objects under
// '/'-separated keys: a local directory, S3, or (with a build tag) another
// object store. A key that does not exist gives an error that matches
// fs.ErrNotExist, from every method that reads one.
type store interface {
	// put writes key from r, whole or not at all: if r fails or ctx ends,
	// nothing is written. It returns the number of bytes written.
	put(ctx context.Context, key string, r io.Reader) (int64, error)
	// putNew is put for a key that must not exist yet: if it does,
	// nothing is written and the error matches fs.ErrExist. Of writers
	// racing for one key, one wins and the others get that error.
	putNew(ctx context.Context, key string, r io.Reader) (int64, error)
	// get reads all of key.
	get(ctx context.Context, key string) ([]byte, error)
	// open opens key for reading from its start.
	open(ctx context.Context, key string) (io.ReadCloser, error)
	// openRange opens n bytes of key from offset off.
	openRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	// size returns the size of key in bytes.
	size(ctx context.Context, key string) (int64, error)
	// exists tells whether key exists.
	exists(ctx context.Context, key string) (bool, error)
	// remove deletes key; a key that does not exist is not an error.
	remove(ctx context.Context, key string) error
	// list yields the keys that start with prefix, in lexical order. With
	// delim, the keys under a '/' past the prefix come as one entry, the
	// directory, whose key ends in '/'.
	list(ctx context.Context, prefix string, delim bool) iter.Seq2[entry, error]
	close() error
}

// entry is one key found by store.list.
type entry struct {
	key   string
	isDir bool
}
