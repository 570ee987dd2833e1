package clientmeta

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestSpecialUseAddressesAreRefused(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"}, // IPv4-mapped: the same socket as 127.0.0.1
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.0.10", "private"},
		{"::ffff:192.168.0.10", "private"},
		{"fc00::1", "unique local"},
		{"fd00:ec2::254", "unique local"}, // AWS IMDS over IPv6
		{"169.254.169.254", "link-local"}, // cloud metadata
		{"::ffff:169.254.169.254", "link-local"},
		{"169.254.0.1", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"}, // zoned: matches no prefix, still refused
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.100.100.200", "carrier-grade NAT"}, // Alibaba Cloud metadata
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"192.0.2.1", "documentation"},
		{"198.18.0.1", "benchmarking"},
		{"192.0.0.8", "IETF protocol"},
		{"::7f00:1", "IPv4-compatible"}, // ::127.0.0.1, deprecated form
		{"64:ff9b::7f00:1", "NAT64"},    // 127.0.0.1 through a NAT64 gateway
		{"64:ff9b::a9fe:a9fe", "NAT64"}, // 169.254.169.254 through NAT64
		{"2002:7f00:1::1", "6to4"},      // embeds 127.0.0.1
		{"2001:0:4136:e378::1", "Teredo"},
		{"2001:db8::1", "documentation"},
		{"fec0::1", "site-local"},
		{"100::1", "discard"},
		{"4000::1", "outside IPv6 global unicast"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			got := specialUse(netip.MustParseAddr(tc.addr))
			if !strings.Contains(got, tc.want) {
				t.Fatalf("specialUse(%s) = %q, want it to say %q", tc.addr, got, tc.want)
			}
		})
	}
}

func TestPublicAddressesAreAllowed(t *testing.T) {
	for _, a := range []string{
		"8.8.8.8", "1.1.1.1", "93.184.215.14", "100.63.255.255", "100.128.0.0", "172.15.255.255",
		"172.32.0.0", "192.169.0.1", "223.255.255.255", "::ffff:8.8.8.8",
		"2001:4860:4860::8888", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e",
	} {
		if got := specialUse(netip.MustParseAddr(a)); got != "" {
			t.Errorf("specialUse(%s) = %q, want a public address", a, got)
		}
	}
}

func TestTheDialHookJudgesTheAddressAboutToBeDialled(t *testing.T) {
	for _, tc := range []struct {
		name          string
		allowLoopback bool
		network       string
		address       string
		refused       bool
	}{
		{"a public IPv4 address", false, "tcp4", "93.184.215.14:443", false},
		{"a public IPv6 address", false, "tcp6", "[2606:4700:4700::1111]:443", false},
		{"loopback", false, "tcp4", "127.0.0.1:443", true},
		{"IPv6 loopback", false, "tcp6", "[::1]:443", true},
		{"an IPv4-mapped metadata address", false, "tcp6", "[::ffff:169.254.169.254]:80", true},
		{"loopback in dev mode", true, "tcp4", "127.0.0.1:443", false},
		{"IPv6 loopback in dev mode", true, "tcp6", "[::1]:443", false},
		{"IPv4-mapped loopback in dev mode", true, "tcp6", "[::ffff:127.0.0.2]:443", false},
		{"a private address in dev mode", true, "tcp4", "10.0.0.1:443", true},
		{"a private IPv6 address in dev mode", true, "tcp6", "[fd00::1]:443", true},
		{"the cloud metadata address in dev mode", true, "tcp4", "169.254.169.254:80", true},
		{"an IPv4-mapped metadata address in dev mode", true, "tcp6", "[::ffff:169.254.169.254]:80", true},
		{"IPv6 link-local in dev mode", true, "tcp6", "[fe80::1%eth0]:80", true},
		{"the unspecified address in dev mode", true, "tcp4", "0.0.0.0:443", true},
		{"UDP, even in dev mode", true, "udp4", "8.8.8.8:53", true},
		{"an address that is not ip:port", false, "tcp4", "example.com:443", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dialControl(tc.allowLoopback)(tc.network, tc.address, nil)
			if tc.refused != (err != nil) {
				t.Fatalf("dial hook(%s %s) = %v, refused want %v", tc.network, tc.address, err, tc.refused)
			}
			if err != nil && !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("error %v is not ErrForbiddenAddress", err)
			}
		})
	}
}
