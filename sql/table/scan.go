package table

import (
	"github.com/weirstream/weir"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/sql/types"
)

// AddSource adds src, a source of the table's rows, to c.Env: with the
// table's watermark applied per split inside the source when c has one
// (weir.FromSourceWithWatermarks; idleness from the Watermark, or else
// from 'scan.watermark.idle-timeout'), and returns the Scan of it with the
// source's dead letters.
func AddSource(c ScanContext, src source.Source[types.Row]) Scan {
	var rows weir.Stream[types.Row]
	if c.Watermark != nil {
		w := *c.Watermark
		if w.Idleness == 0 {
			// Registry.Resolve checked the value.
			w.Idleness, _ = c.Options.Duration(IdleTimeoutOption, 0)
		}
		rows = weir.FromSourceWithWatermarks(c.Env, src, w.Strategy(), c.OpOptions("source")...)
	} else {
		rows = weir.FromSource(c.Env, src, c.OpOptions("source")...)
	}
	return Scan{
		Rows:        rows,
		DeadLetters: weir.SourceDeadLetters(rows, c.OpOptions("dead-letters")...),
		Bounded:     src.Boundedness() == source.Bounded,
	}
}
