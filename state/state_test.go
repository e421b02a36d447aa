package state

import (
	"testing"
	"time"
)

func TestScopedByKey(t *testing.T) {
	s := NewStore[string](nil)
	v := ValueOf[int](s, "n")
	l := ListOf[string](s, "l")
	m := MapOf[string, int](s, "m")
	r := ReducingOf[int](s, "sum", func(a, b int) int { return a + b })

	s.SetKey("a")
	v.Set(1)
	l.Add("x")
	m.Put("p", 1)
	r.Add(2)
	r.Add(3)
	s.SetKey("b")
	if _, ok := v.Get(); ok {
		t.Fatal("key b sees key a's value")
	}
	v.Set(2)
	s.SetKey("a")
	if n, _ := v.Get(); n != 1 {
		t.Fatalf("key a value = %d, want 1", n)
	}
	if got := l.Get(); len(got) != 1 || got[0] != "x" {
		t.Fatalf("list = %v", got)
	}
	if x, ok := m.Get("p"); !ok || x != 1 || m.Len() != 1 {
		t.Fatalf("map get = %d %v", x, ok)
	}
	if x, _ := r.Get(); x != 5 {
		t.Fatalf("reducing = %d, want 5", x)
	}
	s.ClearKey("a")
	if _, ok := v.Get(); ok || l.Get() != nil || m.Len() != 0 {
		t.Fatal("ClearKey left entries")
	}
	if s.Len() != 1 {
		t.Fatalf("store holds %d entries, want 1 (key b's value)", s.Len())
	}
}

func TestTTL(t *testing.T) {
	now := int64(1000)
	s := NewStore[int](func() int64 { return now })
	v := ValueOf[string](s, "v", TTL(time.Second))
	s.SetKey(7)
	v.Set("x")
	now += 999
	if _, ok := v.Get(); !ok {
		t.Fatal("expired early")
	}
	now += 1
	if _, ok := v.Get(); ok {
		t.Fatal("expired value returned")
	}
	v.Set("y")
	now += 5000
	s.Expire()
	if s.Len() != 0 {
		t.Fatal("Expire kept an expired entry")
	}
}

func TestSameNameSameState(t *testing.T) {
	s := NewStore[int](nil)
	a := ValueOf[int](s, "x")
	b := ValueOf[int](s, "x")
	s.SetKey(1)
	a.Set(3)
	if n, _ := b.Get(); n != 3 {
		t.Fatal("two handles of one name see different state")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("re-registering with another type did not panic")
		}
	}()
	ValueOf[string](s, "x")
}

func TestSnapshotRestore(t *testing.T) {
	s := NewStore[string](nil)
	v := ValueOf[int64](s, "n")
	m := MapOf[string, int](s, "pages")
	l := ListOf[string](s, "seen")
	for i, k := range []string{"a", "b", "c"} {
		s.SetKey(k)
		v.Set(int64(i + 10))
		m.Put("/x", i)
		l.Add(k + "1")
		l.Add(k + "2")
	}
	type ent struct {
		group      int
		state      string
		key, value []byte
	}
	var ents []ent
	groupOf := func(k string) int { return int(k[0]) % 4 }
	if err := s.Snapshot(groupOf, func(g int, st string, k, val []byte) { ents = append(ents, ent{g, st, k, val}) }); err != nil {
		t.Fatal(err)
	}
	if len(ents) != 9 {
		t.Fatalf("%d entries, want 9", len(ents))
	}
	r := NewStore[string](nil)
	rv := ValueOf[int64](r, "n")
	rm := MapOf[string, int](r, "pages")
	rl := ListOf[string](r, "seen")
	for _, e := range ents {
		if e.group != int(e.key[1])%4 { // key encoding: uvarint length 1, then the byte
			t.Fatalf("entry of %q in group %d", e.key, e.group)
		}
		if err := r.Restore(e.state, e.key, e.value); err != nil {
			t.Fatal(err)
		}
	}
	for i, k := range []string{"a", "b", "c"} {
		r.SetKey(k)
		if n, _ := rv.Get(); n != int64(i+10) {
			t.Fatalf("key %s: value %d", k, n)
		}
		if x, _ := rm.Get("/x"); x != i {
			t.Fatalf("key %s: map value %d", k, x)
		}
		if got := rl.Get(); len(got) != 2 || got[0] != k+"1" {
			t.Fatalf("key %s: list %v", k, got)
		}
	}
	if err := r.Restore("value:gone", ents[0].key, ents[0].value); err == nil {
		t.Fatal("restoring an unregistered state gave no error")
	}
}
