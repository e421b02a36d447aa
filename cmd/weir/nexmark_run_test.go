package main

import (
	"bufio"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/weirstream/weir/connector/nexmark"
)

func TestNexmarkRunAndBenchUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string // in stderr
	}{
		{[]string{"nexmark", "run"}, []string{"--query: missing"}},
		{[]string{"nexmark", "run", "--query", "q23"}, []string{`--query: "q23" is not a Nexmark query`}},
		{[]string{"nexmark", "run", "--query", "q1", "--events", "-3", "--rate", "0", "--parallelism", "0"},
			[]string{"3 problems", "--events: -3 is negative", "--rate: 0 is out of range", "--parallelism: 0 is out of range"}},
		{[]string{"nexmark", "run", "--query", "q1", "--seed", "x"}, []string{`--seed: "x"`}},
		{[]string{"nexmark", "run", "--query", "q1", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"bench", "nexmark", "--query", "q0,q99,x"}, []string{`--query: "q99" is not`, `--query: "x" is not`}},
		{[]string{"bench", "nexmark", "--events", "0", "--parallelism", "999", "--checkpoint-interval", "0s"},
			[]string{"--events: 0 is not a positive number", "--parallelism: 999 is out of range", "--checkpoint-interval: 0s is not positive"}},
		{[]string{"bench", "frob"}, []string{"cluster and nexmark"}},
	} {
		code, _, stderr := runWeirCtx(t.Context(), c.args...)
		if code != exitUsage {
			t.Errorf("weir %s: exit %d, want 2\nstderr:\n%s", strings.Join(c.args, " "), code, stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("weir %s: stderr lacks %q:\n%s", strings.Join(c.args, " "), w, stderr)
			}
		}
	}
	for _, args := range [][]string{{"nexmark", "run", "-h"}, {"bench", "nexmark", "-h"}} {
		if code, stdout, _ := runWeirCtx(t.Context(), args...); code != exitOK || !strings.Contains(stdout, "--query") {
			t.Errorf("weir %s: exit %d\n%s", strings.Join(args, " "), code, stdout)
		}
	}
}

// weir nexmark run --query q0 writes every generated bid as a JSON line
// with the columns of Flink's q0.
func TestNexmarkRun(t *testing.T) {
	g, err := nexmark.New(nexmark.Seed(3), nexmark.EventsPerSecond(500))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for n := range int64(1000) {
		if e := g.Event(n); e.Kind == nexmark.KindBid {
			b, _ := json.Marshal(map[string]any{"auction": e.Bid.Auction, "bidder": e.Bid.Bidder, "price": e.Bid.Price,
				"dateTime": e.Bid.DateTime, "extra": e.Bid.Extra})
			want = append(want, string(b))
		}
	}
	code, stdout, stderr := runWeirCtx(t.Context(), "nexmark", "run", "--query", "q0", "--events", "1000", "--seed", "3", "--rate", "500", "--parallelism", "2")
	if code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	var got []string
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", sc.Bytes(), err)
		}
		b, _ := json.Marshal(m) // keys sorted, as want's
		got = append(got, string(b))
	}
	for i := range want {
		var m map[string]any
		json.Unmarshal([]byte(want[i]), &m)
		b, _ := json.Marshal(m)
		want[i] = string(b)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%d rows, want the %d bids", len(got), len(want))
	}
}

// weir bench nexmark prints a line per query that starts with its name
// and ends with its ratio to Flink's figure (none for q6).
func TestBenchNexmark(t *testing.T) {
	code, stdout, stderr := runWeirCtx(t.Context(), "bench", "nexmark", "--query", "q0,q6", "--events", "20000", "--checkpoint-interval", "50ms")
	if code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "query") {
		t.Fatalf("output:\n%s", stdout)
	}
	if !regexp.MustCompile(`^q0 .* 155\.02K +\d+\.\d\dx$`).MatchString(lines[1]) {
		t.Errorf("q0's line: %q", lines[1])
	}
	if !regexp.MustCompile(`^q6 .* - +-$`).MatchString(lines[2]) {
		t.Errorf("q6's line: %q", lines[2])
	}
}
