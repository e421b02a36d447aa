package pvuv_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/app/pvuv"
)

func TestOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		opts pvuv.Options
		want []string // substrings of the error; none: valid
	}{
		{"defaults", pvuv.Options{}, nil},
		{"early results and hll", pvuv.Options{EarlyResults: time.Second, UV: pvuv.UVHLL}, nil},
		{"exact", pvuv.Options{UV: pvuv.UVExact, EarlyResults: time.Millisecond}, nil},
		{"negative early results", pvuv.Options{EarlyResults: -time.Second}, []string{"early results -1s must not be negative", "use 0"}},
		{"early results below 1ms", pvuv.Options{EarlyResults: time.Microsecond}, []string{"early results 1µs is below 1ms"}},
		{"unknown uv", pvuv.Options{UV: "HLL"}, []string{`uv "HLL" is unknown: use "exact" (the default) or "hll"`}},
		{"every problem at once", pvuv.Options{Window: time.Millisecond, UV: "approx", EarlyResults: -1}, []string{"window 1ms", `uv "approx"`, "early results -1ns"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.opts.Validate()
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil, want an error with %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) || !strings.HasPrefix(err.Error(), "pvuv: ") {
					t.Errorf("Validate: %v; want it to start with \"pvuv: \" and to say %q", err, w)
				}
			}
		})
	}
}
