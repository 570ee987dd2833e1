package harness

import (
	"net"
	"strconv"
	"testing"
)

func TestFreePortCanBeListenedOn(t *testing.T) {
	port := FreePort(t)
	if port <= 0 || port > 65535 {
		t.Fatalf("FreePort = %d", port)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("listen on the free port %d: %v", port, err)
	}
	_ = ln.Close()
}

func TestFreeAddrIsALoopbackHostPort(t *testing.T) {
	addr := FreeAddr(t)
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("FreeAddr = %q (%v), want 127.0.0.1:N", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	_ = ln.Close()
}

// A port from FreePort is never one the kernel would give an outgoing connection (on Linux, where
// the range can be read).
func TestFreePortIsBelowTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	if low <= firstPort+1000 {
		// No range to stay below (not Linux, or a range starting low): the kernel's port serves.
		low = 65536
	}
	for range 50 {
		if p := FreePort(t); p < firstPort || p >= low {
			t.Fatalf("FreePort = %d, want in [%d, %d)", p, firstPort, low)
		}
	}
}
