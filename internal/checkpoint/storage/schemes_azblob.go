//go:build azblob

package storage

import _ "gocloud.dev/blob/azureblob" // registers azblob:// on blob.DefaultMux

func init() { openers["azblob"] = openBlob }
