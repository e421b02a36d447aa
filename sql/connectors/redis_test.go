package connectors_test

import (
	"context"
	"testing"

	"github.com/redis/rueidis"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/redis"
	"github.com/weirstream/weir/internal/redistest"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/weirtest"
)

func redisClient(t *testing.T, url string) rueidis.Client {
	t.Helper()
	e, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c, err := redis.NewClient(e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

var pageSchema = types.Schema{
	{Name: "window_end", Type: types.TimestampLTZType},
	{Name: "uri", Type: types.StringType},
	{Name: "views", Type: types.BigIntType},
	{Name: "share", Type: types.DoubleType},
}

// TestRedisHash upserts a changelog into hashes by PRIMARY KEY and reads
// the rows back through the lookup, cached.
func TestRedisHash(t *testing.T) {
	srv := redistest.Start(t)
	changelog := []types.Row{
		types.NewRow(n(60_000), s("/a"), n(1), types.FloatValue(0.5)),
		types.NewRow(n(60_000), s("/b"), n(1), types.FloatValue(0.5)),
		{Kind: types.UpdateBefore, Values: []types.Value{n(60_000), s("/a"), n(1), types.FloatValue(0.5)}},
		{Kind: types.UpdateAfter, Values: []types.Value{n(60_000), s("/a"), n(2), types.Null}},
		{Kind: types.Delete, Values: []types.Value{n(60_000), s("/b"), n(1), types.FloatValue(0.5)}},
	}
	env := weir.NewEnv(weir.Parallelism(2))
	f, c := resolve(t, env, "pages", pageSchema, "connector", "redis", "url", srv.URL(), "key-prefix", "p:",
		"lookup.cache.max-rows", "10", "lookup.cache.ttl", "1 min")
	pk := []string{"window_end", "uri"}
	if err := f.(table.SinkFactory).Sink(table.SinkContext{Context: c, Updating: true, PrimaryKey: pk},
		weir.FromSource(env, weirtest.FromSlice(changelog...), weir.Parallelism(1))); err != nil {
		t.Fatal(err)
	}
	run(t, env)

	client := redisClient(t, srv.URL())
	ctx := context.Background()
	h, err := client.Do(ctx, client.B().Hgetall().Key("p:1970-01-01 00:01:00.000:/a").Build()).AsStrMap()
	if err != nil || len(h) != 1 || h["views"] != "2" {
		t.Fatalf("hash of /a: %v, %v", h, err)
	}
	if n, _ := client.Do(ctx, client.B().Exists().Key("p:1970-01-01 00:01:00.000:/b").Build()).AsInt64(); n != 0 {
		t.Fatal("the deleted row's hash is there")
	}

	look, err := f.(table.LookupFactory).Lookup(table.LookupContext{Context: c, Keys: pk, PrimaryKey: pk})
	if err != nil {
		t.Fatal(err)
	}
	defer look.Close()
	rows, err := look.Fn(ctx, []types.Value{n(60_000), s("/a")})
	if err != nil || len(rows) != 1 {
		t.Fatalf("lookup: %v, %v", rows, err)
	}
	wantRow(t, rows[0], n(60_000), s("/a"), n(2), types.Null)
	if rows, err := look.Fn(ctx, []types.Value{n(60_000), s("/b")}); err != nil || len(rows) != 0 {
		t.Fatalf("lookup of a deleted row: %v, %v", rows, err)
	}
	// The cache answers now, even after the hash changed.
	client.Do(ctx, client.B().Hset().Key("p:1970-01-01 00:01:00.000:/a").FieldValue().FieldValue("views", "9").Build())
	rows, _ = look.Fn(ctx, []types.Value{n(60_000), s("/a")})
	wantRow(t, rows[0], n(60_000), s("/a"), n(2), types.Null)

	_, err = f.(table.LookupFactory).Lookup(table.LookupContext{Context: c, Keys: []string{"uri"}, PrimaryKey: pk})
	wantErr(t, err, "table pages: a lookup in redis finds rows by their whole PRIMARY KEY (window_end, uri), but the join matches uri")
	err = f.(table.SinkFactory).Sink(table.SinkContext{Context: c}, weir.Stream[types.Row]{})
	wantErr(t, err, "table pages: connector 'redis' keeps rows by their PRIMARY KEY, and the table declares none")
}

// TestRedisSortedSet writes a window's top pages as a sorted set per
// window: ZADD on insert and update, ZREM on delete.
func TestRedisSortedSet(t *testing.T) {
	srv := redistest.Start(t)
	schema := pageSchema[:3]
	changelog := []types.Row{
		types.NewRow(n(60_000), s("/a"), n(3)),
		types.NewRow(n(60_000), s("/b"), n(5)),
		types.NewRow(n(60_000), s("/c"), n(1)),
		{Kind: types.Delete, Values: []types.Value{n(60_000), s("/c"), n(1)}},
		{Kind: types.UpdateAfter, Values: []types.Value{n(60_000), s("/a"), n(7)}},
	}
	env := weir.NewEnv(weir.Parallelism(1))
	f, c := resolve(t, env, "top", schema, "connector", "redis", "url", srv.URL(), "data-type", "sorted-set")
	if err := f.(table.SinkFactory).Sink(table.SinkContext{Context: c, Updating: true, PrimaryKey: []string{"window_end", "uri"}},
		weir.FromSource(env, weirtest.FromSlice(changelog...))); err != nil {
		t.Fatal(err)
	}
	run(t, env)
	client := redisClient(t, srv.URL())
	got, err := client.Do(context.Background(), client.B().Zrange().Key("top:1970-01-01 00:01:00.000").Min("0").Max("-1").Withscores().Build()).AsZScores()
	if err != nil || len(got) != 2 || got[0].Member != "/b" || got[0].Score != 5 || got[1].Member != "/a" || got[1].Score != 7 {
		t.Fatalf("sorted set %v, %v", got, err)
	}

	f, c = resolve(t, env, "top", pageSchema, "connector", "redis", "url", srv.URL(), "data-type", "sorted-set")
	err = f.(table.SinkFactory).Sink(table.SinkContext{Context: c, PrimaryKey: []string{"window_end", "uri"}}, weir.Stream[types.Row]{})
	wantErr(t, err, "'data-type' = 'sorted-set' needs exactly one numeric column outside the PRIMARY KEY")
}
