package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/weirstream/weir/web"
)

// TestFlame folds a hand-made profile: callers above callees, inlined
// functions below the function they were inlined into, values summed,
// children ordered by value; FilterOperator keeps the samples of the
// operator's chain only.
func TestFlame(t *testing.T) {
	fn := map[string]*profile.Function{}
	for i, n := range []string{"main", "run", "inlined", "hot", "cold"} {
		fn[n] = &profile.Function{ID: uint64(i + 1), Name: n}
	}
	loc := func(id uint64, names ...string) *profile.Location { // innermost first, as pprof stores them
		l := &profile.Location{ID: id}
		for _, n := range names {
			l.Line = append(l.Line, profile.Line{Function: fn[n]})
		}
		return l
	}
	mainL, runL, hotL, coldL := loc(1, "main"), loc(2, "inlined", "run"), loc(3, "hot"), loc(4, "cold")
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{hotL, runL, mainL}, Value: []int64{3, 30}, Label: map[string][]string{"operator": {"src -> parse"}}},
			{Location: []*profile.Location{coldL, runL, mainL}, Value: []int64{1, 10}, Label: map[string][]string{"operator": {"sink"}}},
			{Location: []*profile.Location{hotL, runL, mainL}, Value: []int64{1, 5}, Label: map[string][]string{"operator": {"src -> parse"}}},
		},
	}
	if got, want := flat(web.Flame(p)), "all=45 [main=45 [run=45 [inlined=45 [hot=35 cold=10]]]]"; got != want {
		t.Errorf("Flame = %s, want %s", got, want)
	}
	web.FilterOperator(p, "parse")
	if got, want := flat(web.Flame(p)), "all=35 [main=35 [run=35 [inlined=35 [hot=35]]]]"; got != want {
		t.Errorf("Flame of parse = %s, want %s", got, want)
	}
}

func flat(f *web.Frame) string {
	s := fmt.Sprintf("%s=%d", f.Name, f.Value)
	if len(f.Children) == 0 {
		return s
	}
	var kids []string
	for _, c := range f.Children {
		kids = append(kids, flat(c))
	}
	return s + " [" + strings.Join(kids, " ") + "]"
}
