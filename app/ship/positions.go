package ship

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/internal/tail"
)

// positionsVersion is the version of the positions record's format.
const positionsVersion = 1

// positions is a positions record: where the shipper is in every file it
// follows, as of the transaction that holds the record.
type positions struct {
	Version int            `json:"v"`
	Shipper string         `json:"shipper"`
	Time    time.Time      `json:"time"`
	Files   []filePosition `json:"files"`
}

// filePosition is the position in one file.
type filePosition struct {
	// Path is the file's name when the record was written.
	Path string `json:"path"`
	// Dev and Ino identify the file across renames.
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
	// Offset is the offset after the last line shipped.
	Offset int64 `json:"offset"`
	// HeadLen and Head fingerprint the file: Head is the hex SHA-256 of its
	// first HeadLen bytes. A file with the same identity but another head
	// is another file (the inode was reused) or was rewritten.
	HeadLen int    `json:"head_len"`
	Head    string `json:"head,omitempty"`
	// Size is how long the file was known to be (absent in records of
	// older weirs): a shipper that finds the file shorter than Offset
	// logs at least Size-Offset bytes lost.
	Size int64 `json:"size,omitempty"`
	// Done says the file left the pattern and was shipped to its end. It
	// is listed while it lies in its directory, so that a shipper does not
	// take it for a rotated file nobody shipped, and ships what it gains
	// if it grows again.
	Done bool `json:"done,omitempty"`
}

// position returns p for the tailer. A head that does not decode keeps
// its length and a zero sum, which no file's first bytes have: the file is
// read again.
func (p filePosition) position() tail.Position {
	tp := tail.Position{Path: p.Path, ID: tail.ID{Dev: p.Dev, Ino: p.Ino}, Offset: p.Offset, Size: p.Size, Head: tail.Head{N: max(0, p.HeadLen)}, Done: p.Done}
	if sum, err := hex.DecodeString(p.Head); err == nil && len(sum) == len(tp.Head.Sum) {
		copy(tp.Head.Sum[:], sum)
	}
	return tp
}

func decodePositions(b []byte) (*positions, error) {
	var p positions
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("ship: decode a positions record: %w", err)
	}
	if p.Version != positionsVersion {
		return nil, fmt.Errorf("ship: the positions record has version %d, but this weir reads version %d; run the weir that wrote it, or give this shipper another TransactionalID to start afresh", p.Version, positionsVersion)
	}
	return &p, nil
}

// firstWindow is how many offsets back from the end of a partition the
// search for the last positions record starts; it grows eightfold until it
// covers the partition.
const firstWindow = 64

// loadPositions returns the last committed positions record with key id in
// topic, or nil if there is none. It reads with isolation level
// read_committed, from the end of each partition backwards, so a topic
// that compaction has not yet shrunk costs little.
//
// It must run after the shipper's producer has initialized: that ends the
// shipper's last transaction, so its last record is decided. A transaction
// of another producer that is still open makes it wait until that one ends.
func loadPositions(ctx context.Context, opts []kgo.Opt, topic, id string) (*positions, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	var best *kgo.Record
	for _, byPart := range ends {
		for p, end := range byPart {
			if errors.Is(end.Err, kerr.UnknownTopicOrPartition) {
				return nil, nil // no topic, no positions
			}
			if end.Err != nil {
				return nil, end.Err
			}
			start, ok := starts.Lookup(topic, p)
			switch {
			case !ok:
				return nil, fmt.Errorf("the broker listed no start offset for partition %d", p)
			case start.Err != nil:
				return nil, fmt.Errorf("list the start offset of partition %d: %w", p, start.Err)
			}
			for window := int64(firstWindow); ; window *= 8 {
				from := max(start.Offset, end.Offset-window)
				if from >= end.Offset {
					break
				}
				rec, err := lastWithKey(ctx, opts, topic, p, from, end.Offset, id)
				if err != nil {
					return nil, err
				}
				if rec != nil {
					if best == nil || rec.Timestamp.After(best.Timestamp) {
						best = rec
					}
					break
				}
				if from == start.Offset {
					break
				}
			}
		}
	}
	if best == nil {
		return nil, nil
	}
	return decodePositions(best.Value)
}

// lastWithKey reads partition p of topic from offset from until it has seen
// the offset before end, and returns the last committed record with key id
// in that range, or nil.
func lastWithKey(ctx context.Context, opts []kgo.Opt, topic string, p int32, from, end int64, id string) (*kgo.Record, error) {
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().At(from)}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers are kept: they may be the last offsets of the
		// range, and seeing them says the range was read.
		kgo.KeepControlRecords(),
		// Closing a client while it sets up incremental fetches races
		// inside the client; a one-off read does not need them.
		kgo.DisableFetchSessions(),
	)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var last *kgo.Record
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if ferr == nil {
				ferr = err
			}
		})
		if ferr != nil {
			return nil, ferr
		}
		done := false
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= end {
				done = true
				return
			}
			if !r.Attrs.IsControl() && string(r.Key) == id {
				last = r
			}
			if r.Offset >= end-1 {
				done = true
			}
		})
		if done {
			return last, nil
		}
	}
}
