// Package ship is the log shipper of the PV/UV pipeline (the role Flume's
// taildir source plays): it follows a directory of rotating access logs
// and produces each line to a Kafka topic, exactly once.
//
// # Exactly once
//
// The shipper works in rounds. Each round reads the new complete lines of
// every file (a bounded batch), and in one Kafka transaction produces
// them, one record per line, and a positions record: for each file, its
// identity, its name and the offset after the last line shipped. A reader
// of the topic with isolation level read_committed sees a round's lines
// if and only if it sees the positions that follow them. On start the
// shipper reads its last committed positions record and goes on from
// there, so a shipper stopped at any moment, even killed in the middle of
// a transaction, neither loses nor repeats a line when it starts again.
//
// Invariants:
//
//  1. Positions advance only with the commit of the transaction that holds
//     the lines before them. After any error the shipper starts over from
//     the positions it reads back from Kafka, never from what it holds in
//     memory: the outcome of a failed commit is not known until then.
//  2. Only whole lines are shipped: a last line without '\n' waits for it.
//     The exception is a file that has left the pattern (rotated away or
//     deleted) and has not grown for RotationGrace: its writer has let it
//     go, so its unterminated last line is shipped before it is forgotten.
//  3. Lines of one file are produced in file order; with one partition, or
//     a Key that keeps a file's lines together, they are read in that
//     order.
//
// # Files
//
// The shipper follows its files with internal/tail, as the file source's
// follow mode does. A file is known by its identity (device and inode,
// confirmed by a fingerprint of its first bytes), not by its name: a log
// renamed by logrotate keeps its identity, its remaining lines are
// shipped, and the new file under the old name is a new file, read from
// its start. A file whose size falls below its offset, or whose first
// bytes change, was truncated or replaced: it is read again from its start,
// with a warning that says how many bytes were known to be lost. Files that
// the positions do not list start at offset 0, or at their end with
// StartAtEnd.
//
// Rotation by renaming loses nothing, also while no shipper runs: a file
// of the positions renamed out of the pattern is found by identity in its
// directory and shipped to its end, and a file rotated out of the pattern
// before any round saw it (two rotations while the shipper was down, or
// between two rounds: access.log.1 after access.log.2) is found by its
// name, which continues the name of a followed file, and by its time,
// later than the round before: it is shipped from its start. A file
// shipped to its end and let go stays known while it lies in its
// directory; should it grow again, its new lines are shipped. Rotation by copytruncate is not
// lossless: the lines written between the last round and the truncation
// are in the copy only, and those written between the copy and the
// truncation are nowhere. The shipper looks for the copy (a file of its
// directory that begins as the truncated file did) and ships the unread
// end from it; without the copy it logs the bytes it knows were lost. Keep
// compressed files out of the pattern, and rotated files in the same
// directory (not logrotate's olddir).
//
// # Positions
//
// The positions topic (by default "<topic>.positions", created with one
// partition and cleanup.policy=compact when missing) holds JSON records
// keyed by the transactional ID, so several shippers, one per host, can
// share it:
//
//	{"v":1,"shipper":"weir-ship-access","time":"2024-05-01T12:00:00Z",
//	 "files":[{"path":"/var/log/nginx/access.log","dev":2049,"ino":1311,
//	           "offset":88213,"head_len":256,"head":"9f86d0…","size":90112}]}
//
// time is when the round listed the pattern: a file no round had seen was
// created after it. head is the SHA-256 of the first head_len bytes of the
// file; it covers every byte before offset, or the first 256 bytes, since a
// round reads a short file no further than its fingerprint. size is how
// long the file was known to be (records of older weirs lack it). A
// shipper resumes a file at offset only if the file is at least offset
// bytes long and its first head_len bytes are unchanged; otherwise
// (truncated, replaced, rewritten in place, or a record whose head does
// not cover offset) it reads the file again from its start, after looking
// for a copy of what it had not shipped. A file shipped to its end and let
// go stays in the records, with "done":true, while it lies in its
// directory.
//
// # Fencing
//
// Kafka lets one producer at a time use a transactional ID. A shipper that
// starts with the ID of a running one fences it: the running one stops
// with an error that wraps [ErrFenced].
package ship

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/internal/tail"
)

// Defaults of the Config fields.
const (
	DefaultInterval         = 200 * time.Millisecond
	DefaultMaxBatchLines    = 10_000
	DefaultMaxBatchBytes    = 4 << 20
	DefaultMaxLineBytes     = 512 << 10
	DefaultRotationGrace    = 5 * time.Second
	DefaultProgressInterval = 5 * time.Second
	DefaultStopTimeout      = 10 * time.Second
)

// ErrFenced is wrapped by the error Run returns when another producer
// started with the same transactional ID: another shipper took over.
var ErrFenced = errors.New("ship: fenced by another producer with the same transactional ID")

// Config says what to ship where. Pattern, Topic and Client.Brokers are
// required; every other field has a default.
type Config struct {
	// Client says how to reach Kafka: brokers, client ID, TLS and SASL.
	Client kafka.Client
	// Pattern is the path of the logs, or a glob in the syntax of
	// path/filepath.Match, such as "/var/log/nginx/access*.log". Match the
	// live files; rotated files that leave the pattern are read to their
	// end and then forgotten, also when they left it while no shipper ran
	// (see the package doc). Keep compressed files out of it.
	Pattern string
	// Topic receives one record per line: the line without its '\n' (and
	// without a '\r' before it) as the value.
	Topic string
	// PositionsTopic receives the positions records. The default is Topic
	// + ".positions". It is created with one partition and
	// cleanup.policy=compact if it does not exist.
	PositionsTopic string
	// TransactionalID is the Kafka transactional ID of the producer, and
	// the key of this shipper's positions records. Shippers on different
	// hosts need different IDs; a shipper that restarts must keep its ID
	// to resume. The default is "weir-ship-" + Topic.
	TransactionalID string
	// Interval is how long a round waits after one that found nothing more
	// to ship: it bounds the latency of a line. The default is
	// DefaultInterval (200 ms).
	Interval time.Duration
	// MaxBatchLines bounds the lines of one transaction. The default is
	// DefaultMaxBatchLines (10000).
	MaxBatchLines int
	// MaxBatchBytes bounds the bytes of the lines of one transaction, and
	// is the size of the buffer that holds them; the files are read with
	// another buffer of MaxLineBytes plus 1 MiB. It must be at least
	// MaxLineBytes+1. The default is DefaultMaxBatchBytes (4 MiB).
	MaxBatchBytes int
	// MaxLineBytes is the longest line shipped, without its '\n'. A longer
	// line is skipped as it streams by (the shipper never holds more of it
	// than its buffer), with a warning, and counted in Stats.SkippedLines.
	// Keep it below the broker's message.max.bytes. The default is
	// DefaultMaxLineBytes (512 KiB).
	MaxLineBytes int
	// Key returns the key of a line's record. It may return a part of
	// line, but must not keep either after it returns: their memory is
	// reused once the round's records are sent. Lines with the same key go
	// to the same partition, in order. The default, nil, produces records
	// without a key, which the producer spreads over the partitions in
	// sticky batches.
	Key func(line []byte) []byte
	// StartAtEnd makes the files found when the shipper starts that the
	// positions do not list begin at their end (after their last '\n'):
	// a first start does not ship the backlog. Files that appear later
	// always begin at their start. By default every file the positions do
	// not list begins at its start.
	StartAtEnd bool
	// RotationGrace is how long a file that left the pattern is kept after
	// it last grew, because its writer may still append until it reopens
	// its log. The default is DefaultRotationGrace (5 s).
	RotationGrace time.Duration
	// ProgressInterval is how often Run logs its progress (lines shipped,
	// files, lag); negative turns the log off. The default is
	// DefaultProgressInterval (5 s).
	ProgressInterval time.Duration
	// StopTimeout is how long Run, once its context is done, may take to
	// commit the round in progress and a last one. The default is
	// DefaultStopTimeout (10 s).
	StopTimeout time.Duration
	// Logger receives the shipper's logs; the default is slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every unset field set to its default.
func (c Config) withDefaults() Config {
	if c.PositionsTopic == "" && c.Topic != "" {
		c.PositionsTopic = c.Topic + ".positions"
	}
	if c.TransactionalID == "" && c.Topic != "" {
		c.TransactionalID = "weir-ship-" + c.Topic
	}
	c.Interval = cmp.Or(c.Interval, DefaultInterval)
	c.MaxBatchLines = cmp.Or(c.MaxBatchLines, DefaultMaxBatchLines)
	c.MaxBatchBytes = cmp.Or(c.MaxBatchBytes, DefaultMaxBatchBytes)
	c.MaxLineBytes = cmp.Or(c.MaxLineBytes, DefaultMaxLineBytes)
	c.RotationGrace = cmp.Or(c.RotationGrace, DefaultRotationGrace)
	c.ProgressInterval = cmp.Or(c.ProgressInterval, DefaultProgressInterval)
	c.StopTimeout = cmp.Or(c.StopTimeout, DefaultStopTimeout)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// validate reports every problem of an effective Config.
func (c Config) validate() error {
	var errs []error
	if len(c.Client.Brokers) == 0 {
		errs = append(errs, errors.New("ship: Client.Brokers is empty; set at least one host:port"))
	}
	for _, b := range c.Client.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fmt.Errorf("ship: Client.Brokers: %q is not host:port: %w", b, err))
		}
	}
	if c.Pattern == "" {
		errs = append(errs, errors.New(`ship: Pattern is empty; set the path or glob of the logs, such as "/var/log/nginx/access*.log"`))
	} else if _, err := filepath.Match(c.Pattern, ""); err != nil {
		errs = append(errs, fmt.Errorf("ship: Pattern %q is not a valid glob (see path/filepath.Match); fix or escape it: %w", c.Pattern, err))
	}
	if c.Topic == "" {
		errs = append(errs, errors.New("ship: Topic is empty; set the topic the lines go to"))
	}
	if c.PositionsTopic != "" && c.PositionsTopic == c.Topic {
		errs = append(errs, fmt.Errorf("ship: PositionsTopic is Topic (%q); the positions need a topic of their own, such as %q", c.Topic, c.Topic+".positions"))
	}
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("ship: Interval is %v; pass a positive duration, such as 200ms", c.Interval))
	}
	if c.MaxBatchLines < 0 {
		errs = append(errs, fmt.Errorf("ship: MaxBatchLines is %d; pass a positive number, such as 10000", c.MaxBatchLines))
	}
	if c.MaxLineBytes < 0 {
		errs = append(errs, fmt.Errorf("ship: MaxLineBytes is %d; pass a positive number of bytes, such as 512<<10", c.MaxLineBytes))
	}
	if c.MaxBatchBytes <= c.MaxLineBytes {
		errs = append(errs, fmt.Errorf("ship: MaxBatchBytes (%d) must be more than MaxLineBytes (%d), so that the longest line fits in a batch; raise it, or lower MaxLineBytes", c.MaxBatchBytes, c.MaxLineBytes))
	}
	if c.RotationGrace < 0 {
		errs = append(errs, fmt.Errorf("ship: RotationGrace is %v; pass zero or a positive duration", c.RotationGrace))
	}
	if c.StopTimeout < 0 {
		errs = append(errs, fmt.Errorf("ship: StopTimeout is %v; pass a positive duration, such as 10s", c.StopTimeout))
	}
	if !tail.Supported {
		errs = append(errs, errors.New("ship: following rotating files needs file identities (device and inode), which this platform does not provide"))
	}
	return errors.Join(errs...)
}

// Stats is the shipper's progress since New. Lines, bytes and files count
// what was committed.
type Stats struct {
	// Lines is the number of lines committed to the topic.
	Lines int64
	// Bytes is the size of those lines.
	Bytes int64
	// Transactions is the number of transactions committed.
	Transactions int64
	// Files is the number of files followed now.
	Files int
	// LagBytes is how many bytes of the followed files were not committed
	// at the last look: the backlog.
	LagBytes int64
	// SkippedLines counts the lines longer than MaxLineBytes.
	SkippedLines int64
	// Truncations counts the files found truncated or replaced, and read
	// again from their start.
	Truncations int64
	// Restarts counts the times Run started over from the committed
	// positions after an error.
	Restarts int64
	// LastCommit is when the last transaction committed; zero before.
	LastCommit time.Time
}

// Shipper ships lines; create it with New and start it with Run.
type Shipper struct {
	cfg Config
	log *slog.Logger

	lines, bytes, txns, skipped, truncations, restarts atomic.Int64
	files                                              atomic.Int64
	lag                                                atomic.Int64
	lastCommit                                         atomic.Int64 // Unix nanoseconds
	running                                            atomic.Bool

	// crash, set by tests, is asked at points inside a round; when it says
	// true the round stops there as if the process died: no commit, no
	// abort.
	crash func(point string) bool
}

// New validates cfg and returns a shipper. All problems are reported
// together, each naming its field.
func New(cfg Config) (*Shipper, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Shipper{cfg: cfg, log: cfg.Logger.With("shipper", cfg.TransactionalID)}, nil
}

// Run ships with cfg until ctx is done; see [Shipper.Run].
func Run(ctx context.Context, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// Config returns the effective configuration, defaults applied.
func (s *Shipper) Config() Config { return s.cfg }

// Stats returns the progress so far. It is safe to call at any time, from
// any goroutine.
func (s *Shipper) Stats() Stats {
	st := Stats{
		Lines:        s.lines.Load(),
		Bytes:        s.bytes.Load(),
		Transactions: s.txns.Load(),
		Files:        int(s.files.Load()),
		LagBytes:     s.lag.Load(),
		SkippedLines: s.skipped.Load(),
		Truncations:  s.truncations.Load(),
		Restarts:     s.restarts.Load(),
	}
	if ns := s.lastCommit.Load(); ns != 0 {
		st.LastCommit = time.Unix(0, ns)
	}
	return st
}

// Run ships until ctx is done. It reads the last committed positions,
// then ships a round every Interval (at once while a batch was full).
// When ctx is done it finishes the round in progress and ships a last
// one, within StopTimeout, and returns nil.
//
// After an error that may pass (a broker away, a transaction that did not
// commit) Run starts over from the positions committed in Kafka, after a
// backoff, and counts a restart; when ctx is done by then, it starts over
// once more for the last round only. It returns an error that wraps
// [ErrFenced] when another shipper took its transactional ID, and any
// error that starting over cannot cure. A Shipper runs once at a time.
func (s *Shipper) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("ship: Run is already running; a Shipper runs once at a time")
	}
	defer s.running.Store(false)
	backoff := s.cfg.Interval
	stopping := false
	for {
		err := s.attempt(ctx, stopping)
		switch {
		case err == nil:
			return nil
		case !retriable(err), stopping:
			return err
		}
		s.restarts.Add(1)
		if ctx.Err() != nil {
			s.log.Warn("ship: stopping: the last round failed; starting over from the committed positions for a last round", "err", err)
			stopping = true
			continue
		}
		s.log.Warn("ship: starting over from the committed positions", "err", err, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			stopping = true
		case <-t.C:
		}
		t.Stop()
		backoff = min(2*backoff, 30*time.Second)
	}
}
