// Package redistest runs a real redis-server for tests.
//
// Start launches the redis-server found on PATH on a free loopback port,
// with no persistence (--save "" --appendonly no) and a temporary working
// directory, waits until it answers PING, and stops it when the test ends.
// A test can crash the server (Stop), shut it down cleanly with its data
// saved (Shutdown), and start it again on the same port (Restart), to see
// what a client does while Redis is away.
//
// Tests never fake Redis: a missing redis-server fails the test with the
// command that installs it, so a CI machine without it fails loudly
// instead of skipping the Redis tests.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/weirstream/weir/internal/freeport"
)

// NotInstalled is the message of the failure when redis-server is not on
// PATH.
const NotInstalled = "redis-server is not installed: run scripts/test-deps.sh (Debian: apt-get install redis-server)"

// readyTimeout bounds how long Start and Restart wait for the server to
// answer PING. It is a safety net for a broken machine, not a measure of
// speed: a healthy server answers in milliseconds.
const readyTimeout = 30 * time.Second

// startAttempts is how many free ports Start tries: another process may
// take the port between the probe and the server's bind.
const startAttempts = 5

// logTail bounds how much of the server's log is kept for failure messages.
const logTail = 4 << 10

// dumpFile is the name of the snapshot Shutdown saves and Restart loads.
const dumpFile = "dump.rdb"

// Server is a redis-server process owned by one test. Its methods must be
// called from the test's goroutine, as they fail the test on error.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	proc *process // nil while stopped
}

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, set before done is closed
	log  *tail
}

// Start starts a redis-server for t on a free loopback port and stops it
// when t ends. It fails t if redis-server is not installed or does not
// start.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal(NotInstalled)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.Stop)
	var last error
	for range startAttempts {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: find a free loopback port: %v", err)
		}
		s.port = port
		if last = s.start(); last == nil {
			return s
		}
	}
	t.Fatalf("redistest: %v", last)
	return nil
}

// Addr is the server's address, 127.0.0.1:PORT. It stays the same across
// Restart.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the server's URL for database 0, redis://127.0.0.1:PORT/0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Running reports whether the server process is running.
func (s *Server) Running() bool {
	if s.proc == nil {
		return false
	}
	select {
	case <-s.proc.done:
		return false
	default:
		return true
	}
}

// Stop kills the server (SIGKILL, as a crash would) and waits for it to
// exit. Its data is lost: the next Restart starts empty. Stop does nothing
// if the server is not running.
func (s *Server) Stop() {
	s.t.Helper()
	if s.proc == nil {
		return
	}
	p := s.proc
	s.proc = nil
	_ = p.cmd.Process.Kill() // fails only if the process has already exited
	<-p.done
	if err := os.Remove(filepath.Join(s.dir, dumpFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.t.Errorf("redistest: remove the old snapshot: %v", err)
	}
}

// Shutdown stops the server cleanly, as an operator restarting Redis
// would: it saves the data to its directory (SHUTDOWN SAVE), closes the
// clients' connections and exits. The next Restart loads the data back.
func (s *Server) Shutdown() {
	s.t.Helper()
	if s.proc == nil {
		s.t.Fatal("redistest: Shutdown: the server is not running")
	}
	p := s.proc
	// The server closes the connection as it exits, so the reply is
	// an EOF on success; an error reply means it refused to stop.
	if reply, err := command(s.Addr(), "SHUTDOWN", "SAVE"); err == nil && strings.HasPrefix(reply, "-") {
		s.t.Fatalf("redistest: SHUTDOWN SAVE: %s", reply)
	}
	select {
	case <-p.done:
	case <-time.After(readyTimeout):
		s.t.Fatalf("redistest: the server did not exit after SHUTDOWN SAVE; its log:\n%s", p.log)
	}
	s.proc = nil
	if _, err := os.Stat(filepath.Join(s.dir, dumpFile)); err != nil {
		s.t.Fatalf("redistest: SHUTDOWN SAVE left no snapshot: %v; the server's log:\n%s", err, p.log)
	}
}

// Restart starts the server again on the same port, stopping it first (as
// Stop does) if it runs. It starts empty after Stop, and with the saved
// data after Shutdown. It returns once the server answers PING.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}

// Client returns a client of the server for a test's own reads and
// writes; it is closed when t ends. It follows the server across Restart,
// reconnecting on the next command.
func (s *Server) Client(t testing.TB) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:       []string{s.Addr()},
		DisableCache:      true,
		DisableRetry:      true, // fail at once while the server is stopped
		ForceSingleClient: true,
	})
	if err != nil {
		t.Fatalf("redistest: connect to %s: %v", s.Addr(), err)
	}
	t.Cleanup(c.Close)
	return c
}

// start runs redis-server on s.port and waits until it answers PING.
func (s *Server) start() error {
	cmd := exec.Command(s.bin,
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(s.port),
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--dbfilename", dumpFile,
		"--daemonize", "no",
		"--loglevel", "warning",
		"--logfile", "",
	)
	log := &tail{max: logTail}
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{}), log: log}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := waitReady(s.Addr(), p); err != nil {
		_ = cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("redis-server on port %d: %w; its log:\n%s", s.port, err, log)
	}
	s.proc = p
	return nil
}

// waitReady polls addr with PING until the server answers PONG, exits, or
// readyTimeout passes. A server that is loading its data answers LOADING,
// and is waited for.
func waitReady(addr string, p *process) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		reply, err := command(addr, "PING")
		if err == nil && reply == "+PONG" {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("it exited before answering PING (%v)", p.err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("it answered %q", reply)
			}
			return fmt.Errorf("no answer to PING in %v: %w", readyTimeout, err)
		}
	}
}

// command sends one command in the inline protocol and returns the first
// line of the reply.
func command(addr string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return "", err
	}
	if _, err := fmt.Fprintf(conn, "%s\r\n", strings.Join(args, " ")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// freePort returns a loopback port that was free a moment ago and that no
// listener on port 0 can take before redis-server binds it
// (freeport.Loopback).
func freePort() (int, error) {
	addr, err := freeport.Loopback()
	if err != nil {
		return 0, err
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(port)
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
