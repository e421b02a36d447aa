//go:build azblob

package storage

import _ "gocloud.dev/blob/azureblob" // registers azblob://

func init() { registeredSchemes["azblob"] = true }
