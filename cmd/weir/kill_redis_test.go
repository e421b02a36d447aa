package main

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/redistest"
)

// TestRedisKillAndResumeExactlyOnce is the kill test with the Redis sink:
// weir pvuv with checkpoints every 200 ms writes its windows (running and
// final) to a real redis-server and is killed at random moments at least
// 20 times (see killRounds). Redis must then hold exactly the expected
// windows: the idempotent layout makes replays harmless.
func TestRedisKillAndResumeExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test: skipped with -short")
	}
	bin := plainBinary(t)
	in := generate(t, 1_200_000)
	_, want := in.baselineLines(t, time.Minute, 10)
	srv := redistest.Start(t)
	rc := srv.Client(t)
	ctx := context.Background()
	killRounds(t, bin, 20, 500*time.Millisecond, func(int) ([]string, func(int)) {
		if err := rc.Do(ctx, rc.B().Flushall().Build()).Error(); err != nil {
			t.Fatal(err)
		}
		args := []string{"pvuv", "--source", "file://" + in.glob, "--sink", srv.URL(),
			"--checkpoint-dir", t.TempDir(), "--checkpoint-interval", "200ms", "--parallelism", "2", "--progress", "off"}
		return args, func(kills int) {
			starts, err := rc.Do(ctx, rc.B().Zrange().Key("weir:pvuv:windows").Min("0").Max("-1").Build()).AsStrSlice()
			if err != nil {
				t.Fatal(err)
			}
			if len(starts) != len(want) {
				t.Fatalf("after %d kills: %d windows in Redis, want %d", kills, len(starts), len(want))
			}
			for i, s := range starts {
				var w struct {
					WindowStart time.Time `json:"window_start"`
					PV, UV      int64
					TopPages    []struct {
						Page string
						PV   int64
					} `json:"top_pages"`
				}
				if err := json.Unmarshal([]byte(want[i]), &w); err != nil {
					t.Fatal(err)
				}
				h, err := rc.Do(ctx, rc.B().Hgetall().Key("weir:pvuv:window:"+s).Build()).AsStrMap()
				if err != nil {
					t.Fatal(err)
				}
				if s != strconv.FormatInt(w.WindowStart.UnixMilli(), 10) || h["final"] != "1" ||
					h["pv"] != strconv.FormatInt(w.PV, 10) || h["uv"] != strconv.FormatInt(w.UV, 10) {
					t.Fatalf("after %d kills, window %d: Redis has %s %v, want %s", kills, i, s, h, want[i])
				}
				pages, err := rc.Do(ctx, rc.B().Zrange().Key("weir:pvuv:pages:"+s).Min("0").Max("-1").Withscores().Build()).AsZScores()
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]int64{}
				for _, p := range pages {
					got[p.Member] = int64(p.Score)
				}
				if len(got) != len(w.TopPages) {
					t.Fatalf("after %d kills, window %d: %d top pages in Redis, want %d", kills, i, len(got), len(w.TopPages))
				}
				for _, p := range w.TopPages {
					if got[p.Page] != p.PV {
						t.Fatalf("after %d kills, window %d: page %s has %d views in Redis, want %d", kills, i, p.Page, got[p.Page], p.PV)
					}
				}
			}
		}
	})
}
