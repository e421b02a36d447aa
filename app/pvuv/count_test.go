package pvuv

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestCountSumsEveryAdd adds from many goroutines at once: Load must be
// the sum of every add, however the adds fell on the cells.
func TestCountSumsEveryAdd(t *testing.T) {
	var c Count
	var wg sync.WaitGroup
	const goroutines, adds = 8, 10_000
	for g := range goroutines {
		wg.Go(func() {
			for range adds {
				c.Add(int64(g + 1))
			}
		})
	}
	wg.Wait()
	if got, want := c.Load(), int64(adds*goroutines*(goroutines+1)/2); got != want {
		t.Fatalf("Load = %d, want %d", got, want)
	}
}

// BenchmarkCount compares Count with one atomic.Int64 when every
// goroutine adds (go test -bench Count -cpu 1,2 ./app/pvuv): on one core
// they cost the same; on two, the shared atomic's cache line moves
// between the cores on every add.
func BenchmarkCount(b *testing.B) {
	b.Run("Count", func(b *testing.B) {
		var c Count
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(1)
			}
		})
	})
	b.Run("atomic.Int64", func(b *testing.B) {
		var c atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(1)
			}
		})
	})
}
