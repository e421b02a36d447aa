// Package storage is where a job's checkpoints and savepoints live: a local
// directory (the default) or object storage: S3 and S3-compatible stores
// through minio-go, a small client that is always compiled in; Google Cloud
// Storage and Azure Blob Storage through gocloud.dev/blob, whose SDKs are
// large, with the build tags gcs and azblob.
//
// Layout under the storage location:
//
//	<location>/
//	  chk-00000000000000000041/      a completed checkpoint
//	    <state files>
//	    _metadata                    written last
//	  chk-00000000000000000042/      an incomplete checkpoint (in progress, failed or crashed)
//	    <state files>
//	  savepoint-7-1700000000000/     a savepoint (or a name the user chose)
//	    <state files>
//	    _metadata
//
// Checkpoint ids are zero-padded to 20 digits, so listing order is numeric
// order. Commit, ReadMetadata and Latest take the metadata as opaque bytes,
// which package snapshot encodes and the job checks (a validate function). Verify,
// ReadVerified and LatestVerified decode it with package snapshot, to find
// the state files it references and check each one's size and CRC-32C: a
// restore uses them, so that a damaged checkpoint is found before any of its
// state is read.
//
// Invariants:
//
//  1. A directory is completed iff its _metadata object exists. Commit writes
//     _metadata after every state file, and the write is atomic (a local file
//     is written to a temporary name and linked into place; an object store
//     PUT is atomic), so a reader never sees a partial _metadata from a live
//     writer. It is also create-only (the link fails on an existing name; S3
//     and S3-compatible stores take If-None-Match: *, gocloud.dev's stores
//     IfNotExist): of two processes that commit one directory, one wins and
//     the other gets an error, and a completed checkpoint is never
//     rewritten.
//  2. Deleting a directory removes _metadata first, so a directory that is
//     half deleted is never mistaken for a completed one.
//  3. Retain and Discard touch only chk- directories they are asked about;
//     savepoints are deleted only by an explicit Discard.
//  4. A completed checkpoint whose metadata does not validate (truncated by a
//     power loss, corrupted, from an incompatible version) is skipped by
//     Latest and LatestVerified with a warning, never silently; so is, by
//     LatestVerified, one whose state files are missing, of another size or
//     checksum than the metadata records. A file that cannot be read (the
//     store is unreachable) is an error, not damage: LatestVerified does
//     not fall back past a checkpoint that may be whole.
//
// A Storage is safe for concurrent use: state files of one checkpoint are
// uploaded from many goroutines at once.
package storage
