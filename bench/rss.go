package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	rt "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The programs PVUVChild runs.
const (
	childBaseline = "baseline"
	childP1       = "weir-p1"
	childP2       = "weir-p2"
)

// PVUVChild runs one program of the PV/UV benchmark over an input, once,
// in the process PVUVConfig.Spawn started for it, so that the process's
// peak resident memory is that program's, and writes that peak to w for
// the parent: args are those Spawn was given (the program, the input file,
// the window, the top-N).
//
// The child measures its peak itself: the peak a parent learns from wait
// (ru_maxrss) is, on Linux, at least the parent's own, since a child
// started by fork and exec keeps the high-water mark of the memory it was
// forked with.
func PVUVChild(ctx context.Context, args []string, w io.Writer) error {
	if len(args) != 4 {
		return fmt.Errorf("bench: a child run takes a program, an input file, a window and a top-N; got %q", args)
	}
	window, err := time.ParseDuration(args[2])
	if err != nil {
		return fmt.Errorf("bench: the child's window: %w", err)
	}
	topN, err := strconv.Atoi(args[3])
	if err != nil {
		return fmt.Errorf("bench: the child's top-N: %w", err)
	}
	cfg := PVUVConfig{Window: window, TopN: topN}.withDefaults()
	switch args[0] {
	case childBaseline:
		_, _, err = runBaseline(ctx, args[1], cfg)
	case childP1:
		_, _, _, _, err = runWeir(ctx, args[1], cfg, 1, true)
	case childP2:
		_, _, _, _, err = runWeir(ctx, args[1], cfg, 2, true)
	default:
		err = fmt.Errorf("bench: no program %q to run as a child; there are %s, %s and %s", args[0], childBaseline, childP1, childP2)
	}
	if err != nil {
		return err
	}
	peak, file, err := ownPeakRSS()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s %d %d\n", peakLine, peak, file)
	return err
}

// peakLine starts the line in which a child reports its peak.
const peakLine = "peak-rss-bytes"

// ownPeakRSS returns this process's peak resident set size in bytes and,
// on Linux, how much of what it holds now are pages of files (its binary,
// mostly; 0 elsewhere). The peak is, on Linux, that of its memory since
// exec (VmHWM), elsewhere getrusage's.
func ownPeakRSS() (peak, file int64, err error) {
	if rt.GOOS == "linux" {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return 0, 0, fmt.Errorf("bench: read the peak memory: %w", err)
		}
		for line := range strings.Lines(string(b)) {
			name, v, ok := strings.Cut(line, ":")
			if !ok || name != "VmHWM" && name != "RssFile" {
				continue
			}
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("bench: read the peak memory: %q: %w", line, err)
			}
			if name == "VmHWM" {
				peak = kb << 10
			} else {
				file = kb << 10
			}
		}
		if peak == 0 {
			return 0, 0, errors.New("bench: read the peak memory: /proc/self/status has no VmHWM")
		}
		return peak, file, nil
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, fmt.Errorf("bench: read the peak memory: %w", err)
	}
	if rt.GOOS == "darwin" {
		return ru.Maxrss, 0, nil // bytes there
	}
	return ru.Maxrss << 10, 0, nil // KiB on the BSDs
}

// peakInChild runs program over input in a process of its own, started
// by spawn, and returns its peak resident set size in bytes and how much of
// it were its binary's pages (0 where unknown).
func peakInChild(ctx context.Context, spawn func(ctx context.Context, args []string) *exec.Cmd, cfg PVUVConfig, program, input string) (peak, file int64, err error) {
	cmd := spawn(ctx, []string{program, input, cfg.Window.String(), strconv.Itoa(cfg.TopN)})
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		return 0, 0, fmt.Errorf("bench: %s in a process of its own: %w: %s", program, err, strings.TrimSpace(out.String()))
	}
	for line := range strings.Lines(out.String()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), peakLine+" "); ok {
			if _, err := fmt.Sscan(v, &peak, &file); err != nil {
				return 0, 0, fmt.Errorf("bench: %s in a process of its own: its peak memory %q: %w", program, v, err)
			}
			return peak, file, nil
		}
	}
	return 0, 0, fmt.Errorf("bench: %s in a process of its own reported no peak memory: %s", program, strings.TrimSpace(out.String()))
}
