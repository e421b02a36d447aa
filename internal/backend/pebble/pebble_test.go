package pebble

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T) *DB {
	t.Helper()
	d, err := Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

func get(t *testing.T, d *DB, key string) (string, bool) {
	t.Helper()
	v, ok, err := d.Get([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return string(v), ok
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestGetSetDelete(t *testing.T) {
	d := open(t)
	if _, ok := get(t, d, "a"); ok {
		t.Fatal("empty DB has a")
	}
	key, val := []byte("a"), []byte("1")
	must(t, d.Set(key, val))
	key[0], val[0] = 'z', '9' // the DB copies what it keeps
	if v, ok := get(t, d, "a"); !ok || v != "1" {
		t.Fatalf("a = %q, %v", v, ok)
	}
	must(t, d.Set([]byte("a"), []byte("2")))
	if v, _ := get(t, d, "a"); v != "2" {
		t.Fatalf("a = %q after overwrite", v)
	}
	must(t, d.Delete([]byte("a")))
	must(t, d.Delete([]byte("never")))
	if _, ok := get(t, d, "a"); ok {
		t.Fatal("a survived Delete")
	}
}

func TestSetBatch(t *testing.T) {
	d := open(t)
	keys := [][]byte{[]byte("a"), []byte("b"), []byte("b")}
	vals := [][]byte{[]byte("1"), []byte("2"), []byte("3")}
	must(t, d.SetBatch(keys, vals))
	if v, _ := get(t, d, "a"); v != "1" {
		t.Fatalf("a = %q", v)
	}
	if v, _ := get(t, d, "b"); v != "3" {
		t.Fatalf("b = %q, want the later pair's 3", v)
	}
}

// scan returns "key=value" for every key with the prefix.
func scan(t *testing.T, d *DB, prefix []byte) []string {
	t.Helper()
	var got []string
	must(t, d.Scan(prefix, func(k, v []byte) error {
		got = append(got, fmt.Sprintf("%x=%s", k, v))
		return nil
	}))
	return got
}

func TestScan(t *testing.T) {
	d := open(t)
	for _, k := range [][]byte{{0x01}, {0x01, 0x00}, {0x01, 0xff}, {0x01, 0xff, 0xff}, {0x02}, {0xff}, {0xff, 0xff}, {0xff, 0xff, 0x01}} {
		must(t, d.Set(k, []byte("v")))
	}
	for _, c := range []struct {
		prefix []byte
		want   int
	}{
		{nil, 8},
		{[]byte{0x01}, 4},
		{[]byte{0x01, 0xff}, 2},
		{[]byte{0x02}, 1},
		{[]byte{0x03}, 0},
		{[]byte{0xff}, 3},
		{[]byte{0xff, 0xff}, 2},
	} {
		got := scan(t, d, c.prefix)
		if len(got) != c.want {
			t.Errorf("prefix %x: %v, want %d keys", c.prefix, got, c.want)
		}
	}
	if got := scan(t, d, []byte{0x01}); got[0] != "01=v" || got[3] != "01ffff=v" {
		t.Errorf("not in key order: %v", got)
	}

	stop := errors.New("stop")
	n := 0
	err := d.Scan(nil, func(_, _ []byte) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Scan after fn's error: %v, %d calls", err, n)
	}

	// fn may delete the key it visits (Expire does).
	must(t, d.Scan([]byte{0x01}, func(k, _ []byte) error { return d.Delete(k) }))
	if got := scan(t, d, nil); len(got) != 4 {
		t.Fatalf("after deleting while scanning: %v", got)
	}
}

func TestDeleteRange(t *testing.T) {
	d := open(t)
	for _, k := range []string{"a", "b", "ba", "c"} {
		must(t, d.Set([]byte(k), []byte("v")))
	}
	must(t, d.DeleteRange([]byte("b"), []byte("c")))
	if got := scan(t, d, nil); len(got) != 2 || got[0] != "61=v" || got[1] != "63=v" {
		t.Fatalf("after DeleteRange [b, c): %v", got)
	}
}

func TestUpperBound(t *testing.T) {
	for _, c := range []struct{ prefix, want []byte }{
		{nil, nil},
		{[]byte{0x00}, []byte{0x01}},
		{[]byte{0x01, 0x02}, []byte{0x01, 0x03}},
		{[]byte{0x01, 0xff}, []byte{0x02}},
		{[]byte{0xff, 0xff}, nil},
	} {
		if got := upperBound(c.prefix); !bytes.Equal(got, c.want) {
			t.Errorf("upperBound(%x) = %x, want %x", c.prefix, got, c.want)
		}
	}
}

// TestOpenClears checks the scratch-space contract: Open starts empty even
// over an earlier run's database, and Close deletes the directory.
func TestOpenClears(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	old, err := pebble.Open(dir, &pebble.Options{Logger: logger{dir}})
	must(t, err)
	must(t, old.Set([]byte("stale"), []byte("v"), pebble.Sync))
	must(t, old.Close()) // as a crashed run leaves it: files on disk

	d, err := Open(dir)
	must(t, err)
	if _, ok := get(t, d, "stale"); ok {
		t.Fatal("Open kept an earlier run's state")
	}
	must(t, d.Close())
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Close left the directory: %v", err)
	}
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.txt")
	must(t, os.WriteFile(notes, []byte("keep me"), 0o600))
	if d, err := Open(dir); err == nil {
		d.Close()
		t.Fatal("Open took a directory that holds other files")
	}
	if _, err := os.Stat(notes); err != nil {
		t.Fatalf("Open deleted a file it did not create: %v", err)
	}
	if _, err := Open(""); err == nil {
		t.Fatal("Open took an empty directory name")
	}
}

// TestFlushed reads and scans keys of which some are in tables on disk and
// some in the memtable.
func TestFlushed(t *testing.T) {
	d := open(t)
	val := bytes.Repeat([]byte("x"), 1000)
	const n = 8 << 10
	for i := range n {
		if i == n/2 {
			must(t, d.db.Flush())
		}
		must(t, d.Set(fmt.Appendf(nil, "k%08d", i), val))
	}
	if v, ok := get(t, d, "k00000007"); !ok || len(v) != 1000 {
		t.Fatalf("k7: %d bytes, %v", len(v), ok)
	}
	count := 0
	must(t, d.Scan([]byte("k"), func(_, _ []byte) error { count++; return nil }))
	if count != n {
		t.Fatalf("scan counted %d keys, want %d", count, n)
	}
}
