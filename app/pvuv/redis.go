package pvuv

import (
	"fmt"
	"strconv"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/redis"
)

// DefaultRedisPrefix starts every key the job writes to Redis.
const DefaultRedisPrefix = "weir:pvuv"

// runningWindowScript writes a running window result unless the window's
// hash says it is final. KEYS: the window's hash, its pages, the windows.
// ARGV: start, end, pv, uv, the time to live in ms ("0": none), the score
// at or below which windows leave the index (with a time to live), then
// score and member of each top page.
//
// Its first line names it: the sink's error messages show a command's
// second word, which for EVAL is the script.
const runningWindowScript = `-- weir:pvuv running window result: skipped once the window is final
if redis.call('HGET', KEYS[1], 'final') == '1' then return 0 end
redis.call('HSET', KEYS[1], 'start', ARGV[1], 'end', ARGV[2], 'pv', ARGV[3], 'uv', ARGV[4], 'final', '0')
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[1])
redis.call('DEL', KEYS[2])
for i = 7, #ARGV, 200 do
  redis.call('ZADD', KEYS[2], unpack(ARGV, i, math.min(i + 199, #ARGV)))
end
if ARGV[5] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[6])
end
return 1`

// runningDayScript writes a running day result unless the day's hash says
// it is final. KEYS: the day's hash. ARGV: pv, uv, the time to live in ms
// ("0": none).
const runningDayScript = `-- weir:pvuv running day result: skipped once the day is final
if redis.call('HGET', KEYS[1], 'final') == '1' then return 0 end
redis.call('HSET', KEYS[1], 'pv', ARGV[1], 'uv', ARGV[2], 'final', '0')
if ARGV[3] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`

// RedisOption configures how RedisLayout, RedisDayLayout and
// Job.SinkToRedis write.
type RedisOption interface{ applyRedis(*redisOptions) }

type redisOptions struct {
	ttl time.Duration
}

type redisOptionFunc func(*redisOptions)

func (f redisOptionFunc) applyRedis(o *redisOptions) { f(o) }

// RedisTTL makes the keys of a window (P:window:S, P:pages:S) and of a
// day (P:day:D) expire ttl after their last write, and takes a window out
// of the index P:windows when a window that starts ttl later is written:
// Redis then holds about ttl of windows, however long the job runs.
// The dashboard leaves out a window whose keys expired. Use it where
// Redis memory must stay bounded and old windows are not needed, as weir
// demo does (an hour); keep ttl well above the window size and the
// allowed lateness. The default, 0, keeps every window for ever; ttl is
// whole milliseconds.
func RedisTTL(ttl time.Duration) RedisOption {
	return redisOptionFunc(func(o *redisOptions) { o.ttl = ttl })
}

func applyRedisOptions(opts []RedisOption) redisOptions {
	var o redisOptions
	for _, opt := range opts {
		opt.applyRedis(&o)
	}
	return o
}

// ttlMillis is the time to live as the layouts write it: "0" for none.
func (o redisOptions) ttlMillis() string {
	if o.ttl <= 0 {
		return "0"
	}
	return strconv.FormatInt(max(o.ttl.Milliseconds(), 1), 10)
}

func redisPrefix(prefix string) string {
	if prefix == "" {
		return DefaultRedisPrefix
	}
	return prefix
}

// RedisLayout writes window results to Redis under prefix (DefaultRedisPrefix
// when empty). For a window starting at S (Unix milliseconds):
//
//	P:window:S  HASH  start S, end E (Unix ms), pv, uv, final ("1" once the
//	                  window closed, "0" for a running result)
//	P:windows   ZSET  member "S", score S: the windows, for range queries
//	P:pages:S   ZSET  member page, score its page views: the window's top pages
//
// A final result overwrites (HSET, ZADD, and DEL before the pages' ZADD,
// all in one MULTI/EXEC), so a replay after a restore writes the same
// values again: with the Redis sink the results are exactly-once.
//
// With RedisTTL(ttl), each write also sets the window's keys to expire
// ttl later (PEXPIRE) and takes the windows that start ttl or more before
// S out of the index (ZREMRANGEBYSCORE P:windows -inf S-ttl).
//
// A running result (Result.Running) must never overwrite a final one: the
// sink may land a retried, older write after a newer one. So a running
// result is one EVAL of a Lua script that writes the same keys, atomically,
// only while the window's hash does not hold final "1":
//
//	EVAL <script> 3 P:window:S P:pages:S P:windows S E pv uv ttl S-ttl [score page]...
//
// The connector takes a command's second word for its key; for EVAL that
// is the script. It uses the key only to name the command in errors and
// to pick a cluster slot, which its single-server client ignores, so the
// script reaches a standalone Redis unchanged; the script's first line,
// a comment, names it in error messages. The script is sent whole (EVAL,
// not EVALSHA: a restarted Redis has forgotten its scripts and would
// refuse with NOSCRIPT), and declares every key it touches in KEYS, as
// Redis requires of scripts.
func RedisLayout(prefix string, opts ...RedisOption) redis.Layout[Result] {
	prefix = redisPrefix(prefix)
	o := applyRedisOptions(opts)
	ttl := o.ttlMillis()
	return func(r Result, cmds []redis.Command) []redis.Command {
		startMs := r.WindowStart.UnixMilli()
		start := strconv.FormatInt(startMs, 10)
		end := strconv.FormatInt(r.WindowEnd.UnixMilli(), 10)
		pv, uv := strconv.FormatInt(r.PV, 10), strconv.FormatInt(r.UV, 10)
		win, pages, windows := prefix+":window:"+start, prefix+":pages:"+start, prefix+":windows"
		// Windows that start ttl or more before this one leave the index.
		cutoff := "-inf"
		if ttl != "0" {
			cutoff = strconv.FormatInt(startMs-o.ttl.Milliseconds(), 10)
		}
		if r.Running {
			eval := make(redis.Command, 0, 12+2*len(r.TopPages))
			eval = append(eval, "EVAL", runningWindowScript, "3", win, pages, windows, start, end, pv, uv, ttl, cutoff)
			for _, p := range r.TopPages {
				eval = append(eval, strconv.FormatInt(p.PV, 10), p.Page)
			}
			return append(cmds, eval)
		}
		cmds = append(cmds,
			redis.Command{"HSET", win, "start", start, "end", end, "pv", pv, "uv", uv, "final", "1"},
			redis.Command{"ZADD", windows, start, start},
			redis.Command{"DEL", pages},
		)
		if len(r.TopPages) > 0 {
			zadd := redis.Command{"ZADD", pages}
			for _, p := range r.TopPages {
				zadd = append(zadd, strconv.FormatInt(p.PV, 10), p.Page)
			}
			cmds = append(cmds, zadd)
		}
		if ttl != "0" {
			cmds = append(cmds,
				redis.Command{"PEXPIRE", win, ttl},
				redis.Command{"PEXPIRE", pages, ttl},
				redis.Command{"ZREMRANGEBYSCORE", windows, "-inf", cutoff},
			)
		}
		return cmds
	}
}

// RedisDayLayout writes day results to Redis under prefix
// (DefaultRedisPrefix when empty):
//
//	P:day:YYYY-MM-DD  HASH  pv, uv, final ("1" once the day closed, "0"
//	                        for a running result)
//
// As with RedisLayout, a final result overwrites (HSET), and a running one
// is an EVAL of a Lua script that writes only while the hash does not hold
// final "1":
//
//	EVAL <script> 1 P:day:YYYY-MM-DD pv uv ttl
//
// With RedisTTL(ttl), each write also sets the day's key to expire ttl
// later.
func RedisDayLayout(prefix string, opts ...RedisOption) redis.Layout[DayResult] {
	prefix = redisPrefix(prefix)
	ttl := applyRedisOptions(opts).ttlMillis()
	return func(r DayResult, cmds []redis.Command) []redis.Command {
		key := prefix + ":day:" + r.Day.UTC().Format(time.DateOnly)
		pv, uv := strconv.FormatInt(r.PV, 10), strconv.FormatInt(r.UV, 10)
		if r.Running {
			return append(cmds, redis.Command{"EVAL", runningDayScript, "1", key, pv, uv, ttl})
		}
		cmds = append(cmds, redis.Command{"HSET", key, "pv", pv, "uv", uv, "final", "1"})
		if ttl != "0" {
			cmds = append(cmds, redis.Command{"PEXPIRE", key, ttl})
		}
		return cmds
	}
}

// RedisTotalsLayout writes the job's totals (Job.Totals) to Redis under
// prefix (DefaultRedisPrefix when empty):
//
//	P:counters  HASH  lines, bad_lines, late
//
// It is one HSET of the whole totals, so a replay after a restore, or a
// record sent again, writes the same or the next exact values: nothing
// counts twice. The sink writes one record after the other (one request
// in flight), so the last record of the job is the last value written.
func RedisTotalsLayout(prefix string) redis.Layout[Totals] {
	key := redisPrefix(prefix) + ":counters"
	return func(t Totals, cmds []redis.Command) []redis.Command {
		return append(cmds, redis.Command{"HSET", key,
			"lines", strconv.FormatInt(t.Lines, 10),
			"bad_lines", strconv.FormatInt(t.BadLines, 10),
			"late", strconv.FormatInt(t.Late, 10)})
	}
}

// SinkToRedis writes the job's windows (RedisLayout), days
// (RedisDayLayout) and totals (RedisTotalsLayout) to the Redis server at e
// under prefix, each through one sink subtask so that a key's writes land
// in order. The options apply to the windows and the days.
func (j *Job) SinkToRedis(e redis.Endpoint, prefix string, opts ...RedisOption) error {
	if o := applyRedisOptions(opts); o.ttl < 0 {
		return fmt.Errorf("pvuv: RedisTTL %v is negative: use 0 to keep the windows, or a time such as 1h", o.ttl)
	}
	windows, err := redis.NewSink(e, RedisLayout(prefix, opts...))
	if err != nil {
		return err
	}
	days, err := redis.NewSink(e, RedisDayLayout(prefix, opts...))
	if err != nil {
		return err
	}
	totals, err := redis.NewSink(e, RedisTotalsLayout(prefix))
	if err != nil {
		return err
	}
	weir.SinkTo(j.Results, windows, weir.Name("redis-windows"), weir.Parallelism(1))
	weir.SinkTo(j.Days, days, weir.Name("redis-days"), weir.Parallelism(1))
	weir.SinkTo(j.Totals, totals, weir.Name("redis-totals"), weir.Parallelism(1))
	return nil
}
