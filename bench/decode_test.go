package bench

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	rt "runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/bench/baseline"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/sink"
)

// BenchmarkFileDecoding reads generated access-log lines into PV/UV hits
// three ways, each into a sink that counts them: a file source of lines,
// each copied into memory the job owns, then the parse operator; a
// decoding file source that parses each line where it lies in the
// reader's buffer (pvuv.Parse keeps a copy of the client and the page
// only); and one with a decoder per reader that takes the client and the
// page from a source.Strings. It reports CPU time, bytes allocated and
// garbage collections per line, the whole process's; and, for scale, the
// hand-written baseline's CPU time per line for the whole PV/UV query over
// the same file.
//
//	go test -run '^$' -bench FileDecoding -benchtime 3x ./bench
func BenchmarkFileDecoding(b *testing.B) {
	const lines = 500_000
	path := filepath.Join(b.TempDir(), "access.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := GenerateLines(b.Context(), f, lines, nil); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, build func(env *weir.Env) (weir.Stream[pvuv.Hit], error)) {
		var hits atomic.Int64
		var m0, m1 rt.MemStats
		rt.GC()
		rt.ReadMemStats(&m0)
		cpu0 := CPUTime()
		for b.Loop() {
			env := weir.NewEnv(weir.Parallelism(1), weir.Observe(false), weir.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			s, err := build(env)
			if err != nil {
				b.Fatal(err)
			}
			weir.SinkTo(s, sink.Func[pvuv.Hit](func(context.Context, pvuv.Hit) error { hits.Add(1); return nil }))
			if err := env.Execute(b.Context(), "decode"); err != nil {
				b.Fatal(err)
			}
		}
		cpu := CPUTime() - cpu0
		rt.ReadMemStats(&m1)
		n := float64(hits.Load())
		if n < float64(b.N)*lines*0.99 {
			b.Fatalf("%v hits of %d lines", n, b.N*lines)
		}
		b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/line")
		b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/n, "B/line")
		b.ReportMetric(float64(m1.NumGC-m0.NumGC)/float64(b.N), "gcs/run")
	}
	b.Run("lines+parse", func(b *testing.B) {
		run(b, func(env *weir.Env) (weir.Stream[pvuv.Hit], error) {
			src, err := file.NewSource(path)
			if err != nil {
				return weir.Stream[pvuv.Hit]{}, err
			}
			return weir.Process(weir.FromSource(env, src), func(_ *weir.Context, line string, out weir.Emitter[pvuv.Hit]) error {
				var h pvuv.Hit
				if pvuv.ParseString(line, &h) == "" {
					out.Emit(h)
				}
				return nil
			}), nil
		})
	})
	b.Run("decoded", func(b *testing.B) {
		run(b, func(env *weir.Env) (weir.Stream[pvuv.Hit], error) {
			src, err := file.NewDecodedSource(path, pvuv.Parse)
			if err != nil {
				return weir.Stream[pvuv.Hit]{}, err
			}
			return weir.FromSource(env, src), nil
		})
	})
	b.Run("decoded-per-reader", func(b *testing.B) {
		run(b, func(env *weir.Env) (weir.Stream[pvuv.Hit], error) {
			lines, err := file.NewSource(path)
			if err != nil {
				return weir.Stream[pvuv.Hit]{}, err
			}
			src, err := file.DecodedPerReader(lines, (&pvuv.Counters{}).NewDecoder)
			if err != nil {
				return weir.Stream[pvuv.Hit]{}, err
			}
			return weir.FromSource(env, src), nil
		})
	})
	b.Run("baseline-whole-query", func(b *testing.B) {
		var n int64
		cpu0 := CPUTime()
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			res, err := baseline.Run(f, time.Minute, 10)
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			n += res.Lines
		}
		b.ReportMetric(float64((CPUTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/line")
	})
}
