package storage

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// ErrNone is returned by Latest when the storage holds no completed
// checkpoint whose metadata validates: the job starts from scratch (or from
// a savepoint the user names).
var ErrNone = errors.New("checkpoint storage: no completed checkpoint")

// remoteSchemes are the object store URL schemes Open accepts.
var remoteSchemes = []string{"s3", "gs", "azblob"}

// deleteConcurrency bounds the deletes in flight when a directory is removed
// from an object store, where each object is one request.
const deleteConcurrency = 16

// Storage is where a job's checkpoints and savepoints live: a local directory
// (the default) or object storage. It is safe for concurrent use.
type Storage struct {
	location string
	st       store
	// localRoot is the absolute directory of a local storage, and "" for an
	// object store; local state files are read with os.File, and a whole
	// directory removed at once.
	localRoot string
	logger    *slog.Logger
}

// Option configures Open.
type Option interface{ apply(*config) }

type config struct {
	logger   *slog.Logger
	noCreate bool
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLogger sets the logger for warnings (a skipped corrupt checkpoint).
// The default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// NoCreate makes Open fail on a local directory that does not exist,
// instead of creating it: for tools that only read checkpoints.
func NoCreate() Option {
	return optionFunc(func(c *config) { c.noCreate = true })
}

// Open opens the storage at location:
//
//   - a plain path or file:///abs/path: a local directory, created if missing;
//   - s3://bucket/prefix: Amazon S3 or an S3-compatible store (MinIO,
//     Cloudflare R2, Google Cloud Storage's interoperability endpoint).
//     Query parameters configure the client:
//     region (default $AWS_REGION, $AWS_DEFAULT_REGION, or asked of the store);
//     endpoint, as http://HOST:PORT or https://HOST (default
//     $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, or AWS's);
//     use_path_style=true, to address buckets by path rather than by host
//     name (an IP address or a host name other than AWS's, Google's and
//     Alibaba's is addressed by path anyway);
//     disable_https=true; profile (of the shared credentials file;
//     default $AWS_PROFILE); anonymous=true, for a public bucket;
//     request_checksum_calculation=when_required, for a store that rejects
//     the Content-MD5 sent with each upload by default;
//     dualstack=true; accelerate=true; ssetype=AES256 or aws:kms, with
//     kmskeyid, for server-side encryption. Another parameter is an error.
//     Credentials come from the usual AWS sources: AWS_ACCESS_KEY_ID and
//     AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), the shared credentials
//     file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials, with its
//     credential_process), then web identity (AWS_WEB_IDENTITY_TOKEN_FILE),
//     container and instance roles (the last unless
//     AWS_EC2_METADATA_DISABLED=true);
//   - gs://bucket/prefix: Google Cloud Storage, with application default
//     credentials, in a weir built with -tags gcs (or use its
//     interoperability endpoint through s3://, with HMAC keys);
//   - azblob://container/prefix: Azure Blob Storage, with the account from
//     AZURE_STORAGE_ACCOUNT and the usual Azure credentials, in a weir built
//     with -tags azblob. These two go through gocloud.dev/blob and take the
//     query parameters of its gcsblob and azureblob drivers.
//
// For an object store, Open lists the bucket once so that a wrong bucket,
// endpoint or credentials fail here rather than at the first checkpoint.
func Open(ctx context.Context, location string, opts ...Option) (*Storage, error) {
	cfg := config{logger: slog.Default()}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("checkpoint storage: open %q: %w", location, err)
	}
	s := &Storage{location: location, logger: cfg.logger}
	if location == "" {
		return nil, errors.New(`checkpoint storage: empty location: give a directory or a URL (file:///abs/path, s3://bucket/prefix, gs://bucket/prefix, azblob://container/prefix)`)
	}
	if !strings.Contains(location, "://") {
		return s.openLocal(location, location, !cfg.noCreate)
	}
	u, err := url.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("checkpoint storage: location %q is not a valid URL: %w; give a directory or a URL such as s3://bucket/prefix", location, err)
	}
	if u.Scheme == "file" {
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("checkpoint storage: location %q names host %q: a file URL must hold an absolute path, as in file:///var/lib/weir/checkpoints", location, u.Host)
		}
		if u.RawQuery != "" {
			return nil, fmt.Errorf("checkpoint storage: location %q has query parameters, which a local directory does not take: remove them", location)
		}
		return s.openLocal(location, u.Path, !cfg.noCreate)
	}
	if !slices.Contains(remoteSchemes, u.Scheme) {
		return nil, fmt.Errorf("checkpoint storage: location %q has unsupported scheme %q: use a directory, file:///abs/path, s3://bucket/prefix, gs://bucket/prefix or azblob://container/prefix", location, u.Scheme)
	}
	if openers[u.Scheme] == nil {
		return nil, fmt.Errorf("checkpoint storage: location %q: this weir was built without %s:// support, whose SDK is large: build it with 'go build -tags %s'", location, u.Scheme, buildTag[u.Scheme])
	}
	return s.openRemote(ctx, u)
}

// OpenRestore opens the storage holding a directory to restore from, as
// given by a user (--restore PATH; see ParseRestorePath). Unlike Open, it
// never creates a local directory: a path that does not exist is an error.
func OpenRestore(ctx context.Context, path string, opts ...Option) (*Storage, Dir, error) {
	location, dir, err := ParseRestorePath(path)
	if err != nil {
		return nil, Dir{}, err
	}
	s, err := Open(ctx, location, append(opts, NoCreate())...)
	if err != nil {
		return nil, Dir{}, err
	}
	return s, dir, nil
}

func (s *Storage) openLocal(location, dir string, create bool) (*Storage, error) {
	if dir == "" {
		return nil, fmt.Errorf("checkpoint storage: location %q names no directory: give a path, as in file:///var/lib/weir/checkpoints", location)
	}
	abs, err := filepath.Abs(filepath.FromSlash(dir))
	if err != nil {
		return nil, fmt.Errorf("checkpoint storage: location %q: cannot make the path absolute: %w", location, err)
	}
	if !create {
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("checkpoint storage: location %q: %w: check the path", location, err)
		}
	}
	if create {
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("checkpoint storage: cannot open local directory %q: %w: check that the path is a directory this process may create and write", location, err)
		}
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("checkpoint storage: cannot open local directory %q: %w: check that the path is a directory this process may create and write", location, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("checkpoint storage: cannot open local directory %q: %s is not a directory: give a directory", location, abs)
	}
	s.st = &localStore{root: abs}
	s.localRoot = abs
	return s, nil
}

func (s *Storage) openRemote(ctx context.Context, u *url.URL) (*Storage, error) {
	if u.Host == "" {
		return nil, fmt.Errorf("checkpoint storage: location %q names no bucket: use %s://bucket/prefix", s.location, u.Scheme)
	}
	// The URL's path is the key prefix (?prefix= too, as earlier releases
	// took it).
	q := u.Query()
	prefix := strings.Trim(u.Path, "/")
	if p := q.Get("prefix"); p != "" {
		if prefix != "" {
			return nil, fmt.Errorf("checkpoint storage: location %q gives a prefix both as a path and as ?prefix=: keep one", s.location)
		}
		prefix = strings.Trim(p, "/")
	}
	q.Del("prefix")
	if prefix != "" {
		prefix += "/"
	}
	st, err := openers[u.Scheme](ctx, u, q, prefix)
	if err != nil {
		return nil, fmt.Errorf("checkpoint storage: cannot open %q: %w: check the URL's query parameters and the credentials", s.location, err)
	}
	// One list call checks bucket, endpoint, credentials and list
	// permission, all of which checkpointing needs.
	for _, err := range st.list(ctx, checkpointPrefix, true) {
		if err == nil {
			break
		}
		_ = st.close()
		hint := "check the endpoint, region and credentials"
		if q.Get("endpoint") != "" && q.Get("use_path_style") == "" && q.Get("s3ForcePathStyle") == "" {
			hint += "; some S3-compatible stores also need use_path_style=true"
		}
		if errors.Is(err, fs.ErrNotExist) {
			hint = "the bucket does not exist: create it, or fix its name"
		}
		return nil, fmt.Errorf("checkpoint storage: cannot list %q: %w: %s", s.location, ctxErr(ctx, err), hint)
	}
	s.st = st
	return s, nil
}

// Close releases the storage's resources. Calls after Close fail.
func (s *Storage) Close() error {
	if err := s.st.close(); err != nil {
		return fmt.Errorf("checkpoint storage: close %q: %w", s.location, err)
	}
	return nil
}

// Location returns the location the storage was opened with.
func (s *Storage) Location() string { return s.location }

// PathOf returns the path of directory d in the storage, as a user gives
// it to restore from (ParseRestorePath reads it back): an object store's
// query parameters stay at the end of the URL.
func (s *Storage) PathOf(d Dir) string {
	if strings.Contains(s.location, "://") {
		if u, err := url.Parse(s.location); err == nil {
			u.Path = strings.TrimRight(u.Path, "/") + "/" + d.Name()
			u.RawPath = ""
			return u.String()
		}
	}
	return strings.TrimSuffix(s.location, "/") + "/" + d.Name()
}

// WriteState writes the state file name of dir, streaming it from r, and
// returns its size. Names are '/'-separated segments of letters, digits,
// '.', '_' and '-'; segments may not start with '_' or '.'. The file appears
// whole or not at all: if r fails or ctx is cancelled, nothing is written
// (an object store may keep an upload's parts until its lifecycle rules
// expire them). Writing an existing name replaces the file.
//
// WriteState may be called from many goroutines at once.
func (s *Storage) WriteState(ctx context.Context, dir Dir, name string, r io.Reader) (size int64, err error) {
	if err := dir.validate(); err != nil {
		return 0, err
	}
	if err := checkStateName(name); err != nil {
		return 0, err
	}
	key := dir.key(name)
	n, err := s.write(ctx, key, r)
	if err != nil {
		return 0, fmt.Errorf("checkpoint storage: write state file %s in %s: %w", key, s.location, err)
	}
	return n, nil
}

// write streams r to key, aborting the write on any error so that no
// partial object is left behind.
func (s *Storage) write(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.st.put(ctx, key, r)
	if err != nil {
		return 0, ctxErr(ctx, err)
	}
	return n, nil
}

// StateFile is a state file opened for random access, as key-group offsets
// need. ReadAt may be called from many goroutines at once; on an object
// store each call is one ranged request, made under the context given to
// OpenState. For sequential reading, wrap it: io.NewSectionReader(f, 0, f.Size()).
type StateFile interface {
	io.ReaderAt
	io.Closer
	// Size returns the size of the file in bytes.
	Size() int64
}

// OpenState opens the state file name of dir for random access. A missing
// file gives an error that matches fs.ErrNotExist.
func (s *Storage) OpenState(ctx context.Context, dir Dir, name string) (StateFile, error) {
	if err := dir.validate(); err != nil {
		return nil, err
	}
	if err := checkStateName(name); err != nil {
		return nil, err
	}
	key := dir.key(name)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("checkpoint storage: open state file %s in %s: %w", key, s.location, err)
	}
	if s.localRoot != "" {
		f, err := os.Open(filepath.Join(s.localRoot, filepath.FromSlash(key)))
		if err != nil {
			return nil, fmt.Errorf("checkpoint storage: open state file %s in %s: %w", key, s.location, err)
		}
		st, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("checkpoint storage: open state file %s in %s: %w", key, s.location, err)
		}
		return &localFile{ctx: ctx, f: f, size: st.Size()}, nil
	}
	size, err := s.st.size(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("checkpoint storage: open state file %s in %s: %w", key, s.location, ctxErr(ctx, err))
	}
	return &blobFile{ctx: ctx, st: s.st, key: key, size: size}, nil
}

// Commit completes dir by writing its metadata, atomically and last: after
// it returns nil, dir is a completed checkpoint (or savepoint) and Latest may
// return it. Call it only after every WriteState of dir has returned nil.
// Committing a directory that is already completed is an error, so that a
// completed checkpoint is never rewritten.
func (s *Storage) Commit(ctx context.Context, dir Dir, metadata []byte) error {
	if err := dir.validate(); err != nil {
		return err
	}
	key := dir.key(MetadataName)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("checkpoint storage: commit %s in %s: %w", dir, s.location, err)
	}
	// Created only where it does not exist, in one step: of two processes
	// that commit one directory (a coordinator cut off from its cluster
	// and the one that replaced it), one wins and the other fails, where a
	// check before the write let both pass and the later one win.
	_, err := s.st.putNew(ctx, key, strings.NewReader(string(metadata)))
	switch {
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("checkpoint storage: commit %s in %s: it is already completed; a checkpoint id or savepoint name is used once", dir, s.location)
	case err != nil:
		return fmt.Errorf("checkpoint storage: commit %s in %s: %w", dir, s.location, ctxErr(ctx, err))
	}
	return nil
}

// Completed lists the completed checkpoints, newest first. Savepoints are
// not listed.
func (s *Storage) Completed(ctx context.Context) ([]Dir, error) {
	all, err := s.checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	var done []Dir
	for _, c := range slices.Backward(all) {
		if c.completed {
			done = append(done, c.dir)
		}
	}
	return done, nil
}

// Savepoints lists the completed savepoints (directories with a _metadata
// that are not checkpoints), in listing order: by name.
func (s *Storage) Savepoints(ctx context.Context) ([]Dir, error) {
	var out []Dir
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("checkpoint storage: list savepoints in %s: %w", s.location, err)
	}
	for obj, err := range s.st.list(ctx, "", true) {
		if err != nil {
			return nil, fmt.Errorf("checkpoint storage: list savepoints in %s: %w", s.location, ctxErr(ctx, err))
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("checkpoint storage: list savepoints in %s: %w", s.location, err)
		}
		name := strings.TrimSuffix(obj.key, "/")
		if !obj.isDir || strings.HasPrefix(name, checkpointPrefix) {
			continue
		}
		dir := SavepointDir(name)
		if dir.validate() != nil {
			continue // not ours
		}
		ok, err := s.st.exists(ctx, dir.key(MetadataName))
		if err != nil {
			return nil, fmt.Errorf("checkpoint storage: list savepoints in %s: %w", s.location, ctxErr(ctx, err))
		}
		if ok {
			out = append(out, dir)
		}
	}
	return out, nil
}

// Latest returns the newest completed checkpoint whose metadata validate
// accepts, with that metadata. A newer one whose metadata cannot be read or
// fails validate (truncated, corrupt) is skipped with a warning naming it.
// Latest returns ErrNone when no checkpoint qualifies, and the context's
// error when ctx ends.
//
// Latest does not look at the state files: a restore should use
// LatestVerified, which also skips a checkpoint whose files are damaged.
func (s *Storage) Latest(ctx context.Context, validate func([]byte) error) (Dir, []byte, error) {
	done, err := s.Completed(ctx)
	if err != nil {
		return Dir{}, nil, err
	}
	for i, dir := range done {
		md, err := s.readMetadata(ctx, dir, validate)
		if err == nil {
			return dir, md, nil
		}
		if ctx.Err() != nil {
			return Dir{}, nil, fmt.Errorf("checkpoint storage: find latest checkpoint in %s: %w", s.location, ctx.Err())
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue // Deleted since listing (retention): not a problem.
		}
		msg := "checkpoint storage: skipping checkpoint with unusable metadata; using the previous one"
		attrs := []any{"checkpoint", dir.Name(), "location", s.location, "error", err}
		if i+1 < len(done) {
			attrs = append(attrs, "previous", done[i+1].Name())
		} else {
			msg = "checkpoint storage: skipping checkpoint with unusable metadata; no previous checkpoint remains"
		}
		s.logger.WarnContext(ctx, msg, attrs...)
	}
	return Dir{}, nil, ErrNone
}

// ReadMetadata reads and validates the metadata of dir, as a restore from a
// path the user gives needs. A dir without metadata (not completed, or no
// checkpoint at all) gives an error that matches fs.ErrNotExist.
func (s *Storage) ReadMetadata(ctx context.Context, dir Dir, validate func([]byte) error) ([]byte, error) {
	if err := dir.validate(); err != nil {
		return nil, err
	}
	return s.readMetadata(ctx, dir, validate)
}

func (s *Storage) readMetadata(ctx context.Context, dir Dir, validate func([]byte) error) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("checkpoint storage: read metadata of %s in %s: %w", dir, s.location, err)
	}
	md, err := s.st.get(ctx, dir.key(MetadataName))
	if err != nil {
		err = ctxErr(ctx, err)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("checkpoint storage: %s in %s has no %s: it is not a completed checkpoint or savepoint; choose one that has: %w", dir, s.location, MetadataName, err)
		}
		return nil, fmt.Errorf("checkpoint storage: read metadata of %s in %s: %w", dir, s.location, err)
	}
	if validate != nil {
		if err := validate(md); err != nil {
			return nil, fmt.Errorf("checkpoint storage: metadata of %s in %s is invalid (truncated or corrupt): %w; restore from another checkpoint or savepoint", dir, s.location, metadataError{err})
		}
	}
	return md, nil
}

// metadataError marks the error of a validate function: the metadata is
// unusable, which LatestVerified skips, unlike a failure to read it.
type metadataError struct{ err error }

func (e metadataError) Error() string { return e.err.Error() }
func (e metadataError) Unwrap() error { return e.err }

// Retain deletes all but the newest n completed checkpoints, and every
// incomplete checkpoint older than the newest completed one: leftovers of
// failed checkpoints, or of one in progress at a crash. An incomplete
// checkpoint newer than the newest completed one may be in progress and is
// kept. Savepoints are never deleted. n must be at least 1, so that a
// restore point always remains.
//
// Call it after a Commit, from the goroutine that commits: with concurrent
// checkpoints, one still pending when a newer one completes is deleted, so
// the coordinator must abort it first (as Flink subsumes it).
func (s *Storage) Retain(ctx context.Context, n int) error {
	if n < 1 {
		return fmt.Errorf("checkpoint storage: retain %d checkpoints: keep at least 1, or no restore point would remain", n)
	}
	all, err := s.checkpoints(ctx)
	if err != nil {
		return err
	}
	var newest uint64
	kept := 0
	var doomed []Dir
	for _, c := range slices.Backward(all) { // newest first
		id, _ := c.dir.Checkpoint()
		switch {
		case c.completed && kept < n:
			kept++
			newest = max(newest, id)
		case c.completed:
			doomed = append(doomed, c.dir)
		case kept > 0 && id < newest:
			doomed = append(doomed, c.dir)
		}
	}
	var errs []error
	for _, d := range doomed {
		if err := s.Discard(ctx, d); err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Discard deletes dir and every file in it: a failed or timed-out
// checkpoint, or a savepoint the user no longer wants. The metadata goes
// first, so a dir that is half deleted is no longer completed. Discarding a
// dir that does not exist is not an error.
func (s *Storage) Discard(ctx context.Context, dir Dir) error {
	if err := dir.validate(); err != nil {
		return err
	}
	if err := s.delete(ctx, dir.key(MetadataName)); err != nil {
		return fmt.Errorf("checkpoint storage: discard %s in %s: %w", dir, s.location, err)
	}
	if s.localRoot != "" {
		// One call removes the files and their directories.
		if err := os.RemoveAll(filepath.Join(s.localRoot, dir.Name())); err != nil {
			return fmt.Errorf("checkpoint storage: discard %s in %s: %w", dir, s.location, err)
		}
		return nil
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, deleteConcurrency)
	)
	for obj, err := range s.st.list(ctx, dir.prefix(), false) {
		if err != nil {
			mu.Lock()
			errs = append(errs, ctxErr(ctx, err))
			mu.Unlock()
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.delete(ctx, obj.key); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("checkpoint storage: discard %s in %s: %w", dir, s.location, err)
	}
	return nil
}

// delete deletes key; a key already gone is fine (a concurrent Retain).
func (s *Storage) delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.st.remove(ctx, key); err != nil {
		return ctxErr(ctx, err)
	}
	return nil
}

// checkpoint is one chk- directory found by listing.
type checkpoint struct {
	dir       Dir
	completed bool
}

// checkpoints lists every chk- directory, oldest first, telling completed
// from incomplete ones.
func (s *Storage) checkpoints(ctx context.Context) ([]checkpoint, error) {
	var out []checkpoint
	// The local store does not look at ctx; check it once a directory.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("checkpoint storage: list checkpoints in %s: %w", s.location, err)
	}
	for obj, err := range s.st.list(ctx, checkpointPrefix, true) {
		if err != nil {
			return nil, fmt.Errorf("checkpoint storage: list checkpoints in %s: %w", s.location, ctxErr(ctx, err))
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("checkpoint storage: list checkpoints in %s: %w", s.location, err)
		}
		if !obj.isDir {
			continue
		}
		dir, err := ParseDir(strings.TrimSuffix(obj.key, "/"))
		if err != nil {
			// Not ours (a name we never write): leave it alone.
			s.logger.DebugContext(ctx, "checkpoint storage: ignoring unknown directory", "location", s.location, "name", obj.key)
			continue
		}
		ok, err := s.st.exists(ctx, dir.key(MetadataName))
		if err != nil {
			return nil, fmt.Errorf("checkpoint storage: list checkpoints in %s: %w", s.location, ctxErr(ctx, err))
		}
		out = append(out, checkpoint{dir: dir, completed: ok})
	}
	// Listing is lexical, which padding makes numeric; sort anyway rather
	// than trust every store's order.
	slices.SortFunc(out, func(a, b checkpoint) int { return cmp.Compare(a.dir.id, b.dir.id) })
	return out, nil
}

// ctxErr makes an error caused by the end of ctx match ctx's error, which
// a client's wrapping does not always preserve.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

// finishedKey marks a job whose input ended: its output is complete.
const finishedKey = "_finished"

// MarkFinished records that the job finished, with content that says
// after which checkpoint and what its end published, so that a restart
// does not run the end of its input again and publish its output twice.
func (s *Storage) MarkFinished(ctx context.Context, content []byte) error {
	if _, err := s.write(ctx, finishedKey, bytes.NewReader(content)); err != nil {
		return fmt.Errorf("checkpoint storage: mark the job finished in %s: %w", s.location, err)
	}
	return nil
}

// Finished returns what MarkFinished recorded, and false when the job has
// not finished.
func (s *Storage) Finished(ctx context.Context) ([]byte, bool, error) {
	b, err := s.st.get(ctx, finishedKey)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("checkpoint storage: read %s in %s: %w", finishedKey, s.location, ctxErr(ctx, err))
	}
	return b, true, nil
}

// probePrefix holds the probes of WriteProbe.
const probePrefix = "_probes/"

// WriteProbe writes content under name in the location's probe area, so
// that another process can tell with ReadProbe whether it sees the same
// location. Names are letters, digits, '.', '_' and '-'.
func (s *Storage) WriteProbe(ctx context.Context, name string, content []byte) error {
	if err := checkProbeName(name); err != nil {
		return err
	}
	if _, err := s.write(ctx, probePrefix+name, bytes.NewReader(content)); err != nil {
		return fmt.Errorf("checkpoint storage: write %s%s in %s: %w", probePrefix, name, s.location, err)
	}
	return nil
}

// ReadProbe returns what WriteProbe wrote under name, and false when there
// is no such probe.
func (s *Storage) ReadProbe(ctx context.Context, name string) ([]byte, bool, error) {
	if err := checkProbeName(name); err != nil {
		return nil, false, err
	}
	b, err := s.st.get(ctx, probePrefix+name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("checkpoint storage: read %s%s in %s: %w", probePrefix, name, s.location, ctxErr(ctx, err))
	}
	return b, true, nil
}

func checkProbeName(name string) error {
	if name == "" || name[0] == '.' || strings.ContainsFunc(name, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-')
	}) {
		return fmt.Errorf("checkpoint storage: probe name %q: use letters, digits, '.', '_' and '-'", name)
	}
	return nil
}
