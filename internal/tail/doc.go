// Package tail follows the files of a glob through rotation, as Flume's
// taildir source does: the file source's follow mode (connector/file) and
// the log shipper (app/ship) read their files with it. It knows files by
// identity, keeps a position in each, notices truncation, and cuts lines
// with a bounded buffer. It starts no goroutine: its user calls Scan and
// reads the files in its own loop.
//
// # Files
//
// A file is known by its identity (device and inode), confirmed by a
// fingerprint of its first bytes (the SHA-256 of up to HeadMax bytes), not
// by its name: a log renamed by rotation keeps its identity and is read to
// its end, and the new file under the old name is a new file, read from its
// start. A file that leaves the pattern is read to its end and let go once
// it has not grown for a grace period (its writer may append until it
// reopens its log); a last line without '\n' counts then. A file let go
// stays known (Position.Done) while it lies in its directory: should it
// grow again, it is read on. Every scan after the first also looks for
// files that left the pattern before any scan saw them (rotated twice
// between two scans): see Config.RestoredAt.
//
// A Position holds a file's name, identity, offset, fingerprint and known
// size. Resuming from saved positions (Config.Restore), the first Scan
// finds each file
//
//   - under the pattern, by identity;
//   - renamed out of the pattern within its directory, by identity;
//   - copied, when the file itself is gone, truncated or replaced: a file in
//     its directory with the same fingerprint and at least offset bytes is
//     its copy (copytruncate rotation), read on from the offset.
//
// and reads the files that left the pattern while no reader ran (see
// Config.RestoredAt). A file found with another fingerprint, or shorter
// than its position, is read again from its start, with a warning.
//
// # Rotation schemes
//
// Rotation by renaming (logrotate's default, with the writer told to reopen
// its log; nginx, Apache) loses nothing, also while no reader runs: the
// renamed file is found by identity and read to its end, and files rotated
// away before any scan saw them are found by name and time (the time with
// Config.Slack to spare, for coarse file clocks). A first start (no
// positions) follows what the pattern matches: files already rotated away
// are not read. Rotation by copying and truncating (logrotate's
// copytruncate) is not lossless: the lines written between the last read
// and the truncation are in the copy only, and those written between the
// copy and the truncation are nowhere. Scan looks for the copy in the
// file's directory and reads the unread end from it when it finds it;
// otherwise it logs how many bytes it knows were lost. Files moved to
// another directory (logrotate's olddir) or compressed before they were
// read to their end are not found.
//
// Each line is read exactly once with rotation by renaming, in file order;
// with copytruncate too when the copy lies next to the file and nothing
// was written between the copy and the truncation, though a file copied
// and truncated twice between two scans may have its lines read out of
// order. TestRandomRotations checks all of it.
//
// # Invariants
//
//  1. A position is always the start of a line, or the start of a line too
//     long to emit that is being skipped.
//  2. A position's fingerprint covers every byte before its offset, or the
//     first HeadMax bytes: File.ReadAt reads no further than the
//     fingerprint while it covers fewer than HeadMax bytes, and Scan
//     extends it. A resume that finds those bytes unchanged may trust the
//     offset.
//  3. A Lines reader never holds more than its buffer: a line longer than
//     its limit is skipped as it streams by, and reported once, when its
//     end is found, with its first PrefixMax bytes and its length.
package tail
