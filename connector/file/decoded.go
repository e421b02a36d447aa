package file

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/weirstream/weir/internal/tail"
	"github.com/weirstream/weir/source"
)

// A Decoder makes a record of one line, without its '\n' (and '\r'), as
// the line lies in the reader's buffer: line is valid only during the
// call, so a Decoder copies what it keeps (string(line[i:j]) copies; a
// decoder of each reader's own, [DecodedPerReader], can copy into a
// [source.Strings] instead, without an allocation per line). A
// line it returns an error for goes to the source's dead letters, whole,
// with the error's text as the reason (see source.DeadLetter): make that
// a stable short phrase, such as "bad timestamp".
type Decoder[T any] func(line []byte) (T, error)

// DecodedSource reads the lines of the files matching a pattern as
// [Source] does (splits, follow mode, checkpointed positions, long lines to
// the dead letters) and emits what its Decoder makes of each line, the
// way a Kafka source emits what its deserializer makes of each record
// (Flink's file source with a stream format). Create it with
// [NewDecodedSource].
//
// A [Source] copies every line into memory the job owns, since a string
// may be kept anywhere; a DecodedSource copies only what the decoder
// keeps. Where a job keeps a few fields of long lines, it allocates that
// much less for every line, and the garbage collector runs that much less
// often.
type DecodedSource[T any] struct {
	*Source
	newDecoder func() Decoder[T]
}

var _ source.Source[int] = (*DecodedSource[int])(nil)

// NewDecodedSource returns a source of the records decode makes of the
// lines of the files matching pattern; opts are those of [NewSource].
func NewDecodedSource[T any](pattern string, decode Decoder[T], opts ...SourceOption) (*DecodedSource[T], error) {
	if decode == nil {
		return nil, errNoDecoder
	}
	s, err := NewSource(pattern, opts...)
	if err != nil {
		return nil, err
	}
	return Decoded(s, decode)
}

// Decoded returns a source of the records decode makes of the lines s
// reads: its pattern and options, checked when s was made. A program that
// made s to check what a user asked for can read it decoded without
// checking again.
func Decoded[T any](s *Source, decode Decoder[T]) (*DecodedSource[T], error) {
	if decode == nil {
		return nil, errNoDecoder
	}
	return DecodedPerReader(s, func() Decoder[T] { return decode })
}

// DecodedPerReader is Decoded with a Decoder of each reader's own:
// newDecoder is called once for every subtask's reader, whose goroutine
// alone calls the decoder it returns. So a decoder may keep what it reuses
// from line to line without a lock: a [source.Strings] to take the strings
// of its records from (no allocation per line), scratch space, counters.
func DecodedPerReader[T any](s *Source, newDecoder func() Decoder[T]) (*DecodedSource[T], error) {
	if s == nil {
		return nil, errNoSource
	}
	if newDecoder == nil {
		return nil, errNoDecoder
	}
	return &DecodedSource[T]{Source: s, newDecoder: newDecoder}, nil
}

var (
	errNoSource  = errors.New("file: a decoded source needs a Source made by NewSource")
	errNoDecoder = errors.New("file: a decoded source needs a Decoder: pass a func(line []byte) (T, error)")
)

// NewReader returns the reader of one subtask.
func (s *DecodedSource[T]) NewReader(ctx source.ReaderContext) (source.Reader[T], error) {
	decode := s.newDecoder()
	if decode == nil {
		return nil, errNoDecoder
	}
	return newReader(s.Source, ctx, func() recordMaker[T] { return decodedLines[T]{decode} }), nil
}

// recordMaker makes a reader's records of the lines it cuts from the file
// at path of split: a line is as it lies in the reader's buffer, valid only
// during the call. (The split's ID is made only for a dead letter: it is a
// Sprintf.)
type recordMaker[T any] interface {
	emit(out source.Output[T], split *Split, path string, l tail.Line)
}

// lineBlock is the size of the blocks a Source's lines are carved from:
// whole lines, larger than what decoders keep of them.
const lineBlock = 256 << 10

// copiedLines emits every line as a string copied into blocks.
type copiedLines struct{ strings source.Strings }

func newCopiedLines() *copiedLines {
	return &copiedLines{strings: source.Strings{BlockSize: lineBlock}}
}

func (c *copiedLines) emit(out source.Output[string], _ *Split, _ string, l tail.Line) {
	out.Collect(c.strings.String(trimCR(l.Bytes)))
}

// decodedLines emits what decode makes of every line; a line it refuses
// goes to the dead letters.
type decodedLines[T any] struct{ decode Decoder[T] }

func (d decodedLines[T]) emit(out source.Output[T], split *Split, path string, l tail.Line) {
	b := trimCR(l.Bytes)
	v, err := d.decode(b)
	if err == nil {
		out.Collect(v)
		return
	}
	if dl, ok := out.(source.DeadLetterOutput); ok {
		dl.DeadLetter(source.DeadLetter{
			Split:    split.SplitID(),
			Position: path + ":" + strconv.FormatInt(l.Offset, 10),
			Raw:      bytes.Clone(b),
			Reason:   err.Error(),
		})
	}
}
