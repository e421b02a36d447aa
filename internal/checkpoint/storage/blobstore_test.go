//go:build gcs || azblob

package storage

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
)

// blobtest:// is the gocloud.dev path of gs:// and azblob:// without their
// clouds: a gocloud.dev bucket (fileblob) in a directory per host, so that
// every test runs against blobStore too when either tag is given.
type blobTestOpener struct {
	once sync.Once
	root string
}

func (o *blobTestOpener) OpenBucketURL(_ context.Context, u *url.URL) (*blob.Bucket, error) {
	o.once.Do(func() {
		dir, err := os.MkdirTemp("", "weir-blobtest-")
		if err != nil {
			panic(err)
		}
		o.root = dir
	})
	dir := filepath.Join(o.root, u.Host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return fileblob.OpenBucket(dir, &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
}

func init() {
	blob.DefaultURLMux().RegisterBucket("blobtest", &blobTestOpener{})
	remoteSchemes = append(remoteSchemes, "blobtest")
	openers["blobtest"] = openBlob
	n := 0
	extraBackends = append(extraBackends, backend{name: "gocloud", location: func(t *testing.T) string {
		n++
		return fmt.Sprintf("blobtest://weir/jobs/%d/chk", n)
	}})
}
