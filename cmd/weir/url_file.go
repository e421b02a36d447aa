package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strconv"
)

// file:// URLs: --source file://PATH_OR_GLOB[?follow=true], and the
// file outputs of --sink and --dead-letter.

// parseFile parses a --source file:// URL.
func (s *sourceSpec) parseFile(f *flagSet, flagName string, u *url.URL, q url.Values) {
	s.file = true
	s.pattern = filePath(u)
	if s.pattern == "" {
		f.problem(flagName, "%q names no file; write file:///var/log/access.log, or file://logs/access.log for a relative path", s.raw)
	}
	for name, vals := range q {
		switch name {
		case "follow":
			b, err := strconv.ParseBool(vals[len(vals)-1])
			if err != nil {
				f.problem(flagName, "follow=%s in %q is not true or false", vals[len(vals)-1], s.raw)
			}
			s.follow = b
		default:
			f.problem(flagName, "file sources have no parameter %q (in %q); the one parameter is follow=true. A '?' in a glob is written %%3F", name, s.raw)
		}
	}
}

// parseFileOutput parses a file:// URL of --sink or --dead-letter: the
// path of a file, not of a directory, without parameters.
func parseFileOutput(f *flagSet, flagName, raw string, u *url.URL) outputSpec {
	if u.RawQuery != "" {
		f.problem(flagName, "%q: file outputs take no parameters", raw)
	}
	p := filePath(u)
	if p == "" {
		f.problem(flagName, "%q names no file; write file:///path/to/out.jsonl", raw)
	} else if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		f.problem(flagName, "%s is a directory; name a file in it, such as %s", p, filepath.Join(p, "out.jsonl"))
	}
	return outputSpec{path: p}
}

// filePath returns the path or glob of a file URL: absolute after
// file:///, relative after file:// (the "host" is its first element).
func filePath(u *url.URL) string {
	if u.Opaque != "" { // file:relative.log
		p, err := url.PathUnescape(u.Opaque)
		if err != nil {
			return u.Opaque
		}
		return p
	}
	if u.Host != "" && u.Host != "localhost" {
		return u.Host + u.Path
	}
	return u.Path
}

// createOutput creates (or truncates) the file of a file output run
// without checkpoints, and its parent directories. The command closes it
// after the job; see outputs.
func createOutput(path string) (*os.File, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	return os.Create(path)
}
