package connectors

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/sql/format"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
)

// Datagen is the 'datagen' connector: generated rows, the same for the
// same options.
//
// Options:
//
//	kind             'access-log': nginx lines from connector/datagen, read by
//	                 the combined-log format (the table declares any of its
//	                 columns; the generator's malformed lines are dead letters);
//	                 'nexmark': the events of connector/nexmark (default 'access-log')
//	rows-per-second  access-log: lines per second of wall-clock time and of event
//	                 time; nexmark: events per second of event time (default:
//	                 as fast as the job takes them, and the generators' own rate)
//	number-of-rows   end after this many rows (default: never)
//	seed             the generators' seed (default: theirs)
//	bad-line-ratio   access-log: the share of malformed lines, 0 to 1 (default 0)
//
// A 'nexmark' table has Flink's Nexmark schema, of which it declares any
// columns: event_type INT (0 person, 1 auction, 2 bid), person ROW<id
// BIGINT, name STRING, emailAddress STRING, creditCard STRING, city STRING,
// state STRING, dateTime TIMESTAMP(3), extra STRING>, auction ROW<id BIGINT,
// itemName STRING, description STRING, initialBid BIGINT, reserve BIGINT,
// dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category
// BIGINT, extra STRING>, bid ROW<auction BIGINT, bidder BIGINT, price BIGINT,
// channel STRING, url STRING, dateTime TIMESTAMP(3), extra STRING>, and
// dateTime TIMESTAMP(3), the event's time (Flink's DDL computes it; here
// the source gives it). The ROW of the other kinds is NULL.
type Datagen struct{}

// Connector implements table.Factory.
func (Datagen) Connector() string { return "datagen" }

// Options implements table.Factory.
func (Datagen) Options() table.OptionSpec {
	return table.OptionSpec{Optional: []string{"kind", "rows-per-second", "number-of-rows", "seed", "bad-line-ratio"}}
}

// Scan implements table.ScanFactory.
func (Datagen) Scan(c table.ScanContext) (table.Scan, error) {
	rate, err := c.Options.Int("rows-per-second", 0)
	if err != nil {
		return table.Scan{}, err
	}
	limit, err := c.Options.Int("number-of-rows", -1)
	if err != nil {
		return table.Scan{}, err
	}
	seed, err := c.Options.Int("seed", 0)
	if err != nil {
		return table.Scan{}, err
	}
	_, seeded := c.Options.Lookup("seed")
	if rate < 0 {
		return table.Scan{}, fmt.Errorf("table %s: option 'rows-per-second' is %d: use a positive number, or leave it out for as fast as possible", c.Table, rate)
	}
	switch kind := c.Options.String("kind", "access-log"); kind {
	case "access-log":
		dec, err := (format.CombinedLog{}).Decoder(format.Config{Table: c.Table, Schema: c.Schema, Location: c.Location})
		if err != nil {
			return table.Scan{}, err
		}
		var opts []datagen.SourceOption
		if rate > 0 {
			opts = append(opts, datagen.Rate(float64(rate)), datagen.EventsPerSecond(float64(rate)))
		}
		if limit >= 0 {
			opts = append(opts, datagen.Limit(limit))
		}
		if seeded {
			opts = append(opts, datagen.Seed(seed))
		}
		if v, ok := c.Options.Lookup("bad-line-ratio"); ok {
			r, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || r < 0 || r > 1 {
				return table.Scan{}, fmt.Errorf("table %s: option 'bad-line-ratio' is '%s': use a number from 0 to 1, such as '0.01'", c.Table, v)
			}
			opts = append(opts, datagen.BadLineRatio(r))
		}
		src, err := datagen.NewSource(opts...)
		if err != nil {
			return table.Scan{}, fmt.Errorf("table %s: %w", c.Table, err)
		}
		return table.AddSource(c, table.Decode(src, table.Lines, dec)), nil
	case "nexmark":
		conv, err := nexmarkRow(c.Table, c.Schema)
		if err != nil {
			return table.Scan{}, err
		}
		var opts []nexmark.SourceOption
		if rate > 0 {
			opts = append(opts, nexmark.EventsPerSecond(float64(rate)))
		}
		if limit >= 0 {
			opts = append(opts, nexmark.Events(limit))
		}
		if seeded {
			opts = append(opts, nexmark.Seed(seed))
		}
		src, err := nexmark.NewSource(opts...)
		if err != nil {
			return table.Scan{}, fmt.Errorf("table %s: %w", c.Table, err)
		}
		var s source.Source[nexmark.Event] = src
		return table.AddSource(c, table.Convert(s, func(e nexmark.Event) []byte { return e.AppendJSON(nil) }, conv)), nil
	default:
		return table.Scan{}, fmt.Errorf("table %s: option 'kind' is '%s': use 'access-log' or 'nexmark'", c.Table, kind)
	}
}

// NexmarkSchema is the schema of a 'nexmark' datagen table, as Flink's
// Nexmark DDL declares it (dateTime included), not flattened.
var NexmarkSchema = types.Schema{
	{Name: "event_type", Type: types.IntType},
	{Name: "person", Type: types.Type{Kind: types.Record, Fields: []types.Field{
		{Name: "id", Type: types.BigIntType}, {Name: "name", Type: types.StringType},
		{Name: "emailAddress", Type: types.StringType}, {Name: "creditCard", Type: types.StringType},
		{Name: "city", Type: types.StringType}, {Name: "state", Type: types.StringType},
		{Name: "dateTime", Type: types.TimestampType}, {Name: "extra", Type: types.StringType},
	}}},
	{Name: "auction", Type: types.Type{Kind: types.Record, Fields: []types.Field{
		{Name: "id", Type: types.BigIntType}, {Name: "itemName", Type: types.StringType},
		{Name: "description", Type: types.StringType}, {Name: "initialBid", Type: types.BigIntType},
		{Name: "reserve", Type: types.BigIntType}, {Name: "dateTime", Type: types.TimestampType},
		{Name: "expires", Type: types.TimestampType}, {Name: "seller", Type: types.BigIntType},
		{Name: "category", Type: types.BigIntType}, {Name: "extra", Type: types.StringType},
	}}},
	{Name: "bid", Type: types.Type{Kind: types.Record, Fields: []types.Field{
		{Name: "auction", Type: types.BigIntType}, {Name: "bidder", Type: types.BigIntType},
		{Name: "price", Type: types.BigIntType}, {Name: "channel", Type: types.StringType},
		{Name: "url", Type: types.StringType}, {Name: "dateTime", Type: types.TimestampType},
		{Name: "extra", Type: types.StringType},
	}}},
	{Name: "dateTime", Type: types.TimestampType},
}

type nexmarkField func(e nexmark.Event) types.Value

func ms(t time.Time) types.Value { return types.IntValue(t.UnixMilli()) }

var nexmarkFields = map[string]nexmarkField{
	"event_type": func(e nexmark.Event) types.Value { return types.IntValue(int64(e.Kind) - 1) },
	"dateTime":   func(e nexmark.Event) types.Value { return ms(e.Time()) },

	"person.id":           person(func(p *nexmark.Person) types.Value { return types.IntValue(p.ID) }),
	"person.name":         person(func(p *nexmark.Person) types.Value { return types.StringValue(p.Name) }),
	"person.emailAddress": person(func(p *nexmark.Person) types.Value { return types.StringValue(p.EmailAddress) }),
	"person.creditCard":   person(func(p *nexmark.Person) types.Value { return types.StringValue(p.CreditCard) }),
	"person.city":         person(func(p *nexmark.Person) types.Value { return types.StringValue(p.City) }),
	"person.state":        person(func(p *nexmark.Person) types.Value { return types.StringValue(p.State) }),
	"person.dateTime":     person(func(p *nexmark.Person) types.Value { return ms(p.DateTime) }),
	"person.extra":        person(func(p *nexmark.Person) types.Value { return types.StringValue(p.Extra) }),

	"auction.id":          auction(func(a *nexmark.Auction) types.Value { return types.IntValue(a.ID) }),
	"auction.itemName":    auction(func(a *nexmark.Auction) types.Value { return types.StringValue(a.ItemName) }),
	"auction.description": auction(func(a *nexmark.Auction) types.Value { return types.StringValue(a.Description) }),
	"auction.initialBid":  auction(func(a *nexmark.Auction) types.Value { return types.IntValue(a.InitialBid) }),
	"auction.reserve":     auction(func(a *nexmark.Auction) types.Value { return types.IntValue(a.Reserve) }),
	"auction.dateTime":    auction(func(a *nexmark.Auction) types.Value { return ms(a.DateTime) }),
	"auction.expires":     auction(func(a *nexmark.Auction) types.Value { return ms(a.Expires) }),
	"auction.seller":      auction(func(a *nexmark.Auction) types.Value { return types.IntValue(a.Seller) }),
	"auction.category":    auction(func(a *nexmark.Auction) types.Value { return types.IntValue(a.Category) }),
	"auction.extra":       auction(func(a *nexmark.Auction) types.Value { return types.StringValue(a.Extra) }),

	"bid.auction":  bid(func(b *nexmark.Bid) types.Value { return types.IntValue(b.Auction) }),
	"bid.bidder":   bid(func(b *nexmark.Bid) types.Value { return types.IntValue(b.Bidder) }),
	"bid.price":    bid(func(b *nexmark.Bid) types.Value { return types.IntValue(b.Price) }),
	"bid.channel":  bid(func(b *nexmark.Bid) types.Value { return types.StringValue(b.Channel) }),
	"bid.url":      bid(func(b *nexmark.Bid) types.Value { return types.StringValue(b.URL) }),
	"bid.dateTime": bid(func(b *nexmark.Bid) types.Value { return ms(b.DateTime) }),
	"bid.extra":    bid(func(b *nexmark.Bid) types.Value { return types.StringValue(b.Extra) }),
}

func person(f func(*nexmark.Person) types.Value) nexmarkField {
	return func(e nexmark.Event) types.Value {
		if e.Person == nil {
			return types.Null
		}
		return f(e.Person)
	}
}

func auction(f func(*nexmark.Auction) types.Value) nexmarkField {
	return func(e nexmark.Event) types.Value {
		if e.Auction == nil {
			return types.Null
		}
		return f(e.Auction)
	}
}

func bid(f func(*nexmark.Bid) types.Value) nexmarkField {
	return func(e nexmark.Event) types.Value {
		if e.Bid == nil {
			return types.Null
		}
		return f(e.Bid)
	}
}

// nexmarkRow returns the conversion of events to rows of schema, a subset
// of NexmarkSchema flattened, or an error naming the column that is not.
func nexmarkRow(tableName string, schema types.Schema) (func(nexmark.Event) (types.Row, error), error) {
	valid := NexmarkSchema.Flatten()
	fields := make([]nexmarkField, len(schema))
	for i, col := range schema {
		j := valid.Index(col.Name)
		if j < 0 {
			return nil, fmt.Errorf("table %s: column %s is not a column of datagen kind 'nexmark': its columns are: %s",
				tableName, col.Name, strings.Join(valid.Names(), ", "))
		}
		if want := valid[j].Type; col.Type.Kind != want.Kind {
			return nil, fmt.Errorf("table %s: column %s is %s but datagen kind 'nexmark' gives %s: declare it %s", tableName, col.Name, col.Type, want, want)
		}
		fields[i] = nexmarkFields[col.Name]
	}
	return func(e nexmark.Event) (types.Row, error) {
		values := make([]types.Value, len(fields))
		for i, f := range fields {
			values[i] = f(e)
		}
		return types.Row{Values: values}, nil
	}, nil
}
