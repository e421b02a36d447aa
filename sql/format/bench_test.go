package format_test

import (
	"testing"

	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/sql/format"
)

func benchLines(b *testing.B) [][]byte {
	g, err := datagen.New(datagen.Seed(1))
	if err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	for len(lines) < 4096 {
		if line, kind := g.Next(nil); !kind.Bad() {
			lines = append(lines, line)
		}
	}
	return lines
}

// BenchmarkCombinedLogDecode decodes the columns a PV/UV query reads;
// compare with BenchmarkPVUVParse, what weir pvuv does per line.
func BenchmarkCombinedLogDecode(b *testing.B) {
	lines := benchLines(b)
	schema := format.CombinedLogColumns[:2:2]
	schema = append(schema, format.CombinedLogColumns[4])
	dec, err := format.CombinedLog{}.Decoder(cfg(schema, nil))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := dec(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPVUVParse is the PV/UV application's parse of the same lines.
func BenchmarkPVUVParse(b *testing.B) {
	lines := benchLines(b)
	b.ReportAllocs()
	var h pvuv.Hit
	for i := 0; b.Loop(); i++ {
		if r := pvuv.ParseInto(lines[i%len(lines)], &h); r != "" {
			b.Fatal(r)
		}
	}
}

// BenchmarkJSONDecode decodes a Nexmark-like bid with a nested object.
func BenchmarkJSONDecode(b *testing.B) {
	dec, err := format.JSON{}.Decoder(cfg(nested, nil))
	if err != nil {
		b.Fatal(err)
	}
	line := []byte(`{"id": 7, "name": "ann", "bid": {"price": 12.5, "at": "2026-12-07 03:14:29.123"}, "ok": true, "score": 0.5}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dec(line); err != nil {
			b.Fatal(err)
		}
	}
}
