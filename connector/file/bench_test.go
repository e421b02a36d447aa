package file

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadBounded reads a 64 MiB file of access-log-like lines of
// about 120 bytes through the SPI, with one and two readers, each on its
// own goroutine.
func BenchmarkReadBounded(b *testing.B) {
	path := filepath.Join(b.TempDir(), "access.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	var size int64
	lines := 0
	for size < 64<<20 {
		n, _ := fmt.Fprintf(w, "10.0.%d.%d - - [10/Oct/2025:13:55:36 +0000] \"GET /item/%d HTTP/1.1\" 200 %d \"-\" \"bench\"\n",
			lines%256, lines%97, lines%100000, lines%5000)
		size += int64(n)
		lines++
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	for _, par := range []int{1, 2} {
		b.Run(fmt.Sprintf("parallelism=%d", par), func(b *testing.B) {
			src := mustSource(b, path, SplitSize(8<<20))
			b.SetBytes(size)
			b.ReportAllocs()
			total := 0
			for b.Loop() {
				n := 0
				for _, c := range runConcurrently(b, src, par) {
					n += c
				}
				if n != lines {
					b.Fatalf("read %d lines, want %d", n, lines)
				}
				total += n
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// BenchmarkSinkWrite writes records through the JSONAppender path and
// through encoding/json.
func BenchmarkSinkWrite(b *testing.B) {
	dir := b.TempDir()
	b.Run("JSONAppender", func(b *testing.B) {
		w, _ := mustSink[fastEvent](b, filepath.Join(dir, "fast")).NewWriter(wctx{0, 1})
		defer w.Close()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			w.Write(b.Context(), fastEvent{i})
			i++
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		w, _ := mustSink[event](b, filepath.Join(dir, "slow")).NewWriter(wctx{0, 1})
		defer w.Close()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			w.Write(b.Context(), event{"/item/1", i})
			i++
		}
	})
}
