package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// localStore keeps objects as files under a directory. A write goes to a
// temporary file next to its final name (os.TempDir is often another file
// system, across which the rename would fail) and is renamed into place, or
// linked for a create-only write, so a reader sees a file whole or not at
// all. Temporary names start with '.', which no key does, and listing skips
// them.
type localStore struct {
	root string // absolute
}

func (l *localStore) path(key string) string {
	return filepath.Join(l.root, filepath.FromSlash(key))
}

func (l *localStore) put(ctx context.Context, key string, r io.Reader) (int64, error) {
	return l.write(ctx, key, r, os.Rename)
}

// putNew links the temporary file into place: link, unlike rename, fails
// when the name exists, and the file it links is whole.
func (l *localStore) putNew(ctx context.Context, key string, r io.Reader) (int64, error) {
	return l.write(ctx, key, r, func(tmp, p string) error {
		err := os.Link(tmp, p)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			// A file system without hard links: create the name
			// exclusively and copy. A crash may leave it cut short,
			// which readers take for a damaged file.
			err = copyNew(tmp, p)
		}
		if rerr := os.Remove(tmp); err == nil && rerr != nil {
			return rerr
		}
		return err
	})
}

// copyNew creates p, which must not exist, with the content of file src.
func copyNew(src, p string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err = io.Copy(out, in); err != nil {
		_ = out.Close()
		_ = os.Remove(p)
		return err
	}
	return out.Close()
}

// write writes key through a temporary file, which place puts at the
// key's path.
func (l *localStore) write(ctx context.Context, key string, r io.Reader, place func(tmp, p string) error) (n int64, err error) {
	p := l.path(key)
	dir, base := filepath.Split(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	n, err = io.Copy(f, &ctxReader{ctx: ctx, r: io.NopCloser(r)})
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if err := place(f.Name(), p); err != nil {
		return 0, err
	}
	return n, nil
}

func (l *localStore) get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(l.path(key))
	return b, localNotExist(err)
}

func (l *localStore) open(ctx context.Context, key string) (io.ReadCloser, error) {
	f, err := os.Open(l.path(key))
	if err != nil {
		return nil, localNotExist(err)
	}
	return &ctxReader{ctx: ctx, r: f}, nil
}

func (l *localStore) openRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	f, err := os.Open(l.path(key))
	if err != nil {
		return nil, localNotExist(err)
	}
	return &ctxReader{ctx: ctx, r: struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, off, n), f}}, nil
}

func (l *localStore) size(ctx context.Context, key string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	st, err := os.Stat(l.path(key))
	if err != nil {
		return 0, localNotExist(err)
	}
	if st.IsDir() {
		return 0, fmt.Errorf("%s is a directory: %w", key, fs.ErrNotExist)
	}
	return st.Size(), nil
}

func (l *localStore) exists(ctx context.Context, key string) (bool, error) {
	_, err := l.size(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (l *localStore) remove(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(l.path(key)); err != nil && !errors.Is(localNotExist(err), fs.ErrNotExist) {
		return err
	}
	return nil
}

// list reads only the directory the prefix ends in when delim is set (the
// listings of checkpoints and savepoints), and walks below it otherwise.
func (l *localStore) list(ctx context.Context, prefix string, delim bool) iter.Seq2[entry, error] {
	return func(yield func(entry, error) bool) {
		base, _ := path.Split(prefix) // "" or ends in '/'
		if delim {
			ents, err := os.ReadDir(l.path(base))
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return
				}
				yield(entry{}, err)
				return
			}
			for _, e := range ents {
				key := base + e.Name()
				if strings.HasPrefix(e.Name(), ".") || !strings.HasPrefix(key, prefix) {
					continue
				}
				if e.IsDir() {
					key += "/"
				}
				if !yield(entry{key: key, isDir: e.IsDir()}, nil) {
					return
				}
			}
			return
		}
		err := filepath.WalkDir(l.path(base), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") || d.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(l.root, p)
			if err != nil {
				return err
			}
			key := filepath.ToSlash(rel)
			if !strings.HasPrefix(key, prefix) {
				return nil
			}
			if !yield(entry{key: key}, nil) {
				return fs.SkipAll
			}
			return nil
		})
		if err != nil {
			yield(entry{}, err)
		}
	}
}

func (l *localStore) close() error { return nil }

// localNotExist makes "a path component is not a directory" mean not found,
// as it does for an object store, where keys are only names.
func localNotExist(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && errors.Is(pe.Err, errNotDir) {
		return fmt.Errorf("%w (%w)", fs.ErrNotExist, err)
	}
	return err
}
