package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/term"

	"github.com/weirstream/weir/sql/parser"
)

// The shell's prompts: the first line of a statement, and the next ones.
const (
	promptFirst = "weir> "
	promptMore  = "    > "
)

// shellIO is the terminal the shell runs on: the process's, or in tests
// a pipe.
type shellIO struct {
	in  io.Reader
	out io.Writer
	// raw puts the terminal in raw mode while a line is read and returns
	// the function that restores it.
	raw func() (restore func(), err error)
	// size returns the terminal's width and height; 0, 0 when unknown.
	size func() (width, height int)
	// history is the history file, "" for none.
	history string
	// live is whether out is a terminal, where an updating query's rows
	// are redrawn in place.
	live bool
}

// processTerminal is the shell's IO on the process's stdin and stdout.
func processTerminal() shellIO {
	inFd, outFd := int(os.Stdin.Fd()), int(os.Stdout.Fd())
	return shellIO{
		in: os.Stdin, out: os.Stdout,
		raw: func() (func(), error) {
			old, err := term.MakeRaw(inFd)
			if err != nil {
				return nil, err
			}
			return func() { term.Restore(inFd, old) }, nil
		},
		size: func() (int, int) {
			w, h, err := term.GetSize(outFd)
			if err != nil {
				return 0, 0
			}
			return w, h
		},
		history: historyPath(),
		live:    term.IsTerminal(outFd),
	}
}

// shell runs the interactive shell on tio until quit;, exit;, Ctrl-D or
// SIGTERM, then waits for the jobs INSERT INTO started (Ctrl-C cancels
// them) and returns the exit status.
//
// The terminal is in raw mode only while a line is read (x/term's line
// editor and history); while a statement runs it is cooked again, so that
// Ctrl-C is a SIGINT, which cancels the running query and not the shell.
func (c *sqlClient) shell(ctx context.Context, tio shellIO) int {
	in := &interruptReader{r: tio.in}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, tio.out}, promptFirst)
	hist := loadHistory(tio.history, historyMax)
	hist.warn = func(err error) { fmt.Fprintf(t, "weir sql: warning: the history is not saved: %v\n", err) }
	t.History = hist
	c.size = tio.size
	c.live = tio.live
	c.stdout = tio.out
	// Notes about background jobs come while a line may be edited: the
	// line editor writes them above the prompt.
	c.setInfo(t)

	// Signals: main's context ends at the first SIGINT; the shell lives on
	// and takes SIGINT and SIGTERM itself from here.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	jobCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	var (
		mu         sync.Mutex
		cancelStmt context.CancelFunc // the running statement's, or nil
		terminated atomic.Bool
	)
	var sigWG sync.WaitGroup
	sigDone := make(chan struct{})
	defer func() { close(sigDone); sigWG.Wait() }()
	sigWG.Go(func() {
		for {
			select {
			case <-sigDone:
				return
			case s := <-sigs:
				mu.Lock()
				cancel := cancelStmt
				mu.Unlock()
				if s == syscall.SIGTERM {
					terminated.Store(true)
					stopJobs()
				}
				if cancel != nil {
					cancel()
				}
			}
		}
	})

	fmt.Fprintln(tio.out, "weir sql: statements end with ';'; quit; exits. Ctrl-C cancels a running query.")
	var stmt strings.Builder
	for !terminated.Load() {
		if w, h := c.size(); w > 0 {
			t.SetSize(w, h)
		}
		if stmt.Len() == 0 {
			t.SetPrompt(promptFirst)
		} else {
			t.SetPrompt(promptMore)
		}
		line, err := readLineRaw(tio.raw, t)
		if in.interrupted.Swap(false) {
			stmt.Reset() // Ctrl-C drops the statement being typed
			continue
		}
		if errors.Is(err, io.EOF) {
			fmt.Fprintln(tio.out)
			break
		}
		if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
			fmt.Fprintf(c.stderr, "weir sql: reading the terminal: %v\n", err)
			break
		}
		stmt.WriteString(line)
		stmt.WriteByte('\n')
		text := stmt.String()
		if strings.TrimSpace(text) == "" {
			stmt.Reset()
			continue
		}
		if !parser.Complete(text) {
			if isQuit(text) {
				break
			}
			continue
		}
		stmt.Reset()
		if isQuit(text) {
			break
		}
		pieces, err := parser.Split(text)
		if err != nil {
			fmt.Fprintf(c.stdout, "[ERROR] %v\n", err)
			continue
		}
		for _, pc := range pieces {
			if isQuit(pc.Text) {
				terminated.Store(true)
				break
			}
			sctx, cancel := context.WithCancel(jobCtx)
			mu.Lock()
			cancelStmt = cancel
			mu.Unlock()
			err := c.execute(jobCtx, sctx, pc.Text)
			mu.Lock()
			cancelStmt = nil
			mu.Unlock()
			cancel()
			if err != nil {
				fmt.Fprintf(c.stdout, "[ERROR] %v\n", err)
				break
			}
		}
	}
	c.setInfo(nil)
	c.mu.Lock()
	n := len(c.mu.jobs)
	c.mu.Unlock()
	if n > 0 {
		fmt.Fprintf(c.stderr, "weir sql: waiting for %s to finish; Ctrl-C cancels them\n", pluralJobs(n))
		mu.Lock()
		cancelStmt = stopJobs
		mu.Unlock()
	}
	return c.finish(jobCtx, true)
}

func pluralJobs(n int) string {
	if n == 1 {
		return "1 running job"
	}
	return fmt.Sprintf("%d running jobs", n)
}

// isQuit reports whether text is the shell's quit; or exit; (the ';' may
// be missing).
func isQuit(text string) bool {
	s := strings.ToLower(strings.TrimSpace(text))
	s = strings.TrimSpace(strings.TrimSuffix(s, ";"))
	return s == "quit" || s == "exit"
}

// readLineRaw reads a line with the terminal in raw mode, and restores
// its mode after.
func readLineRaw(raw func() (func(), error), t *term.Terminal) (string, error) {
	restore, err := raw()
	if err != nil {
		return "", fmt.Errorf("raw mode: %w", err)
	}
	defer restore()
	return t.ReadLine()
}

// interruptReader turns a Ctrl-C typed at the prompt (a byte 3 in raw
// mode, which x/term's line editor reads as the end of input) into "erase
// the line, then Enter", and records it: the shell then drops the
// statement being typed instead of ending. Each Read returns at most one
// line (up to a '\r' or '\n', or a Ctrl-C), so that the line editor, which
// reads only when it needs more of the current line, reads a Ctrl-C while
// that line is the one edited: the record belongs to it, also when lines
// are pasted.
type interruptReader struct {
	r           io.Reader
	buf         [256]byte
	pending     []byte
	interrupted atomic.Bool
}

// eraseAndEnter is Ctrl-U, which erases the line in x/term's editor, and
// '\r', which ends it.
var eraseAndEnter = []byte{21, '\r'}

func (ir *interruptReader) Read(p []byte) (int, error) {
	if len(ir.pending) == 0 {
		n, err := ir.r.Read(ir.buf[:])
		if n == 0 {
			return 0, err
		}
		ir.pending = ir.buf[:n]
	}
	end := len(ir.pending)
	if i := bytes.IndexAny(ir.pending, "\r\n\x03"); i >= 0 {
		end = i + 1
	}
	chunk := ir.pending[:end]
	if chunk[len(chunk)-1] == 3 {
		if len(p) < len(chunk)+1 {
			// Too small for the line and its erase and Enter: the line
			// first.
			n := copy(p, chunk[:len(chunk)-1])
			ir.pending = ir.pending[n:]
			return n, nil
		}
		ir.interrupted.Store(true)
		n := copy(p, chunk[:len(chunk)-1])
		n += copy(p[n:], eraseAndEnter)
		ir.pending = ir.pending[end:]
		return n, nil
	}
	n := copy(p, chunk)
	ir.pending = ir.pending[n:]
	return n, nil
}

// historyPath is the shell's history file, ~/.weir_sql_history; "" when
// there is no home directory (the history then lives in memory).
func historyPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".weir_sql_history")
}

// sqlHistory is the shell's history of lines for x/term's editor: at most
// max lines, oldest first, rewritten to its file after each line so that
// a shell that is killed keeps it. Empty lines and a line equal to the
// one before are not kept.
type sqlHistory struct {
	path  string
	max   int
	lines []string
	warn  func(error) // told when the file cannot be written, once
	err   bool
}

// loadHistory reads the last max lines of the file at path, if any.
func loadHistory(path string, max int) *sqlHistory {
	h := &sqlHistory{path: path, max: max}
	if path == "" {
		return h
	}
	if b, err := os.ReadFile(path); err == nil {
		for l := range strings.SplitSeq(string(b), "\n") {
			if l != "" {
				h.lines = append(h.lines, l)
			}
		}
		if len(h.lines) > max {
			h.lines = h.lines[len(h.lines)-max:]
		}
	}
	return h
}

// Add implements term.History.
func (h *sqlHistory) Add(line string) {
	if strings.TrimSpace(line) == "" || len(h.lines) > 0 && h.lines[len(h.lines)-1] == line {
		return
	}
	h.lines = append(h.lines, line)
	if len(h.lines) > h.max {
		h.lines = append(h.lines[:0], h.lines[len(h.lines)-h.max:]...)
	}
	if err := h.save(); err != nil && !h.err {
		h.err = true
		if h.warn != nil {
			h.warn(err)
		}
	}
}

// Len implements term.History.
func (h *sqlHistory) Len() int { return len(h.lines) }

// At implements term.History: 0 is the newest line.
func (h *sqlHistory) At(i int) string { return h.lines[len(h.lines)-1-i] }

// save writes the history to a temporary file renamed over the file, with
// mode 0600: a line may hold a secret typed into a WITH clause.
func (h *sqlHistory) save() error {
	if h.path == "" {
		return nil
	}
	tmp := h.path + ".tmp"
	data := strings.Join(h.lines, "\n") + "\n"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, h.path)
}
