package ast

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// dayTimeUnits are the units of a day-time interval, largest first, with
// their length in milliseconds.
var dayTimeUnits = [...]struct {
	unit   TimeUnit
	millis int64
}{{Day, 86_400_000}, {Hour, 3_600_000}, {Minute, 60_000}, {Second, 1000}}

// ErrYearMonthInterval is returned by [IntervalLit.Millis] for intervals
// of years and months, which have no fixed length.
var ErrYearMonthInterval = errors.New("ast: an interval of years or months has no fixed length in milliseconds; use DAY, HOUR, MINUTE or SECOND")

// Millis returns the length of a day-time interval in milliseconds:
// INTERVAL '5' SECOND is 5000, INTERVAL '1.5' SECOND 1500, INTERVAL
// '1 02:03:04.5' DAY TO SECOND 93784500. The value is written as SQL has
// it for the range of units: 'd h:m:s.f' for DAY TO SECOND, 'h:m' for
// HOUR TO MINUTE, and so on, with an optional sign; only the seconds may
// have a fraction (milliseconds, at most 3 digits).
func (e *IntervalLit) Millis() (int64, error) {
	if e.Unit == Year || e.Unit == Month || e.To == Year || e.To == Month {
		return 0, ErrYearMonthInterval
	}
	first, last := -1, -1
	for i, u := range dayTimeUnits {
		if u.unit == e.Unit {
			first = i
		}
		if u.unit == e.To || e.To == NoUnit && u.unit == e.Unit {
			last = i
		}
	}
	if first < 0 || last < first {
		return 0, fmt.Errorf("ast: INTERVAL %s TO %s is not a range of units; write a larger unit TO a smaller one", e.Unit, e.To)
	}
	v := strings.TrimSpace(e.Value)
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(strings.TrimPrefix(v, "-"), "+")
	fields := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ':' })
	if len(fields) != last-first+1 || (first == 0 && last > 0 && strings.Count(v, " ") != 1) {
		if first == last {
			return 0, fmt.Errorf("ast: interval value %s is not a number of %ss; write one, as in INTERVAL '5' %s, or give a range of units, as in INTERVAL '1:30' MINUTE TO SECOND",
				Quote(e.Value), strings.ToLower(e.Unit.String()), e.Unit)
		}
		return 0, fmt.Errorf("ast: interval value %s does not match %s; write it as %s", Quote(e.Value), e.rangeString(), intervalFormat(first, last))
	}
	var total int64
	for i, f := range fields {
		u := dayTimeUnits[first+i]
		whole, frac, hasFrac := strings.Cut(f, ".")
		if hasFrac && u.unit != Second {
			return 0, fmt.Errorf("ast: interval value %s has a fraction of %s; only seconds take one", Quote(e.Value), u.unit)
		}
		n, err := strconv.ParseInt(whole, 10, 64)
		if err != nil || n < 0 || whole == "" || whole[0] == '+' {
			return 0, fmt.Errorf("ast: interval value %s: %s is not a whole number of %ss", Quote(e.Value), Quote(whole), strings.ToLower(u.unit.String()))
		}
		if n > math.MaxInt64/u.millis || total > math.MaxInt64-n*u.millis {
			return 0, fmt.Errorf("ast: interval value %s is too long", Quote(e.Value))
		}
		total += n * u.millis
		if hasFrac {
			if len(frac) == 0 || len(frac) > 3 || strings.Trim(frac, "0123456789") != "" {
				return 0, fmt.Errorf("ast: interval value %s: the fraction of a second has 1 to 3 digits (milliseconds)", Quote(e.Value))
			}
			ms, _ := strconv.ParseInt((frac + "00")[:3], 10, 64)
			if total > math.MaxInt64-ms {
				return 0, fmt.Errorf("ast: interval value %s is too long", Quote(e.Value))
			}
			total += ms
		}
	}
	if neg {
		total = -total
	}
	return total, nil
}

func (e *IntervalLit) rangeString() string {
	if e.To == NoUnit {
		return e.Unit.String()
	}
	return e.Unit.String() + " TO " + e.To.String()
}

func intervalFormat(first, last int) string {
	parts := [...]string{"d", "h", "m", "s[.fff]"}
	s := ""
	for i := first; i <= last; i++ {
		switch {
		case i == first:
		case i == 1:
			s += " "
		default:
			s += ":"
		}
		s += parts[i]
	}
	return "'" + s + "'"
}
