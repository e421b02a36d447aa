package bench

import (
	"sync/atomic"
	"testing"
)

// BenchmarkCores measures what the machine's cores give together, the
// ceiling for any parallel program on it: the same work per operation,
// spread by b.RunParallel over GOMAXPROCS goroutines. Run it with
// -cpu 1,2. On cores of their own, ns/op at -cpu 2 is half that at
// -cpu 1; on hardware threads that share a core, or on a host that does
// not give each virtual core a core of its own, it is more. Two kinds of
// work: independent integer operations (a core's execution units) and
// random reads of 64 MiB (its memory).
func BenchmarkCores(b *testing.B) {
	var sink atomic.Uint64 // keeps the work from being optimized away
	b.Run("alu", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			var a, c, d, e uint64 = 1, 2, 3, 4
			for pb.Next() {
				for range 1000 {
					a += a ^ 7
					c += c ^ 9
					d += d ^ 11
					e += e ^ 13
				}
			}
			sink.Add(a + c + d + e)
		})
	})
	b.Run("memory", func(b *testing.B) {
		buf := make([]uint64, 8<<20)
		for i := range buf {
			buf[i] = uint64(i)
		}
		b.ResetTimer()
		var seed atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			x, sum := seed.Add(1), uint64(0)
			for pb.Next() {
				for range 100 {
					x = x*6364136223846793005 + 1442695040888963407
					sum += buf[x>>40&(8<<20-1)]
				}
			}
			sink.Add(sum)
		})
	})
}
