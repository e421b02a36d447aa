package http

import (
	nethttp "net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 7, 40, 0, 500_000_000, time.UTC)
	for _, c := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 7 ", 7 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999", 24 * time.Hour, true},
		{now.Add(3 * time.Second).Format(nethttp.TimeFormat), 2500 * time.Millisecond, true},
		{now.Add(-time.Hour).Format(nethttp.TimeFormat), 0, true},
		{now.Add(3 * time.Second).Format(time.RFC850), 2500 * time.Millisecond, true},
	} {
		got, ok := parseRetryAfter(c.v, now)
		if got != c.want || ok != c.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %t; want %v, %t", c.v, got, ok, c.want, c.ok)
		}
	}
}

func TestStatusErrorMessage(t *testing.T) {
	e := &StatusError{URL: "http://h/p", StatusCode: 503, Status: "503 Service Unavailable", Body: "  down\n for\tmaintenance "}
	if got, want := e.Error(), "http: POST http://h/p: 503 Service Unavailable: down for maintenance"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = &StatusError{URL: "http://h/p", StatusCode: 403, Status: "403 Forbidden"}
	if got := e.Error(); got != "http: POST http://h/p: 403 Forbidden (the endpoint refused the batch and retrying will not help: check the URL, the headers such as credentials, and the records' encoding)" {
		t.Errorf("Error() = %q", got)
	}
}
