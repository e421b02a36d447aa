// Package hybrid reads several sources one after the other, as Flink's
// HybridSource does: typically a backlog of files first, then a Kafka topic
// from the offsets where the backlog ends.
//
//	backlog, err := file.NewSource("/var/log/nginx/archive/*.log")
//	...
//	src, err := hybrid.New[string](backlog,
//		hybrid.ThenFunc(source.Unbounded, func(prev hybrid.End) (source.Source[string], error) {
//			// The topic, from the time where the backlog ends.
//			return topicFrom(prev.Timestamp)
//		}))
//
// # The switch
//
// Every source but the last must be bounded. The hybrid source reads one
// source at a time, with all its readers: the enumerator of the next
// source is created only when every reader has finished the current one,
// so each reader emits all its records of source i before any record of
// source i+1, and a job whose source is chained to its consumer sees the
// sources in order. The [Switch] that makes the next source learns where
// the finished one ended ([End]): what its enumerator reported through
// [EndReporter].
//
// # Protocol
//
// The hybrid enumerator and the hybrid readers talk only through the
// source SPI: the runtime knows nothing of hybrid sources. What the
// enumerator sends a reader travels as splits given with Assign (control
// splits, which readers act on and never store; the one that starts a
// source hands the readers that source, made once by the enumerator);
// what a reader tells the enumerator travels as split requests, which
// carry no data and are numbered by their order instead:
//
//  1. The enumerator answers every request with an acknowledgement that
//     carries the request's number; a reader has at most one request
//     unanswered, so it always knows how many the enumerator has seen.
//     The requests of a source's reader are forwarded one at a time.
//  2. When a source's enumerator tells a subtask there are no more splits,
//     the hybrid enumerator sends an end notice that names the number F of
//     the request that will mean "this reader has finished the source".
//     Requests numbered below F are answered and ignored.
//  3. When the source's reader has read everything, the hybrid reader
//     sends requests until it has sent F of them (one, or two when the end
//     notice crossed a request in flight).
//  4. When every reader has finished, the enumerator asks the finished
//     enumerator for its [End], closes it, makes the next source with the
//     next [Switch], and tells every reader to start a reader of the new
//     source. A source that cannot be made fails the job: the readers
//     are told, and their next Poll returns the error.
//
// # Checkpoints
//
// The hybrid source implements [source.Checkpointed] and its enumerator
// [source.SnapshottingEnumerator] when its sources do. Every split is
// stored with the index of its source; the enumerator's snapshot also
// holds the index of the current source and the [End] of the one before,
// so that a restore makes the current source again with the same
// [Switch] and hands its splits back to it. Checkpoints taken before,
// during and after a switch restore to the same place.
package hybrid

import (
	"errors"
	"fmt"
	"time"

	"github.com/weirstream/weir/source"
)

// End describes a source that every reader has finished. The [Switch]
// that makes the next source receives it; it is stored in checkpoints,
// so that a restore makes the same source again.
type End struct {
	// Source is the index of the finished source: 0 for the first.
	Source int `json:"source"`
	// Timestamp is the largest event time of the finished source's records,
	// as its enumerator reported it ([EndReporter]); the zero time when the
	// enumerator did not report one.
	Timestamp time.Time `json:"timestamp,omitzero"`
	// Position is anything else the finished enumerator reported, such as
	// the offsets where a bounded Kafka read stopped; nil when it reported
	// nothing. The hybrid source does not look inside it.
	Position []byte `json:"position,omitempty"`
}

// EndReporter is implemented by the enumerators of bounded sources that
// know where their data ends. When every reader has finished the source,
// the hybrid enumerator calls ReportEnd on the enumerator's goroutine,
// before it closes the enumerator, and hands the result to the next
// [Switch]. The Source field of the result is ignored. An error fails the
// job.
type EndReporter interface {
	ReportEnd() (End, error)
}

// Switch makes a source of a hybrid source after the first, when the one
// before it has finished. Create it with [Then] or [ThenFunc].
type Switch[T any] struct {
	fixed       source.Source[T]
	fn          func(prev End) (source.Source[T], error)
	boundedness source.Boundedness
}

// Then returns a Switch to a source known in advance; it ignores where the
// previous source ended.
func Then[T any](src source.Source[T]) Switch[T] {
	if src == nil {
		return Switch[T]{}
	}
	return Switch[T]{fixed: src, boundedness: src.Boundedness()}
}

// ThenFunc returns a Switch that makes the next source from where the
// previous one ended, as a Kafka source that starts at the time the file
// backlog ends. boundedness declares what the source fn returns will be:
// the hybrid source must answer Boundedness before fn is called. fn is
// called on the enumerator's goroutine at the switch, and again on every
// restore of a checkpoint taken after the switch, with the same End: it
// should make the same source each time. A source that fn returns with
// another boundedness, and an error from fn, fail the job.
func ThenFunc[T any](boundedness source.Boundedness, fn func(prev End) (source.Source[T], error)) Switch[T] {
	return Switch[T]{fn: fn, boundedness: boundedness}
}

// Source reads its sources one after the other. It implements
// [source.Source] and [source.Checkpointed]; create it with [New].
type Source[T any] struct {
	first source.Source[T]
	then  []Switch[T]
}

var (
	_ source.Source[int]  = (*Source[int])(nil)
	_ source.Checkpointed = (*Source[int])(nil)
)

// New returns a source that reads first, then the source each Switch
// makes, in order. Every source but the last must be bounded. All problems
// are reported together: a nil first source, an empty Switch, and an
// unbounded source before the last.
func New[T any](first source.Source[T], then ...Switch[T]) (*Source[T], error) {
	var errs []error
	if first == nil {
		errs = append(errs, errors.New("hybrid: the first source is nil; pass the source to read first"))
	} else if len(then) > 0 && first.Boundedness() != source.Bounded {
		errs = append(errs, errors.New("hybrid: the first source is unbounded, so the sources after it would never be read; make it bounded or read it alone"))
	}
	for i, sw := range then {
		idx := i + 1
		switch {
		case sw.fixed == nil && sw.fn == nil:
			errs = append(errs, fmt.Errorf("hybrid: source %d has neither a source nor a function; create it with hybrid.Then(src) or hybrid.ThenFunc(boundedness, fn)", idx))
		case idx < len(then) && sw.boundedness != source.Bounded:
			errs = append(errs, fmt.Errorf("hybrid: source %d is unbounded, so the sources after it would never be read; only the last source may be unbounded", idx))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Source[T]{first: first, then: then}, nil
}

// Len returns the number of sources.
func (s *Source[T]) Len() int { return 1 + len(s.then) }

// Boundedness returns the boundedness of the last source.
func (s *Source[T]) Boundedness() source.Boundedness {
	if len(s.then) == 0 {
		return s.first.Boundedness()
	}
	return s.then[len(s.then)-1].boundedness
}

// sourceAt makes source i; prev is where source i-1 ended (unused for 0).
func (s *Source[T]) sourceAt(i int, prev End) (source.Source[T], error) {
	if i == 0 {
		return s.first, nil
	}
	if i > len(s.then) {
		return nil, fmt.Errorf("hybrid: source %d does not exist: this hybrid source has %d sources; restore the checkpoint with the job that took it", i, s.Len())
	}
	sw := s.then[i-1]
	src := sw.fixed
	if src == nil {
		var err error
		if src, err = sw.fn(prev); err != nil {
			return nil, fmt.Errorf("hybrid: make source %d after source %d ended: %w", i, prev.Source, err)
		}
		if src == nil {
			return nil, fmt.Errorf("hybrid: the function of source %d returned no source and no error; return the source to read", i)
		}
	}
	if b := src.Boundedness(); b != sw.boundedness {
		return nil, fmt.Errorf("hybrid: source %d (%T) is %s but was declared %s; pass its real boundedness to ThenFunc", i, src, b, sw.boundedness)
	}
	return src, nil
}

// NewEnumerator returns the enumerator of the hybrid source. On a fresh
// start it reads the first source; when the job restores a checkpoint, it
// makes the source that was current then again, and hands it the
// restored splits.
func (s *Source[T]) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	return newEnumerator(s, ctx)
}

// NewReader returns the reader of one subtask. It reads nothing until the
// enumerator tells it which source is current.
func (s *Source[T]) NewReader(ctx source.ReaderContext) (source.Reader[T], error) {
	return &reader[T]{ctx: ctx, epoch: -1}, nil
}
