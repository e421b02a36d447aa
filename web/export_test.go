package web

import "time"

// SampleNow takes a sample of h now, as its timer or a page would.
func SampleNow(h *History) { h.maybeSample(time.Now()) }
