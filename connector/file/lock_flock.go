//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package file

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock of f's file for the committer, and
// waits for it while another committer holds it, in this process or in
// another one (flock(2); on NFS, Linux takes a lock the server knows). The
// lock goes with the last close of f.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
