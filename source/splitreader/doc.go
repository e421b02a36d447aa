// Package splitreader is a base for source readers, in the shape of
// Flink's SourceReaderBase: a connector writes only the code that reads
// one split (a [Reader]), and [New] turns it into a [source.Reader] that
// does the rest.
//
// The base
//
//   - keeps the queue of splits the enumerator assigned, and rejects a
//     split of another type, or one it already holds, with an error that
//     fails the job;
//   - asks the enumerator for work (pull mode, the default): at Start and
//     whenever it holds no split, until it is told NoMoreSplits, with at
//     most one request outstanding. With Options.Push it never asks: the
//     enumerator assigns splits on its own;
//   - opens a split with the connector's open function when it is its turn
//     and reads it: one split at a time, in the order assigned (the
//     default, right for splits ordered in event time such as the byte
//     ranges of a file), or every assigned split in turn
//     (Options.Concurrent, for unbounded splits such as Kafka partitions or
//     followed files);
//   - gives each split its own output when the runtime keeps splits apart
//     ([source.SplitOutputs]), so that per-split watermarks
//     (weir.FromSourceWithWatermarks) work. A split's output exists from
//     when the split is opened, or when the split before it in the queue
//     finished, whichever comes first, so that a split holds the watermark
//     back before its first record; it is released when the split is
//     finished;
//   - snapshots the positions of the open splits and the queued ones;
//   - tells the Readers that implement [CheckpointListener] when a
//     checkpoint completes, with the position their split had in it;
//   - ends the input once it was told NoMoreSplits and has read every
//     split to its end;
//   - closes every open split reader when it is closed.
//
// The output a Reader is given implements [source.DeadLetterOutput] and
// [source.WatermarkOutput] whenever the runtime's does (the runtime's
// always does), so a reader reports records it cannot decode as it would
// without the base.
//
// # Invariants
//
//  1. Every method of a Reader, and the open function, is called from the
//     subtask's goroutine, one at a time.
//  2. In sequential mode at most one split is open; the next one is opened
//     only after the previous one's Read said Finished.
//  3. A Reader's Close is called exactly once: after its Read said
//     Finished, or when the base is closed. No method is called after it.
//  4. A Snapshot holds each split the base holds exactly once: an open
//     split as its Reader's Split returns it, a queued split as it was
//     assigned. A finished split is in no snapshot taken after its Read
//     said Finished.
//  5. One Poll calls Read at most once in sequential mode, and at most once
//     per open split in concurrent mode: what one Poll emits is bounded by
//     what Read emits, times the open splits in concurrent mode.
//
// Errors from the open function and from Read fail the job and are
// returned by Poll as they are: the connector names the split in them.
package splitreader
