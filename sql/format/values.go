package format

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/weirstream/weir/sql/types"
)

// The layouts a timestamp may be written in, as Flink's SQL and ISO-8601
// standards write them; fractions of any length are accepted.
const (
	sqlLayout = "2006-01-02 15:04:05.999999999"
	isoLayout = "2006-01-02T15:04:05.999999999"
)

// ParseText parses s, a field's text, as a value of type t, as csv reads
// a field: empty text is NULL for every type but STRING; timestamps in SQL
// or ISO form (TIMESTAMP_LTZ without a zone in loc; nil means UTC);
// DECIMAL to its unscaled integer. The error says what s is not.
func ParseText(s string, t types.Type, loc *time.Location) (types.Value, error) {
	switch t.Kind {
	case types.String:
		return types.StringValue(s), nil
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return types.Null, nil
	}
	switch t.Kind {
	case types.Boolean:
		switch strings.ToLower(s) {
		case "true":
			return types.BoolValue(true), nil
		case "false":
			return types.BoolValue(false), nil
		}
		return types.Null, fmt.Errorf("%q is not a BOOLEAN", s)
	case types.Int, types.BigInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || (t.Kind == types.Int && (n < math.MinInt32 || n > math.MaxInt32)) {
			return types.Null, fmt.Errorf("%q is not an %s", s, t.Kind)
		}
		return types.IntValue(n), nil
	case types.Double:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return types.Null, fmt.Errorf("%q is not a DOUBLE", s)
		}
		return types.FloatValue(f), nil
	case types.Decimal:
		n, err := parseDecimal(s, t.Precision, t.Scale)
		if err != nil {
			return types.Null, err
		}
		return types.IntValue(n), nil
	case types.Timestamp, types.TimestampLTZ:
		return parseTime(s, t, loc)
	}
	return types.Null, fmt.Errorf("type %s cannot be read from text", t)
}

// parseTime parses a timestamp in SQL ("2026-12-07 03:14:29.123") or ISO
// form, with an optional zone ('Z' or an offset). A TIMESTAMP_LTZ without
// a zone is in loc; a TIMESTAMP keeps its wall-clock time.
func parseTime(s string, t types.Type, loc *time.Location) (types.Value, error) {
	if loc == nil || t.Kind == types.Timestamp {
		loc = time.UTC
	}
	for _, layout := range []string{sqlLayout, isoLayout} {
		if tm, err := time.ParseInLocation(layout, s, loc); err == nil {
			return types.IntValue(tm.UnixMilli()), nil
		}
		for _, zone := range []string{"Z07:00", "Z0700"} {
			if tm, err := time.Parse(layout+zone, s); err == nil {
				if t.Kind == types.Timestamp {
					y, mo, d := tm.Date()
					h, mi, se := tm.Clock()
					tm = time.Date(y, mo, d, h, mi, se, tm.Nanosecond(), time.UTC)
				}
				return types.IntValue(tm.UnixMilli()), nil
			}
		}
	}
	return types.Null, fmt.Errorf("%q is not a %s: write it as 2006-01-02 15:04:05.000", s, t)
}

// parseDecimal parses s into the unscaled integer of DECIMAL(p, scale).
func parseDecimal(s string, p, scale int) (int64, error) {
	neg := false
	body := s
	if body != "" && (body[0] == '-' || body[0] == '+') {
		neg = body[0] == '-'
		body = body[1:]
	}
	intPart, frac, _ := strings.Cut(body, ".")
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return 0, fmt.Errorf("%q is not a DECIMAL", s)
	}
	if len(frac) > scale {
		return 0, fmt.Errorf("%q has more than %d digits after the point", s, scale)
	}
	digits := strings.TrimLeft(intPart, "0") + frac + strings.Repeat("0", scale-len(frac))
	if p <= 0 {
		p = types.MaxDecimalPrecision
	}
	if len(strings.TrimLeft(digits, "0")) > p {
		return 0, fmt.Errorf("%q does not fit DECIMAL(%d, %d)", s, p, scale)
	}
	var n int64
	for _, c := range []byte(digits) {
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// AppendText appends v, of type t, as text: what ParseText reads back.
// NULL appends nothing.
func AppendText(dst []byte, v types.Value, t types.Type, loc *time.Location) []byte {
	if v.IsNull() {
		return dst
	}
	switch t.Kind {
	case types.Boolean:
		return strconv.AppendBool(dst, v.Bool())
	case types.Int, types.BigInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case types.Double:
		return strconv.AppendFloat(dst, v.Float(), 'g', -1, 64)
	case types.Decimal, types.Timestamp, types.TimestampLTZ:
		return append(dst, types.Format(v, t, loc)...)
	}
	return append(dst, v.Str()...)
}
