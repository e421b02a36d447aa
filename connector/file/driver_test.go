package file

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/weirstream/weir/source"
)

// driver runs a source through the SPI the way the runtime does, on one
// goroutine: it routes split requests to the enumerator and assignments to
// the readers, and polls the readers in a random order.
type driver struct {
	t        testing.TB
	src      source.Source[string]
	enum     source.Enumerator
	readers  []*driverReader
	requests []int
	rng      *rand.Rand
}

type driverReader struct {
	r      source.Reader[string]
	inbox  []message
	out    collector
	done   bool
	closed bool
}

// message is an assignment, or NoMoreSplits when splits is nil.
type message struct{ splits []source.Split }

// collector is a source.Output that keeps what it gets, or with discard
// only counts it.
type collector struct {
	lines   []string
	discard bool
	n       int
	dead    []source.DeadLetter
}

func (c *collector) DeadLetter(d source.DeadLetter) { c.dead = append(c.dead, d) }

func (c *collector) Collect(v string) {
	c.n++
	if !c.discard {
		c.lines = append(c.lines, v)
	}
}
func (c *collector) CollectAt(v string, _ int64) { c.Collect(v) }

type enumCtx struct{ d *driver }

func (c enumCtx) Parallelism() int { return len(c.d.readers) }
func (c enumCtx) Assign(subtask int, splits ...source.Split) {
	r := c.d.readers[subtask]
	r.inbox = append(r.inbox, message{splits: splits})
}
func (c enumCtx) NoMoreSplits(subtask int) {
	r := c.d.readers[subtask]
	r.inbox = append(r.inbox, message{})
}

type readerCtx struct {
	d       *driver
	subtask int
}

func (c readerCtx) Subtask() int        { return c.subtask }
func (c readerCtx) Parallelism() int    { return len(c.d.readers) }
func (c readerCtx) Checkpointing() bool { return false }
func (c readerCtx) RequestSplit()       { c.d.requests = append(c.d.requests, c.subtask) }

// newDriver creates and starts the enumerator and parallelism readers.
func newDriver(t testing.TB, src source.Source[string], parallelism int, seed uint64) *driver {
	t.Helper()
	d := &driver{t: t, src: src, rng: rand.New(rand.NewPCG(seed, 1))}
	d.readers = make([]*driverReader, parallelism)
	for i := range d.readers {
		d.readers[i] = &driverReader{}
	}
	var err error
	if d.enum, err = src.NewEnumerator(enumCtx{d}); err != nil {
		t.Fatal(err)
	}
	if err := d.enum.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range d.readers {
		d.startReader(i, nil)
	}
	t.Cleanup(d.close)
	return d
}

// startReader creates the reader of subtask i, restored with splits.
func (d *driver) startReader(i int, splits []source.Split) {
	d.t.Helper()
	r, err := d.src.NewReader(readerCtx{d, i})
	if err != nil {
		d.t.Fatal(err)
	}
	dr := d.readers[i]
	dr.r, dr.done, dr.closed = r, false, false
	if len(splits) > 0 {
		r.AddSplits(splits)
	}
	if err := r.Start(context.Background()); err != nil {
		d.t.Fatal(err)
	}
}

// step routes the pending messages and polls every running reader once, in
// a random order. It reports whether any reader is still running.
func (d *driver) step() bool {
	d.t.Helper()
	for len(d.requests) > 0 {
		s := d.requests[0]
		d.requests = d.requests[1:]
		d.enum.HandleSplitRequest(s)
	}
	running := false
	for _, i := range d.rng.Perm(len(d.readers)) {
		dr := d.readers[i]
		if dr.done {
			continue
		}
		for _, m := range dr.inbox {
			if m.splits == nil {
				dr.r.NoMoreSplits()
			} else {
				dr.r.AddSplits(m.splits)
			}
		}
		dr.inbox = nil
		before := len(dr.out.lines)
		st, err := dr.r.Poll(context.Background(), &dr.out)
		if err != nil {
			d.t.Fatalf("subtask %d: Poll: %v", i, err)
		}
		if n := len(dr.out.lines) - before; n > batchLines+1 {
			d.t.Fatalf("subtask %d: Poll emitted %d lines, more than a batch", i, n)
		}
		if st == source.EndOfInput {
			dr.done = true
			dr.closed = true
			if err := dr.r.Close(); err != nil {
				d.t.Fatal(err)
			}
			continue
		}
		running = true
	}
	return running
}

// run steps until every reader has ended.
func (d *driver) run() {
	d.t.Helper()
	for steps := 0; d.step(); steps++ {
		if steps > 1_000_000 {
			d.t.Fatal("the source did not end")
		}
	}
}

// failover fails reader i as the runtime would after a checkpoint taken
// now: the reader's snapshot, and whatever was assigned to it but not yet
// delivered, either restore a new reader of the same subtask (restore true)
// or go back to the enumerator (restore false).
func (d *driver) failover(i int, restore bool) {
	d.t.Helper()
	dr := d.readers[i]
	splits, err := dr.r.Snapshot(1)
	if err != nil {
		d.t.Fatal(err)
	}
	for _, m := range dr.inbox {
		splits = append(splits, m.splits...)
	}
	dr.inbox = nil
	if err := dr.r.Close(); err != nil {
		d.t.Fatal(err)
	}
	// Drop the failed reader's outstanding requests; the new one asks again.
	kept := d.requests[:0]
	for _, s := range d.requests {
		if s != i {
			kept = append(kept, s)
		}
	}
	d.requests = kept
	if restore {
		// Through the stored form, as a checkpoint keeps them.
		cp := d.src.(source.Checkpointed)
		for j, sp := range splits {
			b, err := cp.EncodeSplit(sp)
			if err != nil {
				d.t.Fatal(err)
			}
			if splits[j], err = cp.DecodeSplit(b); err != nil {
				d.t.Fatal(err)
			}
		}
		d.startReader(i, splits)
		return
	}
	if len(splits) > 0 {
		d.enum.AddSplitsBack(splits, i)
	}
	d.startReader(i, nil)
}

// lines returns every line emitted, by subtask.
func (d *driver) lines() [][]string {
	out := make([][]string, len(d.readers))
	for i, dr := range d.readers {
		out[i] = dr.out.lines
	}
	return out
}

func (d *driver) close() {
	for _, dr := range d.readers {
		if dr.r != nil && !dr.closed {
			dr.r.Close()
			dr.closed = true
		}
	}
	d.enum.Close()
}

// runConcurrently reads src with parallelism readers, each polled on its own
// goroutine as the runtime does, and returns the number of lines per
// reader. The enumerator is driven under a lock, one call at a time.
func runConcurrently(t testing.TB, src source.Source[string], parallelism int) []int {
	t.Helper()
	c := &concurrentRun{inbox: make([][]message, parallelism)}
	enum, err := src.NewEnumerator(concurrentEnumCtx{c})
	if err != nil {
		t.Fatal(err)
	}
	c.enum = enum
	if err := enum.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer enum.Close()
	counts := make([]int, parallelism)
	errs := make(chan error, parallelism)
	for i := range parallelism {
		go func() {
			errs <- c.read(src, i, &counts[i])
		}()
	}
	for range parallelism {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return counts
}

type concurrentRun struct {
	mu    sync.Mutex
	enum  source.Enumerator
	inbox [][]message
}

type concurrentEnumCtx struct{ c *concurrentRun }

func (e concurrentEnumCtx) Parallelism() int { return len(e.c.inbox) }

// Assign and NoMoreSplits are called with c.mu held, from HandleSplitRequest.
func (e concurrentEnumCtx) Assign(subtask int, splits ...source.Split) {
	e.c.inbox[subtask] = append(e.c.inbox[subtask], message{splits: splits})
}
func (e concurrentEnumCtx) NoMoreSplits(subtask int) {
	e.c.inbox[subtask] = append(e.c.inbox[subtask], message{})
}

type concurrentReaderCtx struct {
	c       *concurrentRun
	subtask int
}

func (r concurrentReaderCtx) Subtask() int        { return r.subtask }
func (r concurrentReaderCtx) Parallelism() int    { return len(r.c.inbox) }
func (r concurrentReaderCtx) Checkpointing() bool { return false }
func (r concurrentReaderCtx) RequestSplit() {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	r.c.enum.HandleSplitRequest(r.subtask)
}

func (c *concurrentRun) read(src source.Source[string], i int, count *int) error {
	r, err := src.NewReader(concurrentReaderCtx{c, i})
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.Start(context.Background()); err != nil {
		return err
	}
	out := &collector{discard: true}
	for {
		c.mu.Lock()
		msgs := c.inbox[i]
		c.inbox[i] = nil
		c.mu.Unlock()
		for _, m := range msgs {
			if m.splits == nil {
				r.NoMoreSplits()
			} else {
				r.AddSplits(m.splits)
			}
		}
		st, err := r.Poll(context.Background(), out)
		if err != nil {
			return err
		}
		if st == source.EndOfInput {
			*count = out.n
			return nil
		}
	}
}
