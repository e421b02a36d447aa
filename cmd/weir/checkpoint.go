package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/weirstream/weir/internal/checkpoint/storage"
	"github.com/weirstream/weir/internal/snapshot"
)

const checkpointAbout = `Inspects checkpoints and savepoints, and verifies their files.

  weir checkpoint inspect PATH

PATH is one of:
  a checkpoint location (the --checkpoint-dir of a job), as a directory or
    a URL (file:///var/lib/weir/pvuv, s3://bucket/prefix?region=...): lists
    every completed checkpoint, newest first, and every savepoint in it, each
    verified, and describes the checkpoint a restore from the location uses;
  a checkpoint or savepoint directory, its _metadata file, or their URL
    (s3://bucket/prefix/chk-00000000000000000012): describes it and verifies
    it.

Verifying reads every state file the metadata names and checks that it
exists and has the size and CRC-32C the metadata records, as a job does
before it restores. It prints per operator the parallelism, key groups and
state sizes, and a verdict per file. Exit status: 0 when everything
inspected is whole; 1 when a checkpoint is damaged (the damaged files are
named) or cannot be read; 2 on a usage error.`

func runCheckpoint(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir checkpoint", "weir checkpoint inspect PATH", checkpointAbout, "")
	if len(args) == 0 || args[0] != "inspect" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			f.usage(stdout)
			return exitOK
		}
		fmt.Fprintln(stderr, "weir checkpoint: name the action and the path, as in 'weir checkpoint inspect /var/lib/weir/pvuv' or 'weir checkpoint inspect /var/lib/weir/pvuv/chk-00000000000000000012'")
		return exitUsage
	}
	if len(args) != 2 {
		fmt.Fprintln(stderr, "weir checkpoint inspect: give exactly one path: a checkpoint location (--checkpoint-dir), a checkpoint or savepoint directory, or its _metadata file")
		return exitUsage
	}
	p := args[1]
	code, err := inspectDir(ctx, p, stdout)
	if errors.Is(err, errNotADir) {
		code, err = inspectLocation(ctx, p, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "weir checkpoint inspect: %v\n", err)
	}
	return code
}

// errNotADir says that a path names no checkpoint or savepoint directory:
// it may be a checkpoint location.
var errNotADir = errors.New("not a checkpoint or savepoint directory")

// inspectDir describes and verifies the checkpoint or savepoint at p. It
// returns errNotADir when p may be a checkpoint location instead.
func inspectDir(ctx context.Context, p string, stdout io.Writer) (int, error) {
	location, dir, err := storage.ParseRestorePath(p)
	if err != nil {
		if strings.HasPrefix(lastSegment(p), "chk-") {
			return exitFail, err
		}
		return exitFail, errNotADir
	}
	// A checkpoint or a _metadata file is named explicitly; any other name
	// may be a savepoint or a checkpoint location.
	_, explicit := dir.Checkpoint()
	explicit = explicit || lastSegment(p) == storage.MetadataName
	store, err := storage.Open(ctx, location, storage.NoCreate())
	if err != nil {
		if explicit {
			return exitFail, err
		}
		return exitFail, errNotADir
	}
	defer store.Close()
	m, err := store.ReadVerified(ctx, dir, nil)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return exitFail, errNotADir
	}
	var damaged *storage.DamagedError
	switch {
	case errors.As(err, &damaged):
		// Metadata is whole: describe it, then say what is damaged.
	case err != nil:
		return exitFail, err
	}
	if m == nil {
		if m, err = readMetadata(ctx, store, dir); err != nil {
			return exitFail, err
		}
	}
	fmt.Fprintf(stdout, "%s in %s\n", dir, store.Location())
	if err := snapshot.Describe(stdout, m); err != nil {
		return exitFail, err
	}
	printFiles(stdout, m, damaged)
	if damaged != nil {
		return exitFail, damaged
	}
	return exitOK, nil
}

// lastSegment returns the last element of a path or URL, without a query
// or trailing slashes.
func lastSegment(p string) string {
	p, _, _ = strings.Cut(p, "?")
	p = strings.TrimRight(filepath.ToSlash(p), "/")
	return path.Base(p)
}

// readMetadata reads and decodes dir's metadata without verifying files.
func readMetadata(ctx context.Context, store *storage.Storage, dir storage.Dir) (*snapshot.Metadata, error) {
	b, err := store.ReadMetadata(ctx, dir, func(b []byte) error { _, err := snapshot.DecodeMetadata(b); return err })
	if err != nil {
		return nil, err
	}
	return snapshot.DecodeMetadata(b)
}

// printFiles prints a verdict per state file of m.
func printFiles(w io.Writer, m *snapshot.Metadata, damaged *storage.DamagedError) {
	files := m.Files()
	if len(files) == 0 {
		fmt.Fprintln(w, "state files: none (all state is in the metadata)")
		return
	}
	problems := map[string]string{}
	if damaged != nil {
		for _, f := range damaged.Files {
			problems[f.Name] = f.Problem()
		}
	}
	fmt.Fprintln(w, "state files (size and CRC-32C against the metadata):")
	for _, f := range files {
		verdict := "ok"
		if p, ok := problems[f.Name]; ok {
			verdict = "DAMAGED: " + p
		}
		fmt.Fprintf(w, "  %-40s %10s  %s\n", f.Name, snapshot.FormatSize(f.Size), verdict)
	}
}

// inspectLocation lists and verifies every completed checkpoint and
// savepoint at a checkpoint location, and describes the checkpoint that a
// restore from the location uses: the newest whole one.
func inspectLocation(ctx context.Context, location string, stdout io.Writer) (int, error) {
	store, err := storage.Open(ctx, location, storage.NoCreate())
	if err != nil {
		return exitFail, err
	}
	defer store.Close()
	checkpoints, err := store.Completed(ctx)
	if err != nil {
		return exitFail, err
	}
	savepoints, err := store.Savepoints(ctx)
	if err != nil {
		return exitFail, err
	}
	if len(checkpoints) == 0 && len(savepoints) == 0 {
		return exitFail, fmt.Errorf("%s holds no completed checkpoint or savepoint (a directory with a %s file): give a job's --checkpoint-dir, a checkpoint or savepoint directory, or its %s file",
			store.Location(), storage.MetadataName, storage.MetadataName)
	}
	code := exitOK
	type verdict struct {
		dir  storage.Dir
		meta *snapshot.Metadata
		err  error
	}
	check := func(dirs []storage.Dir) ([]verdict, error) {
		var out []verdict
		for _, d := range dirs {
			m, err := store.ReadVerified(ctx, d, nil)
			var damaged *storage.DamagedError
			if err != nil && !errors.As(err, &damaged) && !errors.Is(err, snapshot.ErrCorrupt) && !errors.Is(err, snapshot.ErrVersion) {
				if errors.Is(err, fs.ErrNotExist) {
					continue // deleted since listing, by a running job's retention
				}
				return nil, err
			}
			if err != nil {
				code = exitFail
			}
			out = append(out, verdict{d, m, err})
		}
		return out, nil
	}
	list := func(title string, vs []verdict) {
		if len(vs) == 0 {
			return
		}
		fmt.Fprintln(stdout, title)
		for _, v := range vs {
			var damaged *storage.DamagedError
			switch {
			case v.err == nil:
				fmt.Fprintf(stdout, "  %-28s ok: %s\n", v.dir, snapshot.Summary(v.meta))
			case errors.As(v.err, &damaged):
				var ps []string
				for _, f := range damaged.Files {
					ps = append(ps, f.String())
				}
				fmt.Fprintf(stdout, "  %-28s DAMAGED: %s\n", v.dir, strings.Join(ps, "; "))
			default:
				fmt.Fprintf(stdout, "  %-28s UNUSABLE: %v\n", v.dir, v.err)
			}
		}
	}
	cvs, err := check(checkpoints)
	if err != nil {
		return exitFail, err
	}
	svs, err := check(savepoints)
	if err != nil {
		return exitFail, err
	}
	// Savepoints newest first too, by the checkpoint id they were taken at.
	slices.SortStableFunc(svs, func(a, b verdict) int {
		if a.meta == nil || b.meta == nil {
			return 0
		}
		return cmp.Compare(b.meta.CheckpointID, a.meta.CheckpointID)
	})
	fmt.Fprintf(stdout, "checkpoint location %s\n", store.Location())
	list("checkpoints, newest first:", cvs)
	list("savepoints:", svs)
	var use *verdict
	for i := range cvs {
		if cvs[i].err == nil {
			use = &cvs[i]
			break
		}
	}
	switch {
	case use != nil:
		fmt.Fprintf(stdout, "\na restore from this location (--restore latest) uses %s:\n", use.dir)
		if err := snapshot.Describe(stdout, use.meta); err != nil {
			return exitFail, err
		}
		printFiles(stdout, use.meta, nil)
	case len(cvs) > 0:
		fmt.Fprintln(stdout, "\nno checkpoint here can be restored: a job started with this location starts from the beginning (or from --restore PATH)")
	}
	if code != exitOK {
		return code, errors.New("damaged checkpoints or savepoints found (see above): a restore skips a damaged checkpoint for the previous whole one; delete the damaged ones, or keep them to investigate")
	}
	return code, nil
}
