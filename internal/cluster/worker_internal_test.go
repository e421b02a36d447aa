package cluster

import (
	"net"
	"testing"
)

// TestAdvertisedPortZero: a worker told to advertise port 0 advertises
// the port its listener got; any other address stays as given.
func TestAdvertisedPortZero(t *testing.T) {
	got := &net.TCPAddr{IP: net.IPv4(0, 0, 0, 0), Port: 41234}
	for adv, want := range map[string]string{
		"127.0.0.1:0":      "127.0.0.1:41234",
		"worker-3.weir:0":  "worker-3.weir:41234",
		"[::1]:0":          "[::1]:41234",
		"127.0.0.1:7000":   "127.0.0.1:7000",
		"worker-3.weir:70": "worker-3.weir:70",
	} {
		if a := advertised(adv, got); a != want {
			t.Errorf("advertised(%q) = %q, want %q", adv, a, want)
		}
	}
}
