package pvuv_test

import (
	"context"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/weirtest"
)

// TestAllowedLatenessUpdatesFinalResults feeds a line after its window
// fired, within the allowed lateness, with early results on: the window's
// final result is updated, counting every view once (the late client's
// view, not a second visitor), and the day counts it too.
func TestAllowedLatenessUpdatesFinalResults(t *testing.T) {
	for _, uv := range []string{pvuv.UVExact, pvuv.UVHLL} {
		t.Run(uv, func(t *testing.T) {
			env := weir.NewEnv()
			at := func(hms string) time.Time {
				tm, err := time.Parse(time.DateTime, "2026-11-24 "+hms)
				if err != nil {
					t.Fatal(err)
				}
				return tm
			}
			// The script gives the lines their times and the watermark, so
			// the last line is late for sure.
			src := weirtest.NewScript[string]()
			src.Record(`10.0.0.1 - - [24/Nov/2026:07:40:10 +0000] "GET /a HTTP/1.1" 200 1`, at("07:40:10")).
				Record(`10.0.0.2 - - [24/Nov/2026:07:40:20 +0000] "GET /b HTTP/1.1" 200 1`, at("07:40:20")).
				Record(`10.0.0.1 - - [24/Nov/2026:07:42:30 +0000] "GET /c HTTP/1.1" 200 1`, at("07:42:30")).
				Watermark(at("07:42:00")).
				Record(`10.0.0.1 - - [24/Nov/2026:07:40:30 +0000] "GET /a HTTP/1.1" 200 1`, at("07:40:30"))
			job, err := pvuv.Build(weir.FromSource(env, src), pvuv.Options{UV: uv, AllowedLateness: time.Hour, EarlyResults: time.Millisecond, SourceWatermarks: true})
			if err != nil {
				t.Fatal(err)
			}
			results := weirtest.NewCollector[pvuv.Result]()
			days := weirtest.NewCollector[pvuv.DayResult]()
			weir.SinkTo(job.Results, results)
			weir.SinkTo(job.Days, days)
			if err := env.Execute(context.Background(), "lateness"); err != nil {
				t.Fatal(err)
			}
			var first []pvuv.Result
			for _, r := range results.Records() {
				if !r.Running && r.WindowStart.Minute() == 40 {
					first = append(first, r)
				}
			}
			// The window's final result may come before the late line's
			// partials reach the merge, or after some of them (the merge's
			// watermark is the least of its inputs'); each partial then
			// updates it, and the last one counts every view once.
			if len(first) == 0 {
				t.Fatal("no final result of 07:40")
			}
			last := first[len(first)-1]
			if last.PV != 3 || last.UV != 2 || len(last.TopPages) != 2 || last.TopPages[0] != (pvuv.PageCount{Page: "/a", PV: 2}) {
				t.Fatalf("final results of 07:40: %+v; want the last one with pv 3 uv 2, /a viewed twice", first)
			}
			for _, r := range first {
				if r.PV < 2 || r.PV > 3 || r.UV != 2 {
					t.Fatalf("final results of 07:40: %+v; want pv 2 or 3 and uv 2 in each", first)
				}
			}
			if job.Counters.Late.Load() != 0 {
				t.Fatalf("%d late lines; the line was within the allowed lateness", job.Counters.Late.Load())
			}
			final := dayFinals(days.Records())
			if d := final[time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)]; d.PV != 4 || d.UV != 2 || len(final) != 1 {
				t.Fatalf("days %+v; want one day with pv 4 and uv 2", final)
			}
		})
	}
}
