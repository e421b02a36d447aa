package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// s3PartSize is the part size of a multipart upload, and the most a write
// buffers: a state file smaller than that goes up in one PUT. With S3's
// 10,000 parts, a state file may be up to 160 GB.
const s3PartSize = 16 << 20

// s3Params are the query parameters an s3:// location takes.
var s3Params = []string{
	"region", "endpoint", "use_path_style", "disable_https", "profile", "anonymous",
	"request_checksum_calculation", "response_checksum_validation",
	"dualstack", "accelerate", "ssetype", "kmskeyid",
	// Spellings that earlier releases took too.
	"s3ForcePathStyle", "awssdk",
}

// s3Store keeps objects in an S3 bucket, or one of an S3-compatible store
// (MinIO, Cloudflare R2, Google Cloud Storage's interoperability endpoint).
type s3Store struct {
	client    *minio.Client
	transport *http.Transport
	bucket    string
	prefix    string // "" or ends in '/'
	put0      minio.PutObjectOptions
}

// openS3 makes the client that location (s3://bucket/prefix?params) asks
// for. It sends no request.
func openS3(u *url.URL, q url.Values, prefix string) (*s3Store, error) {
	for k := range q {
		if !slices.Contains(s3Params, k) {
			return nil, fmt.Errorf("unknown query parameter %q; an s3:// location takes %s", k, strings.Join(s3Params[:len(s3Params)-2], ", "))
		}
	}
	flag := func(name string) (bool, error) {
		v := q.Get(name)
		if v == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("query parameter %s=%q: write true or false", name, v)
		}
		return b, nil
	}
	var bad []error
	pathStyle, err := flag("use_path_style")
	bad = append(bad, err)
	if !pathStyle {
		pathStyle, err = flag("s3ForcePathStyle")
		bad = append(bad, err)
	}
	noHTTPS, err := flag("disable_https")
	bad = append(bad, err)
	anonymous, err := flag("anonymous")
	bad = append(bad, err)
	dualstack, err := flag("dualstack")
	bad = append(bad, err)
	accelerate, err := flag("accelerate")
	bad = append(bad, err)
	for _, name := range []string{"request_checksum_calculation", "response_checksum_validation"} {
		if v := q.Get(name); v != "" && v != "when_supported" && v != "when_required" {
			bad = append(bad, fmt.Errorf("query parameter %s=%q: write when_supported or when_required", name, v))
		}
	}
	if v := q.Get("awssdk"); v != "" && v != "v2" {
		bad = append(bad, fmt.Errorf("query parameter awssdk=%q: only v2 is known; remove it", v))
	}
	if err := errors.Join(bad...); err != nil {
		return nil, err
	}

	endpoint := cmpOr(q.Get("endpoint"), os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL"), "s3.amazonaws.com")
	host, secure := endpoint, true
	if strings.Contains(endpoint, "://") {
		eu, err := url.Parse(endpoint)
		if err != nil || eu.Host == "" || (eu.Scheme != "http" && eu.Scheme != "https") || strings.Trim(eu.Path, "/") != "" {
			return nil, fmt.Errorf("endpoint %q: write http://HOST:PORT or https://HOST[:PORT], with no path", endpoint)
		}
		host, secure = eu.Host, eu.Scheme == "https"
	}
	if noHTTPS {
		secure = false
	}

	var creds *credentials.Credentials
	if anonymous {
		creds = credentials.NewStatic("", "", "", credentials.SignatureAnonymous)
	} else {
		// The sources the AWS SDKs read, in their order: the environment,
		// the shared credentials file (with ?profile= or AWS_PROFILE), then
		// web identity, container and instance roles.
		chain := []credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{Profile: q.Get("profile")},
		}
		if os.Getenv("AWS_EC2_METADATA_DISABLED") != "true" || os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "" ||
			os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != "" || os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != "" {
			chain = append(chain, &credentials.IAM{})
		}
		creds = credentials.NewChainCredentials(chain)
	}
	transport, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	lookup := minio.BucketLookupAuto
	if pathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Transport:    transport,
		Region:       cmpOr(q.Get("region"), os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION")),
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	if dualstack {
		client.SetS3EnableDualstack(true)
	}
	if accelerate {
		client.SetS3TransferAccelerate("s3-accelerate.amazonaws.com")
	}
	s := &s3Store{client: client, transport: transport, bucket: u.Host, prefix: prefix}
	md5 := q.Get("request_checksum_calculation") != "when_required"
	s.put0 = minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		// The store checks each PUT and part against its MD5, so a body
		// damaged on its way is refused rather than stored. That makes the
		// signed SHA-256 of the body, which only plain HTTP would carry (in
		// aws-chunked parts, which not every S3-compatible store reads in
		// multipart uploads), one more pass over the data for nothing.
		SendContentMd5:       md5,
		DisableContentSha256: md5,
		PartSize:             s3PartSize,
	}
	switch t := q.Get("ssetype"); t {
	case "":
	case "AES256":
		s.put0.ServerSideEncryption = encrypt.NewSSE()
	case "aws:kms":
		sse, err := encrypt.NewSSEKMS(q.Get("kmskeyid"), nil)
		if err != nil {
			return nil, fmt.Errorf("query parameter kmskeyid=%q: %w", q.Get("kmskeyid"), err)
		}
		s.put0.ServerSideEncryption = sse
	default:
		return nil, fmt.Errorf("query parameter ssetype=%q: write AES256 or aws:kms", t)
	}
	if q.Get("kmskeyid") != "" && q.Get("ssetype") != "aws:kms" {
		return nil, errors.New("query parameter kmskeyid needs ssetype=aws:kms")
	}
	return s, nil
}

// cmpOr returns the first of vs that is not "".
func cmpOr(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// s3Err makes a missing key or bucket match fs.ErrNotExist.
func s3Err(err error) error {
	if err == nil {
		return nil
	}
	switch r := minio.ToErrorResponse(err); {
	case r.Code == minio.NoSuchKey || r.Code == minio.NoSuchBucket || r.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w (%w)", fs.ErrNotExist, err)
	}
	return err
}

// putNew sends one PUT with If-None-Match: *, which S3 (and MinIO) apply
// only where the key does not exist, answering 412 otherwise (409 while
// another conditional write of the key is under way). What it writes,
// checkpoint metadata, is read whole first: a multipart upload would put
// the condition on its completion instead. A store that does not
// implement the condition gets a check for the key before the write,
// which two writers can both pass.
func (s *s3Store) putNew(ctx context.Context, key string, r io.Reader) (int64, error) {
	b, err := io.ReadAll(&ctxReader{ctx: ctx, r: io.NopCloser(r)})
	if err != nil {
		return 0, err
	}
	opts := s.put0
	opts.SetMatchETagExcept("*")
	_, err = s.client.PutObject(ctx, s.bucket, s.prefix+key, bytes.NewReader(b), int64(len(b)), opts)
	resp := minio.ToErrorResponse(err)
	switch {
	case err == nil:
		return int64(len(b)), nil
	case resp.StatusCode == http.StatusPreconditionFailed, resp.StatusCode == http.StatusConflict:
		return 0, fmt.Errorf("%w (%w)", fs.ErrExist, err)
	case resp.StatusCode == http.StatusNotImplemented, resp.Code == "NotImplemented":
		exists, err := s.exists(ctx, key)
		if err != nil {
			return 0, err
		}
		if exists {
			return 0, fs.ErrExist
		}
		return s.put(ctx, key, bytes.NewReader(b))
	}
	return 0, s3Err(err)
}

func (s *s3Store) put(ctx context.Context, key string, r io.Reader) (int64, error) {
	// Read up to a part: most state files fit, and go up in one PUT,
	// which S3 applies whole or not at all. A larger one is a multipart
	// upload, which the client aborts when r or a part fails; S3 shows
	// it only once it completes.
	var head bytes.Buffer
	n, err := io.CopyN(&head, &ctxReader{ctx: ctx, r: io.NopCloser(r)}, s3PartSize)
	opts := s.put0
	switch {
	case err == io.EOF:
		_, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, bytes.NewReader(head.Bytes()), n, opts)
		if err != nil {
			return 0, s3Err(err)
		}
		return n, nil
	case err != nil:
		return 0, err
	}
	if s3utils.IsGoogleEndpoint(*s.client.EndpointURL()) {
		// Its single streamed PUT cannot send an MD5 it has not read yet.
		opts.SendContentMd5 = false
	}
	cr := &countReader{r: &ctxReader{ctx: ctx, r: io.NopCloser(io.MultiReader(&head, r))}}
	if _, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, cr, -1, opts); err != nil {
		return 0, s3Err(err)
	}
	return cr.n, nil
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (s *s3Store) get(ctx context.Context, key string) ([]byte, error) {
	r, err := s.open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return b, s3Err(err)
}

func (s *s3Store) open(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s3Err(err)
	}
	// The GET is sent lazily; Stat sends it, so that a missing key is
	// an error here rather than at the first read.
	if _, err := obj.Stat(); err != nil {
		_ = obj.Close()
		return nil, s3Err(err)
	}
	return obj, nil
}

func (s *s3Store) openRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	var opts minio.GetObjectOptions
	if err := opts.SetRange(off, off+n-1); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+key, opts)
	if err != nil {
		return nil, s3Err(err)
	}
	return obj, nil
}

func (s *s3Store) size(ctx context.Context, key string) (int64, error) {
	info, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return 0, s3Err(err)
	}
	return info.Size, nil
}

// exists is false for a missing key, and an error for a missing bucket.
func (s *s3Store) exists(ctx context.Context, key string) (bool, error) {
	_, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil && missingKey(err) {
		return false, nil
	}
	return err == nil, s3Err(err)
}

func (s *s3Store) remove(ctx context.Context, key string) error {
	err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{})
	if err != nil && missingKey(err) {
		return nil
	}
	return s3Err(err)
}

// missingKey tells whether err says that a key (not the bucket) is missing.
func missingKey(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == minio.NoSuchKey || r.StatusCode == http.StatusNotFound && r.Code != minio.NoSuchBucket
}

func (s *s3Store) list(ctx context.Context, prefix string, delim bool) iter.Seq2[entry, error] {
	return func(yield func(entry, error) bool) {
		// The client's listing stops when its context ends: end it when
		// the caller stops early.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: !delim}) {
			if obj.Err != nil {
				yield(entry{}, s3Err(obj.Err))
				return
			}
			key := strings.TrimPrefix(obj.Key, s.prefix)
			if !yield(entry{key: key, isDir: delim && strings.HasSuffix(key, "/")}, nil) {
				return
			}
		}
	}
}

func (s *s3Store) close() error {
	s.transport.CloseIdleConnections()
	return nil
}
