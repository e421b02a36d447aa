//go:build gcs

package storage

import _ "gocloud.dev/blob/gcsblob" // registers gs:// on blob.DefaultMux

func init() { openers["gs"] = openBlob }
