// Package freeport hands out loopback addresses for processes that are
// told their address before they listen: a test's subprocesses and
// servers, the cluster benchmark's workers.
//
// The usual way, listening on port 0 and closing, races with every other
// listener on port 0 in the meantime: the kernel may give the port that was
// just closed to a broker, a server or another process of the test before
// the process it was meant for binds it ("address already in use"). Ports
// handed out here lie below the kernel's ephemeral range, which it never
// gives to a listener on port 0.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
)

// lowest is the lowest port handed out; the ephemeral range must start
// well above it for the ports below it to be used.
const lowest = 10000

var handedOut sync.Map // address → true

// Loopback returns "127.0.0.1:PORT" with a port that was free a moment
// ago and that no other call in this process returned. Where the ephemeral
// range is not known (not Linux) or leaves no room below it, the port is
// one the kernel chose for port 0, as before.
func Loopback() (string, error) {
	if lo := ephemeralLow(); lo > lowest+1000 {
		for range 1000 {
			addr := fmt.Sprintf("127.0.0.1:%d", lowest+rand.IntN(lo-lowest))
			if _, taken := handedOut.LoadOrStore(addr, true); taken {
				continue
			}
			if l, err := net.Listen("tcp", addr); err == nil {
				l.Close()
				return addr, nil
			}
		}
	}
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("freeport: listen on a loopback port: %w", err)
		}
		addr := l.Addr().String()
		l.Close()
		if _, taken := handedOut.LoadOrStore(addr, true); !taken {
			return addr, nil
		}
	}
	return "", fmt.Errorf("freeport: no free loopback port found")
}

// ephemeralLow returns the first port of the kernel's ephemeral range, or 0
// if it is not known.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	var lo, hi int
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil {
		return 0
	}
	return lo
}
