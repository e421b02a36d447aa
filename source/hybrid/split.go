package hybrid

import (
	"encoding/json"
	"fmt"

	"github.com/weirstream/weir/source"
)

// split is a split of one of the sources, tagged with the source's index.
type split struct {
	source int
	// inner is the source's split; nil while only raw is known.
	inner source.Split
	// id is inner's SplitID, kept for raw splits.
	id string
	// codec encodes inner: the source it belongs to, when that source is
	// source.Checkpointed.
	codec source.Checkpointed
	// raw is the encoded inner split of a restored split, decoded when the
	// enumerator has made its source again.
	raw []byte
}

// SplitID returns "INDEX/ID", ID being the split's ID in its source: the
// IDs of two sources never collide.
func (s *split) SplitID() string { return fmt.Sprintf("%d/%s", s.source, s.id) }

// tag wraps the splits of source i.
func tag(i int, codec source.Checkpointed, splits []source.Split) []source.Split {
	out := make([]source.Split, len(splits))
	for k, sp := range splits {
		out[k] = &split{source: i, inner: sp, id: sp.SplitID(), codec: codec}
	}
	return out
}

// resolve returns the inner split, decoding a restored one with the codec
// of its source.
func (s *split) resolve(src any) (source.Split, error) {
	if s.inner != nil {
		return s.inner, nil
	}
	codec, ok := src.(source.Checkpointed)
	if !ok {
		return nil, fmt.Errorf("hybrid: cannot decode split %s: source %d (%T) does not implement source.Checkpointed", s.SplitID(), s.source, src)
	}
	inner, err := codec.DecodeSplit(s.raw)
	if err != nil {
		return nil, fmt.Errorf("hybrid: decode split %s of source %d: %w", s.SplitID(), s.source, err)
	}
	return inner, nil
}

// stateSplit carries the enumerator's own state through its snapshot: the
// index of the current source and where the one before it ended. It never
// reaches a reader.
type stateSplit struct {
	source int
	prev   *End
}

// SplitID returns "hybrid-state".
func (*stateSplit) SplitID() string { return "hybrid-state" }

// controlKind says what a control split tells a reader.
type controlKind int

const (
	// activate: start a reader of source (src), the last one if last.
	activate controlKind = iota
	// ack: the enumerator has seen n requests during source.
	ack
	// end: no more splits of source; request number n means finished.
	end
	// fail: the job must fail with err.
	fail
)

// control is a message from the enumerator to a reader. It travels as a
// split but is never stored: readers act on it and drop it.
type control[T any] struct {
	kind   controlKind
	source int
	n      int
	src    source.Source[T]
	last   bool
	err    error
}

// SplitID returns "hybrid-control".
func (*control[T]) SplitID() string { return "hybrid-control" }

// record is the stored form of a split or of the enumerator's state.
type record struct {
	Version int  `json:"v"`
	Source  int  `json:"source"`
	State   bool `json:"state,omitempty"`
	// Prev is where the previous source ended, in the state.
	Prev *End `json:"prev,omitempty"`
	// ID and Split are the split's ID and encoding in its source.
	ID    string `json:"id,omitempty"`
	Split []byte `json:"split,omitempty"`
}

// EncodeSplit implements [source.Checkpointed]: a split is stored with the
// index of its source, in the encoding of that source.
func (s *Source[T]) EncodeSplit(sp source.Split) ([]byte, error) {
	var r record
	switch sp := sp.(type) {
	case *split:
		raw := sp.raw
		if sp.inner != nil {
			if sp.codec == nil {
				return nil, fmt.Errorf("hybrid: cannot store split %s in a checkpoint: source %d does not implement source.Checkpointed", sp.SplitID(), sp.source)
			}
			var err error
			if raw, err = sp.codec.EncodeSplit(sp.inner); err != nil {
				return nil, fmt.Errorf("hybrid: encode split %s: %w", sp.SplitID(), err)
			}
		}
		r = record{Version: 1, Source: sp.source, ID: sp.id, Split: raw}
	case *stateSplit:
		r = record{Version: 1, Source: sp.source, State: true, Prev: sp.prev}
	default:
		return nil, fmt.Errorf("hybrid: cannot encode split %q of type %T: it is not a split of a hybrid source", sp.SplitID(), sp)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("hybrid: encode split: %w", err)
	}
	return b, nil
}

// DecodeSplit implements [source.Checkpointed]. The split of the source
// stays encoded until the enumerator has made that source again.
func (s *Source[T]) DecodeSplit(b []byte) (source.Split, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("hybrid: decode split: %w", err)
	}
	if r.Version != 1 {
		return nil, fmt.Errorf("hybrid: decode split: unsupported version %d (this weir reads version 1)", r.Version)
	}
	if r.Source < 0 || r.Source >= s.Len() {
		return nil, fmt.Errorf("hybrid: decode split: it belongs to source %d, but this hybrid source has %d sources; restore the checkpoint with the job that took it", r.Source, s.Len())
	}
	if r.State {
		return &stateSplit{source: r.Source, prev: r.Prev}, nil
	}
	return &split{source: r.Source, id: r.ID, raw: r.Split}, nil
}
