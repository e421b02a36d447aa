//go:build unix

package storage

import "syscall"

var errNotDir error = syscall.ENOTDIR
