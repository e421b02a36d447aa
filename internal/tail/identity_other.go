//go:build !unix

package tail

import "os"

// Supported says whether files have identities on this platform; a
// Tailer needs them.
const Supported = false

// Identity is not available on this platform: it always reports false.
func Identity(os.FileInfo) (ID, bool) { return ID{}, false }
