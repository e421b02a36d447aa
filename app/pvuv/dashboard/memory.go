package dashboard

import (
	"bytes"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
)

// Memory is what a process holds, as live events carry it with
// Config.ProcessMemory.
type Memory struct {
	// HeapInUse is the bytes of the Go heap's spans in use: live objects
	// and the garbage not yet collected (runtime.MemStats.HeapInuse).
	HeapInUse int64 `json:"heap_inuse_bytes"`
	// Runtime is every byte the Go runtime took from the operating system
	// (runtime.MemStats.Sys).
	Runtime int64 `json:"runtime_bytes"`
	// RSS is the resident set size where the operating system tells it
	// (Linux: /proc/self/statm); 0 elsewhere.
	RSS int64 `json:"rss_bytes"`
	// Goroutines is the number of goroutines.
	Goroutines int `json:"goroutines"`
}

// memoryMetrics are the runtime/metrics that ReadMemory reads: unlike
// runtime.ReadMemStats they do not stop the world.
var memoryMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/total:bytes",
}

// ReadMemory returns the memory of the calling process.
func ReadMemory() Memory {
	samples := make([]metrics.Sample, len(memoryMetrics))
	for i, name := range memoryMetrics {
		samples[i].Name = name
	}
	metrics.Read(samples)
	value := func(i int) int64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(samples[i].Value.Uint64())
	}
	return Memory{
		HeapInUse:  value(0) + value(1),
		Runtime:    value(2),
		RSS:        residentBytes(),
		Goroutines: runtime.NumGoroutine(),
	}
}

// residentBytes reads the resident set size from /proc/self/statm (its
// second field, in pages), or returns 0.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
