package storage

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	// checkpointPrefix starts the name of every checkpoint directory.
	checkpointPrefix = "chk-"
	// idDigits pads checkpoint ids so that listing order is numeric order;
	// 20 digits hold every uint64.
	idDigits = 20
	// MetadataName is the name of the object that completes a checkpoint or
	// savepoint directory. It is written last.
	MetadataName = "_metadata"
)

// Dir identifies a checkpoint or savepoint directory inside a Storage. The
// zero Dir is invalid; make one with CheckpointDir, SavepointDir,
// NewSavepointDir or ParseDir.
type Dir struct {
	name string
	id   uint64
	// checkpoint tells a checkpoint (named by id) from a savepoint (named by
	// name); the id of a savepoint is not known from its name alone.
	checkpoint bool
}

// CheckpointDir returns the directory of checkpoint id: chk-<id padded to 20 digits>.
func CheckpointDir(id uint64) Dir {
	return Dir{name: fmt.Sprintf("%s%0*d", checkpointPrefix, idDigits, id), id: id, checkpoint: true}
}

// SavepointDir returns the savepoint directory with the given name. Methods
// that take the Dir reject a name that is empty, holds characters other than
// letters, digits, '.', '_' and '-', starts with '_' or '.', or starts with
// "chk-" (reserved for checkpoints); use ParseDir to check a name up front.
func SavepointDir(name string) Dir {
	return Dir{name: name}
}

// NewSavepointDir returns the directory of a savepoint taken at checkpoint id
// at time at: savepoint-<id>-<unix milliseconds>.
func NewSavepointDir(id uint64, at time.Time) Dir {
	return Dir{name: fmt.Sprintf("savepoint-%d-%d", id, at.UnixMilli())}
}

// ParseDir parses the name of a directory, as Name returns it: a checkpoint
// (chk- and 20 digits) or a savepoint (any other valid name).
func ParseDir(name string) (Dir, error) {
	if rest, ok := strings.CutPrefix(name, checkpointPrefix); ok {
		id, err := strconv.ParseUint(rest, 10, 64)
		if err != nil || len(rest) != idDigits {
			return Dir{}, fmt.Errorf("checkpoint storage: %q is not a checkpoint directory name: expected %s followed by %d digits, as in %s",
				name, checkpointPrefix, idDigits, CheckpointDir(42).name)
		}
		return CheckpointDir(id), nil
	}
	d := SavepointDir(name)
	if err := d.validate(); err != nil {
		return Dir{}, err
	}
	return d, nil
}

// Name returns the directory's name inside the storage location, without a
// trailing slash.
func (d Dir) Name() string { return d.name }

// String returns the directory's name.
func (d Dir) String() string { return d.name }

// Checkpoint returns the checkpoint id, and false if d is a savepoint.
func (d Dir) Checkpoint() (id uint64, ok bool) { return d.id, d.checkpoint }

// IsSavepoint reports whether d is a savepoint directory.
func (d Dir) IsSavepoint() bool { return !d.checkpoint && d.name != "" }

// prefix is the key prefix of every object in d.
func (d Dir) prefix() string { return d.name + "/" }

// key returns the key of the object name in d.
func (d Dir) key(name string) string { return d.name + "/" + name }

// validate reports why d cannot name a directory.
func (d Dir) validate() error {
	if d.checkpoint {
		return nil
	}
	if d.name == "" {
		return fmt.Errorf("checkpoint storage: no directory given: use CheckpointDir(id), SavepointDir(name) or ParseDir")
	}
	if strings.HasPrefix(d.name, checkpointPrefix) {
		return fmt.Errorf("checkpoint storage: savepoint name %q starts with %q, which is reserved for checkpoints: choose another name", d.name, checkpointPrefix)
	}
	if err := checkSegment(d.name); err != nil {
		return fmt.Errorf("checkpoint storage: savepoint name %q %s: choose another name", d.name, err)
	}
	return nil
}

// checkStateName reports why name cannot name a state file: one or more
// '/'-separated segments, each a valid segment, and not the metadata name.
func checkStateName(name string) error {
	if name == "" {
		return fmt.Errorf("checkpoint storage: empty state file name: give each state file a name")
	}
	for seg := range strings.SplitSeq(name, "/") {
		if err := checkSegment(seg); err != nil {
			return fmt.Errorf("checkpoint storage: state file name %q %s: choose another name", name, err)
		}
	}
	return nil
}

// checkSegment keeps names to a portable set, so that a key maps to the same
// file name on every file system and object store, unescaped, and so that
// '_' (our metadata) and '.' (hidden and temporary files) stay ours.
func checkSegment(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("has an empty path segment")
	case s[0] == '_' || s[0] == '.':
		return fmt.Errorf("has a segment starting with %q (reserved)", s[0])
	case len(s) > 200:
		return fmt.Errorf("has a segment longer than 200 bytes")
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("holds %q: use only letters, digits, '.', '_' and '-'", c)
		}
	}
	return nil
}

// ParseRestorePath splits a path given by a user to restore from (as with
// --restore PATH) into the storage location holding it and the directory.
// path may name a checkpoint or savepoint directory, or the _metadata file
// inside one, as a local path, a file:// URL, or an object storage URL
// (s3://bucket/prefix/chk-00000000000000000042?region=eu-west-1); query
// parameters stay with the location. A trailing slash is allowed.
func ParseRestorePath(p string) (location string, dir Dir, err error) {
	if p == "" {
		return "", Dir{}, fmt.Errorf("checkpoint storage: empty restore path: give the checkpoint or savepoint directory to restore from")
	}
	var name string
	if strings.Contains(p, "://") {
		u, err := url.Parse(p)
		if err != nil {
			return "", Dir{}, fmt.Errorf("checkpoint storage: restore path %q is not a valid URL: %w", p, err)
		}
		clean := strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/"+MetadataName)
		parent, base := path.Split(clean)
		if base == "" {
			return "", Dir{}, fmt.Errorf("checkpoint storage: restore path %q names no directory: append the checkpoint or savepoint directory, as in %s/%s", p, strings.TrimRight(p, "/"), CheckpointDir(42).name)
		}
		name = base
		u.Path = strings.TrimRight(parent, "/")
		u.RawPath = ""
		if u.Scheme == "file" && u.Path == "" {
			u.Path = "/"
		}
		location = u.String()
	} else {
		clean := filepath.Clean(p)
		if filepath.Base(clean) == MetadataName {
			clean = filepath.Dir(clean)
		}
		name = filepath.Base(clean)
		location = filepath.Dir(clean)
		if name == "." || name == ".." || name == string(filepath.Separator) {
			return "", Dir{}, fmt.Errorf("checkpoint storage: restore path %q names no directory: give the checkpoint or savepoint directory itself", p)
		}
	}
	dir, err = ParseDir(name)
	if err != nil {
		return "", Dir{}, fmt.Errorf("%w (restore path %q)", err, p)
	}
	return location, dir, nil
}
