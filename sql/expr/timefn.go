package expr

import (
	"fmt"
	"strings"
	"time"

	"github.com/weirstream/weir/sql/types"
)

// toTime returns a timestamp value as a time to read fields from: a
// TIMESTAMP's wall clock in UTC, a TIMESTAMP_LTZ's instant in loc.
func toTime(ms int64, k types.Kind, loc *time.Location) time.Time {
	if k == types.TimestampLTZ {
		return time.UnixMilli(ms).In(loc)
	}
	return time.UnixMilli(ms).UTC()
}

// fromTime is toTime's inverse.
func fromTime(t time.Time, k types.Kind, loc *time.Location) int64 {
	if k == types.TimestampLTZ {
		return t.UnixMilli()
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC).UnixMilli()
}

// timeField is a function of a timestamp's field, as BIGINT.
func timeField(name string, f func(t time.Time) int64) spec {
	return spec{
		name: name, params: []param{pTime}, result: fixed(types.BigIntType),
		impl: func(c *compiler, call *Call, a []cexpr) (evalFn, error) {
			k, loc := call.Args[0].Type().Kind, c.loc
			return s1(a[0], func(x types.Value) (types.Value, error) {
				return types.IntValue(f(toTime(x.Int(), k, loc))), nil
			}), nil
		},
	}
}

// The units of EXTRACT, TIMESTAMPADD, TIMESTAMPDIFF and FLOOR/CEIL … TO.
var unitFields = map[string]func(t time.Time) int64{
	"YEAR":        func(t time.Time) int64 { return int64(t.Year()) },
	"QUARTER":     func(t time.Time) int64 { return int64(t.Month()+2) / 3 },
	"MONTH":       func(t time.Time) int64 { return int64(t.Month()) },
	"WEEK":        func(t time.Time) int64 { _, w := t.ISOWeek(); return int64(w) },
	"DAY":         func(t time.Time) int64 { return int64(t.Day()) },
	"DOY":         func(t time.Time) int64 { return int64(t.YearDay()) },
	"DOW":         func(t time.Time) int64 { return int64(t.Weekday()) + 1 },
	"HOUR":        func(t time.Time) int64 { return int64(t.Hour()) },
	"MINUTE":      func(t time.Time) int64 { return int64(t.Minute()) },
	"SECOND":      func(t time.Time) int64 { return int64(t.Second()) },
	"MILLISECOND": func(t time.Time) int64 { return int64(t.Second()*1000 + t.Nanosecond()/1e6) },
}

// fixedUnits are the units of a fixed length, in milliseconds.
var fixedUnits = map[string]int64{
	"MILLISECOND": 1, "SECOND": 1000, "MINUTE": 60 * 1000, "HOUR": 3600 * 1000,
	"DAY": 24 * 3600 * 1000, "WEEK": 7 * 24 * 3600 * 1000,
}

// floorUnits are the units of FLOOR and CEIL … TO.
var floorUnits = map[string]bool{"MILLISECOND": true, "SECOND": true, "MINUTE": true, "HOUR": true,
	"DAY": true, "MONTH": true, "QUARTER": true, "YEAR": true}

// monthUnits are the calendar units, in months.
var monthUnits = map[string]int64{"MONTH": 1, "QUARTER": 3, "YEAR": 12}

func unitArg(fn string, e Expr, ok func(string) bool, choices string) (string, error) {
	u := strings.ToUpper(e.(*Literal).V.Str())
	if !ok(u) {
		return "", fmt.Errorf("%s: unit %s is not supported: use one of %s", fn, quote(u), choices)
	}
	return u, nil
}

func isStep(u string) bool { return fixedUnits[u] > 0 || monthUnits[u] > 0 }

const stepUnits = "MILLISECOND, SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR"

// sameTimeKinds casts two timestamp arguments to their common kind.
func sameTimeKinds(args []Expr, i, j int) {
	if t, err := CommonType(args[i].Type(), args[j].Type()); err == nil {
		args[i], args[j] = Coerce(args[i], t), Coerce(args[j], t)
	}
}

func timeBuiltins() []spec {
	specs := []spec{
		timeField("YEAR", unitFields["YEAR"]), timeField("QUARTER", unitFields["QUARTER"]),
		timeField("MONTH", unitFields["MONTH"]), timeField("WEEK", unitFields["WEEK"]),
		timeField("DAYOFMONTH", unitFields["DAY"]), timeField("DAYOFYEAR", unitFields["DOY"]),
		timeField("DAYOFWEEK", unitFields["DOW"]), timeField("HOUR", unitFields["HOUR"]),
		timeField("MINUTE", unitFields["MINUTE"]), timeField("SECOND", unitFields["SECOND"]),
		{
			name: "EXTRACT", params: []param{pUnit, pTime}, result: fixed(types.BigIntType),
			fix: func(args []Expr) ([]Expr, error) {
				_, err := unitArg("EXTRACT", args[0], func(u string) bool { return unitFields[u] != nil }, "YEAR, QUARTER, MONTH, WEEK, DAY, DOY, DOW, HOUR, MINUTE, SECOND, MILLISECOND")
				return args, err
			},
			impl: func(c *compiler, call *Call, a []cexpr) (evalFn, error) {
				f := unitFields[strings.ToUpper(a[0].val.Str())]
				k, loc := call.Args[1].Type().Kind, c.loc
				return s1(a[1], func(x types.Value) (types.Value, error) {
					return types.IntValue(f(toTime(x.Int(), k, loc))), nil
				}), nil
			},
		},
		{
			// TIMESTAMPADD(unit, n, ts): calendar units clamp to the end of
			// the month (Jan 31 + 1 MONTH is Feb 28 or 29), as java.time.
			name: "TIMESTAMPADD", params: []param{pUnit, pInt, pTime}, result: func(ts []types.Type) types.Type { return ts[2] },
			fix: func(args []Expr) ([]Expr, error) {
				_, err := unitArg("TIMESTAMPADD", args[0], isStep, stepUnits)
				return args, err
			},
			impl: func(c *compiler, call *Call, a []cexpr) (evalFn, error) {
				u := strings.ToUpper(a[0].val.Str())
				k, loc := call.Args[2].Type().Kind, c.loc
				return s2(a[1], a[2], func(n, x types.Value) (types.Value, error) {
					return addUnit(x.Int(), n.Int(), u, k, loc)
				}), nil
			},
		},
		{
			// TIMESTAMPDIFF(unit, a, b) is the number of whole units from a
			// to b, as INT.
			name: "TIMESTAMPDIFF", params: []param{pUnit, pTime, pTime}, result: fixed(types.IntType),
			fix: func(args []Expr) ([]Expr, error) {
				_, err := unitArg("TIMESTAMPDIFF", args[0], isStep, stepUnits)
				sameTimeKinds(args, 1, 2)
				return args, err
			},
			impl: func(c *compiler, call *Call, a []cexpr) (evalFn, error) {
				u := strings.ToUpper(a[0].val.Str())
				k, loc := call.Args[1].Type().Kind, c.loc
				return s2(a[1], a[2], func(x, y types.Value) (types.Value, error) {
					d, err := diffUnit(x.Int(), y.Int(), u, k, loc)
					if err == nil && (d > 1<<31-1 || d < -1<<31) {
						err = ErrOverflow
					}
					return types.IntValue(d), err
				}), nil
			},
		},
		{
			// DATE_FORMAT(ts, fmt) formats with a Java SimpleDateFormat
			// pattern; a TIMESTAMP_LTZ shows in the session zone and a STRING
			// is read as 'yyyy-MM-dd HH:mm:ss' first.
			name: "DATE_FORMAT", params: []param{{kinds: []types.Kind{types.Timestamp, types.TimestampLTZ, types.String}}, pStr},
			result: fixed(types.StringType),
			fix:    checkFormatArg("DATE_FORMAT", 1),
			impl: func(c *compiler, call *Call, a []cexpr) (evalFn, error) {
				k, loc := call.Args[0].Type().Kind, c.loc
				return withFormat(a, 1, func(x types.Value, f *dateFormat) (types.Value, error) {
					ms := x.Int()
					if k == types.String {
						var ok bool
						if ms, ok = parseTimestamp(strings.TrimSpace(x.Str())); !ok {
							return types.Null, nil
						}
					}
					return types.StringValue(f.format(toTime(ms, k, loc))), nil
				})
			},
		},
		{
			// TO_TIMESTAMP(s[, fmt]) parses s (default 'yyyy-MM-dd HH:mm:ss');
			// NULL when it does not parse, as Flink.
			name: "TO_TIMESTAMP", params: []param{pStr, pStr}, optional: 1, result: fixed(types.TimestampType),
			fix: checkFormatArg("TO_TIMESTAMP", 1),
			impl: func(c *compiler, _ *Call, a []cexpr) (evalFn, error) {
				return withFormat(a, 1, func(x types.Value, f *dateFormat) (types.Value, error) {
					wall, off, hasOff, ok := f.parse(x.Str())
					if !ok {
						return types.Null, nil
					}
					if hasOff {
						wall -= int64(off) * 1000
					}
					return types.IntValue(wall), nil
				})
			},
		},
		{
			// TO_TIMESTAMP_LTZ(n, precision): epoch seconds (0) or
			// milliseconds (3).
			name: "TO_TIMESTAMP_LTZ", params: []param{{kinds: kNum}, {kinds: kInts, lit: true}}, result: fixed(types.TimestampLTZType),
			fix: func(args []Expr) ([]Expr, error) {
				if p := args[1].(*Literal).V.Int(); p != 0 && p != 3 {
					return nil, fmt.Errorf("argument 2 must be 0 (seconds) or 3 (milliseconds), not %d", p)
				}
				return args, nil
			},
			impl: func(_ *compiler, call *Call, a []cexpr) (evalFn, error) {
				mul := int64(1)
				if a[1].val.Int() == 0 {
					mul = 1000
				}
				if call.Args[0].Type().Kind == types.Double || call.Args[0].Type().Kind == types.Decimal {
					scale := 1.0
					if call.Args[0].Type().Kind == types.Decimal {
						scale = float64(pow10[call.Args[0].Type().Scale])
					}
					return s1(a[0], func(x types.Value) (types.Value, error) {
						f := x.Float() / scale * float64(mul)
						if f != f || f > 1<<62 || f < -(1<<62) {
							return types.Null, ErrOverflow
						}
						return types.IntValue(int64(f)), nil
					}), nil
				}
				return s1(a[0], func(x types.Value) (types.Value, error) {
					v, err := mulInt(x.Int(), mul)
					return types.IntValue(v), err
				}), nil
			},
		},
		{
			// UNIX_TIMESTAMP() is now in epoch seconds; UNIX_TIMESTAMP(s[,
			// fmt]) reads s in the session zone (NULL if it does not parse).
			name: "UNIX_TIMESTAMP", params: []param{pStr, pStr}, optional: 2, volatile: true, result: fixed(types.BigIntType),
			fix: checkFormatArg("UNIX_TIMESTAMP", 1),
			impl: func(c *compiler, _ *Call, a []cexpr) (evalFn, error) {
				if len(a) == 0 {
					now := c.now
					return func([]types.Value) (types.Value, error) { return types.IntValue(now().Unix()), nil }, nil
				}
				loc := c.loc
				return withFormat(a, 1, func(x types.Value, f *dateFormat) (types.Value, error) {
					wall, off, hasOff, ok := f.parse(x.Str())
					if !ok {
						return types.Null, nil
					}
					ms := wallToInstant(wall, loc)
					if hasOff {
						ms = wall - int64(off)*1000
					}
					return types.IntValue(floorDiv(ms, 1000)), nil
				})
			},
		},
		{
			// FROM_UNIXTIME(n[, fmt]) formats epoch seconds in the session zone.
			name: "FROM_UNIXTIME", params: []param{pInt, pStr}, optional: 1, result: fixed(types.StringType),
			fix: checkFormatArg("FROM_UNIXTIME", 1),
			impl: func(c *compiler, _ *Call, a []cexpr) (evalFn, error) {
				loc := c.loc
				return withFormat(a, 1, func(x types.Value, f *dateFormat) (types.Value, error) {
					return types.StringValue(f.format(time.Unix(x.Int(), 0).In(loc))), nil
				})
			},
		},
		nowSpec("CURRENT_TIMESTAMP", types.TimestampLTZType), nowSpec("NOW", types.TimestampLTZType),
		nowSpec("PROCTIME", types.TimestampLTZType), nowSpec("LOCALTIMESTAMP", types.TimestampType),
	}
	return specs
}

func nowSpec(name string, t types.Type) spec {
	return spec{
		name: name, volatile: true, result: fixed(t),
		impl: func(c *compiler, _ *Call, _ []cexpr) (evalFn, error) {
			now, loc := c.now, c.loc
			if t.Kind == types.Timestamp {
				return func([]types.Value) (types.Value, error) {
					return types.IntValue(instantToWall(now().UnixMilli(), loc)), nil
				}, nil
			}
			return func([]types.Value) (types.Value, error) { return types.IntValue(now().UnixMilli()), nil }, nil
		},
	}
}

// checkFormatArg checks a literal date format argument when the planner
// builds the call, so a bad pattern fails planning.
func checkFormatArg(fn string, i int) func(args []Expr) ([]Expr, error) {
	return func(args []Expr) ([]Expr, error) {
		if i < len(args) {
			if l, ok := args[i].(*Literal); ok && !l.V.IsNull() {
				if _, err := compileDateFormat(l.V.Str()); err != nil {
					return nil, fmt.Errorf("%s: %w", fn, err)
				}
			}
		}
		return args, nil
	}
}

// withFormat compiles a function of a value and a date format given as
// argument i (the default format when absent): once when it is constant,
// per row otherwise.
func withFormat(a []cexpr, i int, f func(x types.Value, df *dateFormat) (types.Value, error)) (evalFn, error) {
	if len(a) <= i || a[i].konst {
		p := defaultDateFormat
		if len(a) > i {
			if a[i].val.IsNull() {
				return nullC.fn, nil
			}
			p = a[i].val.Str()
		}
		df, err := compileDateFormat(p)
		if err != nil {
			return nil, err
		}
		return s1(a[0], func(x types.Value) (types.Value, error) { return f(x, df) }), nil
	}
	return s2(a[0], a[i], func(x, p types.Value) (types.Value, error) {
		df, err := compileDateFormat(p.Str())
		if err != nil {
			return types.Null, err
		}
		return f(x, df)
	}), nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func addMonths(t time.Time, n int) time.Time {
	y, m := t.Year(), int(t.Month())-1+n
	y += m / 12
	m %= 12
	if m < 0 {
		m += 12
		y--
	}
	last := time.Date(y, time.Month(m+2), 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(y, time.Month(m+1), min(t.Day(), last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

func addUnit(ms, n int64, u string, k types.Kind, loc *time.Location) (types.Value, error) {
	if step := fixedUnits[u]; step > 0 {
		d, err := mulInt(n, step)
		if err != nil {
			return types.Null, err
		}
		v, err := addInt(ms, d)
		return types.IntValue(v), err
	}
	months := n * monthUnits[u]
	if months > 1<<31 || months < -(1<<31) {
		return types.Null, ErrOverflow
	}
	return types.IntValue(fromTime(addMonths(toTime(ms, k, loc), int(months)), k, loc)), nil
}

func diffUnit(a, b int64, u string, k types.Kind, loc *time.Location) (int64, error) {
	if step := fixedUnits[u]; step > 0 {
		return (b - a) / step, nil
	}
	ta, tb := toTime(a, k, loc), toTime(b, k, loc)
	months := int64(tb.Year()-ta.Year())*12 + int64(tb.Month()-ta.Month())
	// A month is whole only when b's day and time reach a's.
	if months > 0 && addMonths(ta, int(months)).After(tb) {
		months--
	} else if months < 0 && addMonths(ta, int(months)).Before(tb) {
		months++
	}
	return months / monthUnits[u], nil
}

// floorTime compiles FLOOR/CEIL(ts TO unit).
func (c *compiler) floorTime(t types.Type, x cexpr, unit string, ceil bool) (evalFn, error) {
	u := strings.ToUpper(unit)
	k, loc := t.Kind, c.loc
	var floor func(tm time.Time) time.Time
	switch u {
	case "MILLISECOND":
		floor = func(tm time.Time) time.Time { return tm.Truncate(time.Millisecond) }
	case "SECOND", "MINUTE", "HOUR", "DAY":
		floor = func(tm time.Time) time.Time {
			y, mo, d := tm.Date()
			h, mi, s := tm.Clock()
			switch u {
			case "DAY":
				h, mi, s = 0, 0, 0
			case "HOUR":
				mi, s = 0, 0
			case "MINUTE":
				s = 0
			}
			return time.Date(y, mo, d, h, mi, s, 0, tm.Location())
		}
	case "MONTH", "QUARTER", "YEAR":
		floor = func(tm time.Time) time.Time {
			m := tm.Month()
			switch u {
			case "YEAR":
				m = 1
			case "QUARTER":
				m = (m-1)/3*3 + 1
			}
			return time.Date(tm.Year(), m, 1, 0, 0, 0, 0, tm.Location())
		}
	default:
		return nil, fmt.Errorf("unit %s is not supported in FLOOR/CEIL … TO: use MILLISECOND, SECOND, MINUTE, HOUR, DAY, MONTH, QUARTER or YEAR", quote(u))
	}
	return s1(x, func(v types.Value) (types.Value, error) {
		tm := toTime(v.Int(), k, loc)
		f := floor(tm)
		if ceil && !f.Equal(tm) {
			if step := fixedUnits[u]; step > 0 {
				f = floor(f.Add(time.Duration(step) * time.Millisecond))
			} else {
				f = addMonths(f, int(monthUnits[u]))
			}
		}
		return types.IntValue(fromTime(f, k, loc)), nil
	}), nil
}
