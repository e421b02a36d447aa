//go:build !unix

package ship

import "os"

// identitySupported says whether files have identities here.
const identitySupported = false

// fileID identifies a file across renames: its device and inode.
type fileID struct{ dev, ino uint64 }

// identity is not available on this platform; New rejects the Config.
func identity(os.FileInfo) (fileID, bool) { return fileID{}, false }
