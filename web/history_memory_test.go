package web_test

import (
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirstream/weir/web"
)

// TestHistoryMemory fills an hour of history of 20 subtasks at 2 s and
// measures its heap: the package doc says about 90 bytes per subtask and
// sample (3.3 MB here); it must stay under 120.
func TestHistoryMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const subtasks, samples = 20, 1800
		job := &countingJob{n: subtasks}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		h := web.NewHistory(job, web.HistoryOptions{})
		for range samples + 10 {
			web.SampleNow(h)
			time.Sleep(2 * time.Second)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if n := len(h.Samples(0)); n != samples {
			t.Fatalf("%d samples, want %d", n, samples)
		}
		per := float64(after.HeapAlloc-before.HeapAlloc) / (subtasks * samples)
		t.Logf("an hour of history of %d subtasks: %.1f MB, %.0f bytes per subtask and sample",
			subtasks, float64(after.HeapAlloc-before.HeapAlloc)/1e6, per)
		if per > 120 {
			t.Errorf("%.0f bytes per subtask and sample, want about 90", per)
		}
		runtime.KeepAlive(h)
	})
}
