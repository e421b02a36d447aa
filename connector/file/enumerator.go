package file

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/hybrid"
)

// boundedEnumerator cuts the files into ranges and hands them out in file
// order, one per request.
type boundedEnumerator struct {
	ctx       source.EnumeratorContext
	pattern   string
	splitSize int64
	pending   []*Split
	closed    bool
	// A restore hands out restored (and splits added back) instead of
	// listing the files.
	isRestore bool
	restored  []*Split
}

// Start lists the files and cuts them into splits. Empty files give none.
func (e *boundedEnumerator) Start(context.Context) error {
	if e.closed {
		return source.ErrClosed
	}
	if e.isRestore {
		e.pending = mergeBack(e.pending, e.restored)
		return nil
	}
	matches, err := filepath.Glob(e.pattern)
	if err != nil {
		return err // validated by NewSource; cannot happen
	}
	slices.Sort(matches)
	infos, err := listFiles(e.pattern, matches)
	if err != nil {
		return err
	}
	var splits []*Split
	for _, f := range infos {
		for start := int64(0); start < f.size; start += e.splitSize {
			end := start + e.splitSize
			if end >= f.size {
				end = -1 // the last range reads to wherever the file ends
			}
			splits = append(splits, &Split{Path: f.path, Start: start, End: end, Offset: start})
		}
	}
	// Splits given back before Start (a restore) replace the fresh ones.
	e.pending = mergeBack(e.pending, splits)
	return nil
}

// HandleSplitRequest assigns the next split, or says there are no more.
func (e *boundedEnumerator) HandleSplitRequest(subtask int) {
	if len(e.pending) == 0 {
		e.ctx.NoMoreSplits(subtask)
		return
	}
	s := e.pending[0]
	e.pending = e.pending[1:]
	e.ctx.Assign(subtask, s)
}

// AddSplitsBack puts splits back at the front of the queue, in place of a
// pending split with the same ID, so they are read next.
func (e *boundedEnumerator) AddSplitsBack(splits []source.Split, _ int) {
	var back []*Split
	for _, s := range splits {
		if fs, ok := s.(*Split); ok && !fs.Follow {
			back = append(back, fs.clone())
		}
	}
	e.pending = mergeBack(back, e.pending)
}

// mergeBack returns back followed by the splits of rest whose IDs are not
// in back.
func mergeBack(back, rest []*Split) []*Split {
	if len(back) == 0 {
		return rest
	}
	ids := make(map[string]bool, len(back))
	for _, s := range back {
		ids[s.SplitID()] = true
	}
	// In file and offset order, as the splits were first handed out: a
	// reader that takes several after a downscale reads them in event-time
	// order only then.
	out := slices.Clip(slices.SortedFunc(slices.Values(back), func(a, b *Split) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return cmp.Compare(a.Start, b.Start)
	}))
	for _, s := range rest {
		if !ids[s.SplitID()] {
			out = append(out, s)
		}
	}
	return out
}

// Snapshot returns the splits not assigned yet (source.SnapshottingEnumerator).
func (e *boundedEnumerator) Snapshot() ([]source.Split, error) {
	out := make([]source.Split, len(e.pending))
	for i, s := range e.pending {
		out[i] = s.clone()
	}
	return out, nil
}

// Close forgets the pending splits.
func (e *boundedEnumerator) Close() error {
	e.closed = true
	e.pending = nil
	return nil
}

// followEnumerator owns the one split of a follow-mode source and gives it
// to subtask 0; every other subtask is told at once that it gets nothing.
type followEnumerator struct {
	ctx     source.EnumeratorContext
	pattern string
	pending *Split // nil while a reader holds it
	waiting bool   // subtask 0 asked while the split was out
}

// Start does nothing: there is nothing to discover.
func (e *followEnumerator) Start(context.Context) error { return nil }

// HandleSplitRequest gives the split to subtask 0 and ends the others. A
// request from subtask 0 while the split is out is answered when the split
// comes back.
func (e *followEnumerator) HandleSplitRequest(subtask int) {
	if subtask != 0 {
		e.ctx.NoMoreSplits(subtask)
		return
	}
	if e.pending == nil {
		e.waiting = true
		return
	}
	s := e.pending
	e.pending, e.waiting = nil, false
	e.ctx.Assign(0, s)
}

// AddSplitsBack takes the split back, with its positions, for the next
// reader of subtask 0.
func (e *followEnumerator) AddSplitsBack(splits []source.Split, _ int) {
	for _, s := range splits {
		if fs, ok := s.(*Split); ok && fs.Follow && fs.Path == e.pattern {
			e.pending = fs.clone()
		}
	}
	if e.waiting && e.pending != nil {
		e.HandleSplitRequest(0)
	}
}

// Snapshot returns the split if no reader holds it (source.SnapshottingEnumerator).
func (e *followEnumerator) Snapshot() ([]source.Split, error) {
	if e.pending == nil {
		return nil, nil
	}
	return []source.Split{e.pending.clone()}, nil
}

// Close does nothing.
func (e *followEnumerator) Close() error { return nil }

// ReportEnd tells a hybrid source what the files' end was: the newest
// modification time among them, so that the source that follows (Kafka,
// started AtTime) begins where the backlog ended.
func (e *boundedEnumerator) ReportEnd() (hybrid.End, error) {
	matches, err := filepath.Glob(e.pattern)
	if err != nil {
		return hybrid.End{}, err
	}
	var newest time.Time
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil {
			return hybrid.End{}, fmt.Errorf("file: the end of the backlog: %w", err)
		}
		if fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
	}
	return hybrid.End{Timestamp: newest}, nil
}
