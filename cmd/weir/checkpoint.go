package main

import (
	"context"
	"fmt"
	"io"

	"github.com/weirstream/weir/internal/checkpoint/storage"
	"github.com/weirstream/weir/internal/snapshot"
)

const checkpointAbout = `Inspects checkpoints and savepoints.

  weir checkpoint inspect PATH

PATH is a checkpoint or savepoint directory, its _metadata file, or a URL
(file:///..., s3://bucket/prefix/chk-...). It verifies the metadata's
checksum and prints what the checkpoint holds: its id, when it was taken,
and per operator its parallelism, key groups and state sizes.`

func runCheckpoint(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir checkpoint", "weir checkpoint inspect PATH", checkpointAbout, "")
	if len(args) == 0 || args[0] != "inspect" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			f.usage(stdout)
			return exitOK
		}
		fmt.Fprintln(stderr, "weir checkpoint: name the action and the path, as in 'weir checkpoint inspect /var/lib/weir/pvuv/chk-00000000000000000012'")
		return exitUsage
	}
	if len(args) != 2 {
		fmt.Fprintln(stderr, "weir checkpoint inspect: give exactly one path: a checkpoint or savepoint directory, or its _metadata file")
		return exitUsage
	}
	store, dir, err := storage.OpenRestore(ctx, args[1])
	if err != nil {
		fmt.Fprintf(stderr, "weir checkpoint inspect: %v\n", err)
		return exitFail
	}
	defer store.Close()
	b, err := store.ReadMetadata(ctx, dir, func(b []byte) error { _, err := snapshot.DecodeMetadata(b); return err })
	if err != nil {
		fmt.Fprintf(stderr, "weir checkpoint inspect: %v\n", err)
		return exitFail
	}
	m, err := snapshot.DecodeMetadata(b)
	if err != nil {
		fmt.Fprintf(stderr, "weir checkpoint inspect: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "%s in %s\n", dir, store.Location())
	if err := snapshot.Describe(stdout, m); err != nil {
		fmt.Fprintf(stderr, "weir checkpoint inspect: %v\n", err)
		return exitFail
	}
	return exitOK
}
