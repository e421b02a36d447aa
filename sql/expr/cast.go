package expr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/weirstream/weir/sql/types"
)

func (c *compiler) cast(n *Cast, x cexpr) (evalFn, error) {
	from, to := n.X.Type(), n.To
	if from.Kind == types.Unknown {
		return nullC.fn, nil
	}
	conv := converter(from, to, c.loc)
	if conv == nil {
		return nil, fmt.Errorf("cannot cast %s to %s", typeName(from), typeName(to))
	}
	try := n.Try
	f := x.fn
	return func(row []types.Value) (types.Value, error) {
		v, err := f(row)
		if err != nil || v.IsNull() {
			return types.Null, err
		}
		out, err := conv(v)
		if err != nil {
			if try {
				return types.Null, nil
			}
			return types.Null, err
		}
		return out, nil
	}, nil
}

type convFn func(v types.Value) (types.Value, error)

func castErr(v types.Value, from, to types.Type, why string) error {
	return fmt.Errorf("%w: %s %s is not a valid %s%s", ErrCast, typeName(from), quote(v.String()), typeName(to), why)
}

// converter returns the conversion of non-NULL values from from to to.
func converter(from, to types.Type, loc *time.Location) convFn {
	same := func(v types.Value) (types.Value, error) { return v, nil }
	switch to.Kind {
	case types.String:
		return func(v types.Value) (types.Value, error) { return types.StringValue(formatValue(v, from, loc)), nil }
	case types.Boolean:
		switch {
		case from.Kind == types.Boolean:
			return same
		case from.Kind == types.String:
			return func(v types.Value) (types.Value, error) {
				switch strings.ToLower(strings.TrimSpace(v.Str())) {
				case "true", "t", "yes", "y", "1":
					return types.BoolValue(true), nil
				case "false", "f", "no", "n", "0":
					return types.BoolValue(false), nil
				}
				return types.Null, castErr(v, from, to, "")
			}
		case from.Kind == types.Double:
			return func(v types.Value) (types.Value, error) { return types.BoolValue(v.Float() != 0), nil }
		case from.Numeric():
			return func(v types.Value) (types.Value, error) { return types.BoolValue(v.Int() != 0), nil }
		}
	case types.Int, types.BigInt:
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		if to.Kind == types.Int {
			lo, hi = math.MinInt32, math.MaxInt32
		}
		check := func(n int64, v types.Value) (types.Value, error) {
			if n < lo || n > hi {
				return types.Null, fmt.Errorf("%w: %s is out of the range of %s", ErrOverflow, v, typeName(to))
			}
			return types.IntValue(n), nil
		}
		switch from.Kind {
		case types.Int, types.BigInt, types.Interval:
			return func(v types.Value) (types.Value, error) { return check(v.Int(), v) }
		case types.Boolean:
			return same2int
		case types.Decimal:
			d := pow10[from.Scale]
			return func(v types.Value) (types.Value, error) { return check(v.Int()/d, v) } // truncates, as Flink
		case types.Double:
			return func(v types.Value) (types.Value, error) {
				f := math.Trunc(v.Float())
				if math.IsNaN(f) || f < float64(lo) || f >= float64(hi)+1 {
					return types.Null, fmt.Errorf("%w: %s is out of the range of %s", ErrOverflow, v, typeName(to))
				}
				return check(int64(f), v)
			}
		case types.String:
			return func(v types.Value) (types.Value, error) {
				n, err := strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64)
				if err != nil {
					return types.Null, castErr(v, from, to, "")
				}
				return check(n, v)
			}
		}
	case types.Double:
		switch from.Kind {
		case types.Double:
			return same
		case types.Int, types.BigInt:
			return func(v types.Value) (types.Value, error) { return types.FloatValue(float64(v.Int())), nil }
		case types.Boolean:
			return func(v types.Value) (types.Value, error) { return types.FloatValue(float64(v.Int())), nil }
		case types.Decimal:
			d := float64(pow10[from.Scale])
			return func(v types.Value) (types.Value, error) { return types.FloatValue(float64(v.Int()) / d), nil }
		case types.String:
			return func(v types.Value) (types.Value, error) {
				f, err := strconv.ParseFloat(strings.TrimSpace(v.Str()), 64)
				if err != nil {
					return types.Null, castErr(v, from, to, "")
				}
				return types.FloatValue(f), nil
			}
		}
	case types.Decimal:
		limit := pow10[to.Precision]
		check := func(n int64, v types.Value) (types.Value, error) {
			if n >= limit || n <= -limit {
				return types.Null, fmt.Errorf("%w: %s does not fit %s", ErrOverflow, formatValue(v, from, nil), typeName(to))
			}
			return types.IntValue(n), nil
		}
		switch from.Kind {
		case types.Int, types.BigInt, types.Boolean, types.Decimal:
			fs := 0
			if from.Kind == types.Decimal {
				fs = from.Scale
			}
			return func(v types.Value) (types.Value, error) {
				n, err := rescale(v.Int(), fs, to.Scale)
				if err != nil {
					return types.Null, fmt.Errorf("%w: %s does not fit %s", ErrOverflow, formatValue(v, from, nil), typeName(to))
				}
				return check(n, v)
			}
		case types.Double:
			m := float64(pow10[to.Scale])
			return func(v types.Value) (types.Value, error) {
				f := v.Float() * m
				f = math.Round(f)
				if math.IsNaN(f) || math.Abs(f) >= float64(limit) {
					return types.Null, fmt.Errorf("%w: %s does not fit %s", ErrOverflow, v, typeName(to))
				}
				return check(int64(f), v)
			}
		case types.String:
			return func(v types.Value) (types.Value, error) {
				n, ok := parseDecimal(strings.TrimSpace(v.Str()), to.Scale)
				if !ok {
					return types.Null, castErr(v, from, to, "")
				}
				return check(n, v)
			}
		}
	case types.Timestamp, types.TimestampLTZ:
		switch {
		case from.Kind == to.Kind:
			return same
		case from.Kind == types.Timestamp: // wall clock in the session zone → instant
			return func(v types.Value) (types.Value, error) { return types.IntValue(wallToInstant(v.Int(), loc)), nil }
		case from.Kind == types.TimestampLTZ:
			return func(v types.Value) (types.Value, error) { return types.IntValue(instantToWall(v.Int(), loc)), nil }
		case from.Kind == types.String:
			ltz := to.Kind == types.TimestampLTZ
			return func(v types.Value) (types.Value, error) {
				ms, ok := parseTimestamp(strings.TrimSpace(v.Str()))
				if !ok {
					return types.Null, castErr(v, from, to, ": write it as 'yyyy-MM-dd HH:mm:ss[.SSS]'")
				}
				if ltz {
					ms = wallToInstant(ms, loc)
				}
				return types.IntValue(ms), nil
			}
		}
	case types.Interval:
		if from.Kind == types.Interval {
			return same
		}
	}
	return nil
}

func same2int(v types.Value) (types.Value, error) { return types.IntValue(v.Int()), nil }

// wallToInstant reads milliseconds of a wall clock (as if UTC) as a time in
// loc and returns the instant. A wall time skipped by a DST change moves
// forward, as java.time does.
func wallToInstant(ms int64, loc *time.Location) int64 {
	if loc == time.UTC {
		return ms
	}
	t := time.UnixMilli(ms).UTC()
	l := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
	return l.UnixMilli()
}

// instantToWall returns the wall clock of an instant in loc, in
// milliseconds as if UTC.
func instantToWall(ms int64, loc *time.Location) int64 {
	if loc == time.UTC {
		return ms
	}
	_, off := time.UnixMilli(ms).In(loc).Zone()
	return ms + int64(off)*1000
}

// parseTimestamp parses 'yyyy-MM-dd[ HH:mm[:ss[.fff…]]]' (or with a T) as a
// wall clock in milliseconds as if UTC.
func parseTimestamp(s string) (int64, bool) {
	layouts := []string{
		"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02",
	}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t.UnixMilli(), true
		}
	}
	return 0, false
}

// parseDecimal parses a decimal number into its unscaled value at scale,
// rounding half up. It accepts an optional sign, digits, a point and an
// exponent-free fraction.
func parseDecimal(s string, scale int) (int64, bool) {
	if s == "" {
		return 0, false
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return 0, false
	}
	var n int64
	var err error
	for _, r := range intPart {
		if r < '0' || r > '9' {
			return 0, false
		}
		if n, err = mulInt(n, 10); err != nil {
			return 0, false
		}
		if n, err = addInt(n, int64(r-'0')); err != nil {
			return 0, false
		}
	}
	roundUp := false
	for i, r := range frac {
		if r < '0' || r > '9' {
			return 0, false
		}
		if i == scale {
			roundUp = r >= '5'
		}
		if i >= scale {
			continue
		}
		if n, err = mulInt(n, 10); err != nil {
			return 0, false
		}
		n += int64(r - '0')
	}
	for i := len(frac); i < scale; i++ {
		if n, err = mulInt(n, 10); err != nil {
			return 0, false
		}
	}
	if roundUp {
		n++
	}
	if neg {
		n = -n
	}
	return n, true
}

// formatValue formats v of type t as CAST(v AS STRING) does.
func formatValue(v types.Value, t types.Type, loc *time.Location) string {
	if v.IsNull() {
		return "NULL"
	}
	switch t.Kind {
	case types.Double:
		return formatDouble(v.Float())
	case types.Boolean:
		if v.Bool() {
			return "TRUE"
		}
		return "FALSE"
	case types.Interval:
		return formatDecimal(v.Int(), 3)
	}
	return types.Format(v, t, loc)
}

func formatDecimal(n int64, scale int) string {
	return types.Format(types.IntValue(n), types.DecimalType(18, scale), nil)
}

// formatDouble formats as Java's Double.toString: 1.0, 0.5, 1.0E10.
func formatDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	a := math.Abs(f)
	if a == 0 || (a >= 1e-3 && a < 1e7) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64)
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(exp, "+-0")
	if neg {
		exp = "-" + exp
	}
	return mant + "E" + exp
}
