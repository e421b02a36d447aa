package runtime

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/weirstream/weir/codec"
)

// capture is an unaligned checkpoint in progress at one task (invariant 7).
//
// The barrier reaches the task ahead of the data on a priority channel; the
// task snapshots its operators at once and sends the barrier on, ahead of
// its own output. The records that were in flight — sent before the barrier
// by the senders, not yet processed here — are then read out of each input
// channel up to that channel's marker without waiting for the operators,
// stored with the checkpoint as channel state, and processed afterwards in
// order. On restore they are replayed before any new input.
//
// The records are encoded as they are captured, not when the last marker
// comes: the operators may process a captured record before that, and one
// that changes what the record points to (a window that adopts a partial's
// accumulator and adds to it) must not change the checkpoint's copy.
type capture[T any] struct {
	id     int64 // the checkpoint; 0 when none
	finish func(channelState []byte) error
	marked []bool // the input's marker came (or the input ended)
	// Per input: the in-flight records, encoded (each its int64 time and
	// its value), and how many.
	records [][]byte
	counts  []int
}

// add encodes recs, in flight on input i, into the channel state.
func (c *capture[T]) add(cd codec.Codec[T], i int, recs []Record[T]) error {
	b := c.records[i]
	for _, r := range recs {
		var err error
		if b, err = timeCodec.Append(b, r.Time); err != nil {
			return fmt.Errorf("checkpoint %d: in-flight records: %w", c.id, err)
		}
		if b, err = cd.Append(b, r.Value); err != nil {
			return fmt.Errorf("checkpoint %d: in-flight records: %w", c.id, err)
		}
	}
	c.records[i] = b
	c.counts[i] += len(recs)
	return nil
}

// priority serves unaligned checkpoints: barriers that overtook the data,
// and the capture of the in-flight records.
func (t *InputTask[T]) priority(ctx context.Context) error {
	if t.Checkpointing == nil || t.Checkpointing.SnapshotUnaligned == nil {
		return nil
	}
	for _, in := range t.Gate.inputs {
		select {
		case id := <-in.prio:
			if err := t.beginUnaligned(ctx, id, -1); err != nil {
				return err
			}
		default:
		}
	}
	return t.drain(ctx)
}

// beginUnaligned starts checkpoint id at t: snapshot, barrier ahead of the
// outputs, and capture of the inputs' in-flight records. marked is the input
// whose marker was already read, or -1.
func (t *InputTask[T]) beginUnaligned(ctx context.Context, id int64, marked int) error {
	c := &t.capture
	if id <= c.id || id <= t.lastUnaligned {
		return nil // already capturing it, or an older checkpoint's barrier
	}
	finish, err := t.Checkpointing.SnapshotUnaligned(ctx, id)
	if err != nil {
		return err
	}
	if err := t.loop.barrier(id, true); err != nil {
		return err
	}
	n := len(t.Gate.inputs)
	c.id, c.finish = id, finish
	c.marked = make([]bool, n)
	c.records, c.counts = make([][]byte, n), make([]int, n)
	for i := range c.marked {
		c.marked[i] = t.Gate.ended(i) || i == marked
		// What an earlier checkpoint read ahead and the operators have not
		// processed yet lies before this barrier too: it is in flight.
		for _, e := range t.Gate.queued[i] {
			switch e.kind {
			case kindData:
				if err := c.add(t.Codec, i, e.batch.Records); err != nil {
					return err
				}
			case kindEnd:
				c.marked[i] = true
			}
		}
	}
	return t.drain(ctx)
}

// observe adds an element that the task read straight from an input
// channel, not from what the capture read ahead, to the channel state of
// the checkpoint being captured when it lies before that input's marker,
// and reads ahead again.
func (t *InputTask[T]) observe(ctx context.Context, e element[T]) error {
	c := &t.capture
	if c.id == 0 || e.queued || c.marked[e.input] {
		return nil
	}
	switch {
	case e.kind == kindData:
		if err := c.add(t.Codec, e.input, e.batch.Records); err != nil {
			return err
		}
	case e.kind == kindMarker && e.value == c.id, e.kind == kindEnd:
		c.marked[e.input] = true
	}
	return t.drain(ctx)
}

// drain moves what the inputs hold up to their markers into the gate's
// queues, recording the records, without blocking; once every input gave
// its marker the checkpoint's channel state is complete.
func (t *InputTask[T]) drain(ctx context.Context) error {
	c := &t.capture
	if c.id == 0 {
		return nil
	}
	g := t.Gate
	done := true
	for i := range g.inputs {
		for !c.marked[i] {
			ch := g.inputs[i].ch
			if ch == nil {
				c.marked[i] = true
				break
			}
			var e envelope[T]
			select {
			case e = <-ch:
			default:
			}
			if e.batch == nil && e.kind == kindData {
				break // nothing there now
			}
			switch {
			case e.kind == kindMarker && e.value == c.id:
				c.marked[i] = true
				continue
			case e.kind == kindMarker:
				continue // of an abandoned checkpoint
			case e.kind == kindData:
				if err := c.add(t.Codec, i, e.batch.Records); err != nil {
					return err
				}
			case e.kind == kindEnd:
				c.marked[i] = true
			}
			g.queued[i] = append(g.queued[i], e)
		}
		done = done && c.marked[i]
	}
	if !done {
		return nil
	}
	state := channelState(c.records, c.counts)
	finish := c.finish
	t.lastUnaligned = c.id
	*c = capture[T]{}
	return finish(state)
}

// Channel state: uvarint inputs, then per input uvarint records, then per
// record its int64 time and its value, each with its codec. records holds
// each input's encoded records and counts how many.
func channelState(records [][]byte, counts []int) []byte {
	n := binary.MaxVarintLen64 * (1 + len(records))
	for _, r := range records {
		n += len(r)
	}
	b := binary.AppendUvarint(make([]byte, 0, n), uint64(len(records)))
	for i, r := range records {
		b = binary.AppendUvarint(b, uint64(counts[i]))
		b = append(b, r...)
	}
	return b
}

// timeCodec encodes the records' times in channel state.
var timeCodec = codec.For[int64]()

// DecodeChannelState decodes the in-flight records of an unaligned
// checkpoint, input by input.
func DecodeChannelState[T any](c codec.Codec[T], b []byte) ([]Record[T], error) {
	times := timeCodec
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, fmt.Errorf("channel state: bad input count")
	}
	b = b[k:]
	var out []Record[T]
	for range n {
		m, k := binary.Uvarint(b)
		if k <= 0 || m > uint64(len(b)) {
			return nil, fmt.Errorf("channel state: bad record count")
		}
		b = b[k:]
		for range m {
			ts, k, err := times.Decode(b)
			if err != nil {
				return nil, fmt.Errorf("channel state: %w", err)
			}
			b = b[k:]
			v, k, err := c.Decode(b)
			if err != nil {
				return nil, fmt.Errorf("channel state: %w", err)
			}
			b = b[k:]
			out = append(out, Record[T]{Value: v, Time: ts})
		}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("channel state: %d bytes after its end", len(b))
	}
	return out, nil
}
