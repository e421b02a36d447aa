// Command weir runs weir's stream-processing jobs from the command line.
//
//	weir pvuv        run the PV/UV job over files, generated lines or Kafka
//	weir demo        the whole pipeline in one process, with a dashboard
//	weir kafka       an in-process Kafka-protocol broker on a loopback port
//	weir ship        follow rotating access logs into Kafka, exactly once
//	weir consume     print the committed records of a Kafka topic
//	weir dashboard   serve the PV/UV dashboard over a job's results in Redis
//	weir nexmark     write the Nexmark benchmark's events as JSON lines
//	weir sql         run SQL: a shell, a script (-f) or statements (-e)
//	weir bench       measure weir against hand-written baselines
//	weir checkpoint  inspect and verify checkpoints and savepoints
//	weir savepoint   take a savepoint of a running job
//	weir stop        take a savepoint of a running job and stop it
//	weir help        show the commands, or one command's flags
//
// Every command validates all its flags before it starts and reports every
// problem at once. Exit status: 0 on success (a job stopped with Ctrl-C
// included), 1 when a job or benchmark fails, 2 on a usage error.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	if err := setLogLevel(os.Getenv("WEIR_LOG_LEVEL")); err != nil {
		fmt.Fprintln(os.Stderr, "weir:", err)
		os.Exit(exitUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills the process the usual
		// way, in case stopping hangs.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// setLogLevel sets the level of the default logger, which the engine and
// the connectors log to, from WEIR_LOG_LEVEL (debug, info, warn or error;
// info when empty).
func setLogLevel(name string) error {
	if name == "" {
		return nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(name)); err != nil {
		return fmt.Errorf("WEIR_LOG_LEVEL=%q: want debug, info, warn or error", name)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	return nil
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"pvuv", "run the PV/UV job: page views and unique visitors per window", runPVUV},
		{"demo", "generate access-log lines live and show PV/UV per window", runDemo},
		{"kafka", "run an in-process Kafka-protocol broker on a loopback port", runKafka},
		{"ship", "follow rotating access logs and produce their lines to Kafka, exactly once", runShip},
		{"consume", "print the committed records of a Kafka topic (weir consume --topic kafka://HOST:PORT/TOPIC)", runConsume},
		{"dashboard", "serve the PV/UV dashboard over a job's results in Redis", runDashboard},
		{"nexmark", "generate the Nexmark benchmark's events and run its queries (weir nexmark run --query q5)", runNexmark},
		{"sql", "run SQL statements: a shell, a script (-f) or a statement (-e)", runSQL},
		{"bench", "measure weir against a hand-written program (weir bench pvuv)", runBench},
		{"checkpoint", "inspect a checkpoint or savepoint (weir checkpoint inspect PATH)", runCheckpoint},
		{"savepoint", "take a savepoint of a running job (weir savepoint --job URL)", runSavepoint(false)},
		{"stop", "take a savepoint of a running job and stop it (weir stop --job URL)", runSavepoint(true)},
		{"help", "show the commands, or the flags of one: weir help pvuv", nil},
	}
}

// run runs the command line args (without the program name) and returns
// the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			usage(stdout)
			return exitOK
		}
		if len(rest) == 1 {
			for _, c := range commands() {
				if c.name == rest[0] && c.run != nil {
					return c.run(ctx, []string{"-h"}, stdout, stdout)
				}
			}
		}
		fmt.Fprintf(stderr, "weir help: unknown command %q; run 'weir help' for the list of commands\n", strings.Join(rest, " "))
		return exitUsage
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return c.run(ctx, rest, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "weir: unknown command %q; run 'weir help' for the list of commands\n", name)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `weir runs stream-processing jobs: event-time windows, keyed state and
backpressure in one binary.

Usage: weir <command> [flags]

Commands:
`)
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'weir <command> -h' for the flags of a command and their defaults.
WEIR_LOG_LEVEL=debug|info|warn|error sets how much weir logs (info).
Exit status: 0 on success, 1 when a job fails, 2 on a usage error.
`)
}
