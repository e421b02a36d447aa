package exec

// Changelog says what kinds of rows a stream carries: a plan-time property
// the planner tracks from operator to operator and checks at the sink (a
// sink that only appends must not get an updating stream).
//
// Insert-only: EventTime, WindowAssign, WindowAggregate, WindowTopN,
// WindowJoin, IntervalJoin, LookupJoin, and Deduplicate keeping the first
// row in arrival order. Updating (+I, -U, +U): GroupAggregate and the
// other Deduplicate modes. Operators that need insert-only input refuse an
// updating one at planning time (their spec's Input field).
type Changelog uint8

const (
	// InsertOnly streams carry only +I rows: an append-only table.
	InsertOnly Changelog = iota
	// Updating streams carry +I, -U and +U rows (Flink's retract
	// changelog): a -U row takes back a row emitted before, and the +U
	// that follows it replaces it.
	Updating
)

// String returns "insert-only" or "updating".
func (c Changelog) String() string {
	if c == Updating {
		return "updating"
	}
	return "insert-only"
}
