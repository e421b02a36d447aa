package redis

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/rueidis"
)

// Command is one Redis command as redis-cli takes it: the command's name,
// its key, then its arguments, for example
//
//	redis.Command{"HSET", "weir:pvuv:window:1795506000000", "pv", "42", "uv", "17"}
//
// The second word must be the key (a command on several keys, such as
// DEL k1 k2, names the first): error messages show it.
type Command []string

// Layout turns a record into the commands that store it: it appends them
// to cmds and returns the result, as append does, so the sink can reuse
// the slice. The commands of one record run atomically, in order (inside
// MULTI/EXEC when there are several). A layout that returns no command
// writes nothing for that record.
//
// Replays after a restore call the layout again with the same records, so
// a layout whose commands overwrite (SET, HSET, ZADD, DEL then ZADD) makes
// the sink's results exactly-once; one that accumulates (INCR, RPUSH)
// counts replayed records twice.
type Layout[T any] func(v T, cmds []Command) []Command

// Entry is the commands of one record, ready to send: the unit the sink
// batches, bounds and retries.
type Entry struct {
	cmds  []Command
	bytes int
}

// NewEntry checks cmds and makes them an Entry. It fails on a command
// without a name or a key: the layout has a bug.
func NewEntry(cmds []Command) (Entry, error) {
	e := Entry{cmds: cmds}
	for _, c := range cmds {
		if len(c) < 2 || c[0] == "" {
			return Entry{}, fmt.Errorf("redis: the layout made the command %q: a command needs a name and a key; fix the layout", []string(c))
		}
		for _, w := range c {
			e.bytes += len(w) + 16 // the protocol's framing, roughly
		}
	}
	return e, nil
}

// Commands returns the entry's commands. They must not be changed.
func (e Entry) Commands() []Command { return e.cmds }

// Size is the entry's approximate size on the wire, in bytes.
func (e Entry) Size() int { return e.bytes }

// build appends the rueidis commands of e to out: the commands
// themselves, or MULTI, the commands, EXEC.
func (e Entry) build(b rueidis.Builder, out []rueidis.Completed) []rueidis.Completed {
	if len(e.cmds) > 1 {
		out = append(out, b.Multi().Build())
	}
	for _, c := range e.cmds {
		out = append(out, b.Arbitrary(c[0]).Keys(c[1]).Args(c[2:]...).Build())
	}
	if len(e.cmds) > 1 {
		out = append(out, b.Exec().Build())
	}
	return out
}

// span is how many rueidis commands build makes for e.
func (e Entry) span() int {
	if len(e.cmds) > 1 {
		return len(e.cmds) + 2
	}
	return len(e.cmds)
}

// String shows a command for error messages, cutting long arguments and
// arguments of several lines (a script).
func (c Command) String() string {
	const max = 6
	var b strings.Builder
	for i, w := range c {
		if i == max {
			fmt.Fprintf(&b, " ... (%d more)", len(c)-max)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(shorten(w))
	}
	return b.String()
}

// scripted reports whether c runs a script or a function (EVAL, EVALSHA,
// FCALL and their read-only forms): its second word is the script, its
// SHA or the function's name, then come the number of keys and the keys.
func (c Command) scripted() bool {
	switch strings.ToUpper(c[0]) {
	case "EVAL", "EVAL_RO", "EVALSHA", "EVALSHA_RO", "FCALL", "FCALL_RO":
		return true
	}
	return false
}

// key returns the key c works on, for messages: its second word, or for a
// script the first of its keys ("" if it has none).
func (c Command) key() string {
	if len(c) < 2 {
		return ""
	}
	if !c.scripted() {
		return c[1]
	}
	if len(c) < 4 {
		return ""
	}
	if n, err := strconv.Atoi(c[2]); err != nil || n < 1 {
		return ""
	}
	return c[3]
}

// label names c in messages, shortly: its name and key, and for a script
// the script's first line, cut to 64 bytes (weir's layouts start a
// script with a comment that names it), never the whole script.
func (c Command) label() string {
	if len(c) < 2 {
		return strings.Join(c, " ")
	}
	if !c.scripted() {
		return c[0] + " " + shorten(c[1])
	}
	s := c[0]
	if k := c.key(); k != "" {
		s += " " + shorten(k)
	}
	return s + " (" + shorten(c[1]) + ")"
}

// shorten returns the first line of w, cut to 64 bytes, with "..." where
// something was left out.
func shorten(w string) string {
	cut := false
	if i := strings.IndexByte(w, '\n'); i >= 0 {
		w, cut = w[:i], true
	}
	if len(w) > 64 {
		w, cut = w[:61], true
	}
	if cut {
		w += "..."
	}
	return w
}
