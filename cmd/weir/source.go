package main

import (
	"errors"
	"net/url"
	"strings"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/source"
)

// --source of weir pvuv: a URL of one of the schemes below, each parsed in
// its own file (url_file.go, url_datagen.go, url_kafka.go).

const sourceUsage = `where the lines come from (required), one of:
  file:///var/log/nginx/access.log          a file, read once
  file://logs/access*.log                   a glob, relative to the working directory
  file:///var/log/access.log?follow=true    tail the file, across rotation
  datagen://?rate=1000&limit=100000&seed=1  generated lines (see Sources below)
  kafka://127.0.0.1:9092/access?group=pvuv  a Kafka topic (see Sources below)`

const sourceHelp = `Sources:
  file://PATH or file://GLOB reads the matching files once, in parallel by
    byte ranges; ?follow=true tails them instead, as they grow and rotate,
    until the job is stopped. PATH is absolute after file:/// and relative
    after file:// (file://logs/a.log). Globs use path/filepath.Match syntax;
    write a literal '?' as %3F and '%' as %25.
  datagen://?PARAMS generates nginx access-log lines, 0.1% of them bad:
    rate=N    lines per second (event time then flows at the same pace);
              default as fast as possible, 1000 lines per second of event time
    limit=N   stop after N lines; default never
    seed=N    the sequence; default 1. The same parameters give the same lines.
    start=T   event time of the first line: RFC 3339, or now; default
              2026-11-24T07:40:00Z
  kafka://HOST:PORT[,HOST:PORT...]/TOPIC?PARAMS reads the topic's lines with
    read_committed isolation, one watermark per partition:
    group=G   commit the offsets of each completed checkpoint to consumer
              group G (the job does not join it), so lag tools see progress
    start=S   earliest (default), latest, committed (G's offsets), or an
              RFC 3339 time (the first record at or after it)
    bounded=true  stop at the offsets that were latest when the job started
    and tls, ca, tls-server-name and sasl: see Kafka connections below`

// sourceSpec is a parsed --source URL.
type sourceSpec struct {
	raw     string
	file    bool
	pattern string           // file
	follow  bool             // file
	gen     []datagen.Option // datagen
	rate    float64
	limit   int64 // -1: endless
	kafka   *kafkaSource
}

// parseSource parses a --source URL; problems name the flag.
func parseSource(f *flagSet, flagName, raw string) sourceSpec {
	spec := sourceSpec{raw: raw, limit: -1}
	if raw == "" {
		f.problem(flagName, "missing; give the input, such as --%s file:///var/log/nginx/access.log or --%s 'datagen://?rate=1000'", flagName, flagName)
		return spec
	}
	u, err := url.Parse(raw)
	if err != nil {
		f.problem(flagName, "%q is not a URL (%v); write file:///path/to/access.log or datagen://?rate=1000", kafka.RedactURL(raw), urlErrorReason(raw, err))
		return spec
	}
	if u.Scheme == "kafka" {
		spec.kafka = parseKafkaSource(f, flagName, raw)
		return spec
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		f.problem(flagName, "the parameters of %q do not parse (%v); write them as ?name=value&name=value", kafka.RedactURL(raw), err)
		return spec
	}
	switch u.Scheme {
	case "file":
		spec.parseFile(f, flagName, u, q)
	case "datagen":
		spec.parseDatagen(f, flagName, u, q)
	case "":
		f.problem(flagName, "%q has no scheme; write file://%s for a file, or datagen://?rate=1000 for generated lines", raw, raw)
	default:
		f.problem(flagName, "unknown scheme %q in %q; use file://, datagen:// or kafka://", u.Scheme, kafka.RedactURL(raw))
	}
	return spec
}

// open creates the weir source of the spec. Problems (a glob that matches
// nothing) are recorded against the flag.
func (s sourceSpec) open(f *flagSet, flagName string) source.Source[string] {
	if s.kafka != nil {
		src, err := s.kafka.open()
		if err != nil {
			f.problem(flagName, "%v", err)
			return nil
		}
		return src
	}
	if s.file {
		var opts []file.SourceOption
		if s.follow {
			opts = append(opts, file.Follow())
		}
		src, err := file.NewSource(s.pattern, opts...)
		if err != nil {
			for _, e := range splitErrors(err) {
				if errors.Is(e, file.ErrNoMatch) {
					f.problem(flagName, "file: %q matches no file; check the path, or add ?follow=true to wait for files to appear", s.pattern)
					continue
				}
				for _, line := range strings.Split(e.Error(), "\n") {
					f.problem(flagName, "%s", line)
				}
			}
			return nil
		}
		return src
	}
	var opts []datagen.SourceOption
	for _, o := range s.gen {
		opts = append(opts, o)
	}
	if s.rate > 0 {
		opts = append(opts, datagen.Rate(s.rate))
	}
	if s.limit >= 0 {
		opts = append(opts, datagen.Limit(s.limit))
	}
	src, err := datagen.NewSource(opts...)
	if err != nil {
		f.problem(flagName, "%v", err)
		return nil
	}
	return src
}

// splitErrors returns the errors that err joins, or err.
func splitErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// sourceOptions are the operator options of the source: sources with one
// split (datagen, a followed file) run at parallelism 1 and the job spreads
// their lines; bounded file sources read byte ranges in parallel.
func (s sourceSpec) sourceOptions() []weir.OpOption {
	name := "datagen"
	switch {
	case s.file:
		name = "file"
	case s.kafka != nil:
		// Partitions spread over the job's subtasks.
		return []weir.OpOption{weir.Name("kafka")}
	}
	opts := []weir.OpOption{weir.Name(name)}
	if !s.file || s.follow {
		opts = append(opts, weir.Parallelism(1))
	}
	return opts
}

var errInvalidSyntax = errors.New("invalid syntax")

// urlErrorReason is why raw does not parse, as url.Parse says: err
// without the URL, which the messages quote redacted. It says no more
// than "invalid syntax" when raw has a password, which the reason could
// quote.
func urlErrorReason(raw string, err error) error {
	if kafka.RedactURL(raw) != raw {
		return errInvalidSyntax
	}
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
