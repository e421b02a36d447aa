package weir

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/runtime"
)

// asyncElement is an input of AsyncWait held in a checkpoint: a record to
// call again, or a watermark held back behind the records before it.
type asyncElement[In any] struct {
	watermark bool
	rec       runtime.Record[In]
	wm        asyncWatermark
}

// The operator state of an AsyncWait subtask:
//
//	state   = version count element*        version = 1, count = uvarint
//	element = 0x00 time value                a record: time is a varint
//	                                         (NoTimestamp if none), value
//	                                         In's codec encoding
//	        | 0x01 wm idle                   a watermark: wm a varint
//	                                         (NoTimestamp if only idle),
//	                                         idle 0 or 1
const asyncStateVersion = 1

const (
	asyncRecordTag    = 0
	asyncWatermarkTag = 1
)

func encodeAsyncState[In any](c codec.Codec[In], elems []asyncElement[In]) ([]byte, error) {
	b := []byte{asyncStateVersion}
	b = binary.AppendUvarint(b, uint64(len(elems)))
	for i, e := range elems {
		if e.watermark {
			b = append(b, asyncWatermarkTag)
			b = binary.AppendVarint(b, e.wm.wm)
			idle := byte(0)
			if e.wm.idle {
				idle = 1
			}
			b = append(b, idle)
			continue
		}
		b = append(b, asyncRecordTag)
		b = binary.AppendVarint(b, e.rec.Time)
		var err error
		if b, err = c.Append(b, e.rec.Value); err != nil {
			return nil, fmt.Errorf("input %d: %w", i, err)
		}
	}
	return b, nil
}

func decodeAsyncState[In any](c codec.Codec[In], b []byte) ([]asyncElement[In], error) {
	if len(b) == 0 {
		return nil, nil
	}
	if b[0] != asyncStateVersion {
		return nil, fmt.Errorf("AsyncWait state version %d is unknown (this weir reads version %d): restore it with the weir that wrote it", b[0], asyncStateVersion)
	}
	b = b[1:]
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)) { // every element takes at least one byte
		return nil, fmt.Errorf("%w: AsyncWait state: bad element count", codec.ErrInvalid)
	}
	b = b[n:]
	elems := make([]asyncElement[In], 0, count)
	for i := range count {
		if len(b) == 0 {
			return nil, fmt.Errorf("%w: AsyncWait state: %d of %d inputs", codec.ErrTruncated, i, count)
		}
		tag := b[0]
		b = b[1:]
		v, n := binary.Varint(b)
		if n <= 0 {
			return nil, fmt.Errorf("%w: AsyncWait state: input %d: bad time", codec.ErrInvalid, i)
		}
		b = b[n:]
		switch tag {
		case asyncWatermarkTag:
			if len(b) == 0 || b[0] > 1 {
				return nil, fmt.Errorf("%w: AsyncWait state: input %d: bad idle flag", codec.ErrInvalid, i)
			}
			elems = append(elems, asyncElement[In]{watermark: true, wm: asyncWatermark{wm: v, idle: b[0] == 1}})
			b = b[1:]
		case asyncRecordTag:
			val, n, err := c.Decode(b)
			if err != nil {
				return nil, fmt.Errorf("AsyncWait state: input %d: %w", i, err)
			}
			elems = append(elems, asyncElement[In]{rec: runtime.Record[In]{Value: val, Time: v}})
			b = b[n:]
		default:
			return nil, fmt.Errorf("%w: AsyncWait state: input %d: unknown tag %d", codec.ErrInvalid, i, tag)
		}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: AsyncWait state: %d bytes after the last input", codec.ErrInvalid, len(b))
	}
	return elems, nil
}

// unorderedElements lists the inputs not yet emitted in unordered mode:
// segment by segment, each in input order and followed by its watermark.
func (a *asyncOp[In, Out]) unorderedElements() []asyncElement[In] {
	bySeg := map[*asyncSegment][]*asyncSlot[In, Out]{}
	for i := range a.slots {
		if s := &a.slots[i]; s.used {
			bySeg[s.seg] = append(bySeg[s.seg], s)
		}
	}
	var elems []asyncElement[In]
	for _, seg := range a.segs {
		slots := bySeg[seg]
		slices.SortFunc(slots, func(x, y *asyncSlot[In, Out]) int { return cmp.Compare(x.seq, y.seq) })
		for _, s := range slots {
			elems = append(elems, asyncElement[In]{rec: s.in})
		}
		if seg.closed {
			elems = append(elems, asyncElement[In]{watermark: true, wm: seg.wm})
		}
	}
	return elems
}
