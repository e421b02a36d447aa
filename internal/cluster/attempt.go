package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/weirstream/weir/internal/checkpoint/storage"
)

// Attempts. What an epoch leaves outside the processes is named by its
// attempt (job.Run.Attempt): the Kafka sink's transactional ids, the file
// sink's part files. A sink that starts aborts or deletes what it finds
// under an earlier attempt and leaves a later one's alone, since only a
// zombie finds the live epoch's. So every epoch's attempt must be greater
// than the attempt of every epoch started before it from the same
// checkpoint location, in this cluster or an earlier one.
//
// Epoch ids grow within a coordinator and across the generations of one
// Kafka group, but not further: Kafka forgets a group once it is empty, so
// a cluster started again after all its workers stopped may begin at
// generation 1 again, and a coordinator that restarts within its session
// timeout keeps its generation and numbers its restarts anew. An attempt
// is therefore the epoch id under a lifetime, a number that grows whenever
// the numbering may have started again: lifetime<<lifetimeShift | epoch.
// The coordinators keep the last epoch they started in the checkpoint
// location (epochsProbe) to know.

// epochsProbe names the record of the last epoch started, in the
// checkpoint location's probe area (storage.WriteProbe).
const epochsProbe = "epochs"

// lifetimeShift places the lifetime above every epoch id: a generation is
// an int32, so an id is below 1<<47. maxLifetime keeps an attempt within
// the 18 digits a transactional id's attempt may have.
const (
	lifetimeShift = 47
	maxLifetime   = 1<<12 - 1
)

// attemptOf returns the attempt of an epoch in a lifetime.
func attemptOf(lifetime, epoch int64) int64 { return lifetime<<lifetimeShift | epoch }

// epochRecord is the last epoch a coordinator started, as the probe keeps
// it.
type epochRecord struct {
	Lifetime   int64 `json:"lifetime"`
	Generation int32 `json:"generation"`
	Restart    int   `json:"restart"`
}

// readEpochs returns the last epoch started from the checkpoint location,
// and false when none was.
func readEpochs(ctx context.Context, store *storage.Storage) (epochRecord, bool, error) {
	b, ok, err := store.ReadProbe(ctx, epochsProbe)
	if err != nil || !ok {
		return epochRecord{}, false, err
	}
	var r epochRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return epochRecord{}, false, fmt.Errorf("cluster: the record of the last epoch started (_probes/%s in the checkpoint location) is damaged: %w; delete it to start the count of lifetimes again", epochsProbe, err)
	}
	return r, true, nil
}

// lastEpoch returns the last epoch started from the worker's checkpoint
// location. A location where none was, whose job starts from a checkpoint
// in another (RestoreFrom), takes that one's: what the other location's
// cluster left open there is the job's too.
func (w *worker) lastEpoch(ctx context.Context) (epochRecord, bool, error) {
	last, found, err := readEpochs(ctx, w.store)
	from := w.spec.Job.Checkpoints.RestoreFrom
	if err != nil || found || from == "" || from == "latest" {
		return last, found, err
	}
	rs, _, err := storage.OpenRestore(ctx, from)
	if err == nil {
		defer rs.Close()
		last, found, err = readEpochs(ctx, rs)
	}
	if err != nil {
		// The restore says what is wrong with the path, if anything is.
		w.log.Warn("cluster: cannot read the last epoch started from the location restored from; numbering epochs from this location's", "restore", from, "err", err)
		return epochRecord{}, false, nil
	}
	return last, found, nil
}

// writeEpochs records the epoch a coordinator is about to start.
func writeEpochs(ctx context.Context, store *storage.Storage, r epochRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return store.WriteProbe(ctx, epochsProbe, b)
}

// errTooManyLifetimes ends a job whose attempts would no longer fit.
var errTooManyLifetimes = fmt.Errorf("cluster: the job's checkpoint location has seen too many lifetimes of its cluster to number another (%d); once every worker of the job has stopped, delete the record of the last epoch (_probes/%s in the checkpoint location) and start again", maxLifetime, epochsProbe)

// numbering returns the lifetime of the epochs a coordinator of generation
// gen starts, and the first restart to number them with (at least
// restart), given the last epoch started (last, if found). confirm asks
// the brokers whether gen goes on; it is called after last was read, and
// only when last's generation is not older than gen.
//
// A later generation than last's continues last's lifetime: Kafka numbered
// it after last's, and its ids are greater. The same generation is a
// coordinator restarted within its session timeout, or a cluster started
// again whose group reached last's generation: its restarts continue above
// last's (within the lifetime while there is room, else in the next). An
// earlier generation is a cluster started again, or a coordinator cut off
// whose generation ended after last was written; confirm tells them
// apart: the group had moved past a zombie's generation before last was
// written, and the brokers say so.
func numbering(last epochRecord, found bool, gen int32, restart int, confirm func() error) (int64, int, error) {
	if !found || gen > last.Generation {
		return last.Lifetime, restart, nil
	}
	if err := confirm(); err != nil {
		return 0, 0, err
	}
	life := last.Lifetime
	if gen == last.Generation {
		// Above the last restart, with room for a process of the last
		// one's still running: it numbers its restarts on from its own.
		if next := last.Restart + 1 + rand.IntN(0x400); next < 0xf000 {
			return life, max(restart, next), nil
		}
	}
	if life >= maxLifetime {
		return 0, 0, errTooManyLifetimes
	}
	return life + 1, restart, nil
}
