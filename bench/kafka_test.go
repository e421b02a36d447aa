package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// TestKafkaBench runs a small benchmark and checks that every program read
// every record and that the report adds up; it never checks timings.
func TestKafkaBench(t *testing.T) {
	cfg := KafkaConfig{Records: 3000, RecordBytes: 120, Partitions: 3, Runs: 2, P2: true}
	rep, err := KafkaBench(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range []KafkaRun{rep.Bare, rep.P1, rep.P2} {
		if run.Records != 3000 || run.Bytes != 3000*120 || run.RecordsPerSec <= 0 || run.Wall <= 0 {
			t.Errorf("run %+v: want 3,000 records of 120 bytes", run)
		}
	}
	if rep.P1.Parallelism != 1 || rep.P2.Parallelism != 2 || rep.Bare.Parallelism != 0 {
		t.Errorf("parallelism %d, %d, %d; want 0, 1, 2", rep.Bare.Parallelism, rep.P1.Parallelism, rep.P2.Parallelism)
	}
	if rep.Ratio != rep.P1.RecordsPerSec/rep.Bare.RecordsPerSec || rep.Met != (rep.Ratio >= TargetKafka) {
		t.Errorf("ratio %v (met %t) does not follow from the runs", rep.Ratio, rep.Met)
	}
	for _, run := range []KafkaRun{rep.Bare, rep.P1, rep.P2} {
		if run.MedianWall < run.Wall {
			t.Errorf("run %s: median wall %v below the best %v", run.Name, run.MedianWall, run.Wall)
		}
	}
	if want := rep.Bare.MedianWall.Seconds() / rep.P1.MedianWall.Seconds(); rep.MedianRatio != want {
		t.Errorf("median ratio %v, want %v from the median runs", rep.MedianRatio, want)
	}
	if rep.GOMAXPROCS < 1 {
		t.Errorf("GOMAXPROCS %d", rep.GOMAXPROCS)
	}
	var out bytes.Buffer
	rep.Print(&out)
	for _, want := range []string{"3,000 records of 120 bytes in 3 partitions", "bare franz-go ", "weir p1 ", "weir p2 ", "weir p1 / bare", "median runs", ">= 0.90", "GOMAXPROCS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), "PASS") + strings.Count(out.String(), "MISS"); n != 1 {
		t.Errorf("the report has %d PASS/MISS verdicts, want 1:\n%s", n, out.String())
	}
}

// TestKafkaBenchCPUProfile: with CPUProfile each run of each side writes a
// profile that go tool pprof reads.
func TestKafkaBenchCPUProfile(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "kafka")
	if _, err := KafkaBench(t.Context(), KafkaConfig{Records: 500, RecordBytes: 100, Partitions: 2, Runs: 2, CPUProfile: prefix}); err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"bare", "p1"} {
		for run := 1; run <= 2; run++ {
			name := fmt.Sprintf("%s-%s-%d.pprof", prefix, side, run)
			f, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			_, err = profile.Parse(f)
			f.Close()
			if err != nil {
				t.Errorf("%s is not a profile: %v", name, err)
			}
		}
	}
	if m, _ := filepath.Glob(prefix + "-p2-*"); len(m) != 0 {
		t.Errorf("profiles of p2, which did not run: %v", m)
	}
	_, err := KafkaBench(t.Context(), KafkaConfig{Records: 10, Runs: 1, CPUProfile: filepath.Join(t.TempDir(), "missing", "kafka")})
	if err == nil || !strings.Contains(err.Error(), "CPUProfile") {
		t.Errorf("a prefix in a missing directory: %v, want an error that names CPUProfile", err)
	}
}

func TestKafkaConfigValidate(t *testing.T) {
	err := KafkaConfig{Records: -1, RecordBytes: MaxKafkaRecordBytes + 1, Partitions: -1, Runs: -1}.Validate()
	for _, f := range []string{"Records", "RecordBytes", "Partitions", "Runs"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("the error does not name %s: %v", f, err)
		}
	}
	if err := (KafkaConfig{}).Validate(); err != nil {
		t.Errorf("the zero config: %v", err)
	}
}

func TestKafkaValues(t *testing.T) {
	vals, err := kafkaValues(10, 300)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		if len(v) != 300 || !bytes.HasPrefix(v, []byte("10.")) {
			t.Errorf("value %d is %d bytes: %q", i, len(v), v)
		}
	}
}

// BenchmarkKafkaPassThrough reads b.N records of DefaultKafkaRecordBytes
// bytes from DefaultKafkaPartitions partitions of an in-process broker with
// the weir pass-through job at parallelism 1. Producing them, and a first
// read, are not timed.
func BenchmarkKafkaPassThrough(b *testing.B) {
	benchKafka(b, func(ctx context.Context, in *kafkaInput) (KafkaRun, error) { return runKafkaWeir(ctx, in, 1) })
}

// BenchmarkKafkaBareConsumer is BenchmarkKafkaPassThrough with the bare
// franz-go consumer instead of weir.
func BenchmarkKafkaBareConsumer(b *testing.B) {
	benchKafka(b, runKafkaBare)
}

func benchKafka(b *testing.B, run func(context.Context, *kafkaInput) (KafkaRun, error)) {
	ctx := context.Background()
	in, err := startKafkaInput(ctx, int64(b.N), DefaultKafkaRecordBytes, DefaultKafkaPartitions)
	if err != nil {
		b.Fatal(err)
	}
	defer in.close()
	// The first read after producing is the slowest, whoever reads: the
	// timed one reads a warm topic, as in KafkaBench.
	if _, err := runKafkaBare(ctx, in); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(DefaultKafkaRecordBytes)
	b.ResetTimer()
	r, err := run(ctx, in)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.RecordsPerSec, "records/s")
}
