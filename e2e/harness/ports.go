package harness

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Nothing reserves it, so
// tests still wait for the process under test to be ready rather than assume it bound the
// port; a process that lost the race says so in its log, which the harness prints on failure.
//
// The port is picked below the kernel's ephemeral range: a port the kernel hands out for ":0"
// comes from the range it also takes the source ports of outgoing connections from, so any
// connection a test (or a test binary beside it) opens can take it before the process under test
// binds it — Envoy then fails with "address already in use". Below the range only another
// listener can.
func FreePort(t testing.TB) int {
	t.Helper()
	low := ephemeralLow()
	if low > firstPort+1000 {
		for range 200 {
			port := firstPort + rand.IntN(low-firstPort)
			if ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
				ln.Close()
				return port
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("harness: find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// firstPort is the lowest port FreePort picks: well above the ports services are known by.
const firstPort = 20000

// ephemeralLow is the first port of Linux's ephemeral range (32768 by default); 0 where it cannot
// be read, and FreePort then asks the kernel for a port.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	low, _ := strconv.Atoi(f[0])
	return low
}

// FreeAddr returns "127.0.0.1:N" for a port N from FreePort.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}
