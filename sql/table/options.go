package table

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Option is one key and value of a table's WITH clause.
type Option struct {
	Key, Value string
}

// Options are a table's options after [Registry.Resolve] checked them.
// Its getters parse a value and name the table and the option in their
// errors. The zero Options is empty.
type Options struct {
	table string
	list  []Option
}

// NewOptions returns the options list of table, unchecked: for tests and
// for factories that call each other.
func NewOptions(table string, list []Option) Options { return Options{table: table, list: list} }

// Table returns the name of the table the options belong to.
func (o Options) Table() string { return o.table }

// List returns the options in the order they were declared.
func (o Options) List() []Option { return o.list }

// Lookup returns the value of key and whether the table sets it.
func (o Options) Lookup(key string) (string, bool) {
	for _, op := range o.list {
		if op.Key == key {
			return op.Value, true
		}
	}
	return "", false
}

// String returns the value of key, or def when the table does not set it.
func (o Options) String(key, def string) string {
	if v, ok := o.Lookup(key); ok {
		return v
	}
	return def
}

// WithPrefix returns the options whose key starts with prefix, with the
// prefix cut off ("properties." → "group.id").
func (o Options) WithPrefix(prefix string) map[string]string {
	m := map[string]string{}
	for _, op := range o.list {
		if k, ok := strings.CutPrefix(op.Key, prefix); ok {
			m[k] = op.Value
		}
	}
	return m
}

// Bool returns the value of key as a boolean ('true' or 'false', any
// case), or def when the table does not set it.
func (o Options) Bool(key string, def bool) (bool, error) {
	v, ok := o.Lookup(key)
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, o.errorf(key, v, "must be 'true' or 'false'")
}

// Int returns the value of key as an integer, or def when the table does
// not set it.
func (o Options) Int(key string, def int64) (int64, error) {
	v, ok := o.Lookup(key)
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, o.errorf(key, v, "must be a whole number, such as '100'")
	}
	return n, nil
}

// Duration returns the value of key as a duration, or def when the table
// does not set it. It takes Flink's forms: a number and a unit, with or
// without a space ('10 s', '10s', '1min', '500 ms', '2 h', '1 d'), the
// units' long names ('10 seconds', '1 minute'), and Go's ('1m30s'). A
// number without a unit is milliseconds, as in Flink.
func (o Options) Duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := o.Lookup(key)
	if !ok {
		return def, nil
	}
	d, err := ParseDuration(v)
	if err != nil {
		return 0, o.errorf(key, v, "must be a duration such as '10 s', '500 ms' or '1 min'")
	}
	return d, nil
}

func (o Options) errorf(key, value, what string) error {
	return fmt.Errorf("table %s: option '%s' is '%s': it %s", o.table, key, value, what)
}

// durationUnits maps Flink's unit names to their length.
var durationUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "nano": time.Nanosecond, "nanos": time.Nanosecond, "nanosecond": time.Nanosecond, "nanoseconds": time.Nanosecond,
	"us": time.Microsecond, "µs": time.Microsecond, "micro": time.Microsecond, "micros": time.Microsecond, "microsecond": time.Microsecond, "microseconds": time.Microsecond,
	"ms": time.Millisecond, "milli": time.Millisecond, "millis": time.Millisecond, "millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// ParseDuration parses a duration as Flink's configuration writes one
// (see Options.Duration).
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("table: duration %q does not start with a number", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("table: duration %q: %w", s, err)
	}
	unit := strings.ToLower(strings.TrimLeftFunc(t[i:], unicode.IsSpace))
	if unit == "" {
		return time.Duration(n) * time.Millisecond, nil
	}
	if u, ok := durationUnits[unit]; ok {
		if n > int64(1<<63-1)/int64(u) {
			return 0, fmt.Errorf("table: duration %q is too long", s)
		}
		return time.Duration(n) * u, nil
	}
	if d, err := time.ParseDuration(t); err == nil {
		return d, nil
	}
	return 0, fmt.Errorf("table: duration %q has an unknown unit %q", s, unit)
}
