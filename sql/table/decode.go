package table

import (
	"bytes"
	"context"
	"unsafe"

	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/sql/format"
	"github.com/weirstream/weir/sql/types"
)

// Decode returns a source of rows that reads src and decodes each of its
// records with decode. A record that does not decode goes to the job's
// dead letters (source.DeadLetterOutput: counted, and in the stream
// weir.SourceDeadLetters returns) with the decoder's error as the reason;
// it never stops the job. Because decoding happens inside the reader, a
// watermark strategy given to weir.FromSourceWithWatermarks sees rows, per
// split when src's reader emits per split.
//
// The returned source is checkpointed exactly as src is: it keeps src's
// splits and forwards the optional interfaces its reader implements
// (source.ProgressReporter, source.CheckpointListener).
func Decode[In any](src source.Source[In], raw func(In) []byte, decode format.Decoder) source.Source[types.Row] {
	return Convert(src, raw, func(v In) (types.Row, error) { return decode(raw(v)) })
}

// Convert is Decode for a source whose records are not bytes (generated
// events): convert makes a row of a record, and raw gives the record's
// bytes only for a dead letter.
func Convert[In any](src source.Source[In], raw func(In) []byte, convert func(In) (types.Row, error)) source.Source[types.Row] {
	d := &decoding[In]{src: src, raw: raw, decode: convert}
	if c, ok := src.(source.Checkpointed); ok {
		return &checkpointedDecoding[In]{decoding: d, c: c}
	}
	return d
}

// Lines is the raw function of a source of strings, for Decode. It does
// not copy: the bytes alias the string, which is safe because decoders
// only read their input and never keep it (format.Decoder), and a dead
// letter gets its own copy.
func Lines(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

type decoding[In any] struct {
	src    source.Source[In]
	raw    func(In) []byte
	decode func(In) (types.Row, error)
}

type checkpointedDecoding[In any] struct {
	*decoding[In]
	c source.Checkpointed
}

func (d *checkpointedDecoding[In]) EncodeSplit(s source.Split) ([]byte, error) {
	return d.c.EncodeSplit(s)
}

func (d *checkpointedDecoding[In]) DecodeSplit(b []byte) (source.Split, error) {
	return d.c.DecodeSplit(b)
}

func (d *decoding[In]) Boundedness() source.Boundedness { return d.src.Boundedness() }

func (d *decoding[In]) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	return d.src.NewEnumerator(ctx)
}

func (d *decoding[In]) NewReader(ctx source.ReaderContext) (source.Reader[types.Row], error) {
	r, err := d.src.NewReader(ctx)
	if err != nil {
		return nil, err
	}
	return &decodingReader[In]{Reader: r, d: d}, nil
}

// decodingReader wraps a reader of In; its outputs decode.
type decodingReader[In any] struct {
	source.Reader[In]
	d      *decoding[In]
	outer  source.Output[types.Row] // the output the wrapper was made for
	output *decodingOutput[In]
}

func (r *decodingReader[In]) Poll(ctx context.Context, out source.Output[types.Row]) (source.Status, error) {
	if r.output == nil || r.outer != out {
		r.outer, r.output = out, newDecodingOutput(r.d, out, "")
	}
	return r.Reader.Poll(ctx, r.output)
}

// AppendSplitProgress implements source.ProgressReporter when the wrapped
// reader does.
func (r *decodingReader[In]) AppendSplitProgress(dst []source.SplitProgress) []source.SplitProgress {
	if p, ok := r.Reader.(source.ProgressReporter); ok {
		return p.AppendSplitProgress(dst)
	}
	return dst
}

// NotifyCheckpointComplete implements source.CheckpointListener when the
// wrapped reader does.
func (r *decodingReader[In]) NotifyCheckpointComplete(ctx context.Context, id int64) error {
	if l, ok := r.Reader.(source.CheckpointListener); ok {
		return l.NotifyCheckpointComplete(ctx, id)
	}
	return nil
}

// decodingOutput is the Output[In] the wrapped reader writes to.
type decodingOutput[In any] struct {
	d      *decoding[In]
	out    source.Output[types.Row]
	split  string
	splits map[string]*decodingOutput[In]
}

func newDecodingOutput[In any](d *decoding[In], out source.Output[types.Row], split string) *decodingOutput[In] {
	return &decodingOutput[In]{d: d, out: out, split: split}
}

func (o *decodingOutput[In]) Collect(v In) {
	if row, ok := o.row(v); ok {
		o.out.Collect(row)
	}
}

func (o *decodingOutput[In]) CollectAt(v In, ts int64) {
	if row, ok := o.row(v); ok {
		o.out.CollectAt(row, ts)
	}
}

func (o *decodingOutput[In]) row(v In) (types.Row, bool) {
	row, err := o.d.decode(v)
	if err != nil {
		o.DeadLetter(source.DeadLetter{Split: o.split, Raw: bytes.Clone(o.d.raw(v)), Reason: err.Error()})
		return types.Row{}, false
	}
	return row, true
}

// EmitWatermark implements source.WatermarkOutput.
func (o *decodingOutput[In]) EmitWatermark(ts int64) {
	if w, ok := o.out.(source.WatermarkOutput); ok {
		w.EmitWatermark(ts)
	}
}

// DeadLetter implements source.DeadLetterOutput.
func (o *decodingOutput[In]) DeadLetter(d source.DeadLetter) {
	if dl, ok := o.out.(source.DeadLetterOutput); ok {
		dl.DeadLetter(d)
	}
}

// ForSplit implements source.SplitOutputs.
func (o *decodingOutput[In]) ForSplit(id string) source.Output[In] {
	so, ok := o.out.(source.SplitOutputs[types.Row])
	if !ok {
		return o
	}
	if s, ok := o.splits[id]; ok {
		return s
	}
	if o.splits == nil {
		o.splits = map[string]*decodingOutput[In]{}
	}
	s := newDecodingOutput(o.d, so.ForSplit(id), id)
	o.splits[id] = s
	return s
}

// ReleaseSplit implements source.SplitOutputs.
func (o *decodingOutput[In]) ReleaseSplit(id string) {
	delete(o.splits, id)
	if so, ok := o.out.(source.SplitOutputs[types.Row]); ok {
		so.ReleaseSplit(id)
	}
}
