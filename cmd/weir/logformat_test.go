package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLogFormatJSON: with --log-format json every log line a run of
// weir pvuv prints is one JSON object — the progress lines and the job
// driver's lines alike, the latter with the job's name; the command's own
// messages start with "weir pvuv:". A format other than text or json is a
// usage error.
func TestLogFormatJSON(t *testing.T) {
	dir := t.TempDir()
	args := []string{"pvuv", "--source", "datagen://?limit=200", "--sink", "file://" + dir + "/out.jsonl",
		"--progress", "10ms", "--checkpoint-dir", dir + "/ck", "--log-format", "json"}
	first := runIn(t, args...)
	// The second run finds the job finished, and its driver says so.
	second := runIn(t, args...)
	jobLines := 0
	for _, r := range []result{first, second} {
		if r.code != exitOK {
			t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
		}
		for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
			if strings.HasPrefix(line, "weir pvuv:") {
				continue
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("a log line that is not JSON: %q\nstderr:\n%s", line, r.stderr)
			}
			if rec["job"] == "pvuv" {
				jobLines++
			}
		}
	}
	if jobLines == 0 {
		t.Fatalf("no JSON line of the job driver with job=pvuv; stderr:\n%s", second.stderr)
	}
	if r := runIn(t, "pvuv", "--source", "datagen://?limit=1", "--log-format", "xml"); r.code != exitUsage || !strings.Contains(r.stderr, `--log-format: "xml" is not a format: use text or json`) {
		t.Fatalf("--log-format xml: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
