package ast

import (
	"errors"
	"testing"
)

func TestIntervalMillis(t *testing.T) {
	for _, tc := range []struct {
		value    string
		unit, to TimeUnit
		want     int64
	}{
		{"5", Second, NoUnit, 5000},
		{"1.5", Second, NoUnit, 1500},
		{"0.001", Second, NoUnit, 1},
		{"1", Minute, NoUnit, 60_000},
		{"2", Hour, NoUnit, 7_200_000},
		{"1", Day, NoUnit, 86_400_000},
		{"-5", Second, NoUnit, -5000},
		{"1 02:03:04.5", Day, Second, 93_784_500},
		{"1 2", Day, Hour, 93_600_000},
		{"1 02:03", Day, Minute, 93_780_000},
		{"2:30", Hour, Minute, 9_000_000},
		{"0:00:05", Hour, Second, 5000},
		{"1:30.25", Minute, Second, 90_250},
	} {
		e := &IntervalLit{Value: tc.value, Unit: tc.unit, To: tc.to}
		got, err := e.Millis()
		if err != nil || got != tc.want {
			t.Errorf("%s: got %d, %v; want %d", e, got, err, tc.want)
		}
	}
	for _, e := range []*IntervalLit{
		{Value: "x", Unit: Second},
		{Value: "1.5", Unit: Minute},
		{Value: "1:2", Unit: Day, To: Second},
		{Value: "1 2:3", Unit: Hour, To: Minute},
		{Value: "1.1234", Unit: Second},
		{Value: "1", Unit: Second, To: Day},
		{Value: "9223372036854775807", Unit: Day},
		{Value: "--1", Unit: Second},
		{Value: "", Unit: Second},
	} {
		if got, err := e.Millis(); err == nil {
			t.Errorf("%s: got %d, want an error", e, got)
		}
	}
	if _, err := (&IntervalLit{Value: "1", Unit: Month}).Millis(); !errors.Is(err, ErrYearMonthInterval) {
		t.Errorf("month: %v", err)
	}
}
