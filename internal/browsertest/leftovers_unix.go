//go:build unix

package browsertest

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// killLeftovers kills the processes whose command line names the profile
// dir (Chromium passes --user-data-dir to every process it starts) until
// none is left for a few passes in a row, and returns how many it killed.
func killLeftovers(dir string) int {
	want := []byte("--user-data-dir=" + dir)
	killed := 0
	for quiet := 0; quiet < 3; {
		n := 0
		for _, pid := range processesWith(want) {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
		killed += n
		if n == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(10 * time.Millisecond)
	}
	return killed
}

// processesWith returns the processes that have arg in their command line
// (none where there is no /proc).
func processesWith(arg []byte) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		if slices.ContainsFunc(bytes.Split(cmdline, []byte{0}), func(a []byte) bool { return bytes.Equal(a, arg) }) {
			pids = append(pids, pid)
		}
	}
	return pids
}
