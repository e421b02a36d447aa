// Package nexmark generates the events of the Nexmark benchmark: people
// who register, the auctions they open and the bids on them, as the
// Nexmark specification describes them and nexmark/nexmark (the Flink
// Nexmark benchmark) generates them, deterministically for a seed.
//
// # What it generates
//
// Events are numbered from 0. Of every 50 consecutive event numbers the
// first is a [Person], the next 3 are [Auction]s and the last 46 are
// [Bid]s (person : auction : bid = 1 : 3 : 46). People and auctions get
// consecutive ids from 1000 ([FirstPersonID], [FirstAuctionID]); an
// event's ids follow from its number alone.
//
//   - An auction's seller is, with probability 1-1/HotSellersRatio, a hot
//     seller (the first person of the latest hundred), otherwise one of
//     the ActivePeople latest people or of the 10 next.
//   - A bid's auction is, with probability 1-1/HotAuctionRatio, the hot
//     auction (the first of the latest hundred auctions), otherwise one of
//     the InFlightAuctions latest auctions or of the 10 next; its bidder
//     is, with probability 1-1/HotBiddersRatio, a hot bidder (the second
//     person of the latest hundred), otherwise picked as a seller is.
//     The 10 ids ahead are nexmark/nexmark's leads: a new person or
//     auction may appear a little after the first event that refers to it.
//   - An auction expires after a uniform time from 1 ms to twice the time
//     InFlightAuctions more auctions take to come.
//   - Prices are in cents, log-uniform from $1 to $1,000,000; a reserve is
//     the initial bid plus such a price.
//   - Half of the bids come from four hot channels (Google, Facebook,
//     Baidu, Apple), the others from channel-0 to channel-9999, each with
//     its own URL.
//   - The extra field pads each event to an average size (200, 500 and
//     100 bytes by default, ±20%), counted as nexmark/nexmark counts it.
//
// # Time
//
// Event time never comes from the wall clock: event n is at
// Start + n × (1/EventsPerSecond), truncated to the millisecond, so a run
// replays the same times on any machine, at any speed. [Source] emits as
// fast as the job takes events; the rate sets how much event time they
// cover.
//
// # Determinism and parallelism
//
// Event n is a pure function of the configuration and n: its random
// numbers come from a SplitMix64 generator seeded with the seed and n
// (the generator behind Java's SplittableRandom), and its prices from a
// power of ten computed without math.Pow, which may round differently on
// other architectures. A [Generator] therefore produces any event number
// directly; the splits of a [Source] take every Count-th number
// (interleaved, so that all splits advance in event time together), and
// a checkpoint stores how many events each split emitted.
//
// # Differences from nexmark/nexmark
//
//   - nexmark/nexmark draws from unseeded random generators and starts at
//     the wall-clock time; here the seed and [Start] fix every event.
//   - nexmark/nexmark adds the first person id to a bid's bidder twice,
//     so its bidders are 1000 ids above its people; here a bidder is a
//     person's id.
//   - nexmark/nexmark splits the rate among several generators, each with
//     its own timeline; here the event number alone gives the time, and
//     splits share one timeline.
//   - Out-of-order groups and rate shapes (outOfOrderGroupSize,
//     rateShape) are not generated: events come in event-time order at a
//     constant rate.
package nexmark
