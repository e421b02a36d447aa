package sql

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sql/table"
)

// settingKeys are the keys SET takes, with what each means.
var settingKeys = map[string]string{
	"parallelism.default":              "the parallelism of every operator (default 1)",
	"execution.checkpointing.interval": "take a checkpoint this often ('10 s'); needs 'state.checkpoints.dir'",
	"state.checkpoints.dir":            "where checkpoints are written (a directory or URL)",
	"state.backend":                    "'hashmap' (or 'heap', the default) or 'pebble' (or 'rocksdb'), which needs 'state.backend.dir'",
	"state.backend.dir":                "scratch directory of the 'pebble' state backend",
	"table.local-time-zone":            "the session time zone, an IANA name such as 'Europe/Paris' (default 'UTC')",
	"pipeline.name":                    "the name of the jobs the session starts",
	"execution.savepoint.path":         "restore the next jobs from this checkpoint or savepoint",
	"table.exec.state.ttl":             "how long a regular join keeps a key's rows of one side after that side's last row for the key ('1 h'; default '0': for ever)",
	"sql.dead-letters":                 "append the records sources cannot decode, as JSON lines, to this file (default: count them in the metrics only)",
}

func knownKeys() string {
	keys := make([]string, 0, len(settingKeys))
	for k := range settingKeys {
		keys = append(keys, "'"+k+"'")
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// checkSetting validates one SET.
func checkSetting(key, value string) error {
	if _, ok := settingKeys[key]; !ok {
		return fmt.Errorf("sql: SET: unknown key '%s': the keys are %s", key, knownKeys())
	}
	switch key {
	case "parallelism.default":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 {
			return fmt.Errorf("sql: SET 'parallelism.default' = '%s': give a positive integer", value)
		}
	case "execution.checkpointing.interval":
		d, err := table.ParseDuration(value)
		if err != nil {
			return fmt.Errorf("sql: SET 'execution.checkpointing.interval' = '%s': %w", value, err)
		}
		if d <= 0 {
			return fmt.Errorf("sql: SET 'execution.checkpointing.interval' = '%s': give a positive duration such as '10 s'", value)
		}
	case "table.exec.state.ttl":
		if _, err := table.ParseDuration(value); err != nil {
			return fmt.Errorf("sql: SET 'table.exec.state.ttl' = '%s': %w: give a duration such as '1 h', or '0' to keep state for ever", value, err)
		}
	case "state.backend":
		if backendName(value) == "" {
			return fmt.Errorf("sql: SET 'state.backend' = '%s': use 'hashmap' or 'pebble'", value)
		}
	case "table.local-time-zone":
		if _, err := time.LoadLocation(value); err != nil {
			return fmt.Errorf("sql: SET 'table.local-time-zone' = '%s': %w: give an IANA zone name such as 'UTC' or 'Asia/Shanghai'", value, err)
		}
	}
	return nil
}

func backendName(v string) string {
	switch strings.ToLower(v) {
	case "hashmap", "heap":
		return "heap"
	case "pebble", "rocksdb":
		return "pebble"
	}
	return ""
}

// location returns the session time zone.
func (s *Session) location() *time.Location {
	if v, ok := s.settings["table.local-time-zone"]; ok {
		if loc, err := time.LoadLocation(v); err == nil {
			return loc
		}
	}
	return time.UTC
}

// stateTTL returns 'table.exec.state.ttl', zero when unset.
func (s *Session) stateTTL() time.Duration {
	d, _ := table.ParseDuration(s.settings["table.exec.state.ttl"])
	return d
}

// envOptions returns the options of a job: the session's Options, then
// those the SET keys give.
func (s *Session) envOptions() ([]weir.EnvOption, error) {
	opts := append([]weir.EnvOption(nil), s.opts.EnvOptions...)
	set := s.settings
	if v, ok := set["parallelism.default"]; ok {
		n, _ := strconv.Atoi(v)
		opts = append(opts, weir.Parallelism(n))
	}
	if v, ok := set["execution.checkpointing.interval"]; ok {
		d, _ := table.ParseDuration(v)
		dir, ok := set["state.checkpoints.dir"]
		if !ok {
			return nil, fmt.Errorf("sql: 'execution.checkpointing.interval' is set without 'state.checkpoints.dir': SET 'state.checkpoints.dir' = '<directory>'")
		}
		opts = append(opts, weir.Checkpoints(d, dir))
	}
	if v, ok := set["state.backend"]; ok {
		name := backendName(v)
		dir := set["state.backend.dir"]
		if name == "pebble" && dir == "" {
			return nil, fmt.Errorf("sql: 'state.backend' = '%s' needs a directory: SET 'state.backend.dir' = '<directory>'", v)
		}
		opts = append(opts, weir.StateBackend(name, dir))
	}
	if v, ok := set["execution.savepoint.path"]; ok {
		opts = append(opts, weir.RestoreFrom(v))
	}
	return opts, nil
}
