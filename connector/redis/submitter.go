package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/rueidis"

	"github.com/weirstream/weir/sink/async"
)

// submitter sends batches of entries to Redis, one pipelined round trip
// per batch. It implements async.Submitter[Entry].
type submitter struct {
	client   rueidis.Client
	endpoint Endpoint
}

var _ async.Submitter[Entry] = (*submitter)(nil)

// outcome is what became of one entry of a batch.
type outcome int

const (
	written outcome = iota
	retry           // a transient failure: sending it again may succeed
	fatal           // Redis refused it: sending it again cannot help
)

// Submit sends the batch in one DoMulti: each entry's commands, wrapped in
// MULTI/EXEC when there are several. It returns the indexes of the entries
// that failed for a transient reason; a Retryable error when all did; and
// a fatal error, naming the command and key, when Redis refused one.
//
// Only failed entries are reported: what Redis acknowledged is never sent
// again, so a layout that is not idempotent still writes each record once
// unless a request fails after Redis ran it.
func (s *submitter) Submit(ctx context.Context, batch []Entry) ([]int, error) {
	n := 0
	for _, e := range batch {
		n += e.span()
	}
	if n == 0 {
		return nil, nil
	}
	b := s.client.B()
	cmds := make([]rueidis.Completed, 0, n)
	for _, e := range batch {
		cmds = e.build(b, cmds)
	}
	results := s.client.DoMulti(ctx, cmds...)
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		// The job is stopping; its error says why.
		return nil, fmt.Errorf("redis: write to %s: %w", s.endpoint, context.Cause(ctx))
	}
	var retries []int
	var firstRetry error
	at := 0
	for i, e := range batch {
		res := results[at : at+e.span()]
		at += e.span()
		out, err := s.check(e, res)
		switch out {
		case fatal:
			return nil, err
		case retry:
			retries = append(retries, i)
			if firstRetry == nil {
				firstRetry = err
			}
		}
	}
	if len(retries) == len(batch) {
		return nil, async.Retryable(fmt.Errorf("redis: write %d records to %s: %w", len(batch), s.endpoint, firstRetry))
	}
	return retries, nil
}

// check tells what became of entry e from its results: those of its
// commands, or of MULTI, its commands (QUEUED) and EXEC.
func (s *submitter) check(e Entry, res []rueidis.RedisResult) (outcome, error) {
	switch len(e.cmds) {
	case 0:
		return written, nil
	case 1:
		return s.classify(e.cmds[0], res[0].Error())
	}
	if err := res[0].Error(); err != nil { // MULTI
		return s.classify(e.cmds[0], err)
	}
	// A command Redis refuses to queue (a syntax error, an unknown
	// command) aborts the transaction: its own error says why.
	for i, c := range e.cmds {
		if err := res[1+i].Error(); err != nil {
			return s.classify(c, err)
		}
	}
	exec := res[len(res)-1]
	replies, err := exec.ToArray()
	if err != nil {
		return s.classify(e.cmds[0], err)
	}
	// Errors at run time (WRONGTYPE) come back per command; Redis ran the
	// others, so the record is half written and sending it again, once
	// the cause is fixed, is what cures it.
	for i := range replies {
		if err := replies[i].Error(); err != nil && i < len(e.cmds) {
			if out, err := s.classify(e.cmds[i], err); out != written {
				return out, err
			}
		}
	}
	return written, nil
}

// classify tells whether err, the result of command c, is a success, worth
// a retry, or fatal, and words the error.
func (s *submitter) classify(c Command, err error) (outcome, error) {
	if err == nil || rueidis.IsRedisNil(err) {
		return written, nil // a nil reply (SET NX that did not set) is an answer
	}
	if errors.Is(err, rueidis.ErrClosing) {
		return fatal, fmt.Errorf("redis: %s: the client is closed: %w", c.label(), err)
	}
	rerr, ok := rueidis.IsRedisErr(err)
	if !ok {
		// The connection failed, or the request timed out: Redis may be
		// down or restarting.
		return retry, fmt.Errorf("redis: %s: %w", c.label(), err)
	}
	msg := rerr.Error()
	if retryableReply(msg) {
		return retry, fmt.Errorf("redis: %s: %w (Redis is busy or not ready; retrying)", c.label(), err)
	}
	if c.scripted() {
		// c's second word is a script: name it by its label.
		return fatal, fmt.Errorf("redis: %s on key %q refused: %w: %s", c.label(), c.key(), err, fixFor(msg))
	}
	return fatal, fmt.Errorf("redis: %s on key %q refused: %w: %s", c, c.key(), err, fixFor(msg))
}

// retryableReply reports whether a Redis error reply, by its code, is one
// that goes away by itself: the server is loading its data, busy with a
// script, in a failover, or a cluster slot is moving.
func retryableReply(msg string) bool {
	code, _, _ := strings.Cut(msg, " ")
	switch code {
	case "LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "NOREPLICAS":
		return true
	}
	return false
}

// fixFor says what the user can do about a refused command.
func fixFor(msg string) string {
	code, _, _ := strings.Cut(msg, " ")
	switch code {
	case "WRONGTYPE":
		return "the key already holds another type of value: delete the key, or give the layout another key prefix"
	case "NOAUTH", "WRONGPASS":
		return "give the right user and password in the URL: redis://user:password@host:port/db"
	case "NOPERM":
		return "the user may not run this command on this key: grant it in Redis's ACL (ACL SETUSER)"
	case "OOM":
		return "Redis reached maxmemory: raise maxmemory or set an eviction policy"
	case "MISCONF":
		return "Redis cannot save its data and refuses writes: see the Redis log"
	case "CROSSSLOT":
		return "the commands of one record must use keys of one cluster slot: give them a common {hash tag}"
	}
	return "the layout made a command Redis does not accept: fix the layout"
}

// Close closes the client. The base calls it when the writer closes,
// after the last Submit returned.
func (s *submitter) Close() error {
	s.client.Close()
	return nil
}
