package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/weirstream/weir/internal/redistest"
)

// TestRedisKillAndResumeExactlyOnce is the kill test of the demo's path,
// Kafka to Redis: the generated access log is produced to a four-partition
// topic on a broker of its own (see accessBroker), weir pvuv reads it
// (bounded) with
// checkpoints every 200 ms, writes its windows (running and final) to a
// real redis-server, and is killed at random moments (4 times in all,
// WEIR_SOAK_KILLS times when set; see killRounds). Redis must then hold
// exactly the expected windows: the idempotent layout makes replays
// harmless.
func TestRedisKillAndResumeExactlyOnce(t *testing.T) {
	t.Parallel()
	takeTurn(t, cpuTurn)
	if testing.Short() {
		t.Skip("kill test: skipped with -short")
	}
	bin := plainBinary(t)
	in := sharedInput(t, killInputLines(1_000_000))
	want := sharedBaseline(t, in, time.Minute, 10)
	broker, _ := accessBroker(t, bin, in)
	srv := redistest.Start(t)
	rc := srv.Client(t)
	ctx := context.Background()
	killRounds(t, bin, in.files, 500*time.Millisecond, func(round int, dir string) ([]string, func(int)) {
		if err := rc.Do(ctx, rc.B().Flushall().Build()).Error(); err != nil {
			t.Fatal(err)
		}
		// Each round is a new job: a new consumer group reads the topic
		// from its start.
		group := fmt.Sprint("pvuv-redis-", round+1)
		args := []string{"pvuv", "--source", "kafka://" + broker + "/access?bounded=true&group=" + group, "--sink", srv.URL(),
			"--checkpoint-dir", filepath.Join(dir, "checkpoints"), "--checkpoint-interval", "200ms", "--parallelism", "2", "--progress", "off"}
		writeLines(t, filepath.Join(dir, "want.jsonl"), want)
		return args, func(kills int) {
			dumpRedis(t, rc, filepath.Join(dir, "redis.txt"))
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

// dumpRedis writes every key in Redis and its value to path, sorted by
// key: what a failed round left in Redis, kept beside its evidence.
func dumpRedis(t *testing.T, rc rueidis.Client, path string) {
	t.Helper()
	ctx := context.Background()
	keys, err := rc.Do(ctx, rc.B().Keys().Pattern("*").Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		typ, err := rc.Do(ctx, rc.B().Type().Key(k).Build()).ToString()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		switch typ {
		case "hash":
			v, err = rc.Do(ctx, rc.B().Hgetall().Key(k).Build()).AsStrMap()
		case "zset":
			v, err = rc.Do(ctx, rc.B().Zrange().Key(k).Min("0").Max("-1").Withscores().Build()).AsZScores()
		case "string":
			v, err = rc.Do(ctx, rc.B().Get().Key(k).Build()).ToString()
		default:
			v = "(a " + typ + ")"
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %q\n", k, typ, fmt.Sprint(v))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
