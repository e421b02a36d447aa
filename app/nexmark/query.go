package nexmark

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/sink"
)

// Events reads src into a stream of events with their event times and a
// watermark per split that trails the split's newest event by nothing:
// the generator writes every split in event-time order.
func Events(env *weir.Env, src *nexmark.Source) weir.Stream[nexmark.Event] {
	return weir.FromSourceWithWatermarks(env, src, weir.BoundedOutOfOrderness[nexmark.Event](0, nil), weir.Name("nexmark"))
}

// Query is one Nexmark query: it adds its operators to a job that reads
// a stream of events and sends its result rows on.
type Query struct {
	// Name is the query's name, q0 to q22.
	Name string
	// About says in one line what the query computes.
	About string

	json    func(weir.Stream[nexmark.Event]) weir.Stream[Row]
	discard func(weir.Stream[nexmark.Event])
}

// JSON adds the query to the job of events and returns its rows, each a
// JSON object with the column names of the Flink query.
func (q Query) JSON(events weir.Stream[nexmark.Event]) weir.Stream[Row] { return q.json(events) }

// Row is one row of a query, encoded as a JSON object.
type Row []byte

// AppendJSON appends the row to dst: it is JSON already. It makes a Row a
// JSONAppender for the stdout and file sinks, which then write it as it
// is.
func (r Row) AppendJSON(dst []byte) []byte { return append(dst, r...) }

// Discard adds the query to the job of events with a sink that drops its
// rows, as a benchmark's blackhole sink does: the rows are made, not
// encoded.
func (q Query) Discard(events weir.Stream[nexmark.Event]) { q.discard(events) }

// newQuery wraps a typed query for the registry.
func newQuery[R any](name, about string, build func(weir.Stream[nexmark.Event]) weir.Stream[R]) Query {
	return Query{
		Name:  name,
		About: about,
		json: func(events weir.Stream[nexmark.Event]) weir.Stream[Row] {
			return weir.Process(build(events), func(_ *weir.Context, r R, out weir.Emitter[Row]) error {
				b, err := json.Marshal(r)
				if err != nil {
					return fmt.Errorf("nexmark: %s: encode a row: %w", name, err)
				}
				out.Emit(b)
				return nil
			}, weir.Name(name+" json"))
		},
		discard: func(events weir.Stream[nexmark.Event]) {
			weir.SinkTo(build(events), sink.Func[R](func(context.Context, R) error { return nil }), weir.Name(name+" discard"))
		},
	}
}

// Queries returns every query, q0 to q22, in order.
func Queries() []Query {
	return []Query{
		newQuery("q0", "pass-through: every bid", Q0),
		newQuery("q1", "currency conversion: every bid's price in euros", Q1),
		newQuery("q2", "selection: the bids on every 123rd auction", Q2),
		newQuery("q3", "local item suggestion: auctions of category 10 by sellers in OR, ID or CA", Q3),
		newQuery("q4", "average winning price per category", Q4),
		newQuery("q5", "hot items: the auctions with the most bids per sliding window", Q5),
		newQuery("q6", "average winning price of a seller's last 10 auctions", Q6),
		newQuery("q7", "highest bid per 10-second window", Q7),
		newQuery("q8", "new users who opened an auction in the 10 seconds they registered in", Q8),
		newQuery("q9", "winning bid of every auction", Q9),
		newQuery("q10", "log to a file system: every bid with its day and minute", Q10),
		newQuery("q11", "bids per bidder per session of activity", Q11),
		newQuery("q12", "bids per bidder per 10 seconds of processing time", Q12),
		newQuery("q13", "bids joined with a bounded side input", func(events weir.Stream[nexmark.Event]) weir.Stream[Q13Row] {
			return Q13(events, SideInput(DefaultSideInputRows))
		}),
		newQuery("q14", "calculation: bids with a price in range, their time of day and a count of c's", Q14),
		newQuery("q15", "bidding statistics per day", Q15),
		newQuery("q16", "channel statistics per day", Q16),
		newQuery("q17", "auction statistics per day", Q17),
		newQuery("q18", "the last bid of every bidder on every auction", Q18),
		newQuery("q19", "the top 10 bids of every auction", Q19),
		newQuery("q20", "bids with the details of their auction, for auctions of category 10", Q20),
		newQuery("q21", "bids with the channel id taken from the channel or the URL", Q21),
		newQuery("q22", "bids with the first three directories of their URL", Q22),
	}
}

// Lookup returns the query called name (q0 to q22).
func Lookup(name string) (Query, bool) {
	for _, q := range Queries() {
		if q.Name == name {
			return q, true
		}
	}
	return Query{}, false
}

// bids returns the bids of events.
func bids(events weir.Stream[nexmark.Event], name string) weir.Stream[*nexmark.Bid] {
	return weir.FlatMap(events, func(e nexmark.Event, out weir.Emitter[*nexmark.Bid]) {
		if e.Kind == nexmark.KindBid {
			out.Emit(e.Bid)
		}
	}, weir.Name(name+" bids"))
}

// Decimal3 is a number with three decimals, stored as thousandths: the
// DECIMAL(23, 3) of Flink's q1 and q14, exact where a float64 is not. It
// is written to JSON as a number such as 12.345.
type Decimal3 int64

// euros returns 0.908 times a price, exactly.
func euros(price int64) Decimal3 { return Decimal3(price * 908) }

// MarshalJSON writes d as a JSON number with three decimals.
func (d Decimal3) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }

// String returns d with three decimals, as in -1.250.
func (d Decimal3) String() string {
	sign, v := "", int64(d)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%03d", sign, v/1000, v%1000)
}

// utc returns the time of ms, in UTC.
func utc(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
