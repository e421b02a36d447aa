package kafkatest

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
)

// metadataOf returns a metadata request for one topic.
func metadataOf(topic string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	return req
}

// topicOf returns the topic a metadata request names, "" for another
// request.
func topicOf(req kmsg.Request) string {
	if m, ok := req.(*kmsg.MetadataRequest); ok && len(m.Topics) == 1 && m.Topics[0].Topic != nil {
		return *m.Topics[0].Topic
	}
	return ""
}

// TestDelayHoldsOnlyItsConnection: a delayed request waits while the
// broker answers another client's requests, and the broker's Close ends
// its wait, leaving no goroutine behind.
func TestDelayHoldsOnlyItsConnection(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	b, err := Start(Config{Topics: []string{"slow", "fast"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	held := make(chan struct{}, 1)
	b.Delay(func(req kmsg.Request) time.Duration {
		if topicOf(req) != "slow" {
			return 0
		}
		select {
		case held <- struct{}{}:
		default:
		}
		return time.Hour
	})

	slow, err := b.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slowCtx, cancelSlow := context.WithTimeout(t.Context(), time.Minute)
	defer cancelSlow()
	slowDone := make(chan error, 1)
	go func() {
		_, err := slow.Request(slowCtx, metadataOf("slow"))
		slowDone <- err
	}()
	<-held

	fast, err := b.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	resp, err := fast.Request(ctx, metadataOf("fast"))
	if err != nil {
		t.Fatalf("the other client's request: %v", err)
	}
	if m := resp.(*kmsg.MetadataResponse); len(m.Topics) != 1 || m.Topics[0].ErrorCode != 0 {
		t.Fatalf("the other client's answer: %+v", m.Topics)
	}
	select {
	case err := <-slowDone:
		t.Fatalf("the delayed request was answered (%v) before its hour", err)
	default:
	}

	b.Close()
	if err := <-slowDone; err == nil {
		t.Fatal("the delayed request was answered by a closed broker")
	}
}

// TestDelayRemoved: once removed, a delay holds no request.
func TestDelayRemoved(t *testing.T) {
	b, err := Start(Config{Topics: []string{"slow"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var (
		mu   sync.Mutex
		seen []string
	)
	remove := b.Delay(func(req kmsg.Request) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, kmsg.Key(req.Key()).Name())
		if topicOf(req) == "slow" {
			return time.Millisecond
		}
		return 0
	})
	cl, err := b.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := cl.Request(ctx, metadataOf("slow")); err != nil {
		t.Fatalf("a request delayed for 1ms: %v", err)
	}
	mu.Lock()
	if !slices.Contains(seen, "Metadata") {
		t.Errorf("the delay saw %v, no Metadata", seen)
	}
	mu.Unlock()

	remove()
	b.Delay(func(req kmsg.Request) time.Duration {
		if topicOf(req) == "slow" {
			return time.Hour
		}
		return 0
	})()
	if _, err := cl.Request(ctx, metadataOf("slow")); err != nil {
		t.Fatalf("a request after its delays were removed: %v", err)
	}
}

// TestDelayConnFrames: the frames a client writes reach the broker as
// written, whether the delays can read them, cannot (an unknown key) or
// do not see them (larger than maxInspected); the delays see each
// request they can read once.
func TestDelayConnFrames(t *testing.T) {
	client, server := net.Pipe()
	var (
		ds   delays
		seen []string // written by the reader goroutine, read after it
	)
	see := DelayFunc(func(req kmsg.Request) time.Duration {
		seen = append(seen, kmsg.Key(req.Key()).Name()+" "+topicOf(req))
		return time.Nanosecond
	})
	ds.fns = []*DelayFunc{&see}
	conn := &delayConn{Conn: server, delays: &ds, closed: make(chan struct{})}
	defer conn.Close()

	formatter := kmsg.NewRequestFormatter(kmsg.FormatterClientID("test"))
	unknown := binary.BigEndian.AppendUint32(nil, 8)
	unknown = append(unknown, 0x7f, 0x00, 0, 0, 0, 0, 0, 1) // key 32512, version 0, correlation 1
	large := binary.BigEndian.AppendUint32(nil, maxInspected+1)
	large = append(large, bytes.Repeat([]byte{0xab}, maxInspected+1)...)
	meta := metadataOf("t")
	meta.SetVersion(12) // flexible: a header with tags
	frames := [][]byte{
		formatter.AppendRequest(nil, metadataOf("a"), 1),
		unknown,
		large,
		formatter.AppendRequest(nil, meta, 2),
		formatter.AppendRequest(nil, kmsg.NewPtrApiVersionsRequest(), 3),
	}
	go func() {
		for _, f := range frames {
			if _, err := client.Write(f); err != nil {
				return
			}
		}
		client.Close()
	}()
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.Join(frames, nil); !bytes.Equal(got, want) {
		t.Fatalf("the broker read %d bytes, not the %d written as written", len(got), len(want))
	}
	if want := []string{"Metadata a", "Metadata t", "ApiVersions "}; !slices.Equal(seen, want) {
		t.Errorf("the delays saw %q, want %q", seen, want)
	}
}
