package main

import (
	"math"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/connector/nexmark"
)

// datagen:// URLs: --source datagen://?rate=N&limit=N&seed=N&start=T for
// access-log lines, and datagen://nexmark?events=N&rate=N&seed=N&start=T
// for Nexmark events.

// parseDatagen parses a --source datagen:// URL of access-log lines. A
// datagen://nexmark URL is checked, then refused: its events are no lines.
func (s *sourceSpec) parseDatagen(f *flagSet, flagName string, u *url.URL, q url.Values) {
	if u.Host == "nexmark" {
		if _, ok := parseNexmark(f, flagName, u, q); ok {
			f.problem(flagName, "%q generates Nexmark events (people, auctions and bids), not access-log lines; give generated lines as datagen://?rate=1000&limit=100000", s.raw)
		}
		return
	}
	if u.Host != "" || (u.Path != "" && u.Path != "/") || u.Opaque != "" {
		f.problem(flagName, "%q: datagen takes parameters only; write datagen://?rate=1000&limit=100000", s.raw)
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := q.Get(name)
		switch name {
		case "rate":
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || !(r > 0) || math.IsInf(r, 0) {
				f.problem(flagName, "datagen rate=%s is not a positive number of lines per second; write rate=1000", v)
				continue
			}
			s.rate = r
			s.gen = append(s.gen, datagen.EventsPerSecond(r))
		case "limit":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				f.problem(flagName, "datagen limit=%s is not a number of lines; write limit=100000, or leave it out for no end", v)
				continue
			}
			s.limit = n
		case "seed":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				f.problem(flagName, "datagen seed=%s is not a whole number; write seed=1", v)
				continue
			}
			s.gen = append(s.gen, datagen.Seed(n))
		case "start":
			if v == "now" {
				s.gen = append(s.gen, datagen.Start(time.Now().Truncate(time.Second)))
				continue
			}
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				f.problem(flagName, "datagen start=%s is not an RFC 3339 time; write start=2026-11-24T07:40:00Z or start=now", v)
				continue
			}
			s.gen = append(s.gen, datagen.Start(t))
		default:
			f.problem(flagName, "datagen has no parameter %q; it takes rate, limit, seed and start", name)
		}
	}
	if _, err := datagen.New(s.gen...); err != nil {
		f.problem(flagName, "%v", err)
	}
}

// parseNexmark parses the parameters of a datagen://nexmark URL into the
// options of a nexmark source. It reports false, with the problems
// recorded against the flag, when they are wrong.
func parseNexmark(f *flagSet, flagName string, u *url.URL, q url.Values) ([]nexmark.SourceOption, bool) {
	before := len(f.problems)
	if (u.Path != "" && u.Path != "/") || u.Opaque != "" || u.User != nil || u.Port() != "" {
		f.problem(flagName, "%q: datagen://nexmark takes parameters only; write datagen://nexmark?events=1000000&rate=10000&seed=1", u.Redacted())
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	var opts []nexmark.SourceOption
	for _, name := range names {
		v := q.Get(name)
		switch name {
		case "events":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				f.problem(flagName, "nexmark events=%s is not a number of events; write events=1000000, or leave it out for no end", v)
				continue
			}
			opts = append(opts, nexmark.Events(n))
		case "rate":
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || !(r > 0) || r > 1e9 {
				f.problem(flagName, "nexmark rate=%s is not a positive number of events per second of event time up to 1e9; write rate=10000", v)
				continue
			}
			opts = append(opts, nexmark.EventsPerSecond(r))
		case "seed":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				f.problem(flagName, "nexmark seed=%s is not a whole number; write seed=1", v)
				continue
			}
			opts = append(opts, nexmark.Seed(n))
		case "start":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				f.problem(flagName, "nexmark start=%s is not an RFC 3339 time; write start=2026-11-24T07:40:00Z", v)
				continue
			}
			opts = append(opts, nexmark.Start(t))
		default:
			f.problem(flagName, "datagen://nexmark has no parameter %q; it takes events, rate, seed and start", name)
		}
	}
	if len(f.problems) > before {
		return nil, false
	}
	if _, err := nexmark.NewSource(opts...); err != nil {
		for _, e := range splitErrors(err) {
			f.problem(flagName, "%v", e)
		}
		return nil, false
	}
	return opts, true
}
