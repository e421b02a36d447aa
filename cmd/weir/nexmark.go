package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/internal/progress"
)

// weir nexmark: the Nexmark benchmark's events.

const nexmarkAbout = `Nexmark is the standard streaming benchmark: people register, open
auctions and bid on them. weir nexmark generate writes its events;
weir nexmark run runs one of its queries, q0 to q22, over them.`

const nexmarkGenerateAbout = `Writes Nexmark events as JSON lines, one object per event, with its
"type" (person, auction or bid) and the field names of nexmark/nexmark
(id, name, emailAddress, creditCard, city, state, itemName, description,
initialBid, reserve, expires, seller, category, auction, bidder, price,
channel, url, dateTime, extra). Of every 50 events, 1 is a person, 3 are
auctions and 46 are bids. Event n is at 2026-11-24T07:40:00Z plus n/rate
seconds; the same seed and rate give the same events on any machine.`

// progressMinEvents is the number of events from which generate reports
// its progress on stderr; a variable for the tests.
var progressMinEvents int64 = 1_000_000

func runNexmark(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir nexmark", "weir nexmark generate --events N [flags]\n       weir nexmark run --query qN [flags]", nexmarkAbout, "")
	if len(args) > 0 && args[0] == "generate" {
		return runNexmarkGenerate(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "run" {
		return runNexmarkRun(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		f.usage(stdout)
		fmt.Fprintln(stdout, "\nRun 'weir nexmark generate -h' and 'weir nexmark run -h' for their flags.")
		return exitOK
	}
	fmt.Fprintln(stderr, "weir nexmark: name the action, as in 'weir nexmark generate --events 1000000 --seed 1' or 'weir nexmark run --query q5'")
	return exitUsage
}

func runNexmarkGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir nexmark generate", "weir nexmark generate --events N [--seed S] [--rate R] [--out FILE]", nexmarkGenerateAbout, "")
	events := f.int64("events", -1, "the number of events to write (required)")
	seed := f.int64("seed", nexmark.DefaultSeed, "selects the sequence")
	rate := f.float("rate", nexmark.DefaultEventsPerSecond, "events per second of event time (the inter-event delay is 1/rate seconds)")
	out := f.string("out", "", "FILE", "write to FILE instead of standard output; it appears complete or not at all")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	switch {
	case !f.isSet("events"):
		f.problem("events", "missing; give the number of events, as in --events 1000000")
	case *events < 0 && !slices.ContainsFunc(f.problems, func(p string) bool { return strings.HasPrefix(p, "--events:") }):
		f.problem("events", "%d is negative; write the number of events, as in --events 1000000", *events)
	}
	if r := *rate; !(r > 0) || r > 1e9 {
		f.problem("rate", "%v is out of range; write a positive number of events per second up to 1e9, as in --rate 10000", r)
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}
	g, err := nexmark.New(nexmark.Seed(*seed), nexmark.EventsPerSecond(*rate))
	if err != nil {
		for _, e := range splitErrors(err) {
			f.problem("rate", "%v", e)
		}
		code, _ := f.check(stderr)
		return code
	}

	w, commit, abort := stdout, func() error { return nil }, func() {}
	if *out != "" {
		file, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*.tmp")
		if err != nil {
			fmt.Fprintf(stderr, "weir nexmark generate: --out %s: %v; check that its directory exists and is writable\n", *out, err)
			return exitFail
		}
		w = file
		commit = func() error {
			// CreateTemp makes the file private; the output is for reading.
			if err := file.Chmod(0o644); err != nil {
				return err
			}
			if err := file.Sync(); err != nil {
				return err
			}
			if err := file.Close(); err != nil {
				return err
			}
			return os.Rename(file.Name(), *out)
		}
		abort = func() {
			file.Close()
			os.Remove(file.Name())
		}
	}
	report := func(int64) {}
	if *events >= progressMinEvents {
		report = generateProgress(stderr, *events)
	}
	start := time.Now()
	if err := writeEvents(ctx, g, *events, w, report); err != nil {
		abort()
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			fmt.Fprintln(stderr, "weir nexmark generate: stopped before the end; nothing was kept of --out")
			return exitFail
		}
		fmt.Fprintf(stderr, "weir nexmark generate: %v\n", err)
		return exitFail
	}
	if err := commit(); err != nil {
		abort()
		fmt.Fprintf(stderr, "weir nexmark generate: --out %s: %v\n", *out, err)
		return exitFail
	}
	if *events >= progressMinEvents {
		fmt.Fprintf(stderr, "weir nexmark generate: %s in %v\n", progress.Plural(*events, "event"), time.Since(start).Round(time.Millisecond))
	}
	return exitOK
}

// writeEvents writes events 0 to total-1 of g to w as JSON lines, calling
// report with the number written now and then, and stopping when ctx ends.
func writeEvents(ctx context.Context, g *nexmark.Generator, total int64, w io.Writer, report func(done int64)) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var line []byte
	const every = 1 << 12
	for n := range total {
		if n%every == 0 && n > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			report(n)
		}
		line = append(g.Event(n).AppendJSON(line[:0]), '\n')
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	report(total)
	return nil
}

// generateProgress returns a progress report for stderr: one line redrawn
// on a terminal, a line every 25% otherwise.
func generateProgress(stderr io.Writer, total int64) func(done int64) {
	if sf, ok := stderr.(*os.File); ok && progress.IsTerminal(sf) {
		return func(done int64) {
			fmt.Fprintf(stderr, "\rgenerating: %3d%% (%s of %s events)\x1b[K", done*100/total, progress.Count(done), progress.Count(total))
			if done == total {
				fmt.Fprint(stderr, "\r\x1b[K")
			}
		}
	}
	var next int64 = 25
	start := time.Now()
	return func(done int64) {
		if pct := done * 100 / total; pct >= next && done < total {
			fmt.Fprintf(stderr, "generating: %d%% (%s events, %v)\n", pct, progress.Count(done), time.Since(start).Round(time.Millisecond))
			next = pct/25*25 + 25
		}
	}
}
