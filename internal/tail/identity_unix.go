//go:build unix

package tail

import (
	"os"
	"syscall"
)

// Supported says whether files have identities on this platform; a
// Tailer needs them.
const Supported = true

// Identity returns the device and inode of the file fi describes. The
// conversions are needed where Dev and Ino are not uint64.
func Identity(fi os.FileInfo) (ID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ID{}, false
	}
	return ID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}, true
}
