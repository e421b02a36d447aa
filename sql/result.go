package sql

import (
	"github.com/weirstream/weir/sql/types"
)

// ResultKind says what a statement returned, and so which fields of a
// [Result] are set.
type ResultKind int

// The kinds of results.
const (
	// ResultOK is the answer of DDL, SET, RESET, BEGIN/END STATEMENT SET:
	// Message says what was done.
	ResultOK ResultKind = iota
	// ResultTable is the answer of SHOW, DESCRIBE and a bare SET: Schema
	// and Rows.
	ResultTable
	// ResultExplain is the answer of EXPLAIN: Text.
	ResultExplain
	// ResultJob is the answer of INSERT INTO and of END of a statement
	// set: Job, a running job that writes to its sinks.
	ResultJob
	// ResultQuery is the answer of SELECT: Job, whose Rows are the query's
	// result, and Schema, their columns.
	ResultQuery
)

// String returns the kind's name.
func (k ResultKind) String() string {
	switch k {
	case ResultOK:
		return "ok"
	case ResultTable:
		return "table"
	case ResultExplain:
		return "explain"
	case ResultJob:
		return "job"
	case ResultQuery:
		return "query"
	}
	return "unknown"
}

// Result is what one statement returned.
type Result struct {
	Kind ResultKind
	// Message says what a statement did, e.g. "Table 'access_log' created."
	Message string
	// Schema are the columns of Rows, or of a query's rows.
	Schema types.Schema
	// Rows are the answer of SHOW, DESCRIBE and SET.
	Rows []types.Row
	// Text is EXPLAIN's plan.
	Text string
	// Job is the job INSERT INTO or SELECT started.
	Job *Job
}
