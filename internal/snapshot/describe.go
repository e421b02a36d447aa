package snapshot

import (
	"fmt"
	"io"
	"time"
)

// Describe writes a readable summary of a checkpoint's metadata to w: its
// identity and, per operator and subtask, the key groups and the sizes of
// keyed, operator and channel state. weir checkpoint inspect prints it. It
// returns the first write error.
func Describe(w io.Writer, m *Metadata) error {
	p := &printer{w: w}
	kind := "checkpoint"
	if m.Savepoint {
		kind = "savepoint"
	}
	p.printf("%s %d (format version %d)\n", kind, m.CheckpointID, m.FormatVersion)
	if m.JobName != "" {
		p.printf("  job              %s\n", m.JobName)
	}
	p.printf("  created          %s\n", time.UnixMilli(m.CreatedUnixMs).UTC().Format(time.RFC3339Nano))
	p.printf("  max parallelism  %d\n", m.MaxParallelism)
	p.printf("  operators        %d\n", len(m.Operators))
	for _, op := range m.Operators {
		var keyed, opState, chState int64
		for _, s := range op.Subtasks {
			keyed += s.KeyedSize
			opState += int64(len(s.OperatorState))
			chState += int64(len(s.ChannelState))
		}
		name := ""
		if op.Name != "" && op.Name != op.UID {
			name = fmt.Sprintf(" (%s)", op.Name)
		}
		p.printf("operator %q%s  parallelism %d, %d subtasks with state; keyed %s, operator %s, channel %s\n",
			op.UID, name, op.Parallelism, len(op.Subtasks), size(keyed), size(opState), size(chState))
		for _, s := range op.Subtasks {
			p.printf("  subtask %d", s.Index)
			if s.Finished {
				p.printf(" (finished)")
			}
			if s.KeyGroups[0] < s.KeyGroups[1] {
				p.printf("  key groups [%d, %d)", s.KeyGroups[0], s.KeyGroups[1])
			}
			if s.KeyedFile != "" {
				nonEmpty := 0
				for _, off := range s.GroupOffsets {
					if off >= 0 {
						nonEmpty++
					}
				}
				p.printf("  keyed %s in %s (%d of %d groups with state, crc32c %08x)",
					size(s.KeyedSize), s.KeyedFile, nonEmpty, len(s.GroupOffsets), s.KeyedCRC)
			}
			p.printf("  operator state %s  channel state %s\n", size(int64(len(s.OperatorState))), size(int64(len(s.ChannelState))))
		}
	}
	return p.err
}

// Summary returns one line about a checkpoint: its kind and id, when it was
// taken, its operators and the size of its state, as in
// "checkpoint 12, taken 2026-11-24T07:40:00Z, 4 operators, 1.2 MiB of state".
func Summary(m *Metadata) string {
	kind := "checkpoint"
	if m.Savepoint {
		kind = "savepoint"
	}
	var total int64
	for _, op := range m.Operators {
		for _, s := range op.Subtasks {
			total += s.KeyedSize + int64(len(s.OperatorState)) + int64(len(s.ChannelState))
		}
	}
	return fmt.Sprintf("%s %d, taken %s, %d operators, %s of state", kind, m.CheckpointID,
		time.UnixMilli(m.CreatedUnixMs).UTC().Format(time.RFC3339), len(m.Operators), size(total))
}

// printer keeps the first write error, so Describe reads as a list of lines.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// FormatSize formats a byte count as Describe does: exactly below 1 KiB,
// to one decimal above ("1.5 MiB").
func FormatSize(n int64) string { return size(n) }

// size formats a byte count exactly below 1 KiB and to one decimal above.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
