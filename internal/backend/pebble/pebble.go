// Package pebble is the state backend for state larger than memory: a
// keyedstate.KV on a Pebble LSM in a local directory, one database per keyed
// operator subtask.
//
// The database is scratch space, a cache of state whose truth is the last
// completed checkpoint:
//
//  1. Nothing in it survives a restart. Open deletes what the directory held
//     and Close deletes the directory; a restarted job restores its state
//     from a checkpoint (keyedstate.Engine.Restore), on this backend or the
//     heap.
//  2. Hence no write-ahead log: a crash loses the memtables, which the
//     restart would throw away anyway, and every write skips a log append.
//  3. Checkpoints read the database through keyedstate.Engine.Snapshot (a
//     scan); its files are never uploaded, so their format may change
//     between versions of weir and of Pebble.
package pebble

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/weirstream/weir/internal/keyedstate"
)

// Tuning for a cache of state. Each subtask opens its own database, so the
// memory they pin is multiplied by the number of keyed subtasks.
const (
	// memTableSize is larger than Pebble's 4 MiB default: state overwrites
	// hot keys often, and a large memtable absorbs those writes before
	// they cost a flush and compactions.
	memTableSize = 32 << 20
	// memTableStopWritesThreshold bounds the queued memtables (4 × 32 MiB)
	// while one flushes, instead of stalling writes at Pebble's default 2.
	memTableStopWritesThreshold = 4
	// cacheSize is the block cache for state that has left the memtables.
	cacheSize = 32 << 20
)

// DB is a Pebble database that holds the keyed state of one operator
// subtask. It implements keyedstate.KV. Like the store over it, it is used
// from one goroutine: Get returns a buffer that the next Get reuses.
type DB struct {
	dir string
	db  *pebble.DB
	buf []byte // the value of the last Get
}

var (
	_ keyedstate.KV          = (*DB)(nil)
	_ keyedstate.BatchSetter = (*DB)(nil)
)

// Open opens a database in dir, which is created if needed. Whatever dir
// held before is deleted (see the package doc), but only if it looks like a
// database of this backend or is empty: a directory with other files gives
// an error rather than lose them. Close the DB when the subtask ends.
func Open(dir string) (*DB, error) {
	if dir == "" {
		return nil, errors.New("pebble: no state directory: give each keyed subtask a directory of its own")
	}
	if err := clearDir(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pebble: create the state directory: %w", err)
	}
	opts := &pebble.Options{
		DisableWAL:                  true,
		FormatMajorVersion:          pebble.FormatNewest, // nothing older will read it
		MemTableSize:                memTableSize,
		MemTableStopWritesThreshold: memTableStopWritesThreshold,
		CacheSize:                   cacheSize,
		NoSyncOnClose:               true, // Close deletes the files
		Logger:                      logger{dir: dir},
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("pebble: open the state directory %s: %w", dir, err)
	}
	return &DB{dir: dir, db: db}, nil
}

// clearDir deletes dir if it holds a database left by an earlier run (or
// nothing), and refuses if it holds anything else.
func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pebble: read the state directory: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	isDB := false
	for _, e := range entries {
		n := e.Name()
		if n == "LOCK" || strings.HasPrefix(n, "MANIFEST-") || strings.HasPrefix(n, "OPTIONS-") {
			isDB = true
			break
		}
	}
	if !isDB {
		return fmt.Errorf("pebble: the state directory %s holds files that are not a state database; the backend deletes its directory's contents on open, so give it an empty or new directory", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("pebble: delete the state left in %s by an earlier run: %w", dir, err)
	}
	return nil
}

// Close closes the database and deletes its directory. The DB must not be
// used after.
func (d *DB) Close() error {
	err := d.db.Close()
	if rmErr := os.RemoveAll(d.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("pebble: delete the state directory: %w", rmErr))
	}
	if err != nil {
		return fmt.Errorf("pebble: close the state database in %s: %w", d.dir, err)
	}
	return nil
}

// Get returns the value under key. The value is copied out of Pebble (whose
// slice pins a block until it is released) into a buffer that stays valid
// until the next Get.
func (d *DB) Get(key []byte) ([]byte, bool, error) {
	v, closer, err := d.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	d.buf = append(d.buf[:0], v...)
	if err := closer.Close(); err != nil {
		return nil, false, err
	}
	return d.buf, true, nil
}

// Set stores value under key. It returns once the write is in the memtable:
// without a WAL there is nothing to sync.
func (d *DB) Set(key, value []byte) error { return d.db.Set(key, value, pebble.NoSync) }

// SetBatch stores every pair in one batch. Sorted keys, as Restore gives
// them, let the memtable insert each next to the last.
func (d *DB) SetBatch(keys, values [][]byte) error {
	size := 0
	for i := range keys {
		size += len(keys[i]) + len(values[i]) + 8 // plus a few bytes of framing each
	}
	b := d.db.NewBatchWithSize(size)
	defer b.Close()
	for i := range keys {
		if err := b.Set(keys[i], values[i], nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.NoSync)
}

// Delete removes key.
func (d *DB) Delete(key []byte) error { return d.db.Delete(key, pebble.NoSync) }

// DeleteRange removes every key in [start, end) with one range tombstone.
func (d *DB) DeleteRange(start, end []byte) error {
	return d.db.DeleteRange(start, end, pebble.NoSync)
}

// Scan calls fn for every key with the prefix, in key order. It reads a
// consistent view as of its start: writes made by fn (Delete of the visited
// key, say) are not seen by the scan.
func (d *DB) Scan(prefix []byte, fn func(key, value []byte) error) error {
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upperBound(prefix)})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			break // Close returns it
		}
		if err := fn(it.Key(), v); err != nil {
			return errors.Join(err, it.Close())
		}
	}
	return it.Close() // with any error the iterator met
}

// upperBound returns the smallest key greater than every key with the
// prefix, or nil (no bound) if there is none: a prefix of 0xff bytes.
func upperBound(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// logger sends Pebble's messages to slog: its routine chatter (files found
// on open, compactions) at debug level, so that it stays out of job logs.
type logger struct{ dir string }

func (l logger) Infof(format string, args ...any) {
	slog.Debug(fmt.Sprintf(format, args...), "component", "pebble", "dir", l.dir)
}

func (l logger) Errorf(format string, args ...any) {
	slog.Error(fmt.Sprintf(format, args...), "component", "pebble", "dir", l.dir)
}

// Fatalf reports a broken invariant or corrupt files. Pebble expects it not
// to return; a panic shows where, where the default logger would exit.
func (l logger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	slog.Error(msg, "component", "pebble", "dir", l.dir)
	panic("pebble: " + msg)
}
