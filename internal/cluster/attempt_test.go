package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/weirstream/weir/internal/checkpoint/storage"
)

// TestNumbering: every epoch a coordinator numbers has an attempt above
// the last one recorded, whatever generation Kafka gives it; and a
// coordinator whose generation the brokers say is over numbers nothing.
func TestNumbering(t *testing.T) {
	const restart = 100
	last := epochRecord{Lifetime: 2, Generation: 7, Restart: 300}
	lastAttempt := attemptOf(last.Lifetime, epochID(last.Generation, last.Restart))
	over := errors.New("generation over")
	for _, c := range []struct {
		name      string
		last      epochRecord
		found     bool
		gen       int32
		restart   int
		confirm   error
		asks      bool  // whether the brokers are asked
		lifetime  int64 // want, unless err
		minRest   int
		wantErr   error
		aboveLast bool
	}{
		{name: "first start", gen: 1, restart: restart, lifetime: 0, minRest: restart},
		{name: "a later generation", last: last, found: true, gen: 8, restart: restart, lifetime: 2, minRest: restart, aboveLast: true},
		{name: "the same generation, a coordinator restarted", last: last, found: true, gen: 7, restart: restart, asks: true, lifetime: 2, minRest: 301, aboveLast: true},
		{name: "the same generation, no room left for restarts", last: epochRecord{Lifetime: 2, Generation: 7, Restart: 0xf000}, found: true, gen: 7, restart: restart, asks: true, lifetime: 3, minRest: restart, aboveLast: true},
		{name: "an earlier generation: a new group", last: last, found: true, gen: 1, restart: restart, asks: true, lifetime: 3, minRest: restart, aboveLast: true},
		{name: "an earlier generation that is over", last: last, found: true, gen: 6, restart: restart, confirm: over, asks: true, wantErr: over},
		{name: "the same generation that is over", last: last, found: true, gen: 7, restart: restart, confirm: over, asks: true, wantErr: over},
		{name: "no lifetime left", last: epochRecord{Lifetime: maxLifetime, Generation: 7}, found: true, gen: 1, restart: restart, asks: true, wantErr: errTooManyLifetimes},
	} {
		t.Run(c.name, func(t *testing.T) {
			asked := false
			life, r, err := numbering(c.last, c.found, c.gen, c.restart, func() error { asked = true; return c.confirm })
			if asked != c.asks {
				t.Errorf("asked the brokers: %v, want %v", asked, c.asks)
			}
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if life != c.lifetime || r < c.minRest || r >= 0xffff {
				t.Errorf("lifetime %d, first restart %d; want lifetime %d and a restart in [%d, 0xffff)", life, r, c.lifetime, c.minRest)
			}
			if got := attemptOf(life, epochID(c.gen, r)); c.aboveLast && got <= lastAttempt && c.last == last {
				t.Errorf("attempt %d is not above the last one's, %d", got, lastAttempt)
			}
		})
	}
	// The largest attempt fits the 18 digits of a transactional id's.
	if a := attemptOf(maxLifetime, epochID(1<<31-1, 0xffff)); a < 0 || len(strconv.FormatInt(a, 10)) > 18 {
		t.Errorf("the largest attempt %d does not fit 18 digits", a)
	}
}

// TestEpochRecord: the record survives in the checkpoint location, and a
// damaged one is an error that says what to do.
func TestEpochRecord(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := readEpochs(ctx, store); err != nil || found {
		t.Fatalf("a new location has a record: found %v, err %v", found, err)
	}
	want := epochRecord{Lifetime: 3, Generation: 12, Restart: 4567}
	if err := writeEpochs(ctx, store, want); err != nil {
		t.Fatal(err)
	}
	if got, found, err := readEpochs(ctx, store); err != nil || !found || got != want {
		t.Fatalf("read %+v (found %v, err %v), want %+v", got, found, err, want)
	}
	probes, _ := filepath.Glob(filepath.Join(dir, "_probes", epochsProbe))
	if len(probes) != 1 {
		t.Fatalf("no probe file %q in the location", epochsProbe)
	}
	if err := os.WriteFile(probes[0], []byte("{lifetime"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readEpochs(ctx, store); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("a damaged record read as %v, want an error that says to delete it", err)
	}
}
