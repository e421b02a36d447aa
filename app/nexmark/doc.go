// Package nexmark is the Nexmark benchmark's queries q0 to q22 written as
// weir DataStream jobs, one file per query.
//
// Every query reads one stream of events ([Events] makes it from a
// nexmark.Source) carrying their event times, with a watermark that
// trails the newest event by nothing: the generator writes each split in
// event-time order. Each query file says what the query computes, the
// Flink SQL it corresponds to, and where weir's result differs in shape
// (a stream of updates where Flink emits retractions, for instance).
//
// # Joins on one stream
//
// Nexmark's person, auction and bid tables are three views of one stream
// of events. The queries that join them (q3, q4, q6, q8, q9, q20) key the
// event stream itself by the join key (a person's id and an auction's
// seller, or an auction's id and a bid's auction) and keep both sides in
// the keyed state of one ProcessKeyed or window operator: a co-process
// join of two filtered views of the same source, without the second
// exchange a two-input operator would add.
//
// # Event time and exactness
//
// Where a query's result depends on the order of its input across keys
// (q6's last ten auctions of a seller), the operator buffers until the
// watermark passes and then takes the input in event-time order, so the
// result is the same at any parallelism. Ties are broken by a fixed total
// order that each file states.
//
// # Running them
//
// [Queries] lists the queries and [Lookup] finds one by name; a [Query]
// builds its operators on an event stream and either writes its rows as
// JSON objects ([Query.JSON], `weir nexmark run`) or drops them
// ([Query.Discard], `weir bench nexmark`).
package nexmark
