//go:build gcs || azblob

package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"net/url"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// blobStore keeps objects in a bucket of gocloud.dev/blob: native Google
// Cloud Storage and Azure Blob Storage, compiled in with a build tag.
type blobStore struct {
	b *blob.Bucket
}

// openBlob opens the bucket of u through blob.DefaultMux, with the query
// parameters of the scheme's gocloud.dev driver.
func openBlob(ctx context.Context, u *url.URL, q url.Values, prefix string) (store, error) {
	q = cloneValues(q)
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	bu := *u
	bu.Path, bu.RawPath, bu.RawQuery = "", "", q.Encode()
	b, err := blob.OpenBucket(ctx, bu.String())
	if err != nil {
		return nil, err
	}
	return &blobStore{b: b}, nil
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// blobErr makes a missing key or bucket match fs.ErrNotExist.
func blobErr(err error) error {
	if err != nil && gcerrors.Code(err) == gcerrors.NotFound && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (%w)", fs.ErrNotExist, err)
	}
	return err
}

func (s *blobStore) put(ctx context.Context, key string, r io.Reader) (int64, error) {
	return s.write(ctx, key, r, false)
}

// putNew writes with the store's create-only condition (IfNotExist),
// which it reports as FailedPrecondition when the key exists.
func (s *blobStore) putNew(ctx context.Context, key string, r io.Reader) (int64, error) {
	n, err := s.write(ctx, key, r, true)
	if err != nil && gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return 0, fmt.Errorf("%w (%w)", fs.ErrExist, err)
	}
	return n, err
}

func (s *blobStore) write(ctx context.Context, key string, r io.Reader, ifNotExist bool) (int64, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.b.NewWriter(wctx, key, &blob.WriterOptions{
		// A fixed type skips content sniffing, which buffers the head.
		ContentType: "application/octet-stream",
		IfNotExist:  ifNotExist,
	})
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(w, r)
	if err != nil {
		cancel() // blob's way to abort: Close then discards the write.
		_ = w.Close()
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return n, nil
}

func (s *blobStore) get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.b.ReadAll(ctx, key)
	return b, blobErr(err)
}

func (s *blobStore) open(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := s.b.NewReader(ctx, key, nil)
	if err != nil {
		return nil, blobErr(err)
	}
	return &ctxReader{ctx: ctx, r: r}, nil
}

func (s *blobStore) openRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	r, err := s.b.NewRangeReader(ctx, key, off, n, nil)
	if err != nil {
		return nil, blobErr(err)
	}
	// Not every driver looks at ctx once the reader is open.
	return &ctxReader{ctx: ctx, r: r}, nil
}

func (s *blobStore) size(ctx context.Context, key string) (int64, error) {
	a, err := s.b.Attributes(ctx, key)
	if err != nil {
		return 0, blobErr(err)
	}
	return a.Size, nil
}

func (s *blobStore) exists(ctx context.Context, key string) (bool, error) {
	return s.b.Exists(ctx, key)
}

func (s *blobStore) remove(ctx context.Context, key string) error {
	if err := s.b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return err
	}
	return nil
}

func (s *blobStore) list(ctx context.Context, prefix string, delim bool) iter.Seq2[entry, error] {
	return func(yield func(entry, error) bool) {
		opts := &blob.ListOptions{Prefix: prefix}
		if delim {
			opts.Delimiter = "/"
		}
		it := s.b.List(opts)
		for {
			obj, err := it.Next(ctx)
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(entry{}, blobErr(err))
				return
			}
			if !yield(entry{key: obj.Key, isDir: obj.IsDir}, nil) {
				return
			}
		}
	}
}

func (s *blobStore) close() error { return s.b.Close() }
