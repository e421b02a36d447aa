//go:build unix

package ship

import (
	"os"
	"syscall"
)

// identitySupported says whether files have identities here.
const identitySupported = true

// fileID identifies a file across renames: its device and inode.
type fileID struct{ dev, ino uint64 }

// identity returns the device and inode of the file fi describes. The
// conversions are needed where Dev and Ino are not uint64.
func identity(fi os.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true
}
