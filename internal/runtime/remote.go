package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/weirstream/weir/codec"
)

// A remote channel is one channel of an exchange whose sender and receiver
// run in different processes. Each process builds the same Exchange; the
// sender's process runs Outbound, which takes what the local Writer put
// into channel [s][r] and hands it, encoded, to a transport; the
// receiver's process calls Deliver with each element the transport
// received, which puts it into its own channel [s][r] for the receiver's
// gate. The invariants of the in-memory exchange hold end to end:
//
//   - Batches stay batches (invariant 1): one element per batch, split
//     into several consecutive ones only when its encoding would pass
//     ElementTarget bytes. Batches are recycled on both sides.
//   - Control elements travel in band, in order (invariant 2): the data
//     stream carries the elements of channel [s][r] in the order the
//     Writer sent them, and the transport must keep that order.
//   - Buffers are bounded (invariant 3): the sender's channel, what the
//     transport holds (its flow-control window), and the receiver's
//     channel. Deliver blocks while the receiver's channel is full, the
//     transport then stops reading, its window fills, Outbound's send
//     blocks, the sender's channel fills and the Writer blocks: the
//     sender accounts the wait as backpressured time.
//   - Unaligned barriers overtake the data (invariant 7): they travel on
//     their own priority stream (sendPrio, Deliver with prio), which is
//     read while the data stream is blocked.
//
// # Element encoding
//
// Each element is one message of the transport:
//
//	element   = header body
//	header    = 1 byte: version << 4 | kind; the version is 1
//	kind 0    data: uvarint n (n >= 1), then n records, each the record's
//	          time as a zigzag varint of its difference from the previous
//	          record's time (from 0 for the first; differences wrap as
//	          int64 arithmetic does), then its value in the exchange's codec
//	kind 1    watermark: zigzag varint (Idle, math.MinInt64, marks an idle
//	          input; EndOfTime follows the end of a bounded input)
//	kind 2    end of input: no body
//	kind 3    aligned barrier: zigzag varint checkpoint id (> 0)
//	kind 4    marker of an unaligned barrier: zigzag varint checkpoint id (> 0)
//	kind 5    unaligned barrier, on the priority stream only: zigzag varint
//	          checkpoint id (> 0)
//	kind 6    latency marker: zigzag varint time (Unix nanoseconds), then
//	          uvarint source and uvarint subtask (each < 65536)
//
// Nothing follows the body. A decoder refuses another version, an unknown
// kind, a short or overlong body, and a value its codec refuses, with an
// error and never a panic (FuzzDecodeElement). Both ends of a channel run
// the same program, so a new version is refused rather than read.

// ElementVersion is the version of the element encoding that Outbound
// writes and Deliver reads.
const ElementVersion = 1

// ElementTarget is the size in bytes past which Outbound closes a data
// element and continues the batch in the next: a transport's message, and
// so its share of the bytes in flight, stays near this size. One element
// can pass it by at most one record.
const ElementTarget = 32 << 10

// MaxElementSize is the largest element Outbound sends: a record whose
// encoding passes it fails the channel. A transport admits messages of
// this size.
const MaxElementSize = 16 << 20

// Kinds of element on the wire; fixed, unlike the in-memory kinds.
const (
	wireData      = 0
	wireWatermark = 1
	wireEnd       = 2
	wireBarrier   = 3
	wireMarker    = 4
	wireUnaligned = 5
	wireLatency   = 6
)

// remote is what an exchange needs for channels to and from other
// processes: the codec of its records, chosen once.
type remote[T any] struct {
	once  sync.Once
	codec codec.Codec[T]
}

// SetCodec sets the codec that encodes the records of remote channels; by
// default the exchange uses codec.For[T](). Call it before the first
// Outbound or Deliver: a later call has no effect.
func (e *Exchange[T]) SetCodec(c codec.Codec[T]) {
	e.remote.once.Do(func() { e.remote.codec = c })
}

func (e *Exchange[T]) recordCodec() codec.Codec[T] {
	e.remote.once.Do(func() { e.remote.codec = codec.For[T]() })
	return e.remote.codec
}

// channel returns channel [s][r] and its priority channel, or an error
// that names the pair when the exchange does not connect them.
func (e *Exchange[T]) channel(s, r int) (chan envelope[T], chan int64, error) {
	if s < 0 || s >= e.senders || r < 0 || r >= e.receivers {
		return nil, nil, fmt.Errorf("runtime: no channel from sender %d to receiver %d: the exchange has %d senders and %d receivers", s, r, e.senders, e.receivers)
	}
	if e.chans[s][r] == nil {
		return nil, nil, fmt.Errorf("runtime: no channel from sender %d to receiver %d: a %s exchange connects each sender to its own receiver only", s, r, e.pattern)
	}
	return e.chans[s][r], e.prio[s][r], nil
}

// Outbound drains channel [s][r], whose receiver runs in another process,
// in order: it encodes each element and calls send with it, and each
// unaligned barrier of the priority channel with sendPrio, from a
// goroutine of its own so that a barrier overtakes data that waits for
// send. Batches go back to the exchange's free list once encoded. It
// returns nil once it sent the end of input (and every unaligned barrier
// sent before it), ctx's error when ctx ends, or the first error of send,
// sendPrio or an encoding.
//
// The slice handed to send and sendPrio is valid only during the call:
// Outbound reuses it. send and sendPrio must return when the transport
// fails or ctx ends; a transport that blocks in send while its window is
// full is what backpressures the sender. When sendPrio fails, Outbound
// stops reading and returns once send returns.
func (e *Exchange[T]) Outbound(ctx context.Context, s, r int, send, sendPrio func([]byte) error) error {
	ch, prio, err := e.channel(s, r)
	if err != nil {
		return err
	}
	c := e.recordCodec()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error // the first failure: what Outbound returns
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
		cancel()
	}
	ended := make(chan struct{})
	prioDone := make(chan struct{})
	go func() {
		defer close(prioDone)
		if err := outboundPrio(ctx, prio, ended, sendPrio); err != nil {
			fail(err)
		}
	}()
	if err := e.outboundData(ctx, ch, c, send); err != nil {
		fail(err)
	}
	close(ended)
	<-prioDone
	return first
}

// outboundData sends the elements of ch until the end of input.
func (e *Exchange[T]) outboundData(ctx context.Context, ch chan envelope[T], c codec.Codec[T], send func([]byte) error) error {
	var buf []byte
	for {
		var env envelope[T]
		select {
		case env = <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		switch env.kind {
		case kindData:
			err := e.sendBatch(env.batch, c, &buf, send)
			e.putBatch(env.batch)
			if err != nil {
				return err
			}
			continue
		case kindWatermark:
			buf = appendControl(buf[:0], wireWatermark, env.value)
		case kindBarrier:
			buf = appendControl(buf[:0], wireBarrier, env.value)
		case kindMarker:
			buf = appendControl(buf[:0], wireMarker, env.value)
		case kindEnd:
			buf = append(buf[:0], header(wireEnd))
		case kindLatency:
			buf = appendLatency(buf[:0], markerOf(env.value, env.origin))
		default:
			return fmt.Errorf("runtime: remote channel: element of unknown kind %d", env.kind)
		}
		if err := send(buf); err != nil {
			return err
		}
		if env.kind == kindEnd {
			return nil
		}
	}
}

// sendBatch sends b's records as one data element, or as several
// consecutive ones when its encoding passes ElementTarget.
func (e *Exchange[T]) sendBatch(b *Batch[T], c codec.Codec[T], buf *[]byte, send func([]byte) error) error {
	recs := b.Records
	for len(recs) > 0 {
		out, n, err := appendData(*buf, c, recs)
		*buf = out
		if err != nil {
			return err
		}
		if err := send(out); err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

// outboundPrio sends the unaligned barriers of prio until the data stream
// ended (then it sends what is left: every barrier sent before the end of
// input is already in prio) or ctx ends.
func outboundPrio(ctx context.Context, prio chan int64, ended <-chan struct{}, sendPrio func([]byte) error) error {
	var buf []byte
	send := func(id int64) error {
		buf = appendControl(buf[:0], wireUnaligned, id)
		return sendPrio(buf)
	}
	for {
		select {
		case id := <-prio:
			if err := send(id); err != nil {
				return err
			}
		case <-ended:
			for {
				select {
				case id := <-prio:
					if err := send(id); err != nil {
						return err
					}
				default:
					return nil
				}
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Deliver puts one element that sender s in another process sent to local
// receiver r into their channel, prio saying whether it came on the
// priority stream. It blocks while the channel is full, until ctx ends,
// then wakes the receiver as a local Writer does. b is only read during the
// call: decoded records do not alias it. A malformed element, or one that
// came on the wrong stream, is an error; Deliver never panics on bad bytes.
//
// Deliver is called for one channel from one goroutine at a time per
// stream, in the order the elements were sent.
func (e *Exchange[T]) Deliver(ctx context.Context, s, r int, b []byte, prio bool) error {
	ch, pch, err := e.channel(s, r)
	if err != nil {
		return err
	}
	var batch *Batch[T]
	if len(b) > 0 && b[0] == header(wireData) {
		batch = e.getBatch()
	}
	env, err := decodeElement(e.recordCodec(), b, batch)
	if err != nil {
		if batch != nil {
			e.putBatch(batch)
		}
		return fmt.Errorf("runtime: remote channel from sender %d to receiver %d: %w", s, r, err)
	}
	unaligned := env.kind == kindUnaligned
	if unaligned != prio {
		if batch != nil {
			e.putBatch(batch)
		}
		if prio {
			return fmt.Errorf("runtime: remote channel from sender %d to receiver %d: the priority stream carries unaligned barriers only, not %s", s, r, env.kind)
		}
		return fmt.Errorf("runtime: remote channel from sender %d to receiver %d: an unaligned barrier on the data stream", s, r)
	}
	if unaligned {
		select {
		case pch <- env.value:
		case <-ctx.Done():
			return ctx.Err()
		}
	} else {
		select {
		case ch <- env:
		case <-ctx.Done():
			if batch != nil {
				e.putBatch(batch)
			}
			return ctx.Err()
		}
	}
	select {
	case e.notify[r] <- struct{}{}:
	default:
	}
	return nil
}

// kindUnaligned is the kind decodeElement gives an unaligned barrier; it
// never travels on a data channel.
const kindUnaligned kind = 255

// String names a kind in errors.
func (k kind) String() string {
	switch k {
	case kindData:
		return "data"
	case kindWatermark:
		return "a watermark"
	case kindEnd:
		return "end of input"
	case kindBarrier:
		return "a barrier"
	case kindMarker:
		return "an unaligned barrier's marker"
	case kindUnaligned:
		return "an unaligned barrier"
	case kindLatency:
		return "a latency marker"
	}
	return fmt.Sprintf("kind %d", uint8(k))
}

func header(wireKind byte) byte { return ElementVersion<<4 | wireKind }

func appendControl(dst []byte, wireKind byte, v int64) []byte {
	return binary.AppendVarint(append(dst, header(wireKind)), v)
}

// appendData encodes the first records of recs as one data element into
// dst[:0], stopping after the record that takes it to ElementTarget bytes,
// and returns it with the number of records it holds.
func appendData[T any](dst []byte, c codec.Codec[T], recs []Record[T]) ([]byte, int, error) {
	// The record count is written last, into the room left for the longest
	// count there can be; the element then starts where the count starts.
	const room = 1 + binary.MaxVarintLen64
	dst = append(dst[:0], make([]byte, room)...)
	var prev int64
	n := 0
	for _, r := range recs {
		dst = binary.AppendVarint(dst, r.Time-prev)
		var err error
		if dst, err = c.Append(dst, r.Value); err != nil {
			return dst, 0, fmt.Errorf("runtime: remote channel: encode a record: %w", err)
		}
		prev = r.Time
		n++
		if len(dst)-room >= ElementTarget {
			break
		}
	}
	var count [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(count[:], uint64(n))
	if size := 1 + k + len(dst) - room; size > MaxElementSize {
		if n == 1 {
			return dst, 0, fmt.Errorf("runtime: remote channel: a record of %d bytes passes the limit of %d bytes for one element: make the records smaller", size, MaxElementSize)
		}
		// The last record took the element past the limit: it goes in the
		// next one.
		return appendData(dst, c, recs[:n-1])
	}
	at := room - k
	copy(dst[at:], count[:k])
	dst[at-1] = header(wireData)
	// Move the element to the start of the buffer, so that the next call
	// reuses all of it.
	return dst[:copy(dst, dst[at-1:])], n, nil
}

// decodeElement decodes one element. A data element's records are
// appended to batch, which must be non-nil for a data element.
func decodeElement[T any](c codec.Codec[T], b []byte, batch *Batch[T]) (envelope[T], error) {
	if len(b) == 0 {
		return envelope[T]{}, errors.New("an empty element")
	}
	if v := b[0] >> 4; v != ElementVersion {
		return envelope[T]{}, fmt.Errorf("element version %d, this process reads version %d: run the same weir version on every worker", v, ElementVersion)
	}
	w, body := b[0]&0x0f, b[1:]
	switch w {
	case wireData:
		if batch == nil {
			return envelope[T]{}, errors.New("data without a batch")
		}
		return decodeData(c, body, batch)
	case wireEnd:
		if len(body) != 0 {
			return envelope[T]{}, fmt.Errorf("%d bytes after end of input", len(body))
		}
		return envelope[T]{kind: kindEnd}, nil
	case wireLatency:
		return decodeLatency[T](body)
	case wireWatermark, wireBarrier, wireMarker, wireUnaligned:
		v, k := binary.Varint(body)
		if k <= 0 {
			return envelope[T]{}, fmt.Errorf("%w: a control element's value", codec.ErrTruncated)
		}
		if k != len(body) {
			return envelope[T]{}, fmt.Errorf("%d bytes after a control element", len(body)-k)
		}
		kd := kindWatermark
		switch w {
		case wireBarrier:
			kd = kindBarrier
		case wireMarker:
			kd = kindMarker
		case wireUnaligned:
			kd = kindUnaligned
		}
		if kd != kindWatermark && v <= 0 {
			return envelope[T]{}, fmt.Errorf("%s of checkpoint %d: checkpoint ids are positive", kd, v)
		}
		return envelope[T]{kind: kd, value: v}, nil
	}
	return envelope[T]{}, fmt.Errorf("element of unknown kind %d", w)
}

func appendLatency(dst []byte, m LatencyMarker) []byte {
	dst = binary.AppendVarint(append(dst, header(wireLatency)), m.Time)
	return binary.AppendUvarint(binary.AppendUvarint(dst, uint64(m.Source)), uint64(m.Subtask))
}

func decodeLatency[T any](b []byte) (envelope[T], error) {
	t, k := binary.Varint(b)
	if k <= 0 {
		return envelope[T]{}, fmt.Errorf("%w: a latency marker's time", codec.ErrTruncated)
	}
	b = b[k:]
	var ids [2]uint64
	for i := range ids {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			return envelope[T]{}, fmt.Errorf("%w: a latency marker's origin", codec.ErrTruncated)
		}
		if v > 0xffff {
			return envelope[T]{}, fmt.Errorf("a latency marker from source %d: sources and subtasks are below 65536", v)
		}
		ids[i], b = v, b[k:]
	}
	if len(b) != 0 {
		return envelope[T]{}, fmt.Errorf("%d bytes after a latency marker", len(b))
	}
	m := LatencyMarker{Time: t, Source: int(ids[0]), Subtask: int(ids[1])}
	return envelope[T]{kind: kindLatency, value: m.Time, origin: m.origin()}, nil
}

func decodeData[T any](c codec.Codec[T], b []byte, batch *Batch[T]) (envelope[T], error) {
	n, k := binary.Uvarint(b)
	switch {
	case k <= 0:
		return envelope[T]{}, fmt.Errorf("%w: a batch's record count", codec.ErrTruncated)
	case n == 0:
		return envelope[T]{}, errors.New("an empty batch")
	case n > uint64(len(b)-k):
		// Every record takes at least a byte for its time.
		return envelope[T]{}, fmt.Errorf("%w: a batch of %d records in %d bytes", codec.ErrTruncated, n, len(b)-k)
	}
	b = b[k:]
	var prev int64
	for range n {
		d, k := binary.Varint(b)
		if k <= 0 {
			return envelope[T]{}, fmt.Errorf("%w: a record's time", codec.ErrTruncated)
		}
		b = b[k:]
		v, k, err := c.Decode(b)
		if err != nil {
			return envelope[T]{}, fmt.Errorf("a record: %w", err)
		}
		b = b[k:]
		prev += d
		batch.Records = append(batch.Records, Record[T]{Value: v, Time: prev})
	}
	if len(b) != 0 {
		return envelope[T]{}, fmt.Errorf("%d bytes after a batch", len(b))
	}
	return envelope[T]{kind: kindData, batch: batch}, nil
}
