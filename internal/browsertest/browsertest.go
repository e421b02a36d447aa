// Package browsertest checks a weir web page in headless Chromium, as a
// person would see it: it loads the page, collects console errors,
// uncaught exceptions and requests that leave the page's origin, waits
// until the page's charts have points, samples the page's counters twice
// to see them move, and takes a full-page screenshot.
//
// The page cooperates through a small hook, by default
// window.weirDashboard.state(), which returns
//
//	{"ready": true, "points": {"pv": 42, "uv": 42}, "counters": {"lines": 9000, "running_pv": 120}}
//
// ready says the page has its first data; points counts the points of each
// chart (CheckDashboard waits until every chart has some); counters are the
// numbers the page shows (Report.Moved says which changed between the two
// samples). app/pvuv/dashboard's page defines it.
//
// The browser is Chromium (Debian's package; scripts/test-deps.sh installs
// it), started fresh for each check with its own temporary profile,
// headless, without sandbox (tests run as root), GPU, background
// networking, component updates or sync. It can reach loopback addresses
// only: every other host name resolves to nothing and every other address
// goes to a closed local proxy, so a page that tries to load something from
// the internet fails the check instead of passing on a machine that happens
// to be online. When the check ends, the browser and every process it
// started are gone and the profile is removed.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ErrNoChromium is returned when no Chromium can be found.
var ErrNoChromium = errors.New("browsertest: chromium is not installed: run scripts/test-deps.sh")

// debianChromium is where Debian's chromium package puts its launcher.
const debianChromium = "/usr/bin/chromium"

// FindChromium returns the Chromium to run: path when it is not empty,
// else /usr/bin/chromium, else chromium on PATH. It returns an error that
// wraps ErrNoChromium when there is none.
func FindChromium(path string) (string, error) {
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("browsertest: Options.Chromium %q: %w (%w)", path, err, ErrNoChromium)
		}
		return p, nil
	}
	if st, err := os.Stat(debianChromium); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
		return debianChromium, nil
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", ErrNoChromium
}

// Options configure CheckDashboard. Zero values take the documented
// defaults.
type Options struct {
	// Chromium is the browser to run. Default: see FindChromium.
	Chromium string
	// Hook is the name of the page's global object whose state() method
	// reports the page's state. Default "weirDashboard".
	Hook string
	// Width and Height are the viewport's size in CSS pixels; the
	// screenshot has the whole page's height. Default 1440 by 900.
	Width, Height int
	// Timeout bounds the whole check, the browser's start included.
	// Default 60s.
	Timeout time.Duration
	// Wait bounds the wait for the hook to report points for every chart,
	// from the page's load. Default 30s.
	Wait time.Duration
	// Gap is the time between the two samples of the counters. Default 3s.
	Gap time.Duration
	// Logger gets the browser's own log lines at debug level. Default
	// slog.Default().
	Logger *slog.Logger
}

var identifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

func (o Options) withDefaults() Options {
	if o.Hook == "" {
		o.Hook = "weirDashboard"
	}
	if o.Width == 0 {
		o.Width = 1440
	}
	if o.Height == 0 {
		o.Height = 900
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Wait == 0 {
		o.Wait = 30 * time.Second
	}
	if o.Gap == 0 {
		o.Gap = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Validate reports every problem with the options, each naming the option.
func (o Options) Validate() error {
	var p []string
	if o.Hook != "" && !identifier.MatchString(o.Hook) {
		p = append(p, fmt.Sprintf("Hook %q must be a JavaScript identifier", o.Hook))
	}
	if o.Width < 0 || o.Height < 0 {
		p = append(p, fmt.Sprintf("Width and Height (%d, %d) must not be negative", o.Width, o.Height))
	}
	if o.Timeout < 0 || o.Wait < 0 || o.Gap < 0 {
		p = append(p, fmt.Sprintf("Timeout %v, Wait %v and Gap %v must not be negative", o.Timeout, o.Wait, o.Gap))
	}
	if len(p) > 0 {
		return fmt.Errorf("browsertest: %s", strings.Join(p, "; "))
	}
	return nil
}

// State is what the page's hook reports.
type State struct {
	// Ready is true once the page has its first data.
	Ready bool `json:"ready"`
	// Points is the number of points of each chart, by name.
	Points map[string]int `json:"points"`
	// Counters are the numbers the page shows, by name.
	Counters map[string]float64 `json:"counters"`
	// Labels are texts the page shows, by name (the job UI's operators
	// and bottleneck); a page may report none.
	Labels map[string]string `json:"labels,omitempty"`
	// Missing is true when the page has no hook (yet).
	Missing bool `json:"missing,omitempty"`
}

// Report is what CheckDashboard saw.
type Report struct {
	// URL is the page checked.
	URL string
	// ConsoleErrors are console.error calls and the browser's own error
	// log entries (a failed request, a blocked resource), in order.
	ConsoleErrors []string
	// Exceptions are the uncaught exceptions and unhandled promise
	// rejections, in order.
	Exceptions []string
	// Requests are the URLs the page requested, in order.
	Requests []string
	// Foreign are the requested URLs outside the page's origin (data: and
	// blob: URLs excepted).
	Foreign []string
	// First and Second are the hook's state when the charts had points,
	// and Options.Gap later.
	First, Second State
	// Screenshot is a PNG of the whole page, taken after Second.
	Screenshot []byte
	// Profile is the browser's temporary profile directory; it is removed
	// when CheckDashboard returns, and no process names it any more.
	Profile string
	// Leftovers counts the browser's processes that were still running
	// after it closed and had to be killed.
	Leftovers int
}

// Moved returns the names of the counters that changed between the two
// samples, sorted.
func (r *Report) Moved() []string {
	var moved []string
	for name, v := range r.Second.Counters {
		if first, ok := r.First.Counters[name]; ok && first != v {
			moved = append(moved, name)
		}
	}
	slices.Sort(moved)
	return moved
}

// Problems returns what a person would call broken: console errors,
// exceptions, requests outside the page's origin, and charts without
// points in the second sample. It is empty for a healthy page.
func (r *Report) Problems() []string {
	var p []string
	for _, e := range r.ConsoleErrors {
		p = append(p, "console error: "+e)
	}
	for _, e := range r.Exceptions {
		p = append(p, "uncaught exception: "+e)
	}
	for _, u := range r.Foreign {
		p = append(p, "request outside the page's origin: "+u)
	}
	for _, name := range slices.Sorted(maps.Keys(r.Second.Points)) {
		if r.Second.Points[name] <= 0 {
			p = append(p, fmt.Sprintf("chart %q has no points", name))
		}
	}
	return p
}

// events collects what the browser reports while the check runs; the
// listener runs on chromedp's loop, so it only appends under the lock.
type events struct {
	mu         sync.Mutex
	origin     string
	console    []string
	exceptions []string
	requests   []string
	foreign    []string
}

func (e *events) listen(ev any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			e.console = append(e.console, argsText(ev.Args))
		}
	case *runtime.EventExceptionThrown:
		e.exceptions = append(e.exceptions, exceptionText(ev.ExceptionDetails))
	case *log.EventEntryAdded:
		if ev.Entry != nil && ev.Entry.Level == log.EntryLevelError {
			text := ev.Entry.Text
			if ev.Entry.URL != "" {
				text += " (" + ev.Entry.URL + ")"
			}
			e.console = append(e.console, text)
		}
	case *network.EventRequestWillBeSent:
		if ev.Request == nil {
			return
		}
		u := ev.Request.URL
		e.requests = append(e.requests, u)
		if foreign(e.origin, u) {
			e.foreign = append(e.foreign, u)
		}
	}
}

// foreign reports whether u leaves the origin of the page.
func foreign(origin, u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return true
	}
	switch p.Scheme {
	case "data", "blob", "about":
		return false
	}
	return p.Scheme+"://"+p.Host != origin
}

func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		parts = append(parts, objectText(a))
	}
	return strings.Join(parts, " ")
}

func objectText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
		return string(o.Value)
	}
	if o.Description != "" {
		return o.Description
	}
	if o.UnserializableValue != "" {
		return string(o.UnserializableValue)
	}
	return string(o.Type)
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "unknown exception"
	}
	text := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		text += " " + d.Exception.Description
	}
	if d.URL != "" {
		text += fmt.Sprintf(" (%s:%d:%d)", d.URL, d.LineNumber+1, d.ColumnNumber+1)
	}
	return text
}

// tail keeps the last bytes the browser wrote, for an error message.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 4 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

// String returns the lines kept, without the D-Bus complaints Chromium
// prints on machines without a desktop bus.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(string(t.buf), "\n")
	if len(t.buf) == tailSize {
		lines = lines[1:] // cut
	}
	lines = slices.DeleteFunc(lines, func(l string) bool {
		return strings.TrimSpace(l) == "" || strings.Contains(l, "dbus/") || strings.Contains(l, "D-Bus")
	})
	return strings.Join(lines, "\n")
}

// CheckDashboard checks the page at pageURL (see the package doc) and
// returns what it saw. It blocks until the check is done: the hook
// reported points for every chart, Options.Gap passed, the screenshot was
// taken, and the browser and its processes are gone.
//
// The error is not nil when the check could not be made: no Chromium (it
// wraps ErrNoChromium), the page did not load, the hook did not report
// points for every chart within Options.Wait (or Options.Timeout, or
// before ctx ended), or the screenshot failed. The report is never nil: on
// error it has what was seen so far, the console errors and exceptions
// most of all. A nil error does not mean the page is healthy: see
// Report.Problems and Report.Moved.
func CheckDashboard(ctx context.Context, pageURL string, opts Options) (*Report, error) {
	rep := &Report{URL: pageURL}
	if err := opts.Validate(); err != nil {
		return rep, err
	}
	opts = opts.withDefaults()
	u, err := url.Parse(pageURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return rep, fmt.Errorf("browsertest: page URL %q must be an absolute http or https URL", pageURL)
	}
	chromium, err := FindChromium(opts.Chromium)
	if err != nil {
		return rep, err
	}
	dir, err := os.MkdirTemp("", "weir-browsertest-")
	if err != nil {
		return rep, fmt.Errorf("browsertest: cannot make the browser's profile directory: %w", err)
	}
	rep.Profile = dir

	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	out := &tail{}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(dir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		// Loopback and the page's host only: no other name resolves, and
		// every other address goes to a closed local port.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1], EXCLUDE "+u.Hostname()),
		chromedp.Flag("proxy-server", "http://127.0.0.1:9"),
		chromedp.Flag("proxy-bypass-list", "<local>;"+u.Hostname()),
		chromedp.WindowSize(opts.Width, opts.Height),
		chromedp.CombinedOutput(out),
	)
	ev := &events{origin: u.Scheme + "://" + u.Host}
	browserLog := func(format string, args ...any) {
		opts.Logger.Debug("browser", "msg", fmt.Sprintf(format, args...))
	}
	tabCtx, cancelTab := chromedp.NewContext(allocCtx,
		chromedp.WithListener(ev.listen),
		chromedp.WithLogf(browserLog),
		chromedp.WithErrorf(browserLog),
	)
	defer func() {
		// Close the browser gracefully, then make sure: the allocator waits
		// for the process, and the profile names every process it started.
		// (Cancel only a started browser: chromedp.Cancel and cancelTab
		// both wait for the allocation, which never ends without one.)
		if c := chromedp.FromContext(tabCtx); c != nil && c.Browser != nil {
			if err := chromedp.Cancel(tabCtx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				opts.Logger.Debug("browsertest: closing the browser", "err", err)
			}
		}
		cancelTab()
		cancelAlloc()
		rep.Leftovers = killLeftovers(dir)
		if err := os.RemoveAll(dir); err != nil {
			opts.Logger.Warn("browsertest: cannot remove the browser's profile", "dir", dir, "err", err)
		}
		ev.mu.Lock()
		rep.ConsoleErrors = slices.Clone(ev.console)
		rep.Exceptions = slices.Clone(ev.exceptions)
		rep.Requests = slices.Clone(ev.requests)
		rep.Foreign = slices.Clone(ev.foreign)
		ev.mu.Unlock()
	}()

	if err := chromedp.Do(tabCtx,
		chromedp.EmulateViewport(int64(opts.Width), int64(opts.Height)),
		chromedp.Navigate(pageURL),
	); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return rep, fmt.Errorf("browsertest: cannot start %s: %w (%w)", chromium, err, ErrNoChromium)
		}
		return rep, fmt.Errorf("browsertest: cannot load %s in %s: %w; the browser said: %s", pageURL, chromium, err, orNothing(out.String()))
	}

	waitCtx, cancelWait := context.WithTimeout(tabCtx, opts.Wait)
	rep.First, err = waitForPoints(waitCtx, opts.Hook, ev)
	cancelWait()
	if err != nil {
		return rep, err
	}
	select {
	case <-tabCtx.Done():
		return rep, fmt.Errorf("browsertest: stopped before the second sample: %w", context.Cause(tabCtx))
	case <-time.After(opts.Gap):
	}
	if rep.Second, err = readState(tabCtx, opts.Hook); err != nil {
		return rep, err
	}
	if rep.Screenshot, err = chromedp.Run(tabCtx, chromedp.FullScreenshot(100)); err != nil {
		return rep, fmt.Errorf("browsertest: cannot take the screenshot: %w", err)
	}
	return rep, nil
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// readState calls the page's hook.
func readState(ctx context.Context, hook string) (State, error) {
	expr := fmt.Sprintf(`(window.%[1]s && typeof window.%[1]s.state === "function") ? window.%[1]s.state() : {ready: false, missing: true}`, hook)
	st, err := chromedp.Run(ctx, chromedp.Evaluate[State](expr))
	if err != nil {
		return st, fmt.Errorf("browsertest: cannot read window.%s.state(): %w", hook, err)
	}
	return st, nil
}

// pollInterval is how often waitForPoints reads the hook.
const pollInterval = 100 * time.Millisecond

// waitForPoints reads the hook until the page is ready and every chart has
// points.
func waitForPoints(ctx context.Context, hook string, ev *events) (State, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last State
	for {
		st, err := readState(ctx, hook)
		if err == nil {
			last = st
			if st.Ready && len(st.Points) > 0 && !slices.ContainsFunc(slices.Collect(maps.Values(st.Points)), func(n int) bool { return n <= 0 }) {
				return st, nil
			}
		} else if ctx.Err() == nil {
			// An evaluation can fail while the page is still loading.
			last = State{Missing: true}
		}
		select {
		case <-ctx.Done():
			ev.mu.Lock()
			seen := fmt.Sprintf("console errors %q, exceptions %q", ev.console, ev.exceptions)
			ev.mu.Unlock()
			what := "never reported points for every chart"
			if last.Missing {
				what = "never defined window." + hook + ".state()"
			}
			b, _ := json.Marshal(last)
			return last, fmt.Errorf("browsertest: the page %s (last state %s; %s): %w", what, b, seen, context.Cause(ctx))
		case <-tick.C:
		}
	}
}
