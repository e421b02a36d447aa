package async

import (
	"sync/atomic"
	"time"
)

// Metrics are the counters of a sink, summed over its writers (one per
// parallel subtask) since the sink was created, restarts of the job
// included. Gauges (in flight, limit, buffered) are the current sums.
type Metrics struct {
	// RequestsInFlight is the number of requests sent and not yet answered.
	RequestsInFlight int64
	// InFlightLimit is the sum of the writers' current in-flight limits,
	// each between 1 and MaxInFlightRequests (AIMD).
	InFlightLimit int64
	// RecordsBuffered is the number of records the writers hold: buffered,
	// in flight or waiting for a retry. Each writer holds at most
	// MaxBufferedRecords.
	RecordsBuffered int64
	// RecordsBufferedPeak is the highest RecordsBuffered seen.
	RecordsBufferedPeak int64
	// RecordsWritten is the number of records the destination
	// acknowledged.
	RecordsWritten int64
	// Requests is the number of requests answered, whatever the outcome.
	Requests int64
	// RequestsFailed is the number of requests answered with a retryable
	// failure of some or all of their entries.
	RequestsFailed int64
	// Retries is the number of entries sent again after a retryable
	// failure.
	Retries int64
	// BatchRecords is the sum of the sizes of the batches of the answered
	// requests; BatchRecords / Requests is the mean batch size.
	BatchRecords int64
	// MaxBatch is the largest batch sent.
	MaxBatch int64
	// LatencyTotal is the sum of the answered requests' latencies (the
	// duration of Submit); LatencyTotal / Requests is the mean latency.
	LatencyTotal time.Duration
	// LatencyMax is the longest latency; LatencyLast the latest.
	LatencyMax, LatencyLast time.Duration
}

// MeanBatchSize returns the mean number of entries per answered request.
func (m Metrics) MeanBatchSize() float64 {
	if m.Requests == 0 {
		return 0
	}
	return float64(m.BatchRecords) / float64(m.Requests)
}

// MeanLatency returns the mean latency of the answered requests.
func (m Metrics) MeanLatency() time.Duration {
	if m.Requests == 0 {
		return 0
	}
	return m.LatencyTotal / time.Duration(m.Requests)
}

// metrics is the live form of Metrics, shared by the writers of a sink.
type metrics struct {
	inFlight, limit, buffered, bufferedPeak, written  atomic.Int64
	requests, failed, retries, batchRecords, maxBatch atomic.Int64
	latTotal, latMax, latLast                         atomic.Int64
}

func (m *metrics) snapshot() Metrics {
	return Metrics{
		RequestsInFlight:    m.inFlight.Load(),
		InFlightLimit:       m.limit.Load(),
		RecordsBuffered:     m.buffered.Load(),
		RecordsBufferedPeak: m.bufferedPeak.Load(),
		RecordsWritten:      m.written.Load(),
		Requests:            m.requests.Load(),
		RequestsFailed:      m.failed.Load(),
		Retries:             m.retries.Load(),
		BatchRecords:        m.batchRecords.Load(),
		MaxBatch:            m.maxBatch.Load(),
		LatencyTotal:        time.Duration(m.latTotal.Load()),
		LatencyMax:          time.Duration(m.latMax.Load()),
		LatencyLast:         time.Duration(m.latLast.Load()),
	}
}

// addBuffered moves the buffered gauge by n and keeps its peak.
func (m *metrics) addBuffered(n int64) {
	v := m.buffered.Add(n)
	storeMax(&m.bufferedPeak, v)
}

// answered records a request of n entries answered after lat.
func (m *metrics) answered(n int, lat time.Duration) {
	m.requests.Add(1)
	m.batchRecords.Add(int64(n))
	storeMax(&m.maxBatch, int64(n))
	m.latTotal.Add(int64(lat))
	m.latLast.Store(int64(lat))
	storeMax(&m.latMax, int64(lat))
}

func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}
