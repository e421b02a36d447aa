// Package bench measures weir against the hand-written programs in
// bench/baseline, the way DESIGN.md says performance is measured: in one
// process, on one input, one run after the other, as a ratio.
//
// The measurements are for people and for `weir bench`; tests only check
// that a run completes and that its results match the baseline's, never
// its timings.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	rt "runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/bench/baseline"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/metrics"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/weirtest"
)

// Targets of the PV/UV benchmark.
const (
	// TargetP1 is the least throughput of weir at parallelism 1, as a share
	// of the baseline's.
	TargetP1 = 0.5
	// TargetP2 is the least throughput of weir at parallelism 2 as a
	// multiple of its throughput at parallelism 1.
	TargetP2 = 1.6
	// TargetCheckpoint is the least throughput of weir at parallelism 1
	// with checkpoints as a share of its throughput without.
	TargetCheckpoint = 0.95
	// TargetObserve is the least median throughput of weir at parallelism
	// 1 with its observation on (latency markers, pprof labels, state
	// access timing, metrics scraped and sampled every second) as a share
	// of its median throughput with it off.
	TargetObserve = 0.98
	// TargetCPU is the least CPU time per line of the baseline over weir
	// p1's (medians): weir may spend 1/0.7 of the hand-written CPU.
	TargetCPU = 0.7
	// TargetP2Wall is the most wall time of weir p2 over the baseline's
	// (medians): on two cores weir must be no slower than one
	// hand-written goroutine.
	TargetP2Wall = 1.0
	// TargetMemory is the most peak resident memory of weir p1 over the
	// baseline's (medians, each program in a process of its own).
	TargetMemory = 2.0
)

// Defaults of PVUVConfig.
const (
	DefaultEvents = 2_000_000
	DefaultWindow = time.Minute
	DefaultTopN   = 10
)

// PVUVConfig configures PVUV. Zero values take the documented defaults.
type PVUVConfig struct {
	// Events is the number of access-log lines generated. Default
	// DefaultEvents (2,000,000).
	Events int64
	// Window is the size of the tumbling windows. Default 1m.
	Window time.Duration
	// TopN is the number of top pages per window. Default 10.
	TopN int
	// Runs is how many times each program runs; the best throughput of
	// each counts. Default 1.
	Runs int
	// Dir is the directory of the temporary input file. Default
	// os.TempDir().
	Dir string
	// Keep keeps the input file; by default it is removed at the end.
	Keep bool
	// CheckpointInterval, if set, adds a run of weir p1 that takes a
	// checkpoint at this interval into a temporary directory, to measure
	// what checkpoints cost. Default 0: no such run.
	CheckpointInterval time.Duration
	// Generating, if set, is called while the input is written, about a
	// hundred times, with the lines written so far and Events.
	Generating func(written, total int64)
	// Spawn, if set, starts a process that calls PVUVChild with args and
	// exits: each run then also runs the baseline, weir p1 and weir p2 in
	// processes of their own, to measure their peak resident memory
	// (TargetMemory). weir bench pvuv starts itself again; nil skips the
	// measurement.
	Spawn func(ctx context.Context, args []string) *exec.Cmd
	// Observe says what the weir runs observe: ObserveOn (the default:
	// what a job does out of the box, with its metrics scraped and
	// sampled every second as Prometheus and the job UI's history do),
	// ObserveOff (weir.Observe(false), nobody scrapes), or ObserveCompare:
	// weir p1 runs both ways in each run, and the report gives the ratio
	// of their medians against TargetObserve.
	Observe string
}

// Values of PVUVConfig.Observe.
const (
	ObserveOn      = "on"
	ObserveOff     = "off"
	ObserveCompare = "compare"
)

func (c PVUVConfig) withDefaults() PVUVConfig {
	if c.Events == 0 {
		c.Events = DefaultEvents
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.TopN == 0 {
		c.TopN = DefaultTopN
	}
	if c.Runs == 0 {
		c.Runs = 1
	}
	return c
}

// Validate reports every problem with c, each naming the field.
func (c PVUVConfig) Validate() error {
	var errs []error
	if c.Events < 0 {
		errs = append(errs, fmt.Errorf("bench: Events is %d; pass a positive number of lines, or 0 for %d", c.Events, DefaultEvents))
	}
	if c.Window < 0 || c.Window%time.Second != 0 {
		errs = append(errs, fmt.Errorf("bench: Window is %v; pass a whole number of seconds, or 0 for %v", c.Window, DefaultWindow))
	}
	if c.TopN < 0 {
		errs = append(errs, fmt.Errorf("bench: TopN is %d; pass a positive number, or 0 for %d", c.TopN, DefaultTopN))
	}
	if c.Runs < 0 {
		errs = append(errs, fmt.Errorf("bench: Runs is %d; pass a positive number, or 0 for 1", c.Runs))
	}
	switch c.Observe {
	case "", ObserveOn, ObserveOff, ObserveCompare:
	default:
		errs = append(errs, fmt.Errorf("bench: Observe is %q; pass on, off or compare", c.Observe))
	}
	return errors.Join(errs...)
}

// PVUVRun is the best of the runs of one program.
type PVUVRun struct {
	Name         string        // "baseline", "weir p1", "weir p2"
	Parallelism  int           // 0 for the baseline
	Lines        int64         // input lines read
	Wall         time.Duration // wall time of the best run
	EventsPerSec float64       // Lines / Wall
	// Cores is the CPU time of the best run (user and system, the whole
	// process) over its wall time: how many cores it kept busy.
	Cores float64
	// Each is the throughput of every run, in order, and EachCPU the CPU
	// time per line of every run (the whole process's): on a machine
	// shared with other work, the share of the cores a run gets moves its
	// throughput far more than the work it does, which CPU time measures.
	Each, EachCPU []float64
	// EachRSS is the peak resident set size in bytes of every run of the
	// program in a process of its own (PVUVConfig.Spawn), as a user runs
	// it: one of several runs in one process would also hold the heap and
	// the pages that earlier runs left. Empty without Spawn.
	//
	// Every program runs in the same binary, weir's, whose mapped pages
	// are tens of MiB of each peak (how many depends on the page cache as
	// much as on the program); EachOwn is the peak without them (on Linux):
	// the heap, stacks and runtime of the program itself, which a
	// hand-written program built alone would hold next to its own, small,
	// binary.
	EachRSS, EachOwn []float64
}

// MedianRSS returns the median of the runs' peak resident set sizes in
// bytes, 0 where they were not measured.
func (r *PVUVRun) MedianRSS() int64 { return int64(median(r.EachRSS)) }

// MedianOwn returns the median of the runs' peaks without the binary's
// pages, in bytes.
func (r *PVUVRun) MedianOwn() int64 { return int64(median(r.EachOwn)) }

// MedianCPU returns the median of the runs' CPU time per line.
func (r *PVUVRun) MedianCPU() time.Duration { return time.Duration(median(r.EachCPU)) }

// Median returns the median of the runs' throughputs.
func (r *PVUVRun) Median() float64 { return median(r.Each) }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// PVUVReport is the outcome of PVUV.
type PVUVReport struct {
	Config    PVUVConfig // effective
	File      string     // the input file; removed unless Config.Keep
	FileBytes int64
	Baseline  PVUVRun
	P1, P2    PVUVRun
	// Source is weir's source alone at parallelism 1, as the job reads
	// (the file source, lines parsed where they are read), into a sink
	// that drops the hits: the CPU weir spends before its job's first
	// step, which bounds what target 1 leaves for the job's steps.
	Source PVUVRun
	// P1Checkpointed is weir p1 with checkpoints every
	// Config.CheckpointInterval (when set); CheckpointRatio its throughput
	// over P1's, and CheckpointMet whether it reaches TargetCheckpoint.
	P1Checkpointed  PVUVRun
	CheckpointRatio float64
	CheckpointMet   bool
	Checkpoints     int // checkpoints completed in the best checkpointed run
	// Windows and PageViews are the baseline's totals.
	Windows   int
	PageViews int64
	// Match says whether every weir run produced exactly the baseline's
	// windows; Mismatches describes the first differences otherwise.
	Match      bool
	Mismatches []string
	// P1Ratio is P1's throughput over the baseline's, P2Ratio P2's over
	// P1's; P1Met and P2Met say whether they reach TargetP1 and TargetP2.
	P1Ratio, P2Ratio float64
	P1Met, P2Met     bool
	// P1Unobserved is weir p1 with its observation off, with
	// Config.Observe compare; ObserveRatio is P1's median throughput over
	// its median, and ObserveMet whether it reaches TargetObserve.
	P1Unobserved PVUVRun
	ObserveRatio float64
	ObserveMet   bool
	// ObserveCPURatio is P1Unobserved's median CPU time per line over
	// P1's: the share of the work left when observation is off.
	ObserveCPURatio float64
	// The efficiency targets, from medians: CPURatio is the baseline's CPU
	// time per line over weir p1's (TargetCPU), P2WallRatio weir p2's wall
	// time over the baseline's (TargetP2Wall), MemoryRatio weir p1's peak
	// resident set size over the baseline's, each without the pages of
	// the binary they share (PVUVRun.EachOwn; TargetMemory; 0 where peaks
	// were not measured).
	CPURatio, P2WallRatio, MemoryRatio float64
	CPUMet, P2WallMet, MemoryMet       bool
}

// PVUV generates Config.Events access-log lines into a temporary file with
// the default datagen configuration, then, one after another in this
// process, runs the baseline over it (one goroutine), and the PV/UV job
// reading it with the file source at parallelism 1 and 2. It checks that
// both weir runs produce exactly the baseline's windows, and writes its
// progress, the check and a table of the figures to w.
//
// The generated input is out of order by at most 5 s, the job's default
// out-of-orderness, so no line is late and the streaming results must
// equal the batch baseline's exactly.
//
// PVUV returns an error when the configuration is invalid, a run fails or
// ctx ends; results that differ are reported in the report, not as an error.
func PVUV(ctx context.Context, cfg PVUVConfig, w io.Writer) (PVUVReport, error) {
	if err := cfg.Validate(); err != nil {
		return PVUVReport{}, err
	}
	cfg = cfg.withDefaults()
	rep := PVUVReport{Config: cfg}

	f, err := os.CreateTemp(cfg.Dir, "weir-bench-pvuv-*.log")
	if err != nil {
		return rep, fmt.Errorf("bench: create the input file: %w", err)
	}
	rep.File = f.Name()
	if !cfg.Keep {
		defer os.Remove(rep.File)
	}
	fmt.Fprintf(w, "weir bench pvuv: %s events, window %v, top %d, GOMAXPROCS %d\n",
		count(cfg.Events), cfg.Window, cfg.TopN, rt.GOMAXPROCS(0))
	start := time.Now()
	err = generate(ctx, f, cfg)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("bench: write the input file: %w", cerr)
	}
	if err != nil {
		return rep, err
	}
	if fi, err := os.Stat(rep.File); err == nil {
		rep.FileBytes = fi.Size()
	}
	fmt.Fprintf(w, "input: %s (%.1f MB), generated in %v\n", rep.File, float64(rep.FileBytes)/1e6, time.Since(start).Round(time.Millisecond))

	rep.Baseline = PVUVRun{Name: "baseline"}
	rep.P1 = PVUVRun{Name: "weir p1", Parallelism: 1}
	rep.P2 = PVUVRun{Name: "weir p2", Parallelism: 2}
	rep.P1Checkpointed = PVUVRun{Name: "weir p1+ckpt", Parallelism: 1}
	rep.P1Unobserved = PVUVRun{Name: "weir p1 -obs", Parallelism: 1}
	rep.Source = PVUVRun{Name: "weir source", Parallelism: 1}
	var want []baseline.Window
	for i := range cfg.Runs {
		fmt.Fprintf(w, "run %d/%d:", i+1, cfg.Runs)
		cpu0 := CPUTime()
		res, d, err := runBaseline(ctx, rep.File, cfg)
		if err != nil {
			fmt.Fprintln(w)
			return rep, err
		}
		want, rep.Windows, rep.PageViews = res.Windows, len(res.Windows), 0
		for _, win := range res.Windows {
			rep.PageViews += win.PV
		}
		rep.Baseline.best(res.Lines, d, CPUTime()-cpu0)
		fmt.Fprintf(w, " baseline %v", d.Round(time.Millisecond))
		cpu0 = CPUTime()
		lines, d, err := runSource(ctx, rep.File, cfg.Observe != ObserveOff)
		if err != nil {
			fmt.Fprintln(w)
			return rep, err
		}
		rep.Source.best(lines, d, CPUTime()-cpu0)
		fmt.Fprintf(w, ", weir source %v", d.Round(time.Millisecond))
		runs := []*PVUVRun{&rep.P1, &rep.P2}
		if cfg.CheckpointInterval > 0 {
			runs = append(runs, &rep.P1Checkpointed)
		}
		if cfg.Observe == ObserveCompare {
			// Turn about, so that neither always runs on a warmer machine.
			if i%2 == 0 {
				runs = append([]*PVUVRun{&rep.P1Unobserved}, runs...)
			} else {
				runs = append(runs, &rep.P1Unobserved)
			}
		}
		for _, r := range runs {
			observe := cfg.Observe != ObserveOff && r != &rep.P1Unobserved
			opts := []weir.EnvOption{weir.Observe(observe)}
			var dir string
			if r == &rep.P1Checkpointed {
				if dir, err = os.MkdirTemp(cfg.Dir, "weir-bench-checkpoints-"); err != nil {
					return rep, fmt.Errorf("bench: %w", err)
				}
				opts = append(opts, weir.Checkpoints(cfg.CheckpointInterval, dir))
			}
			cpu0 := CPUTime()
			got, lines, d, ckpts, err := runWeir(ctx, rep.File, cfg, r.Parallelism, observe, opts...)
			cpu := CPUTime() - cpu0
			if dir != "" {
				os.RemoveAll(dir)
			}
			if err != nil {
				fmt.Fprintln(w)
				return rep, err
			}
			if r == &rep.P1Checkpointed && (r.Wall == 0 || d < r.Wall) {
				rep.Checkpoints = ckpts
			}
			r.best(lines, d, cpu)
			fmt.Fprintf(w, ", %s %v", r.Name, d.Round(time.Millisecond))
			if len(rep.Mismatches) == 0 {
				rep.Mismatches = diff(r.Name, got, want)
			}
		}
		if cfg.Spawn != nil {
			for _, r := range []struct {
				run     *PVUVRun
				program string
			}{{&rep.Baseline, childBaseline}, {&rep.P1, childP1}, {&rep.P2, childP2}} {
				peak, file, err := peakInChild(ctx, cfg.Spawn, cfg, r.program, rep.File)
				if err != nil {
					fmt.Fprintln(w)
					return rep, err
				}
				r.run.EachRSS = append(r.run.EachRSS, float64(peak))
				r.run.EachOwn = append(r.run.EachOwn, float64(max(peak-file, 0)))
			}
			fmt.Fprintf(w, ", each alone at its peak %s, %s, %s", mib(int64(rep.Baseline.EachRSS[i])), mib(int64(rep.P1.EachRSS[i])), mib(int64(rep.P2.EachRSS[i])))
		}
		fmt.Fprintln(w)
	}
	rep.Match = len(rep.Mismatches) == 0
	if rep.Baseline.EventsPerSec > 0 {
		rep.P1Ratio = rep.P1.EventsPerSec / rep.Baseline.EventsPerSec
	}
	if rep.P1.EventsPerSec > 0 {
		rep.P2Ratio = rep.P2.EventsPerSec / rep.P1.EventsPerSec
	}
	rep.P1Met, rep.P2Met = rep.P1Ratio >= TargetP1, rep.P2Ratio >= TargetP2
	if rep.P1.EventsPerSec > 0 && rep.P1Checkpointed.EventsPerSec > 0 {
		rep.CheckpointRatio = rep.P1Checkpointed.EventsPerSec / rep.P1.EventsPerSec
		rep.CheckpointMet = rep.CheckpointRatio >= TargetCheckpoint
	}
	if m := rep.P1Unobserved.Median(); m > 0 {
		rep.ObserveRatio = rep.P1.Median() / m
		rep.ObserveMet = rep.ObserveRatio >= TargetObserve
		if c := rep.P1.MedianCPU(); c > 0 {
			rep.ObserveCPURatio = float64(rep.P1Unobserved.MedianCPU()) / float64(c)
		}
	}
	rep.efficiency()
	rep.print(w)
	return rep, nil
}

// efficiency computes the efficiency targets' ratios from the runs'
// medians.
func (rep *PVUVReport) efficiency() {
	if c := rep.P1.MedianCPU(); c > 0 {
		rep.CPURatio = float64(rep.Baseline.MedianCPU()) / float64(c)
	}
	if p2 := rep.P2.Median(); p2 > 0 {
		// The same lines, so the throughputs' inverse ratio is the walls'.
		rep.P2WallRatio = rep.Baseline.Median() / p2
	}
	if b := rep.Baseline.MedianOwn(); b > 0 {
		rep.MemoryRatio = float64(rep.P1.MedianOwn()) / float64(b)
	}
	rep.CPUMet = rep.CPURatio >= TargetCPU
	rep.P2WallMet = rep.P2WallRatio > 0 && rep.P2WallRatio <= TargetP2Wall
	rep.MemoryMet = rep.MemoryRatio > 0 && rep.MemoryRatio <= TargetMemory
}

func (r *PVUVRun) best(lines int64, d, cpu time.Duration) {
	r.Each = append(r.Each, float64(lines)/d.Seconds())
	r.EachCPU = append(r.EachCPU, float64(cpu)/float64(max(lines, 1)))
	if r.Wall == 0 || d < r.Wall {
		r.Lines, r.Wall = lines, d
		r.EventsPerSec = float64(lines) / d.Seconds()
		r.Cores = cpu.Seconds() / d.Seconds()
	}
}

// CPUTime returns the CPU time this process used so far, user and system.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (rep *PVUVReport) print(w io.Writer) {
	fmt.Fprintln(w)
	if rep.Match {
		fmt.Fprintf(w, "results: PASS: weir p1 and p2 produced exactly the baseline's windows (%d, with %s page views)\n", rep.Windows, count(rep.PageViews))
	} else {
		fmt.Fprintln(w, "results: FAIL: weir's windows differ from the baseline's:")
		for _, m := range rep.Mismatches {
			fmt.Fprintln(w, "  "+m)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-13s %12s %6s %12s %7s   %-20s %s\n", "run", "events/s", "cores", "vs baseline", "p2/p1", "target", "met")
	fmt.Fprintf(w, "%-13s %12s %6.2f %12.2f\n", rep.Baseline.Name, count(int64(rep.Baseline.EventsPerSec)), rep.Baseline.Cores, 1.0)
	fmt.Fprintf(w, "%-13s %12s %6.2f %12.2f %7s   %-20s %s\n", rep.P1.Name, count(int64(rep.P1.EventsPerSec)), rep.P1.Cores, rep.P1Ratio, "",
		fmt.Sprintf(">= %.2f x baseline", TargetP1), yesNo(rep.P1Met))
	fmt.Fprintf(w, "%-13s %12s %6.2f %12.2f %7.2f   %-20s %s\n", rep.P2.Name, count(int64(rep.P2.EventsPerSec)), rep.P2.Cores, rep.P2.EventsPerSec/max(rep.Baseline.EventsPerSec, 1e-9), rep.P2Ratio,
		fmt.Sprintf(">= %.2f x p1", TargetP2), yesNo(rep.P2Met))
	// CPU time is what a shared machine moves least: the share of the
	// cores a run gets changes its wall time, not the work it does.
	if b := rep.Baseline.MedianCPU(); b > 0 {
		fmt.Fprintf(w, "(CPU time per line, medians of %d runs: baseline %v, weir p1 %v, weir p2 %v; baseline over weir p1 %.2f, over weir p2 %.2f)\n",
			len(rep.Baseline.EachCPU), b, rep.P1.MedianCPU(), rep.P2.MedianCPU(),
			float64(b)/float64(max(rep.P1.MedianCPU(), 1)), float64(b)/float64(max(rep.P2.MedianCPU(), 1)))
	}
	rep.printEfficiency(w)
	if rep.P1Checkpointed.EventsPerSec > 0 {
		fmt.Fprintf(w, "%-13s %12s %6.2f %12.2f %7s   %-20s %s\n", rep.P1Checkpointed.Name, count(int64(rep.P1Checkpointed.EventsPerSec)), rep.P1Checkpointed.Cores,
			rep.P1Checkpointed.EventsPerSec/max(rep.Baseline.EventsPerSec, 1e-9), "",
			fmt.Sprintf(">= %.2f x p1", TargetCheckpoint), yesNo(rep.CheckpointMet))
		fmt.Fprintf(w, "(%s: a checkpoint every %v, %d completed, %.2f of p1's throughput)\n",
			rep.P1Checkpointed.Name, rep.Config.CheckpointInterval, rep.Checkpoints, rep.CheckpointRatio)
	}
	if u := &rep.P1Unobserved; u.EventsPerSec > 0 {
		fmt.Fprintf(w, "%-13s %12s %6.2f %12.2f %7s   %-20s %s\n", u.Name, count(int64(u.EventsPerSec)), u.Cores,
			u.EventsPerSec/max(rep.Baseline.EventsPerSec, 1e-9), "", "", "")
		fmt.Fprintf(w, "(observation: medians of %d runs, weir p1 %s/s observed, %s/s with weir.Observe(false): %.3f, target >= %.2f: %s)\n",
			len(u.Each), count(int64(rep.P1.Median())), count(int64(u.Median())), rep.ObserveRatio, TargetObserve, yesNo(rep.ObserveMet))
		fmt.Fprintf(w, "(CPU time per line, medians: weir p1 %v observed, %v with weir.Observe(false): %.3f)\n",
			rep.P1.MedianCPU(), u.MedianCPU(), rep.ObserveCPURatio)
	}
	if rep.Config.Keep {
		fmt.Fprintf(w, "\nthe input is kept in %s\n", rep.File)
	}
}

// printEfficiency writes the efficiency targets: CPU time and memory are
// what a shared machine moves least, wall time on two cores what a user
// sees.
func (rep *PVUVReport) printEfficiency(w io.Writer) {
	fmt.Fprintf(w, "\nefficiency, medians of %d runs:\n", len(rep.Baseline.Each))
	fmt.Fprintf(w, "  %-46s %6.2f   target >= %.2f   %s\n", "CPU per line, baseline over weir p1", rep.CPURatio, TargetCPU, yesNo(rep.CPUMet))
	if b, src, p1 := rep.Baseline.MedianCPU(), rep.Source.MedianCPU(), rep.P1.MedianCPU(); b > 0 && src > 0 {
		// What target 1 allows weir p1, less what its source alone takes,
		// is what it leaves the job's steps.
		allowed := time.Duration(float64(b) / TargetCPU)
		fmt.Fprintf(w, "  (weir's source alone, read and parse at p1: %v per line, %.2f of the baseline's whole program;\n", src, float64(src)/float64(b))
		fmt.Fprintf(w, "  target 1 allows weir p1 %v per line: %v for the steps after its source, which take %v)\n", allowed, allowed-src, p1-src)
	}
	fmt.Fprintf(w, "  %-46s %6.2f   target <= %.2f   %s\n", "wall time, weir p2 over baseline (1 goroutine)", rep.P2WallRatio, TargetP2Wall, yesNo(rep.P2WallMet))
	if rep.MemoryRatio == 0 {
		fmt.Fprintf(w, "  %-46s %6s   target <= %.2f   (not measured)\n", "peak RSS, weir p1 over baseline", "-", TargetMemory)
		return
	}
	fmt.Fprintf(w, "  %-46s %6.2f   target <= %.2f   %s\n", "peak RSS, weir p1 over baseline", rep.MemoryRatio, TargetMemory, yesNo(rep.MemoryMet))
	fmt.Fprintf(w, "  (peak RSS, each program in a process of its own: baseline %s, weir p1 %s, weir p2 %s;\n",
		mib(rep.Baseline.MedianRSS()), mib(rep.P1.MedianRSS()), mib(rep.P2.MedianRSS()))
	fmt.Fprintf(w, "  without the pages of weir's binary, which they all run in: %s, %s, %s)\n",
		mib(rep.Baseline.MedianOwn()), mib(rep.P1.MedianOwn()), mib(rep.P2.MedianOwn()))
}

// mib formats n bytes in MiB.
func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

// generate writes cfg.Events lines of the default generator to f.
func generate(ctx context.Context, f *os.File, cfg PVUVConfig) error {
	if err := GenerateLines(ctx, f, cfg.Events, cfg.Generating); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// GenerateLines writes n lines of the default (seeded) access-log
// generator to w, the input every benchmark of the PV/UV job reads;
// progress, when set, is told how many are written, every 1%.
func GenerateLines(ctx context.Context, w io.Writer, n int64, progress func(done, total int64)) error {
	g, err := datagen.New()
	if err != nil {
		return err
	}
	chunk := max(n/100, 1)
	for done := int64(0); done < n; {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := min(chunk, n-done)
		if err := g.WriteLines(w, int(k)); err != nil {
			return err
		}
		done += k
		if progress != nil {
			progress(done, n)
		}
	}
	return nil
}

func runBaseline(ctx context.Context, path string, cfg PVUVConfig) (baseline.Result, time.Duration, error) {
	rt.GC()
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return baseline.Result{}, 0, fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	res, err := baseline.Run(ctxReader{ctx, f}, cfg.Window, cfg.TopN)
	d := time.Since(start)
	if err != nil {
		return res, d, fmt.Errorf("bench: baseline: %w", err)
	}
	return res, d, nil
}

// ctxReader stops a read loop when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// runWeir runs the PV/UV job over path at the given parallelism and returns
// its windows and the lines it read.
func runWeir(ctx context.Context, path string, cfg PVUVConfig, parallelism int, observe bool, opts ...weir.EnvOption) ([]pvuv.Result, int64, time.Duration, int, error) {
	rt.GC()
	start := time.Now()
	env := weir.NewEnv(append([]weir.EnvOption{weir.Parallelism(parallelism)}, opts...)...)
	if observe {
		defer watch(ctx, env)()
	}
	counters := &pvuv.Counters{}
	hits, err := hitsOf(env, path, counters)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	job, err := pvuv.BuildHits(hits, counters, pvuv.Options{Window: cfg.Window, TopN: cfg.TopN})
	if err != nil {
		return nil, 0, 0, 0, fmt.Errorf("bench: %w", err)
	}
	results := weirtest.NewCollector[pvuv.Result]()
	weir.SinkTo(job.Results, results, weir.Name("results"), weir.Parallelism(1))
	var bad atomic.Int64
	weir.SinkTo(job.Bad, sink.Func[pvuv.BadLine](func(context.Context, pvuv.BadLine) error {
		bad.Add(1)
		return nil
	}), weir.Name("discard-bad"))
	if err := env.Execute(ctx, "bench-pvuv"); err != nil {
		return nil, 0, 0, 0, fmt.Errorf("bench: weir p%d: %w", parallelism, err)
	}
	d := time.Since(start)
	completed := 0
	for _, c := range env.CheckpointStats() {
		if c.Status == "completed" {
			completed++
		}
	}
	return results.Records(), job.Counters.Lines.Load(), d, completed, nil
}

// hitsOf adds the source of the file at path to env, as weir pvuv reads
// files: it parses each line where it reads it, keeps only what the job
// needs of it, and counts in counters.
func hitsOf(env *weir.Env, path string, counters *pvuv.Counters) (weir.Stream[pvuv.Hit], error) {
	lines, err := file.NewSource(path)
	if err != nil {
		return weir.Stream[pvuv.Hit]{}, fmt.Errorf("bench: %w", err)
	}
	src, err := file.DecodedPerReader(lines, counters.NewDecoder)
	if err != nil {
		return weir.Stream[pvuv.Hit]{}, fmt.Errorf("bench: %w", err)
	}
	return weir.FromSource(env, src, weir.Name("file")), nil
}

// runSource runs weir's source alone at parallelism 1 over the file at
// path, as runWeir reads it, into a sink that drops the hits; it returns
// the lines read and the wall time.
func runSource(ctx context.Context, path string, observe bool) (int64, time.Duration, error) {
	rt.GC()
	start := time.Now()
	env := weir.NewEnv(weir.Parallelism(1), weir.Observe(observe))
	counters := &pvuv.Counters{}
	hits, err := hitsOf(env, path, counters)
	if err != nil {
		return 0, 0, err
	}
	weir.SinkTo(hits, sink.Func[pvuv.Hit](func(context.Context, pvuv.Hit) error { return nil }), weir.Name("drop"))
	// Bad lines count as lines, as in the job; they go nowhere here.
	weir.SinkTo(weir.SourceDeadLetters(hits), sink.Func[source.DeadLetter](func(context.Context, source.DeadLetter) error {
		counters.Lines.Add(1)
		return nil
	}), weir.Name("drop-bad"))
	if err := env.Execute(ctx, "bench-pvuv-source"); err != nil {
		return 0, 0, fmt.Errorf("bench: weir source: %w", err)
	}
	return counters.Lines.Load(), time.Since(start), nil
}

// diff describes the first differences between weir's windows and the
// baseline's, at most five; none when they are equal.
func diff(name string, got []pvuv.Result, want []baseline.Window) []string {
	var out []string
	add := func(format string, args ...any) bool {
		out = append(out, name+": "+fmt.Sprintf(format, args...))
		return len(out) < 5
	}
	if len(got) != len(want) {
		add("%d windows, the baseline has %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		at := w.Start.UTC().Format(time.RFC3339)
		switch {
		case !g.WindowStart.Equal(w.Start) || !g.WindowEnd.Equal(w.End):
			if !add("window %d is [%s, %s), the baseline's is [%s, %s)", i, g.WindowStart.UTC().Format(time.RFC3339), g.WindowEnd.UTC().Format(time.RFC3339), at, w.End.UTC().Format(time.RFC3339)) {
				return out
			}
		case g.PV != w.PV || g.UV != w.UV:
			if !add("window %s: pv %d uv %d, the baseline's pv %d uv %d", at, g.PV, g.UV, w.PV, w.UV) {
				return out
			}
		case !slices.EqualFunc(g.TopPages, w.TopPages, func(a pvuv.PageCount, b baseline.PageCount) bool { return a.Page == b.Page && a.PV == b.PV }):
			if !add("window %s: top pages %v, the baseline's %v", at, g.TopPages, w.TopPages) {
				return out
			}
		}
	}
	return out
}

// count formats n with commas between thousands.
func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// watch does to env what is done to a job that people watch, until the
// function it returns is called: every second it scrapes the job's
// Prometheus series and reads its metrics, as the job UI's history
// sampler does.
func watch(ctx context.Context, env *weir.Env) (stop func()) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(env, "bench-pvuv"))
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				reg.Gather()
				env.Metrics()
			}
		}
	}()
	return func() { cancel(); <-done }
}
