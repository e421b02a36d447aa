package dashboard_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/redis/rueidis"

	"github.com/weirstream/weir/app/pvuv/dashboard"
)

// layout writes the PV/UV job's key layout (see the package doc), as the
// job does: every write overwrites.
type layout struct {
	c      rueidis.Client
	prefix string
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// window writes a window, its index entry and, when pages is not nil, its
// top pages.
func (l layout) window(ctx context.Context, w dashboard.Window, pages map[string]int64) error {
	start := itoa(w.Start)
	cmds := rueidis.Commands{
		l.c.B().Hset().Key(l.prefix+":window:"+start).FieldValue().
			FieldValue("start", start).FieldValue("end", itoa(w.End)).
			FieldValue("pv", itoa(w.PV)).FieldValue("uv", itoa(w.UV)).
			FieldValue("final", flag(w.Final)).Build(),
		l.c.B().Zadd().Key(l.prefix+":windows").ScoreMember().ScoreMember(float64(w.Start), start).Build(),
	}
	if pages != nil {
		z := l.c.B().Zadd().Key(l.prefix + ":pages:" + start).ScoreMember()
		for p, n := range pages {
			z = z.ScoreMember(float64(n), p)
		}
		cmds = append(cmds, l.c.B().Del().Key(l.prefix+":pages:"+start).Build())
		if len(pages) > 0 {
			cmds = append(cmds, z.Build())
		}
	}
	return firstErr(l.c.DoMulti(ctx, cmds...))
}

func (l layout) day(ctx context.Context, d dashboard.Day) error {
	return l.c.Do(ctx, l.c.B().Hset().Key(l.prefix+":day:"+d.Date).FieldValue().
		FieldValue("pv", itoa(d.PV)).FieldValue("uv", itoa(d.UV)).FieldValue("final", flag(d.Final)).Build()).Error()
}

func (l layout) counters(ctx context.Context, c dashboard.Counters) error {
	return l.c.Do(ctx, l.c.B().Hset().Key(l.prefix+":counters").FieldValue().
		FieldValue("lines", itoa(c.Lines)).FieldValue("bad_lines", itoa(c.BadLines)).FieldValue("late", itoa(c.Late)).Build()).Error()
}

func firstErr(res []rueidis.RedisResult) error {
	for _, r := range res {
		if err := r.Error(); err != nil {
			return err
		}
	}
	return nil
}

// must fails t on err; only for the test's own goroutine.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
