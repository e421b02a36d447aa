//go:build !unix

package file

import "os"

const identitySupported = false

// fileID identifies a file across renames.
type fileID struct{ dev, ino uint64 }

// identity is not available on this platform; NewSource rejects Follow.
func identity(os.FileInfo) (fileID, bool) { return fileID{}, false }
