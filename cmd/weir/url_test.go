package main

import (
	"strings"
	"testing"

	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/source"
)

func TestParseSource(t *testing.T) {
	for _, c := range []struct {
		raw     string
		pattern string
		follow  bool
		problem string
	}{
		{raw: "file:///var/log/access.log", pattern: "/var/log/access.log"},
		{raw: "file://logs/access*.log", pattern: "logs/access*.log"},
		{raw: "file://./a.log?follow=true", pattern: "./a.log", follow: true},
		{raw: "file:///a/b%3F.log", pattern: "/a/b?.log"},
		{raw: "file:rel.log", pattern: "rel.log"},
		{raw: "file://", problem: "names no file"},
		{raw: "file:///a.log?follow=yes", problem: "follow=yes"},
		{raw: "file:///a.log?tail=1", problem: `no parameter "tail"`},
		{raw: "access.log", problem: "no scheme"},
		{raw: "kafka://broker/topic", problem: `broker "broker" is not host:port`},
		{raw: "kafka://127.0.0.1:9092/", problem: `names no topic`},
		{raw: "kafka://127.0.0.1:9092/t?start=yesterday", problem: `start=yesterday is not earliest`},
		{raw: "ftp://x/y", problem: `unknown scheme "ftp"`},
		{raw: "datagen://host", problem: "parameters only"},
		{raw: "datagen://?rate=0", problem: "rate=0"},
		{raw: "datagen://?limit=-3", problem: "limit=-3"},
		{raw: "datagen://?start=yesterday", problem: "start=yesterday"},
	} {
		f := newFlagSet("weir pvuv", "", "", "")
		spec := parseSource(f, "source", c.raw)
		if c.problem != "" {
			if len(f.problems) != 1 || !strings.Contains(f.problems[0], c.problem) || !strings.HasPrefix(f.problems[0], "--source: ") {
				t.Errorf("%s: problems %q, want one about %q", c.raw, f.problems, c.problem)
			}
			continue
		}
		if len(f.problems) > 0 || spec.pattern != c.pattern || spec.follow != c.follow {
			t.Errorf("%s: pattern %q follow %v problems %q; want %q %v", c.raw, spec.pattern, spec.follow, f.problems, c.pattern, c.follow)
		}
	}
}

func TestParseDatagen(t *testing.T) {
	f := newFlagSet("weir pvuv", "", "", "")
	spec := parseSource(f, "source", "datagen://?rate=500&limit=10&seed=9&start=2026-01-02T03:04:05Z")
	if len(f.problems) > 0 {
		t.Fatal(f.problems)
	}
	g, err := datagen.New(spec.gen...)
	if err != nil {
		t.Fatal(err)
	}
	if c := g.Config(); spec.rate != 500 || c.EventsPerSecond != 500 || spec.limit != 10 || c.Seed != 9 || c.Start.Year() != 2026 {
		t.Fatalf("spec %+v, generator %+v", spec, c)
	}
	spec = parseSource(f, "source", "datagen://")
	if spec.limit != -1 || spec.rate != 0 {
		t.Fatalf("defaults: %+v", spec)
	}
}

func TestParseOutput(t *testing.T) {
	f := newFlagSet("weir pvuv", "", "", "")
	if o := parseSinkOutput(f, "sink", "stdout"); !o.stdout {
		t.Error("stdout is not stdout")
	}
	if o := parseSinkOutput(f, "sink", "file://out/pv.jsonl"); o.path != "out/pv.jsonl" {
		t.Errorf("relative path %q", o.path)
	}
	if o := parseDeadLetter(f, "dead-letter", "file:///tmp/bad.jsonl"); o.path != "/tmp/bad.jsonl" {
		t.Errorf("dead letters to %q", o.path)
	}
	if len(f.problems) > 0 {
		t.Fatal(f.problems)
	}
	parseDeadLetter(f, "dead-letter", "stdout")
	parseSinkOutput(f, "sink", t.TempDir())
	parseSinkOutput(f, "sink", "file://"+t.TempDir())
	if len(f.problems) != 3 || !strings.Contains(f.problems[2], "is a directory") {
		t.Fatalf("problems %q", f.problems)
	}
}

func TestParseKafkaURLs(t *testing.T) {
	f := newFlagSet("weir pvuv", "", "", "")
	spec := parseSource(f, "source", "kafka://127.0.0.1:9092,127.0.0.1:9093/access?group=g&start=committed&bounded=true")
	if len(f.problems) != 0 || spec.kafka == nil {
		t.Fatalf("problems %q", f.problems)
	}
	k := spec.kafka
	if len(k.client.Brokers) != 2 || k.topic != "access" || k.group != "g" || !k.bounded || k.start.String() != kafka.Committed().String() {
		t.Fatalf("parsed %+v", k)
	}
	if src, err := k.open(); err != nil || src.Boundedness() != source.Bounded {
		t.Fatalf("open: %v, %v", src, err)
	}
	out := parseSinkOutput(f, "sink", "kafka://127.0.0.1:9092/pvuv?delivery=at-least-once&txn-prefix=p")
	if len(f.problems) != 0 || out.kafka == nil || out.kafka.delivery != kafka.AtLeastOnce || out.kafka.prefix != "p" || out.kafka.topic != "pvuv" {
		t.Fatalf("sink %+v, problems %q", out.kafka, f.problems)
	}
	out = parseSinkOutput(f, "sink", "redis://127.0.0.1:6379/2?prefix=site")
	if len(f.problems) != 0 || out.redis == nil || out.redis.prefix != "site" || out.redis.url != "redis://127.0.0.1:6379/2" {
		t.Fatalf("sink %+v, problems %q", out.redis, f.problems)
	}
	parseSinkOutput(f, "sink", "kafka://127.0.0.1:9092/pvuv?delivery=twice")
	if len(f.problems) != 1 || !strings.Contains(f.problems[0], "delivery=twice") {
		t.Fatalf("problems %q", f.problems)
	}
}
