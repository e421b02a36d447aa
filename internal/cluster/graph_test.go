package cluster

import (
	"reflect"
	"strings"
	"testing"
)

func testGraph(mapParallelism string) []Node {
	return []Node{
		{Name: "", Attrs: []Attr{{"max-parallelism", "128"}}},
		{Name: "source: logs", Attrs: []Attr{{"uid", "src"}, {"kind", "source"}, {"type", "string"}}},
		{Name: "map", Attrs: []Attr{{"uid", "map"}, {"kind", "map"}, {"parallelism", mapParallelism}, {"inputs", "src"}}},
		{Name: "sink", Attrs: []Attr{{"uid", "sink"}, {"kind", "sink"}, {"inputs", "map"}}},
	}
}

func TestDescribeParse(t *testing.T) {
	nodes := append(testGraph("2"), Node{Name: "odd\t\"name\"\n", Attrs: []Attr{{"a key=", "v\n\"x\""}, {"k", ""}}})
	desc := Describe(nodes)
	got, ok := parseGraph(desc)
	if !ok || !reflect.DeepEqual(got, nodes) {
		t.Fatalf("parseGraph(Describe(nodes)) = %#v, %v\nwant %#v", got, ok, nodes)
	}
	if Describe(nodes) != desc || Fingerprint(desc) != Fingerprint(Describe(nodes)) {
		t.Fatal("Describe is not deterministic")
	}
	if Fingerprint(desc) == Fingerprint(Describe(testGraph("1"))) {
		t.Fatal("different graphs, same fingerprint")
	}
	if !strings.Contains(desc, `"map" uid="map" kind="map" parallelism="2" inputs="src"`) {
		t.Fatalf("description is not readable:\n%s", desc)
	}
	for _, bad := range []string{`map uid="x"`, `"map" uid`, `"map" uid="x`, `"map"uid="x"`} {
		if _, ok := parseGraph(bad); ok {
			t.Errorf("parseGraph(%q) accepted", bad)
		}
	}
}

func TestDiffGraphs(t *testing.T) {
	base := testGraph("2")
	for _, tc := range []struct {
		name  string
		other []Node
		want  []string
	}{
		{"parallelism", testGraph("1"), []string{`parallelism of operator "map": 2 on worker "a" vs 1 on worker "b"`}},
		{"operator only in one", base[:3], []string{`operator "sink" exists only on worker "a"`}},
		{"operator only in the other", append(testGraph("2"), Node{Name: "extra"}), []string{`operator "extra" exists only on worker "b"`}},
		{"job setting", append([]Node{{Attrs: []Attr{{"max-parallelism", "256"}}}}, base[1:]...), []string{`max-parallelism of the job: 128 on worker "a" vs 256 on worker "b"`}},
		{"attribute missing", []Node{base[0], base[1], {Name: "map", Attrs: []Attr{{"uid", "map"}, {"kind", "map"}, {"inputs", "src"}}}, base[3]},
			[]string{`parallelism of operator "map": 2 on worker "a" vs none on worker "b"`}},
		{"order", []Node{base[0], base[2], base[1], base[3]}, []string{"the operators are the same but in another order"}},
		{"many", []Node{{Name: "x1"}, {Name: "x2"}, {Name: "x3"}}, []string{`operator "map" exists only on worker "a"`, "and 2 more"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := diffGraphs("a", Describe(base), "b", Describe(tc.other))
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("diff = %q\nwant it to say %q", got, w)
				}
			}
		})
	}
	if got := diffGraphs("a", "not a description", "b", Describe(base)); !strings.Contains(got, "fingerprints of their descriptions") {
		t.Errorf("unreadable description: diff = %q", got)
	}
}

func TestMakeID(t *testing.T) {
	for in, want := range map[string]string{
		"host-1:7070":            "host-1-7070",
		"10.0.0.1:7070":          "10.0.0.1-7070",
		"ok_id.x-y":              "ok_id.x-y",
		"":                       "worker",
		"..":                     "worker..",
		strings.Repeat("a", 300): strings.Repeat("a", 249),
	} {
		got := MakeID(in)
		if got != want {
			t.Errorf("MakeID(%q) = %q, want %q", in, got, want)
		}
		if err := checkName(got); err != nil {
			t.Errorf("MakeID(%q) = %q, which is not valid: %v", in, got, err)
		}
	}
}
