package types

import (
	"math"
	"strconv"
	"time"
)

// tag says which field of a Value holds it; the zero tag is NULL.
type tag uint8

const (
	tagNull tag = iota
	tagBool
	tagInt   // n
	tagFloat // n holds the float64's bits
	tagString
)

// Value is one SQL value: NULL, a boolean, an integer (INT, BIGINT, the
// unscaled DECIMAL, TIMESTAMP and TIMESTAMP_LTZ milliseconds, INTERVAL
// milliseconds), a DOUBLE or a STRING. The zero Value is NULL. Which SQL type
// an integer has is the column's, known to the plan; the value itself only
// knows how it is held.
type Value struct {
	s string
	n int64
	t tag
}

// Null is the NULL value.
var Null = Value{}

// BoolValue returns b as a value.
func BoolValue(b bool) Value {
	if b {
		return Value{n: 1, t: tagBool}
	}
	return Value{t: tagBool}
}

// IntValue returns an integer value (INT, BIGINT, unscaled DECIMAL,
// timestamp or interval milliseconds).
func IntValue(n int64) Value { return Value{n: n, t: tagInt} }

// FloatValue returns a DOUBLE value.
func FloatValue(f float64) Value { return Value{n: int64(math.Float64bits(f)), t: tagFloat} }

// StringValue returns a STRING value.
func StringValue(s string) Value { return Value{s: s, t: tagString} }

// TimeValue returns a timestamp value: t's milliseconds since the Unix epoch.
func TimeValue(t time.Time) Value { return IntValue(t.UnixMilli()) }

// IsNull reports whether v is NULL.
func (v Value) IsNull() bool { return v.t == tagNull }

// Bool returns a boolean value; false for NULL.
func (v Value) Bool() bool { return v.n != 0 && v.t == tagBool }

// Int returns an integer value; a DOUBLE is truncated, anything else is 0.
func (v Value) Int() int64 {
	switch v.t {
	case tagInt, tagBool:
		return v.n
	case tagFloat:
		return int64(math.Float64frombits(uint64(v.n)))
	}
	return 0
}

// Float returns a DOUBLE value; an integer is converted, anything else is 0.
func (v Value) Float() float64 {
	switch v.t {
	case tagFloat:
		return math.Float64frombits(uint64(v.n))
	case tagInt:
		return float64(v.n)
	}
	return 0
}

// Str returns a STRING value; "" for anything else.
func (v Value) Str() string { return v.s }

// Time returns a timestamp value as a time in UTC.
func (v Value) Time() time.Time { return time.UnixMilli(v.n).UTC() }

// Equal reports whether v and w hold the same value, NULL equal to NULL (as
// GROUP BY compares keys).
func (v Value) Equal(w Value) bool { return v == w }

// String formats v for people: NULL, TRUE/FALSE, a number or the string.
// The column's type decides finer formats (decimals, timestamps); see
// Format.
func (v Value) String() string {
	switch v.t {
	case tagNull:
		return "NULL"
	case tagBool:
		if v.n != 0 {
			return "TRUE"
		}
		return "FALSE"
	case tagInt:
		return strconv.FormatInt(v.n, 10)
	case tagFloat:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	}
	return v.s
}

// Format formats v as a value of type t: DECIMAL with its scale, timestamps
// as "2006-01-02 15:04:05.000" (TIMESTAMP_LTZ in loc; nil means UTC).
func Format(v Value, t Type, loc *time.Location) string {
	if v.IsNull() {
		return "NULL"
	}
	switch t.Kind {
	case Decimal:
		return formatDecimal(v.Int(), t.Scale)
	case Timestamp:
		return v.Time().Format("2006-01-02 15:04:05.000")
	case TimestampLTZ:
		if loc == nil {
			loc = time.UTC
		}
		return v.Time().In(loc).Format("2006-01-02 15:04:05.000")
	}
	return v.String()
}

func formatDecimal(unscaled int64, scale int) string {
	if scale <= 0 {
		return strconv.FormatInt(unscaled, 10)
	}
	neg := unscaled < 0
	u := uint64(unscaled)
	if neg {
		u = -u
	}
	digits := strconv.FormatUint(u, 10)
	for len(digits) <= scale {
		digits = "0" + digits
	}
	s := digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	if neg {
		s = "-" + s
	}
	return s
}
