package connectors

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/redis/rueidis"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/redis"
	"github.com/weirstream/weir/sql/format"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
)

// Redis is the 'redis' connector: a sink that keeps a table's rows in
// Redis by PRIMARY KEY, and a lookup source that reads them back.
//
// Options:
//
//	url                    redis://[user:password@]host:port/db, or rediss:// (required)
//	key-prefix             the prefix of every key (default: the table's name and ':')
//	data-type              hash (default) or sorted-set
//	lookup.cache.max-rows  the lookup's cache, in keys (default: no cache)
//	lookup.cache.ttl       how long a cached answer is used (default: until evicted)
//
// The table needs a PRIMARY KEY. Keys are the prefix and the key columns'
// values joined by ':'.
//
//   - hash: a row is the hash at its key; each column that is not in the
//     key is a field holding the value as text (csv's form); a NULL column
//     is no field. +I and +U write the hash (HSET, and HDEL of NULL
//     fields, in one MULTI/EXEC); -D deletes the key; -U is skipped, as
//     the +U that follows replaces the row.
//   - sorted-set: the last key column is the member and the other key
//     columns name the set; the one column outside the key, numeric, is
//     the score: a window's top pages, with PRIMARY KEY (window_end, uri)
//     and a views column, are the set PREFIX<window_end> of members uri.
//     +I and +U write ZADD; -D writes ZREM.
//
// Writes overwrite, so a replay after a restore leaves Redis as a run
// without failure would: exactly-once results over at-least-once writes
// (see connector/redis). The sink runs at parallelism 1 so that the rows
// of a key land in their order.
//
// The lookup (hash only) reads the hash at the key the join's keys make
// with HGETALL, and returns it as a row, or no row when there is no hash.
// The join must look up by every PRIMARY KEY column.
type Redis struct{}

// Connector implements table.Factory.
func (Redis) Connector() string { return "redis" }

// Options implements table.Factory.
func (Redis) Options() table.OptionSpec {
	return table.OptionSpec{
		Required: []string{"url"},
		Optional: append([]string{"key-prefix", "data-type"}, table.LookupCacheOptions...),
	}
}

// redisTable is what the sink and the lookup share.
type redisTable struct {
	endpoint redis.Endpoint
	prefix   string
	sorted   bool
	keyCols  []int // positions of the PRIMARY KEY columns in the schema
	valCols  []int // the others
}

func newRedisTable(c table.Context, pk []string) (*redisTable, error) {
	e, err := redis.ParseURL(c.Options.String("url", ""))
	if err != nil {
		return nil, fmt.Errorf("table %s: option 'url': %w", c.Table, err)
	}
	t := &redisTable{endpoint: e, prefix: c.Options.String("key-prefix", c.Table+":")}
	switch dt := c.Options.String("data-type", "hash"); dt {
	case "hash":
	case "sorted-set":
		t.sorted = true
	default:
		return nil, fmt.Errorf("table %s: option 'data-type' is '%s': use hash or sorted-set", c.Table, dt)
	}
	if len(pk) == 0 {
		return nil, fmt.Errorf("table %s: connector 'redis' keeps rows by their PRIMARY KEY, and the table declares none: add PRIMARY KEY (…) NOT ENFORCED", c.Table)
	}
	for _, name := range pk {
		i := c.Schema.Index(name)
		if i < 0 {
			return nil, fmt.Errorf("table %s: PRIMARY KEY column %s is not a physical column of the table", c.Table, name)
		}
		t.keyCols = append(t.keyCols, i)
	}
	for i := range c.Schema {
		if !slices.Contains(t.keyCols, i) {
			t.valCols = append(t.valCols, i)
		}
	}
	if t.sorted {
		if len(t.valCols) != 1 || !c.Schema[t.valCols[0]].Type.Numeric() {
			return nil, fmt.Errorf("table %s: option 'data-type' = 'sorted-set' needs exactly one numeric column outside the PRIMARY KEY, the score; the table has %d", c.Table, len(t.valCols))
		}
	}
	return t, nil
}

func (t *redisTable) key(dst []byte, values []types.Value, schema types.Schema, cols []int) string {
	dst = append(dst, t.prefix...)
	for n, i := range cols {
		if n > 0 {
			dst = append(dst, ':')
		}
		dst = format.AppendText(dst, values[i], schema[i].Type, nil)
	}
	return string(dst)
}

// Sink implements table.SinkFactory.
func (Redis) Sink(c table.SinkContext, rows weir.Stream[types.Row]) error {
	t, err := newRedisTable(c.Context, c.PrimaryKey)
	if err != nil {
		return err
	}
	schema := c.Schema
	var layout redis.Layout[types.Row]
	if t.sorted {
		setCols, member, score := t.keyCols[:len(t.keyCols)-1], t.keyCols[len(t.keyCols)-1], t.valCols[0]
		layout = func(r types.Row, cmds []redis.Command) []redis.Command {
			if r.Kind == types.UpdateBefore {
				return cmds
			}
			key := t.key(nil, r.Values, schema, setCols)
			m := string(format.AppendText(nil, r.Values[member], schema[member].Type, nil))
			if r.Kind == types.Delete {
				return append(cmds, redis.Command{"ZREM", key, m})
			}
			s := string(format.AppendText(nil, r.Values[score], schema[score].Type, nil))
			if s == "" {
				return append(cmds, redis.Command{"ZREM", key, m})
			}
			return append(cmds, redis.Command{"ZADD", key, s, m})
		}
	} else {
		layout = func(r types.Row, cmds []redis.Command) []redis.Command {
			key := t.key(nil, r.Values, schema, t.keyCols)
			switch r.Kind {
			case types.UpdateBefore:
				return cmds
			case types.Delete:
				return append(cmds, redis.Command{"DEL", key})
			}
			set := redis.Command{"HSET", key}
			del := redis.Command{"HDEL", key}
			for _, i := range t.valCols {
				if r.Values[i].IsNull() {
					del = append(del, schema[i].Name)
					continue
				}
				set = append(set, schema[i].Name, string(format.AppendText(nil, r.Values[i], schema[i].Type, nil)))
			}
			if len(set) > 2 {
				cmds = append(cmds, set)
			}
			if len(del) > 2 {
				cmds = append(cmds, del)
			}
			if len(set) == 2 && len(del) == 2 { // a row of key columns only
				cmds = append(cmds, redis.Command{"HSET", key, "", ""})
			}
			return cmds
		}
	}
	snk, err := redis.NewSink(t.endpoint, layout)
	if err != nil {
		return fmt.Errorf("table %s: %w", c.Table, err)
	}
	weir.SinkTo(rows, snk, append(c.OpOptions("sink"), weir.Parallelism(1))...)
	return nil
}

// Lookup implements table.LookupFactory.
func (Redis) Lookup(c table.LookupContext) (table.Lookup, error) {
	t, err := newRedisTable(c.Context, c.PrimaryKey)
	if err != nil {
		return table.Lookup{}, err
	}
	if t.sorted {
		return table.Lookup{}, fmt.Errorf("table %s: a lookup reads hashes: set 'data-type' = 'hash', or join another table", c.Table)
	}
	if !slices.Equal(c.Keys, c.PrimaryKey) {
		return table.Lookup{}, fmt.Errorf("table %s: a lookup in redis finds rows by their whole PRIMARY KEY (%s), but the join matches %s: join on exactly the key columns, in that order",
			c.Table, strings.Join(c.PrimaryKey, ", "), strings.Join(c.Keys, ", "))
	}
	client, err := redis.NewClient(t.endpoint)
	if err != nil {
		return table.Lookup{}, fmt.Errorf("table %s: %w", c.Table, err)
	}
	schema, loc := c.Schema, c.Location
	keyCols := make([]int, len(t.keyCols))
	for i := range keyCols {
		keyCols[i] = i
	}
	fn := func(ctx context.Context, keys []types.Value) ([]types.Row, error) {
		key := t.key(nil, keys, keySchema(schema, t.keyCols), keyCols)
		m, err := client.Do(ctx, client.B().Hgetall().Key(key).Build()).AsStrMap()
		if err != nil {
			if rueidis.IsRedisNil(err) {
				return nil, nil
			}
			return nil, fmt.Errorf("table %s: HGETALL %s: %w", c.Table, key, err)
		}
		if len(m) == 0 {
			return nil, nil
		}
		values := make([]types.Value, len(schema))
		for n, i := range t.keyCols {
			values[i] = keys[n]
		}
		for _, i := range t.valCols {
			s, ok := m[schema[i].Name]
			if !ok {
				continue
			}
			v, err := format.ParseText(s, schema[i].Type, loc)
			if err != nil {
				// A value another program wrote: the column is NULL, not
				// the job's end, and the log says so.
				slog.Warn("redis lookup: a field does not parse; the column is NULL",
					"table", c.Table, "key", key, "field", schema[i].Name, "reason", err.Error())
				continue
			}
			values[i] = v
		}
		return []types.Row{{Values: values}}, nil
	}
	cached, err := table.CachedLookup(c.Options, fn)
	if err != nil {
		client.Close()
		return table.Lookup{}, err
	}
	return table.Lookup{Fn: cached, Close: func() error { client.Close(); return nil }}, nil
}

func keySchema(schema types.Schema, cols []int) types.Schema {
	s := make(types.Schema, len(cols))
	for n, i := range cols {
		s[n] = schema[i]
	}
	return s
}
