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
