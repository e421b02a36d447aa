// Package snapshot defines weir's checkpoint and savepoint format: how a
// completed checkpoint is laid out in bytes, and how to write, read, check and
// describe it. Both state backends (heap and Pebble) write and read this one
// format, so a job can restore on either backend and at another parallelism.
//
// # Files
//
// A checkpoint is a directory (or an object-store prefix) holding:
//
//	_metadata                one per checkpoint: what the checkpoint holds ([Metadata])
//	<keyed files>            one per operator subtask with keyed state; named by
//	                         [Subtask.KeyedFile], relative to the directory
//
// Operator state (source split positions, pending sink transactions) and
// channel state (in-flight records of unaligned checkpoints) are small and
// opaque to this package; they live inside the metadata.
//
// All integers in fixed-size fields are big-endian. Checksums are CRC-32C
// (Castagnoli). Both files start with a magic string and a version: the
// metadata's is [MetadataVersion] (this build reads versions 1 to it), a
// keyed file's [FormatVersion].
//
// # Metadata file
//
//	+----------+---------+----------+------------------------+--------+
//	| magic    | version | body len | body                   | CRC    |
//	| WEIRCKPT | uint16  | uint32   | CBOR, body len bytes   | uint32 |
//	+----------+---------+----------+------------------------+--------+
//	  8 bytes    2         4                                   4
//
// The CRC covers every byte before it. The body is the canonical (core
// deterministic) CBOR encoding of [Metadata], each struct a map keyed by
// small integers (see the cbor tags on the fields), so names can change
// freely but numbers never do.
//
// # Keyed-state file
//
// A keyed file holds the keyed state of one subtask, which owned the key
// groups [start, end) when it wrote. It is a header and one block for each key
// group that has state, in increasing group order, with nothing between them:
//
//	+--------------------------------------------------------------+
//	| header: magic WEIRKEYS (8) | version uint16 | start uint32 |  |
//	|         end uint32 | CRC uint32 over the 18 bytes before it  |  22 bytes
//	+--------------------------------------------------------------+
//	| block of group g1 | block of group g2 | ...                   |  g1 < g2 < ...
//	+--------------------------------------------------------------+
//
// The metadata records the byte offset of each group's block
// ([Subtask.GroupOffsets], -1 for a group without state), so a restore reads
// only the blocks of the groups it now owns. A block is cut into chunks of at
// most 32 KiB, each checked before any of its bytes are used, so a reader
// needs memory for one chunk and one entry, never for a whole group:
//
//	chunk: +--------+--------+--------+------+--------------------+
//	       | CRC    | group  | length | kind | payload            |
//	       | uint32 | uint32 | uint16 | byte | length bytes       |
//	       +--------+--------+--------+------+--------------------+
//
// The CRC covers group, length, kind and payload. kind is 1 for a chunk with
// more to follow in the same block (its payload is exactly 32 KiB) and 2 for
// the block's last chunk. The payloads of a block, concatenated, are:
//
//	entry* end
//	entry: ref uvarint | [name] | key | namespace | value
//	end:   0 uvarint   | entry count uvarint
//
// where key, namespace, value and name are each a uvarint length followed by
// that many bytes. State names repeat in every entry, so each block interns
// them: ref k >= 1 names the k-th state name of the block; a ref one past the
// names seen so far introduces a new name, which follows in full. A block is
// thus decodable on its own.
//
// # Invariants
//
// Readers check every one of these and report a violation as [ErrCorrupt].
//
//  1. Every byte of both files is covered by a CRC-32C that is checked before
//     the byte is interpreted.
//  2. A file's format version is one this build reads, else [ErrVersion];
//     versions are never reused for another layout.
//  3. The metadata is self-consistent: operator UIDs are unique; subtask
//     indexes are unique and below the operator's parallelism; key-group
//     ranges lie within [0, MaxParallelism); the keyed subtasks of an
//     operator together own every key group exactly once.
//  4. A keyed file's header names the same key-group range as its metadata,
//     and its size and whole-file CRC-32C are those the metadata records
//     ([CheckFile] checks the latter two for each of [Metadata.Files], and
//     the checkpoint storage runs it on every file before a restore, so a
//     damaged file sends the job to an earlier checkpoint before any state
//     is read; a restore that reads some groups also relies on invariants
//     1 and 5).
//  5. Blocks are in increasing group order and contiguous: the first starts
//     right after the header, each ends where the next begins, and the last
//     ends at the end of the file. Hence GroupOffsets are increasing.
//  6. Every chunk of a block carries that block's group; all but the last
//     are full; the entry count in a block's end matches its entries, and
//     the end is the last byte of the last chunk.
//  7. Empty groups have no block: an empty block is never written.
package snapshot
