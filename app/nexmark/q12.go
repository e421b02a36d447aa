package nexmark

import (
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/window"
)

// Q12 counts the bids of every bidder per tumbling window of 10 seconds
// of processing time: the windows follow the wall clock of the machine,
// so their rows depend on how fast the job runs; their counts add up to
// each bidder's bids. At the end of a bounded input the open windows
// fire, as in Flink.
//
// Flink SQL: select bidder, count(*) as bid_count, window_start and
// window_end as starttime and endtime, from TUMBLE over bid with
// PROCTIME() as the time attribute and an interval of 10 seconds, grouped
// by bidder and window.
func Q12(events weir.Stream[nexmark.Event]) weir.Stream[Q12Row] {
	return countBidders(events, "q12", window.OnProcessingTime(window.Tumbling(10*time.Second)))
}
