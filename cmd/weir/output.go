package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/connector/stdout"
	"github.com/weirstream/weir/sink"
)

// --sink and --dead-letter of weir pvuv: stdout, a file, and for --sink a
// Kafka topic (url_kafka.go) or a Redis database (url_redis.go).

const sinkUsage = `where the window results go: stdout; file:///path/to/pvuv.jsonl (JSON
lines; exactly-once with --checkpoint-dir); kafka://HOST:PORT/TOPIC (the
same JSON lines, one record per window, keyed by window start; exactly-once
with transactions by default, which needs --checkpoint-dir;
?delivery=at-least-once|none, ?txn-prefix=ID, and the Kafka connection
parameters below); redis://HOST:PORT/DB (?prefix=weir:pvuv; key layout in
the README; idempotent writes make the results exactly-once with
--checkpoint-dir)`

// sinkForms are the forms of --sink, for the problem of a value that is
// none of them.
const sinkForms = "stdout, file:///path/to/pvuv.jsonl, kafka://HOST:PORT/TOPIC, or redis://HOST:PORT/DB (rediss:// for TLS)"

// outputSpec is a parsed --sink or --dead-letter URL: one of its fields
// is set.
type outputSpec struct {
	stdout bool
	path   string // a file
	kafka  *kafkaOutput
	redis  *redisOutput
}

// parseSinkOutput parses --sink.
func parseSinkOutput(f *flagSet, flagName, raw string) outputSpec {
	if raw == "stdout" || raw == "-" {
		return outputSpec{stdout: true}
	}
	if u, err := url.Parse(raw); err == nil {
		switch u.Scheme {
		case "file":
			return parseFileOutput(f, flagName, raw, u)
		case "kafka":
			return outputSpec{kafka: parseKafkaSink(f, flagName, raw)}
		case "redis", "rediss":
			return outputSpec{redis: parseRedisSink(f, flagName, u)}
		}
	}
	f.problem(flagName, "%q is not an output; write %s", kafka.RedactURL(raw), sinkForms)
	return outputSpec{}
}

// parseDeadLetter parses --dead-letter: a file.
func parseDeadLetter(f *flagSet, flagName, raw string) outputSpec {
	if raw == "stdout" || raw == "-" {
		f.problem(flagName, "%q is not allowed here: the results go there; write file:///path/to/bad.jsonl", raw)
		return outputSpec{}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "file" {
		f.problem(flagName, "%q is not an output; write file:///path/to/bad.jsonl", kafka.RedactURL(raw))
		return outputSpec{}
	}
	return parseFileOutput(f, flagName, raw, u)
}

// outputs are the sinks of a job's window results and bad lines that
// write to stdout or to files.
//
// With checkpoints, files are written by the file connector's sink,
// exactly once: a window appears in the file once the checkpoint after
// it completed (or at the end of the input), and a restart after a crash
// neither loses nor repeats one.
//
// Without checkpoints the command creates the files itself, and the
// stdout connector's sink writes every line to them at once
// (LineBuffered), as to stdout: windows show in the file as they close,
// and a job stopped with Ctrl-C, whose writers are closed without a
// Flush, has written every window it computed. The file connector's sink
// does not fit there: without checkpoints it buffers 64 KiB until the end
// of the input, and its Close drops the buffer.
type outputs struct {
	results sink.Sink[pvuv.Result]  // nil for Kafka and Redis, which the job's caller sets
	bad     sink.Sink[pvuv.BadLine] // nil when bad lines are only counted
	files   []outputFile            // created here, closed by close
}

// outputFile is a file the command created, and its flag.
type outputFile struct {
	flag string
	f    *os.File
}

// openOutputs returns the outputs of --sink out, unless it is Kafka or
// Redis, and of --dead-letter dead, if hasDead. It creates the files of a
// job without checkpoints now, truncating them; the error names the flag.
func openOutputs(out, dead outputSpec, hasDead, checkpointed bool, w io.Writer) (outputs, error) {
	var o outputs
	var err error
	switch {
	case out.kafka != nil || out.redis != nil:
	case out.stdout:
		o.results, err = sinkOf[pvuv.Result](stdout.NewSink[pvuv.Result](w, stdout.LineBuffered()))
	case checkpointed:
		o.results, err = sinkOf[pvuv.Result](file.NewSink[pvuv.Result](out.path))
	default:
		var f *os.File
		if f, err = o.create("sink", out.path); err == nil {
			o.results, err = sinkOf[pvuv.Result](stdout.NewSink[pvuv.Result](f, stdout.LineBuffered()))
		}
	}
	if err != nil {
		o.close()
		return o, fmt.Errorf("--sink: %w", err)
	}
	switch {
	case !hasDead:
	case checkpointed:
		o.bad, err = sinkOf[pvuv.BadLine](file.NewSink[pvuv.BadLine](dead.path))
	default:
		var f *os.File
		if f, err = o.create("dead-letter", dead.path); err == nil {
			// Each bad line is one write: bad lines are few, and a job
			// stopped at any moment has written those it found.
			o.bad, err = sinkOf[pvuv.BadLine](stdout.NewSink[pvuv.BadLine](f, stdout.LineBuffered()))
		}
	}
	if err != nil {
		o.close()
		return o, fmt.Errorf("--dead-letter: %w", err)
	}
	return o, nil
}

// sinkOf returns what a connector's constructor returned as a sink.Sink,
// nil with the error: a nil *Sink in an interface would not be nil.
func sinkOf[T any](s sink.Sink[T], err error) (sink.Sink[T], error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// create creates the output file of the flag; the caller names the flag
// in the error.
func (o *outputs) create(flag, path string) (*os.File, error) {
	f, err := createOutput(path)
	if err != nil {
		return nil, err
	}
	o.files = append(o.files, outputFile{flag, f})
	return f, nil
}

// close closes the files the command created, after the job ended; the
// error names the flag.
func (o outputs) close() error {
	var errs []error
	for _, of := range o.files {
		if err := of.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", of.flag, err))
		}
	}
	return errors.Join(errs...)
}

// Results are written by their own AppendJSON, in the form the README
// shows; bad lines by encoding/json, as {"line":...,"reason":...}, with
// bytes of the line that are not UTF-8 as U+FFFD.
var _ stdout.JSONAppender = pvuv.Result{}
