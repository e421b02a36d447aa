package storage

import (
	"context"
	"net/url"
)

// opener makes the store of an object store location: u is the location,
// q its query parameters less prefix, and prefix the key prefix ("" or
// ending in '/').
type opener func(ctx context.Context, u *url.URL, q url.Values, prefix string) (store, error)

// openers are the object stores compiled in, by URL scheme. S3 (and
// S3-compatible stores, Google Cloud Storage's interoperability endpoint
// among them) always is, through a small client; native Google Cloud
// Storage and Azure Blob Storage pull in SDKs many times weir's size, so
// they take a build tag (files schemes_gcs.go and schemes_azblob.go add
// them).
var openers = map[string]opener{
	"s3": func(_ context.Context, u *url.URL, q url.Values, prefix string) (store, error) {
		return openS3(u, q, prefix)
	},
}

// buildTag names the build tag that compiles a scheme in.
var buildTag = map[string]string{"gs": "gcs", "azblob": "azblob"}
