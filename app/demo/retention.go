package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Segment sizes of the embedded broker's topics. The broker frees a
// partition's records a segment at a time, once every record of the
// segment was deleted: small segments keep the records it holds close to
// what retention keeps.
const (
	accessSegmentBytes    = 1 << 20
	positionsSegmentBytes = 64 << 10
)

// positionsLookBack is how many offsets before the end of the positions
// topic the search for the shipper's last committed positions record
// covers. Every transaction of the shipper ends with one positions record
// and its commit marker, so a few offsets would do.
const positionsLookBack = 256

// retention deletes from the embedded broker the records nobody needs any
// more, as a broker's retention would, but never one that the job or the
// shipper may still read:
//
//   - in the access topic, the records before both the offset the job's
//     group committed (the job restores from checkpoints that are at or
//     past it) and the first record younger than keep (a restore from an
//     older checkpoint, or a look with weir consume, still finds the last
//     minutes);
//   - in the positions topic, the records before both the shipper's last
//     committed positions record (the only one it reads when it starts)
//     and the first record younger than keep.
//
// It deletes with DeleteRecords, the request `kafka-delete-records` sends.
type retention struct {
	opts      []kgo.Opt // how to reach the broker
	topic     string
	positions string
	group     string
	keep      time.Duration
	log       *slog.Logger
}

// every is how often retention runs: often enough that the broker holds
// little more than keep of records.
func (r *retention) every() time.Duration {
	return min(max(r.keep/4, 100*time.Millisecond), 30*time.Second)
}

// prepare gives the access topic small segments and creates the positions
// topic (as the shipper would, compacted, with one partition) with small
// segments too.
func (r *retention) prepare(ctx context.Context) error {
	cl, err := kgo.NewClient(r.opts...)
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	seg := strconv.Itoa(accessSegmentBytes)
	resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "segment.bytes", Value: &seg}}, r.topic)
	if err == nil {
		var altered kadm.AlterConfigsResponse
		if altered, err = resp.On(r.topic, nil); err == nil {
			err = altered.Err
		}
	}
	if err != nil {
		return fmt.Errorf("retention: set segment.bytes of topic %q: %w", r.topic, err)
	}
	compact, posSeg := "compact", strconv.Itoa(positionsSegmentBytes)
	created, err := adm.CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": &compact, "segment.bytes": &posSeg}, r.positions)
	if err == nil {
		err = created.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("retention: create topic %q: %w", r.positions, err)
	}
	return nil
}

// run trims the topics every so often until ctx is done. A failed round
// is logged and tried again at the next: retention is housekeeping.
func (r *retention) run(ctx context.Context) {
	cl, err := kgo.NewClient(r.opts...)
	if err != nil {
		r.log.Warn("retention: cannot reach the embedded broker; records are kept", "err", err)
		return
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	tick := time.NewTicker(r.every())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := r.trim(ctx, adm); err != nil && ctx.Err() == nil {
			r.log.Warn("retention: cannot delete old records from the embedded broker; trying again", "err", err)
		}
	}
}

// trim deletes what retention allows from both topics.
func (r *retention) trim(ctx context.Context, adm *kadm.Client) error {
	ctx, cancel := context.WithTimeout(ctx, max(r.every(), 5*time.Second))
	defer cancel()
	old := time.Now().Add(-r.keep).UnixMilli()
	young, err := adm.ListOffsetsAfterMilli(ctx, old, r.topic, r.positions)
	if err == nil {
		err = young.Error()
	}
	if err != nil {
		return fmt.Errorf("list the offsets after %v: %w", time.UnixMilli(old), err)
	}
	starts, err := adm.ListStartOffsets(ctx, r.topic, r.positions)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("list the start offsets: %w", err)
	}

	var del kadm.Offsets
	// add asks to delete the records of a partition before to, if that
	// deletes any.
	add := func(topic string, p int32, to int64) {
		if s, ok := starts.Lookup(topic, p); ok && to > s.Offset {
			del.Add(kadm.Offset{Topic: topic, Partition: p, At: to})
		}
	}

	committed, err := adm.FetchOffsets(ctx, r.group)
	if err == nil {
		err = committed.Error()
	}
	switch {
	case errors.Is(err, kerr.GroupIDNotFound):
		committed = nil // the job has not committed yet: keep the access logs
	case err != nil:
		return fmt.Errorf("fetch the offsets of group %q: %w", r.group, err)
	}
	young.Each(func(o kadm.ListedOffset) {
		if o.Topic != r.topic {
			return
		}
		if c, ok := committed.Lookup(r.topic, o.Partition); ok && c.At >= 0 {
			add(r.topic, o.Partition, min(c.At, o.Offset))
		}
	})

	if y, ok := young.Lookup(r.positions, 0); ok {
		last, found, err := r.lastPositions(ctx, adm, starts)
		if err != nil {
			return err
		}
		if found {
			add(r.positions, 0, min(last, y.Offset))
		}
	}

	if len(del) == 0 {
		return nil
	}
	resp, err := adm.DeleteRecords(ctx, del)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("delete records: %w", err)
	}
	r.log.Debug("retention: deleted old records", "up_to", del.Sorted())
	return nil
}

// lastPositions returns the offset of the shipper's last committed
// positions record, reading the end of the positions topic with
// isolation level read_committed; found is false when there is none near
// the end.
func (r *retention) lastPositions(ctx context.Context, adm *kadm.Client, starts kadm.ListedOffsets) (last int64, found bool, err error) {
	stable, err := adm.ListCommittedOffsets(ctx, r.positions)
	if err == nil {
		err = stable.Error()
	}
	if err != nil {
		return 0, false, fmt.Errorf("list the stable offset of topic %q: %w", r.positions, err)
	}
	end, ok1 := stable.Lookup(r.positions, 0)
	start, ok2 := starts.Lookup(r.positions, 0)
	if !ok1 || !ok2 {
		return 0, false, nil
	}
	from := max(start.Offset, end.Offset-positionsLookBack)
	if from >= end.Offset {
		return 0, false, nil
	}
	cl, err := kgo.NewClient(append(r.opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{r.positions: {0: kgo.NewOffset().At(from)}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Every transaction ends with a marker below the stable offset:
		// seeing the one before it says the range was read.
		kgo.KeepControlRecords(),
		kgo.DisableFetchSessions(),
	)...)
	if err != nil {
		return 0, false, err
	}
	defer cl.Close()
	last = -1
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return 0, false, err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = errors.Join(ferr, err) })
		if ferr != nil {
			return 0, false, fmt.Errorf("read topic %q: %w", r.positions, ferr)
		}
		done := false
		fs.EachRecord(func(rec *kgo.Record) {
			if !rec.Attrs.IsControl() {
				last = rec.Offset
			}
			done = done || rec.Offset >= end.Offset-1
		})
		if done {
			return last, last >= 0, nil
		}
	}
}
