package redis_test

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/weirstream/weir/connector/redis"
)

// This file holds the PV/UV application's key layout, as the tests and the
// package documentation use it, and functions that read Redis back.

// pageViews is one page of a window's top list.
type pageViews struct {
	Page  string
	Views int64
}

// windowResult is a one-minute PV/UV result, early (Final false) or final.
// Day and Lines are set on the records that also carry the day's totals and
// the job's counters.
type windowResult struct {
	Start, End int64 // Unix ms
	PV, UV     int64
	Final      bool
	Top        []pageViews

	Day                   string // YYYY-MM-DD; empty: no day totals in this record
	DayPV, DayUV          int64
	Lines, BadLines, Late int64 // the job's counters, with Day
}

// pvuvLayout writes a window result under prefix, as the PV/UV
// application does; every command overwrites.
func pvuvLayout(prefix string) redis.Layout[windowResult] {
	return func(w windowResult, cmds []redis.Command) []redis.Command {
		start := strconv.FormatInt(w.Start, 10)
		final := "0"
		if w.Final {
			final = "1"
		}
		cmds = append(cmds,
			redis.Command{"HSET", prefix + ":window:" + start,
				"start", start, "end", strconv.FormatInt(w.End, 10),
				"pv", strconv.FormatInt(w.PV, 10), "uv", strconv.FormatInt(w.UV, 10), "final", final},
			redis.Command{"ZADD", prefix + ":windows", start, start},
			redis.Command{"DEL", prefix + ":pages:" + start},
		)
		if len(w.Top) > 0 {
			zadd := redis.Command{"ZADD", prefix + ":pages:" + start}
			for _, p := range w.Top {
				zadd = append(zadd, strconv.FormatInt(p.Views, 10), p.Page)
			}
			cmds = append(cmds, zadd)
		}
		if w.Day != "" {
			cmds = append(cmds,
				redis.Command{"HSET", prefix + ":day:" + w.Day,
					"pv", strconv.FormatInt(w.DayPV, 10), "uv", strconv.FormatInt(w.DayUV, 10), "final", final},
				redis.Command{"HSET", prefix + ":counters",
					"lines", strconv.FormatInt(w.Lines, 10), "bad_lines", strconv.FormatInt(w.BadLines, 10), "late", strconv.FormatInt(w.Late, 10)})
		}
		return cmds
	}
}

// t0 is the start of the first window: 2026-11-24T07:40:00Z.
var t0 = time.Unix(1795506000, 0).UTC()

// windowResults makes n windows, each an early result then its final one.
// The early result's top list has a page the final one lacks, so a layout
// that failed to delete it would show. The last record carries the day's
// totals and the counters.
func windowResults(n int) []windowResult {
	var out []windowResult
	for i := range n {
		start := t0.Add(time.Duration(i) * time.Minute).UnixMilli()
		end := start + time.Minute.Milliseconds()
		early := windowResult{Start: start, End: end, PV: int64(i), UV: 1,
			Top: []pageViews{{"/early-only", 1}, {"/home", int64(i)}}}
		final := windowResult{Start: start, End: end, PV: int64(10*i + 7), UV: int64(i + 2), Final: true,
			Top: []pageViews{{"/home", int64(5 * i)}, {fmt.Sprintf("/item/%d", i), int64(i + 1)}}}
		out = append(out, early, final)
	}
	last := &out[len(out)-1]
	last.Day, last.DayPV, last.DayUV = t0.Format(time.DateOnly), 12345, 678
	last.Lines, last.BadLines, last.Late = 12400, 50, 5
	return out
}

// wantPVUV is what Redis must hold under prefix after windowResults(n):
// every key's content, as contents reads it.
func wantPVUV(prefix string, n int) map[string]string {
	want := map[string]string{}
	var windows []string
	for i := range n {
		start := t0.Add(time.Duration(i) * time.Minute).UnixMilli()
		s := strconv.FormatInt(start, 10)
		want[prefix+":window:"+s] = fmt.Sprintf("hash end=%d final=1 pv=%d start=%s uv=%d", start+60_000, 10*i+7, s, i+2)
		pages := []string{fmt.Sprintf("/home=%d", 5*i), fmt.Sprintf("/item/%d=%d", i, i+1)}
		slices.SortFunc(pages, func(a, b string) int { // by score, then member, as ZRANGE orders
			sa, _ := strconv.Atoi(a[strings.IndexByte(a, '=')+1:])
			sb, _ := strconv.Atoi(b[strings.IndexByte(b, '=')+1:])
			if sa != sb {
				return sa - sb
			}
			return strings.Compare(a, b)
		})
		want[prefix+":pages:"+s] = "zset " + strings.Join(pages, " ")
		windows = append(windows, s+"="+s)
	}
	want[prefix+":windows"] = "zset " + strings.Join(windows, " ")
	want[prefix+":day:"+t0.Format(time.DateOnly)] = "hash final=1 pv=12345 uv=678"
	want[prefix+":counters"] = "hash bad_lines=50 late=5 lines=12400"
	return want
}

// contents reads every key that matches pattern: its type and value, in a
// canonical form (hash fields sorted; zset members by score).
func contents(t *testing.T, c rueidis.Client, pattern string) map[string]string {
	t.Helper()
	ctx := t.Context()
	keys, err := c.Do(ctx, c.B().Keys().Pattern(pattern).Build()).AsStrSlice()
	if err != nil {
		t.Fatalf("KEYS %s: %v", pattern, err)
	}
	out := map[string]string{}
	for _, k := range keys {
		typ, err := c.Do(ctx, c.B().Type().Key(k).Build()).ToString()
		if err != nil {
			t.Fatalf("TYPE %s: %v", k, err)
		}
		var parts []string
		switch typ {
		case "string":
			v, err := c.Do(ctx, c.B().Get().Key(k).Build()).ToString()
			if err != nil {
				t.Fatalf("GET %s: %v", k, err)
			}
			parts = []string{v}
		case "hash":
			m, err := c.Do(ctx, c.B().Hgetall().Key(k).Build()).AsStrMap()
			if err != nil {
				t.Fatalf("HGETALL %s: %v", k, err)
			}
			for f, v := range m {
				parts = append(parts, f+"="+v)
			}
			slices.Sort(parts)
		case "zset":
			zs, err := c.Do(ctx, c.B().Zrange().Key(k).Min("0").Max("-1").Withscores().Build()).AsZScores()
			if err != nil {
				t.Fatalf("ZRANGE %s: %v", k, err)
			}
			for _, z := range zs {
				parts = append(parts, z.Member+"="+strconv.FormatFloat(z.Score, 'f', -1, 64))
			}
		default:
			t.Fatalf("key %s has type %s, which the layout never writes", k, typ)
		}
		out[k] = strings.TrimSpace(typ + " " + strings.Join(parts, " "))
	}
	return out
}

// diff describes how got differs from want, or returns "".
func diff(got, want map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			fmt.Fprintf(&b, "\n  %s = %q, want %q", k, got[k], want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "\n  %s = %q, want no such key", k, got[k])
		}
	}
	return b.String()
}
