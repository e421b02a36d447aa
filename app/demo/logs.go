package demo

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/weirstream/weir/connector/datagen"
)

// rotateEvery is how often a web server rotates its log, as logrotate
// would, only faster, so the demo shows the shipper following renames.
const rotateEvery = 30 * time.Second

// keepRotated is how many rotated logs a web server keeps when the demo
// owns the log directory.
const keepRotated = 3

// logWriter is one synthetic web server: it appends generated access-log
// lines to access-N.log at its rate, with event times that follow the
// clock, and rotates the file to access-N.log.K.
type logWriter struct {
	dir    string
	server int
	rate   float64 // lines per second
	keep   bool    // keep every rotated file
	log    *slog.Logger
}

func (w *logWriter) path() string {
	return filepath.Join(w.dir, fmt.Sprintf("access-%d.log", w.server))
}

func (w *logWriter) run(ctx context.Context) error {
	start := time.Now()
	gen, err := datagen.New(datagen.Seed(int64(w.server)+1), datagen.Start(start), datagen.EventsPerSecond(w.rate), datagen.OutOfOrderness(2*time.Second))
	if err != nil {
		return err
	}
	f, err := os.OpenFile(w.path(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("web server %d: open its log: %w", w.server, err)
	}
	defer func() { f.Close() }()
	bw := bufio.NewWriterSize(f, 64<<10)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var written int64
	rotated, lastRotate := 0, start
	var line []byte
	for {
		select {
		case <-ctx.Done():
			return bw.Flush()
		case now := <-tick.C:
			// Catch up with the clock, but never burst more than a second.
			due := int64(now.Sub(start).Seconds() * w.rate)
			if due-written > int64(w.rate) {
				written = due - int64(w.rate)
			}
			for ; written < due; written++ {
				line, _ = gen.Next(line[:0])
				line = append(line, '\n')
				if _, err := bw.Write(line); err != nil {
					return fmt.Errorf("web server %d: write its log: %w", w.server, err)
				}
			}
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("web server %d: write its log: %w", w.server, err)
			}
			if now.Sub(lastRotate) < rotateEvery {
				continue
			}
			rotated++
			lastRotate = now
			if err := os.Rename(w.path(), fmt.Sprintf("%s.%d", w.path(), rotated)); err != nil {
				return fmt.Errorf("web server %d: rotate its log: %w", w.server, err)
			}
			f.Close()
			if f, err = os.OpenFile(w.path(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
				return fmt.Errorf("web server %d: open its new log: %w", w.server, err)
			}
			bw.Reset(f)
			if !w.keep && rotated > keepRotated {
				os.Remove(fmt.Sprintf("%s.%d", w.path(), rotated-keepRotated))
			}
		}
	}
}
