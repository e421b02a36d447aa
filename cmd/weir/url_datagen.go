package main

import (
	"math"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/weirstream/weir/connector/datagen"
)

// datagen:// URLs: --source datagen://?rate=N&limit=N&seed=N&start=T.

// parseDatagen parses a --source datagen:// URL.
func (s *sourceSpec) parseDatagen(f *flagSet, flagName string, u *url.URL, q url.Values) {
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
