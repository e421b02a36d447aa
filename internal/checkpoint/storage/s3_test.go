package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// TestS3FromEnvironment: with no parameters in the URL, the endpoint,
// region and credentials come from the environment, as the AWS SDKs read
// them; an IP endpoint's buckets are addressed by path.
func TestS3FromEnvironment(t *testing.T) {
	mem := s3mem.New()
	if err := mem.CreateBucket("weir"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	defer srv.Close()
	backends(t) // static credentials
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	s := open(t, "s3://weir/jobs/env")
	checkpointAt(t, s, 3, true)
	if _, _, err := s.Latest(t.Context(), validate); err != nil {
		t.Fatal(err)
	}
	if _, err := mem.HeadObject("weir", "jobs/env/"+CheckpointDir(3).Name()+"/"+MetadataName); err != nil {
		t.Errorf("the metadata is not under the URL's prefix: %v", err)
	}

	// ?profile= names a profile of the shared credentials file. (The fake
	// server checks no signature: this shows that the parameter is taken.)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	creds := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(creds, []byte("[weir]\naws_access_key_id = fromfile\naws_secret_access_key = secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	s2 := open(t, "s3://weir/jobs/env?profile=weir")
	if got, err := s2.Completed(t.Context()); err != nil || len(got) != 1 {
		t.Errorf("with credentials from the shared file: %v, %v; want one checkpoint", names(got), err)
	}
}

// TestS3WithoutConditionalWrites: a store that answers 501 to a PUT with
// If-None-Match (one that does not implement conditional writes) still
// takes checkpoints, and a second commit of one is still refused, by a
// check before the write.
func TestS3WithoutConditionalWrites(t *testing.T) {
	mem := s3mem.New()
	if err := mem.CreateBucket("weir"); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(mem).Server()
	var refused atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.Header.Get("If-None-Match") != "" {
			refused.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotImplemented)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented</Message></Error>`)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	backends(t) // static credentials
	s := open(t, "s3://weir/jobs/old?region=us-east-1&endpoint="+srv.URL)
	d := checkpointAt(t, s, 4, true)
	if err := s.Commit(t.Context(), d, metadata(d)); err == nil || !strings.Contains(err.Error(), "already completed") {
		t.Fatalf("second Commit of %s: %v, want an already-completed error", d, err)
	}
	if got, err := s.Completed(t.Context()); err != nil || len(got) != 1 {
		t.Fatalf("Completed = %v, %v; want the one checkpoint", names(got), err)
	}
	if refused.Load() == 0 {
		t.Fatal("no conditional PUT reached the store")
	}
}

// TestS3Parameters: a parameter the client does not take, or a value it
// cannot read, is an error that names it.
func TestS3Parameters(t *testing.T) {
	backends(t)
	for _, tc := range []struct{ query, want string }{
		{"colour=blue", `unknown query parameter "colour"`},
		{"use_path_style=maybe", "use_path_style"},
		{"request_checksum_calculation=always", "when_supported or when_required"},
		{"ssetype=DES", "AES256 or aws:kms"},
		{"kmskeyid=k", "needs ssetype=aws:kms"},
		{"endpoint=ftp://host", "http://HOST:PORT"},
	} {
		_, err := Open(t.Context(), "s3://weir/p?region=us-east-1&"+tc.query)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "check the URL's query parameters") {
			t.Errorf("Open with %s: %v; want an error containing %q", tc.query, err, tc.want)
		}
	}
}

// TestFailedLargeWriteLeavesNothing: a write larger than one upload part
// that fails part way leaves no object, in S3 (the multipart upload is
// aborted) as in a directory (no temporary file stays behind).
func TestFailedLargeWriteLeavesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, _ *syncBuffer) {
		boom := errors.New("boom")
		r := &stallingReader{n: s3PartSize + 1<<20, stall: func() error { return boom }}
		if _, err := s.WriteState(t.Context(), CheckpointDir(2), "big", r); !errors.Is(err, boom) {
			t.Fatalf("WriteState from a failing reader: %v, want boom", err)
		}
		if _, err := s.OpenState(t.Context(), CheckpointDir(2), "big"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after an aborted write, OpenState: %v, want fs.ErrNotExist", err)
		}
		if s.localRoot != "" {
			left, _ := filepath.Glob(filepath.Join(s.localRoot, "*", "*"))
			if len(left) != 0 {
				t.Errorf("files left after an aborted write: %v", left)
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		r = &stallingReader{n: s3PartSize + 1<<20, stall: func() error { cancel(); return ctx.Err() }}
		if _, err := s.WriteState(ctx, CheckpointDir(2), "big", r); !errors.Is(err, context.Canceled) {
			t.Fatalf("WriteState cancelled mid-stream: %v, want context.Canceled", err)
		}
		if _, err := s.OpenState(t.Context(), CheckpointDir(2), "big"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after a cancelled write, OpenState: %v, want fs.ErrNotExist", err)
		}
	})
}
