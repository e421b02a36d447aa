//go:build gcs

package storage

import _ "gocloud.dev/blob/gcsblob" // registers gs://

func init() { registeredSchemes["gs"] = true }
