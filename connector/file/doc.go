// Package file reads lines from files and writes JSON lines to files.
//
// # Reading
//
// [NewSource] returns a [source.Source] of string records, one per line. A
// line ends at '\n'; the '\n' and a '\r' before it are not part of the record.
// A last line without '\n' is a line too in bounded mode; in follow mode it is
// held back until its '\n' arrives (see below).
//
// In bounded mode (the default) the enumerator lists the files that match
// the pattern, sorted by name, and cuts each into byte ranges of SplitSize
// bytes. A range [Start, End) owns the lines that start inside it, the
// convention of Hadoop and Flink:
//
//  1. A reader of a range with Start > 0 skips to the first '\n' at or after
//     Start-1; the line it passes belongs to the range before.
//  2. A reader reads past End to finish the last line that starts before End.
//  3. Hence every line is read exactly once, whatever the split size.
//  4. A split's Offset is always the start of a line (or Start, before the
//     first line was emitted): a reader restored at Offset > Start resumes
//     there without rule 1.
//
// In follow mode ([Follow]) the source is unbounded and tails the files that
// match the pattern, as Flume's taildir source does, with the file tailer
// the log shipper uses too (internal/tail). One split stands for the whole
// pattern and goes to subtask 0; the readers of other subtasks end at
// once. The reader tracks each file by identity (device and inode,
// confirmed by a fingerprint of its first bytes), not by name, so a file
// renamed by log rotation keeps its offset: it is read to its end before it
// is let go, and the new file of the same name is read from its start. The
// split's state, which Snapshot returns, is the list of tracked files with
// identity, name, fingerprint and the offset after the last emitted line,
// and the time of the last listing, so a restored reader resumes exactly.
//
// Rotation by renaming loses nothing, also while the job is down: a
// restored reader finds a file renamed out of the pattern by identity in
// its directory, and every listing reads from their start the files
// rotated out of the pattern that no listing saw (a name that continues a
// followed file's name, such as access.log.1 for access.log, and a
// modification time after the listing before). A file read to its end and
// let go stays in the split state while it lies in its directory; should it
// grow again, it is read on. Rotation by copytruncate is not lossless: the lines written
// between the last read and the truncation are in the copy only, and those
// written between the copy and the truncation are nowhere. The reader reads
// the unread end from the copy when it finds one next to the file (a file
// that begins as the truncated file did); otherwise it logs the bytes it
// knows were lost. A file truncated or rewritten is read again from its
// start.
//
// Readers read synchronously inside Poll, with large positioned reads, and
// start no goroutines.
//
// Restoring: a reader restored with the splits of its snapshot resumes at
// their offsets. The enumerator keeps no state of its own; splits handed to
// it with AddSplitsBack (also before Start) are assigned first, in place of
// the fresh splits with the same SplitID.
//
// Lines longer than MaxLineSize are skipped, never buffered whole, so the
// memory of a reader stays bounded. Each goes to the source's dead letters
// (weir.SourceDeadLetters) once its end is found, with the reason
// [ReasonTooLong], its file and offset, and its first KiB; a reader
// restored while it skipped one reports it once. A hook set with
// [WithLongLineHook] hears of each one too.
//
// In bounded mode, a pattern that matches no file fails [NewSource] with an
// error that matches [ErrNoMatch]; an unreadable file fails the job with an
// error that says how to get access.
//
// # Writing
//
// [NewSink] writes each record as one JSON document per line; [NewLineSink]
// writes strings as they are. Each parallel writer writes its own file
// ([SubtaskPath]).
//
// Without checkpoints, writers write directly: at least once, and a crash
// may leave a partial last line. With checkpoints, writers write to hidden
// part files and the sink's Committer publishes them when a checkpoint
// completes (or at the end of input). A restore cuts each file back to its
// length at the restored checkpoint and deletes stray parts, so the replay,
// which is deterministic, neither duplicates nor loses a line.
package file
