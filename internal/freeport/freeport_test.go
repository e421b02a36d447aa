package freeport

import (
	"net"
	"strconv"
	"testing"
)

// TestLoopback: the addresses are free, distinct and, where the kernel
// says where its ephemeral range starts, below it, so that a listener on
// port 0 cannot take them.
func TestLoopback(t *testing.T) {
	lo := ephemeralLow()
	seen := map[string]bool{}
	for range 200 {
		addr, err := Loopback()
		if err != nil {
			t.Fatal(err)
		}
		if seen[addr] {
			t.Fatalf("%s handed out twice", addr)
		}
		seen[addr] = true
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		if lo > lowest+1000 && (port < lowest || port >= lo) {
			t.Fatalf("port %d is not below the ephemeral range, which starts at %d", port, lo)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%s is not free: %v", addr, err)
		}
		l.Close()
	}
}
