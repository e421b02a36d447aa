//go:build !unix

package storage

import "errors"

// errNotDir matches nothing where ENOTDIR does not exist.
var errNotDir = errors.New("not a directory")
