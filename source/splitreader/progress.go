package splitreader

import (
	"slices"
	"sync"

	"github.com/weirstream/weir/source"
)

// ProgressReporter is implemented by a Reader that can say where it is in
// its split. The base then reports every such split through
// source.ProgressReporter, and the job's metrics show it.
type ProgressReporter interface {
	// Progress returns the reader's position in its split and what
	// remains to read after it, in the split's own unit (bytes of a file
	// range, events of a generator), or -1 for a lag the reader does not
	// know (an unbounded split). The base calls it from the subtask's
	// goroutine after each Read, as it calls Read.
	Progress() (position, lag int64)
}

// maxFinishedProgress bounds the finished splits the base still reports:
// a bounded source can be made of thousands of splits, and the latest
// ones say enough.
const maxFinishedProgress = 16

// progress is what the base publishes of its splits' progress for
// AppendSplitProgress, which runs on other goroutines. The subtask's
// goroutine updates it once per Read, under a lock nobody holds for long.
type progress struct {
	mu       sync.Mutex
	open     []source.SplitProgress // of the open splits that report it, in the order opened
	finished []source.SplitProgress // the latest finished ones, oldest first, at lag 0
}

// update records the progress of the open split id.
func (p *progress) update(id, unit string, position, lag int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.open {
		if p.open[i].Split == id {
			p.open[i].Position, p.open[i].Lag = position, lag
			return
		}
	}
	p.open = append(p.open, source.SplitProgress{Split: id, Position: position, Lag: lag, Unit: unit})
}

// finish moves split id from the open splits to the finished ones.
func (p *progress) finish(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.IndexFunc(p.open, func(s source.SplitProgress) bool { return s.Split == id })
	if i < 0 {
		return
	}
	done := p.open[i]
	done.Lag = 0
	p.open = slices.Delete(p.open, i, i+1)
	if len(p.finished) == maxFinishedProgress {
		p.finished = slices.Delete(p.finished, 0, 1)
	}
	p.finished = append(p.finished, done)
}

// AppendSplitProgress implements source.ProgressReporter: the open splits
// whose Reader implements ProgressReporter, as of their latest Read, then
// the latest finished ones at lag 0. After Close the open splits stay
// reported as their readers last said.
func (b *base[T, S]) AppendSplitProgress(dst []source.SplitProgress) []source.SplitProgress {
	p := &b.progress
	p.mu.Lock()
	defer p.mu.Unlock()
	dst = append(dst, p.open...)
	return append(dst, p.finished...)
}

// reportProgress publishes the progress of sp after a Read.
func (b *base[T, S]) reportProgress(sp *split[T, S]) {
	if r, ok := sp.r.(ProgressReporter); ok {
		pos, lag := r.Progress()
		b.progress.update(sp.id, b.o.ProgressUnit, pos, lag)
	}
}
