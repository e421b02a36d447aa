package kafka

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

var splitCases = []*Split{
	{Topic: "orders", Partition: 0, Offset: 0, Stop: NoStop},
	{Topic: "a-1", Partition: 7, Offset: 12345, Stop: 99999},
	{Topic: "x", Partition: math.MaxInt32, Offset: math.MaxInt64, Stop: math.MaxInt64},
	{Topic: strings.Repeat("t", maxTopicLen), Partition: 3, Offset: 5, Stop: 5},
	{Topic: "access.log_v2", Partition: 1, Stop: NoStop, known: true},
}

func TestSplitEncodeDecodeRoundTrip(t *testing.T) {
	src := &Source[string]{}
	for _, s := range splitCases {
		b, err := src.EncodeSplit(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := src.DecodeSplit(b)
		if err != nil {
			t.Fatalf("decode %v: %v", s, err)
		}
		if *got.(*Split) != *s {
			t.Fatalf("round trip: got %+v, want %+v", got, s)
		}
	}
}

// TestSplitEncodingIsStable pins the stored form of version 1: checkpoints
// written by this weir must be read by later ones.
func TestSplitEncodingIsStable(t *testing.T) {
	s := &Split{Topic: "ab", Partition: 3, Offset: 300, Stop: NoStop}
	want := []byte{1, 0, 2, 'a', 'b', 6, 0xd8, 0x04, 1}
	if got := encodeSplit(s); !bytes.Equal(got, want) {
		t.Fatalf("encoding changed: got %v, want %v", got, want)
	}
}

func TestDecodeSplitRejectsDamage(t *testing.T) {
	good := encodeSplit(&Split{Topic: "ab", Partition: 3, Offset: 300, Stop: 400})
	cases := map[string][]byte{
		"empty":          nil,
		"version 2":      append([]byte{2}, good[1:]...),
		"unknown flag":   append([]byte{1, 2}, good[2:]...),
		"truncated":      good[:len(good)-1],
		"trailing byte":  append(bytes.Clone(good), 0),
		"empty topic":    {1, 0, 0, 0, 0, 1},
		"bad topic char": {1, 0, 1, '/', 0, 0, 1},
		"long topic":     append([]byte{1, 0, 0xfa, 0x01}, bytes.Repeat([]byte{'a'}, 250)...),
		"negative part":  encodeSplit(&Split{Topic: "ab", Partition: -1, Stop: NoStop}),
		"negative off":   encodeSplit(&Split{Topic: "ab", Offset: -5, Stop: NoStop}),
		"stop below -1":  encodeSplit(&Split{Topic: "ab", Stop: -2}),
	}
	src := &Source[string]{}
	for name, b := range cases {
		if s, err := src.DecodeSplit(b); err == nil {
			t.Errorf("%s: decoded %+v, want an error", name, s)
		} else if !strings.Contains(err.Error(), "kafka: decode split") {
			t.Errorf("%s: error %q does not say what failed", name, err)
		}
	}
}

// FuzzDecodeSplit checks that DecodeSplit never panics, and that whatever
// it accepts is a valid split (a legal topic, partition and offset at
// least 0, stop at least NoStop) that encodes and decodes to itself.
func FuzzDecodeSplit(f *testing.F) {
	for _, s := range splitCases {
		f.Add(encodeSplit(s))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{1, 1, 1, 'a', 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSplit(b)
		if err != nil {
			return
		}
		if checkTopic(s.Topic) != nil || s.Partition < 0 || s.Offset < 0 || s.Stop < NoStop {
			t.Fatalf("accepted an invalid split %+v", s)
		}
		again, err := decodeSplit(encodeSplit(s))
		if err != nil || *again != *s {
			t.Fatalf("re-encoding %+v gave %+v, %v", s, again, err)
		}
	})
}

func TestSplitID(t *testing.T) {
	for _, c := range []struct {
		s    Split
		want string
	}{
		{Split{Topic: "orders", Partition: 3}, "orders-3"},
		{Split{Topic: "a-1", Partition: 0}, "a-1-0"},
		{Split{Topic: "a", Partition: 10}, "a-10"},
	} {
		if got := c.s.SplitID(); got != c.want {
			t.Errorf("SplitID of %s/%d = %q, want %q", c.s.Topic, c.s.Partition, got, c.want)
		}
	}
}

// TestSplitOwnerIsStableAndSpreads checks that a topic's partitions go
// round-robin over the subtasks, and pins where they start: the start
// comes from a fixed hash of the topic (FNV-1a), never a seeded one, so a
// partition has the same owner in every process at the same parallelism.
func TestSplitOwnerIsStableAndSpreads(t *testing.T) {
	for _, topic := range []string{"orders", "clicks", "access-log"} {
		for _, par := range []int{1, 2, 3, 4, 7} {
			counts := make([]int, par)
			start := owner(topic, 0, par)
			for p := range int32(3 * par) {
				o := owner(topic, p, par)
				if want := (start + int(p)) % par; o != want {
					t.Fatalf("owner(%q, %d, %d) = %d, want %d (round-robin from %d)", topic, p, par, o, want, start)
				}
				counts[o]++
			}
			for i, n := range counts {
				if n != 3 {
					t.Fatalf("topic %q at parallelism %d: subtask %d owns %d of %d partitions, want 3", topic, par, i, n, 3*par)
				}
			}
		}
	}
	for _, c := range []struct {
		topic string
		par   int
		want  int
	}{
		{"orders", 7, 3},
		{"access-log", 7, 1},
		{"access-log", 7000, 4376},
		{"clicks", 4, 0},
	} {
		if got := owner(c.topic, 0, c.par); got != c.want {
			t.Errorf("owner(%q, 0, %d) = %d, want %d", c.topic, c.par, got, c.want)
		}
	}
}
