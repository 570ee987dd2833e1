package clientmeta

import (
	"fmt"
	"net/netip"
	"syscall"
)

// The fetched URL comes from an unauthenticated client, so it must not reach vmcp's own network:
// CIMD-02 §8.6 says an authorization server MUST NOT fetch a URL that resolves to a special-use
// address (RFC 6890); CIMD-00 §6.5 already said SHOULD avoid private and loopback addresses.
//
// The check runs in the dialer's Control hook, on the address the socket is about to connect
// to. Checking a name's addresses before the request would not do: the name is resolved again
// when dialling, and an attacker's DNS can answer a public address the first time and
// 127.0.0.1 the second (DNS rebinding).

type specialPrefix struct {
	prefix netip.Prefix
	what   string
}

func mustPrefixes(list []struct{ cidr, what string }) []specialPrefix {
	out := make([]specialPrefix, len(list))
	for i, l := range list {
		out[i] = specialPrefix{netip.MustParsePrefix(l.cidr), l.what}
	}
	return out
}

// specialIPv4 is the IANA IPv4 Special-Purpose Address Registry (RFC 6890 and updates), all of
// it: none of these is a place a client's public metadata document lives.
var specialIPv4 = mustPrefixes([]struct{ cidr, what string }{
	{"0.0.0.0/8", "unspecified (\"this network\", RFC 791)"},
	{"10.0.0.0/8", "private (RFC 1918)"},
	{"100.64.0.0/10", "shared carrier-grade NAT space (RFC 6598)"},
	{"127.0.0.0/8", "loopback (RFC 1122)"},
	{"169.254.0.0/16", "link-local, where cloud metadata services live (RFC 3927)"},
	{"172.16.0.0/12", "private (RFC 1918)"},
	{"192.0.0.0/24", "IETF protocol assignments (RFC 6890)"},
	{"192.0.2.0/24", "documentation (RFC 5737)"},
	{"192.88.99.0/24", "6to4 relay anycast (RFC 7526)"},
	{"192.168.0.0/16", "private (RFC 1918)"},
	{"198.18.0.0/15", "benchmarking (RFC 2544)"},
	{"198.51.100.0/24", "documentation (RFC 5737)"},
	{"203.0.113.0/24", "documentation (RFC 5737)"},
	{"224.0.0.0/4", "multicast (RFC 5771)"},
	{"240.0.0.0/4", "reserved or broadcast (RFC 1112, RFC 919)"},
})

// specialIPv6 names the common special-purpose IPv6 ranges so the error says what was hit. Any
// IPv6 address outside global unicast 2000::/3 is refused anyway (see specialUse), which also
// covers NAT64 64:ff9b::/96 (RFC 6052), whose addresses reach IPv4 ones through a translator.
var specialIPv6 = mustPrefixes([]struct{ cidr, what string }{
	{"::/128", "unspecified (RFC 4291)"},
	{"::1/128", "loopback (RFC 4291)"},
	{"::/96", "IPv4-compatible (deprecated, RFC 4291)"},
	{"64:ff9b::/96", "NAT64 (RFC 6052)"},
	{"64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"},
	{"100::/64", "discard-only (RFC 6666)"},
	{"fc00::/7", "unique local, the IPv6 private range (RFC 4193)"},
	{"fe80::/10", "link-local (RFC 4291)"},
	{"fec0::/10", "site-local (deprecated, RFC 3879)"},
	{"ff00::/8", "multicast (RFC 4291)"},
	// Special ranges inside 2000::/3.
	{"2001::/23", "IETF protocol assignments, incl. Teredo (RFC 2928, RFC 4380)"},
	{"2001:db8::/32", "documentation (RFC 3849)"},
	{"2002::/16", "6to4, which embeds an IPv4 address (RFC 3056)"},
	{"3fff::/20", "documentation (RFC 9637)"},
})

var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// specialUse says what kind of special-use address a is, or "" for an ordinary public one.
func specialUse(a netip.Addr) string {
	if !a.IsValid() {
		return "not a valid address"
	}
	// ::ffff:127.0.0.1 is 127.0.0.1 on the wire: judge IPv4-mapped addresses as IPv4. A zone
	// (fe80::1%eth0) would make the address match no prefix at all; judge it without.
	a = a.Unmap().WithZone("")
	if a.Is4() {
		for _, p := range specialIPv4 {
			if p.prefix.Contains(a) {
				return p.what
			}
		}
		return ""
	}
	for _, p := range specialIPv6 {
		if p.prefix.Contains(a) {
			return p.what
		}
	}
	if !globalUnicast6.Contains(a) {
		return "outside IPv6 global unicast 2000::/3"
	}
	return ""
}

// dialControl is the net.Dialer Control hook. It runs after name resolution and before
// connect(2), once for every address tried, with the literal ip:port about to be dialled.
func dialControl(allowLoopback bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if network != "tcp4" && network != "tcp6" {
			return fmt.Errorf("%w: network %s", ErrForbiddenAddress, network)
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: unparsable address", ErrForbiddenAddress)
		}
		if allowLoopback && ap.Addr().Unmap().IsLoopback() {
			// vmcp dev mode: client and authorization server both run on the developer's
			// machine. CIMD-02 §8.6 allows this relaxation for development only and says it MUST
			// NOT be applied in production. Only loopback: a developer's laptop still sits on a
			// network whose router, printers and cloud metadata service (169.254.169.254) an
			// unauthenticated client's URL must not reach.
			return nil
		}
		if what := specialUse(ap.Addr()); what != "" {
			return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, ap.Addr(), what)
		}
		return nil
	}
}
