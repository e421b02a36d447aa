package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// flagSet wraps flag.FlagSet so that a bad value does not stop parsing: it
// is recorded as a problem, the next flags are still parsed, and the
// command reports every problem at once.
type flagSet struct {
	fs       *flag.FlagSet
	cmd      string // "weir pvuv"
	synopsis string // "weir pvuv --source URL [flags]"
	about    string // shown above the flags
	footer   string // shown below the flags
	problems []string
	order    []string          // flag names in the order defined, for the help
	kinds    map[string]string // flag name to the word for its value in the help
}

func newFlagSet(cmd, synopsis, about, footer string) *flagSet {
	f := &flagSet{fs: flag.NewFlagSet(cmd, flag.ContinueOnError), cmd: cmd, synopsis: synopsis, about: about, footer: footer, kinds: map[string]string{}}
	f.fs.SetOutput(io.Discard)
	return f
}

// problem records a problem with a flag; name is the flag without dashes.
func (f *flagSet) problem(name, format string, args ...any) {
	f.problems = append(f.problems, dashes(name)+name+": "+fmt.Sprintf(format, args...))
}

// parse parses args. It returns false when the command must stop at
// once, with the exit status: after -h (0), or when the flag package had
// to stop at an unknown flag or one without its value (2; the problems
// found so far are printed). Bad values and stray arguments are recorded
// as problems, which check reports with those the command finds next.
func (f *flagSet) parse(args []string, stdout, stderr io.Writer) (int, bool) {
	err := f.fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		f.usage(stdout)
		return exitOK, false
	}
	if err != nil {
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
			msg = "--" + strings.TrimLeft(name, "-") + ": no such flag"
		} else if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
			msg = "--" + strings.TrimLeft(name, "-") + ": needs a value, as in --" + strings.TrimLeft(name, "-") + " VALUE"
		}
		f.problems = append(f.problems, msg)
		return f.check(stderr)
	}
	if f.fs.NArg() > 0 {
		f.problems = append(f.problems, fmt.Sprintf("unexpected argument %q; flags start with --, as in --source file:///var/log/access.log", f.fs.Arg(0)))
	}
	return exitOK, true
}

// check prints the problems recorded so far, if any, and returns exit
// status 2 and false; with none it returns 0 and true.
func (f *flagSet) check(stderr io.Writer) (int, bool) {
	if len(f.problems) == 0 {
		return exitOK, true
	}
	if len(f.problems) == 1 {
		fmt.Fprintf(stderr, "%s: %s\n", f.cmd, f.problems[0])
	} else {
		fmt.Fprintf(stderr, "%s: %d problems with the flags:\n", f.cmd, len(f.problems))
		for _, p := range f.problems {
			fmt.Fprintf(stderr, "  %s\n", p)
		}
	}
	fmt.Fprintf(stderr, "Run '%s -h' for the flags and their defaults.\n", f.cmd)
	return exitUsage, false
}

// usage prints the synopsis, the description and every flag with its
// default.
func (f *flagSet) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n", f.synopsis)
	if f.about != "" {
		fmt.Fprintln(w, strings.TrimSpace(f.about))
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Flags:")
	names := slices.Clone(f.order)
	f.fs.VisitAll(func(fl *flag.Flag) { // defined on fs itself: show them too
		if !slices.Contains(names, fl.Name) {
			names = append(names, fl.Name)
		}
	})
	for _, name := range names {
		fl := f.fs.Lookup(name)
		kind, text := f.kinds[name], fl.Usage
		line := "  " + dashes(fl.Name) + fl.Name
		if kind != "" {
			line += " " + kind
		}
		fmt.Fprintln(w, line)
		text = strings.ReplaceAll(text, "\n", "\n        ")
		if fl.DefValue != "" {
			text += " (default " + fl.DefValue + ")"
		}
		fmt.Fprintf(w, "        %s\n", text)
	}
	if f.footer != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, strings.TrimSpace(f.footer))
	}
}

// dashes is how a flag is written: -f for a one-letter flag (weir sql's
// -f, -i and -e, as Flink's client writes them), --name for the others.
func dashes(name string) string {
	if len(name) == 1 {
		return "-"
	}
	return "--"
}

// The value types below never fail Set: they record the problem and keep
// the default, so that parsing goes on to the next flag.

type durationValue struct {
	f    *flagSet
	name string
	p    *time.Duration
}

func (v *durationValue) String() string {
	if v.p == nil {
		return ""
	}
	return formatDuration(*v.p)
}

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		v.f.problem(v.name, "%q is not a duration; write it like 10s, 1m or 1h30m", s)
		return nil
	}
	*v.p = d
	return nil
}

// formatDuration writes 1m rather than Go's 1m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// define adds a flag whose value is shown as kind in the help.
func (f *flagSet) define(v flag.Value, name, kind, usage string) {
	f.fs.Var(v, name, usage)
	f.order = append(f.order, name)
	f.kinds[name] = kind
}

func (f *flagSet) duration(name string, def time.Duration, usage string) *time.Duration {
	p := new(time.Duration)
	*p = def
	f.define(&durationValue{f: f, name: name, p: p}, name, "duration", usage)
	return p
}

type intValue struct {
	f    *flagSet
	name string
	p    *int64
}

func (v *intValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatInt(*v.p, 10)
}

func (v *intValue) Set(s string) error {
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	if err != nil {
		v.f.problem(v.name, "%q is not a whole number; write it like 1000 or 2_000_000", s)
		return nil
	}
	*v.p = n
	return nil
}

func (f *flagSet) int64(name string, def int64, usage string) *int64 {
	p := new(int64)
	*p = def
	f.define(&intValue{f: f, name: name, p: p}, name, "n", usage)
	return p
}

type floatValue struct {
	f    *flagSet
	name string
	p    *float64
}

func (v *floatValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func (v *floatValue) Set(s string) error {
	x, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil {
		v.f.problem(v.name, "%q is not a number; write it like 2000 or 0.5", s)
		return nil
	}
	*v.p = x
	return nil
}

func (f *flagSet) float(name string, def float64, usage string) *float64 {
	p := new(float64)
	*p = def
	f.define(&floatValue{f: f, name: name, p: p}, name, "number", usage)
	return p
}

func (f *flagSet) url(name, def, usage string) *string {
	return f.string(name, def, "URL", usage)
}

// string adds a string flag whose value is shown as kind in the help (a
// path, an address).
func (f *flagSet) string(name, def, kind, usage string) *string {
	p := new(string)
	*p = def
	f.define((*stringValue)(p), name, kind, usage)
	return p
}

type stringValue string

func (v *stringValue) String() string {
	if v == nil {
		return ""
	}
	return string(*v)
}

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }

type boolValue struct {
	f    *flagSet
	name string
	p    *bool
}

func (v *boolValue) IsBoolFlag() bool { return true }

func (v *boolValue) String() string {
	if v.p == nil || !*v.p {
		return "" // no "(default false)" in the help
	}
	return "true"
}

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		v.f.problem(v.name, "%q is not true or false; give --%s alone for true", s, v.name)
		return nil
	}
	*v.p = b
	return nil
}

func (f *flagSet) bool(name, usage string) *bool {
	p := new(bool)
	f.define(&boolValue{f: f, name: name, p: p}, name, "", usage)
	return p
}

// progressValue is an interval, "off", or unset (0): the default for
// where stderr goes.
type progressValue struct {
	f   *flagSet
	off bool
	d   time.Duration
}

func (v *progressValue) String() string {
	switch {
	case v == nil:
		return ""
	case v.off:
		return "off"
	case v.d > 0:
		return formatDuration(v.d)
	}
	return "" // the default depends on the terminal; the usage says so
}

func (v *progressValue) Set(s string) error {
	if s == "off" || s == "0" {
		v.off, v.d = true, 0
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		v.f.problem("progress", "%q is not a positive duration or off; write it like 1s or 30s, or off to show no progress", s)
		return nil
	}
	v.off, v.d = false, d
	return nil
}

const progressUsage = "how often to show progress on stderr: a live line on a terminal,\n" +
	"log lines otherwise; off for none (default 1s on a terminal, 10s otherwise)"

func (f *flagSet) progress() *progressValue {
	v := &progressValue{f: f}
	f.define(v, "progress", "interval", progressUsage)
	return v
}

// Common checks of flag values.

func (f *flagSet) checkWindow(name string, d time.Duration) {
	if d < time.Second || d%time.Second != 0 {
		f.problem(name, "%v is not a whole number of seconds of at least 1s (log times have second resolution); write it like 10s or 1m", d)
	}
}

func (f *flagSet) checkNonNegative(name string, d time.Duration) {
	if d < 0 {
		f.problem(name, "%v is negative; write 0 or a positive duration such as 5s", d)
	}
}

func (f *flagSet) checkParallelism(p int64) {
	if p < 1 || p > maxParallelism {
		f.problem("parallelism", "%d is out of range; write 1 to %d (the number of CPU cores is a good start)", p, maxParallelism)
	}
}

func (f *flagSet) checkTop(n int64) {
	if n < 1 || n > 1000 {
		f.problem("top", "%d is out of range; write 1 to 1000 pages", n)
	}
}

// maxParallelism is weir's default maximum parallelism (key groups).
const maxParallelism = 128

// isSet reports whether the flag name was given on the command line.
func (f *flagSet) isSet(name string) bool {
	set := false
	f.fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

// logFlags is --log-format: one format for every line the process logs.
type logFlags struct{ format *string }

func addLogFlags(f *flagSet) logFlags {
	return logFlags{f.string("log-format", "text", "FORMAT", "format of the log lines on stderr: text (key=value) or json (one object\na line); the level comes from WEIR_LOG_LEVEL (debug, info, warn, error)")}
}

func (l logFlags) check(f *flagSet) {
	if *l.format != "text" && *l.format != "json" {
		f.problem("log-format", "%q is not a format: use text or json", *l.format)
	}
}

// logger returns the command's logger: one handler on stderr, in the
// format of --log-format, at the level of WEIR_LOG_LEVEL (info when unset;
// main has checked it), which everything the command runs logs through.
// When stderr is the process's own it becomes slog's default as well, so
// that code given no logger logs in the same format.
func (l logFlags) logger(stderr io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if name := os.Getenv("WEIR_LOG_LEVEL"); name != "" {
		_ = level.UnmarshalText([]byte(name))
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(stderr, opts)
	if *l.format == "json" {
		h = slog.NewJSONHandler(stderr, opts)
	}
	log := slog.New(h)
	if f, ok := stderr.(*os.File); ok && f == os.Stderr {
		slog.SetDefault(log)
	}
	return log
}

// atLeast passes on the records of level min and above only: a command
// that keeps its own output quiet (weir demo) logs warnings and errors
// through the process's handler.
func atLeast(log *slog.Logger, min slog.Level) *slog.Logger {
	return slog.New(levelHandler{log.Handler(), min})
}

type levelHandler struct {
	slog.Handler
	min slog.Level
}

func (h levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return levelHandler{h.Handler.WithAttrs(as), h.min}
}

func (h levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{h.Handler.WithGroup(name), h.min}
}
