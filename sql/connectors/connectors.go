// Package connectors holds the table factories of weir's built-in
// connectors, found by a table's 'connector' option: filesystem, kafka,
// datagen, redis, print and blackhole. [Default] returns a table.Registry
// with all of them.
//
// The factories live here, not in the connector packages, because the
// connector packages must not import the weir API that a factory adds its
// source or sink to (the layering test); each factory is a thin adapter
// from a table's options to its connector's constructor.
//
// What each sink guarantees, and what it does with an updating input:
//
//	connector   source                      sink                                   updates
//	filesystem  files, glob, follow         exactly-once with checkpoints          refused
//	kafka       topic, per-partition wm     exactly-once or at-least-once          refused (append-only)
//	datagen     access-log or nexmark       —                                      —
//	redis       lookup (HGETALL by key)     hash per PRIMARY KEY, idempotent       upsert/delete by key
//	print       —                           +I/-U/+U/-D lines to the Context's writer   printed
//	blackhole   —                           discards                               taken
package connectors

import (
	"github.com/weirstream/weir/sql/format"
	"github.com/weirstream/weir/sql/table"
)

// Default returns a registry of every built-in connector, whose tables
// find their formats in formats (nil: format.Default()).
func Default(formats *format.Registry) *table.Registry {
	r := table.NewRegistry(formats)
	for _, f := range []table.Factory{Filesystem{}, Kafka{}, Datagen{}, Redis{}, Print{}, Blackhole{}} {
		if err := r.Register(f); err != nil {
			panic(err) // the built-in names are distinct
		}
	}
	return r
}

// refuseUpdates is the error of an append-only sink given an updating
// changelog.
func refuseUpdates(c table.SinkContext, connector, fix string) error {
	if !c.Updating {
		return nil
	}
	return &updatesError{table: c.Table, connector: connector, fix: fix}
}

type updatesError struct{ table, connector, fix string }

func (e *updatesError) Error() string {
	return "table " + e.table + ": connector '" + e.connector + "' only appends rows, but the query updates its result (it emits -U/+U/-D rows): " + e.fix
}
