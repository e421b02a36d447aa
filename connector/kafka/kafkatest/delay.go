package kafkatest

import (
	"encoding/binary"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DelayFunc says how long a request waits before the broker sees it; zero
// or less lets it through at once. It is called from the goroutines that
// read the broker's connections, several at a time, and must not block.
// The request is a decoded copy: changing it changes nothing.
type DelayFunc func(kmsg.Request) time.Duration

// maxInspected bounds the requests the delays see: a larger one (a big
// produce) is passed through as it comes, unseen, rather than held in
// memory whole.
const maxInspected = 1 << 20

// Delay adds fn to the broker's delays and returns the function that
// removes it. Every request the broker reads from a client is first shown
// to each delay, and waits the longest time they return. It waits in its
// own connection: the broker meanwhile answers the requests of every other
// connection, while the requests behind it on its connection wait behind
// it, since a broker answers a connection's requests in order. A request
// already waiting when fn is removed still waits its time, or until the
// broker closes.
//
// This is how a test slows the broker down. kfake's own way,
// Cluster.SleepControl, races inside kfake, and a control function that
// sleeps without it holds up every request of every client: kfake runs
// the control functions on the one goroutine that handles all requests.
func (b *Broker) Delay(fn DelayFunc) (remove func()) {
	d := &fn
	b.delays.mu.Lock()
	b.delays.fns = append(b.delays.fns, d)
	b.delays.mu.Unlock()
	return func() {
		b.delays.mu.Lock()
		defer b.delays.mu.Unlock()
		b.delays.fns = slices.DeleteFunc(b.delays.fns, func(e *DelayFunc) bool { return e == d })
	}
}

// delays are the delays of a broker, shared by its connections.
type delays struct {
	mu  sync.Mutex
	fns []*DelayFunc // pointers, so that each is removed by identity
}

// of returns the longest delay any of fns gives req.
func (ds *delays) of(req kmsg.Request) time.Duration {
	ds.mu.Lock()
	fns := slices.Clone(ds.fns)
	ds.mu.Unlock()
	var longest time.Duration
	for _, fn := range fns {
		longest = max(longest, (*fn)(req))
	}
	return longest
}

// any reports whether there is a delay to ask.
func (ds *delays) any() bool {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return len(ds.fns) > 0
}

// delayListener hands the broker connections that hold requests back as
// the delays say.
type delayListener struct {
	net.Listener
	delays *delays
}

// listen is the broker's listen function (kfake.ListenFn).
func (ds *delays) listen(network, address string) (net.Listener, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return delayListener{Listener: ln, delays: ds}, nil
}

// Accept implements net.Listener.
func (l delayListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &delayConn{Conn: c, delays: l.delays, closed: make(chan struct{})}, nil
}

// delayConn reads a client's requests one frame (a 4-byte size, then the
// request) at a time, and gives each to the broker after its delay. The
// broker reads a connection from one goroutine at a time; Close may come
// from another, and ends a wait.
type delayConn struct {
	net.Conn
	delays *delays

	pending []byte // read from the client, not yet given to the broker
	remain  int    // bytes of an unseen frame still to pass through

	closeOnce sync.Once
	closed    chan struct{}
}

// Read implements net.Conn.
func (c *delayConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 && c.remain == 0 {
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if len(p) > c.remain {
		p = p[:c.remain]
	}
	n, err := c.Conn.Read(p)
	c.remain -= n
	return n, err
}

// next reads the next frame's size and, when a delay may want to see it,
// the whole frame, and waits as long as the delays say.
func (c *delayConn) next() error {
	var size [4]byte
	if _, err := io.ReadFull(c.Conn, size[:]); err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint32(size[:]))
	if n > maxInspected || !c.delays.any() {
		c.pending, c.remain = size[:], n
		return nil
	}
	frame := make([]byte, 4+n)
	copy(frame, size[:])
	if _, err := io.ReadFull(c.Conn, frame[4:]); err != nil {
		return err
	}
	c.pending = frame
	req, ok := parseRequest(frame[4:])
	if !ok {
		return nil // the broker says what is wrong with it
	}
	if d := c.delays.of(req); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.closed:
			return net.ErrClosed
		}
	}
	return nil
}

// Close implements net.Conn; it ends a request's wait.
func (c *delayConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// parseRequest decodes a request as the broker does: the header (key,
// version, correlation ID, client ID, and tags from flexible versions on),
// then the body.
func parseRequest(frame []byte) (kmsg.Request, bool) {
	r := kbin.Reader{Src: frame}
	key, version := r.Int16(), r.Int16()
	r.Int32()
	r.NullableString()
	req := kmsg.RequestForKey(key)
	if req == nil || !r.Ok() {
		return nil, false
	}
	req.SetVersion(version)
	if req.IsFlexible() {
		kmsg.SkipTags(&r)
	}
	if !r.Ok() || req.ReadFrom(r.Src) != nil {
		return nil, false
	}
	return req, true
}
