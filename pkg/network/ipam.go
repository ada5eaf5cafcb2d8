// Package network holds the pieces of tug's container networking that do
// not need the engine: address management, bridges and veth pairs in a
// network namespace, the nftables rules for isolation, NAT and published
// ports, the DNS server of user-defined networks, the published-port
// forwarder and slirp4netns. libpod decides what to set up; this package
// sets it up.
package network

import (
	"fmt"
	"net"
	"net/netip"
)

// DefaultSubnet is the default bridge network's subnet (as Docker's), when free.
var DefaultSubnet = netip.MustParsePrefix("172.17.0.0/16")

// Pools are the subnets networks get when none is given, in order:
// Docker's 172.17-31.0.0/16, then 192.168.0.0/16 cut into /20s.
func Pools() []netip.Prefix {
	var out []netip.Prefix
	for i := 17; i <= 31; i++ {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(i), 0, 0}), 16))
	}
	for i := 0; i < 256; i += 16 {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(i), 0}), 20))
	}
	return out
}

// FreeSubnet is the first pool that overlaps none of used.
func FreeSubnet(pools, used []netip.Prefix) (netip.Prefix, bool) {
	for _, p := range pools {
		if !OverlapsAny(p, used) {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// OverlapsAny reports whether p overlaps one of others.
func OverlapsAny(p netip.Prefix, others []netip.Prefix) bool {
	for _, o := range others {
		if p.Overlaps(o) {
			return true
		}
	}
	return false
}

// FirstHost is the first usable address of a subnet (Docker's default gateway).
func FirstHost(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }

// Broadcast is the last address of an IPv4 subnet.
func Broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	bits := p.Bits()
	for i := 0; i < 4; i++ {
		keep := bits - 8*i
		switch {
		case keep >= 8:
		case keep <= 0:
			a[i] = 0xff
		default:
			a[i] |= byte(0xff >> keep)
		}
	}
	return netip.AddrFrom4(a)
}

// AllocateIP is the lowest address of subnet (within ipRange when valid)
// that is not the network or broadcast address and not taken.
func AllocateIP(subnet, ipRange netip.Prefix, taken func(netip.Addr) bool) (netip.Addr, error) {
	pool := subnet.Masked()
	if ipRange.IsValid() {
		pool = ipRange.Masked()
	}
	network, bcast := subnet.Masked().Addr(), Broadcast(subnet)
	for a := pool.Addr(); pool.Contains(a); a = a.Next() {
		if a == network || a == bcast || !subnet.Contains(a) {
			continue
		}
		if !taken(a) {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no free IP address left in %s", pool)
}

// MACFromIP is Docker's MAC for an IPv4 address: 02:42 then the four bytes
// of the address (172.17.0.2 -> 02:42:ac:11:00:02).
func MACFromIP(ip netip.Addr) net.HardwareAddr {
	a := ip.As4()
	return net.HardwareAddr{0x02, 0x42, a[0], a[1], a[2], a[3]}
}

// ValidateSubnet checks a user's --subnet, --gateway and --ip-range
// together, as Docker does.
func ValidateSubnet(subnet netip.Prefix, gateway netip.Addr, ipRange netip.Prefix) error {
	if !subnet.Addr().Is4() {
		return fmt.Errorf("invalid subnet %s: tug's bridge networks are IPv4", subnet)
	}
	if subnet.Bits() > 30 {
		return fmt.Errorf("invalid subnet %s: it must leave room for a gateway and a container (at most /30)", subnet)
	}
	if subnet.Masked() != subnet {
		return fmt.Errorf("invalid subnet %s: the address has bits set outside the mask, did you mean %s?", subnet, subnet.Masked())
	}
	if gateway.IsValid() && (!subnet.Contains(gateway) || gateway == subnet.Addr() || gateway == Broadcast(subnet)) {
		return fmt.Errorf("invalid gateway %s: it must be a host address of the subnet %s", gateway, subnet)
	}
	if ipRange.IsValid() {
		if !ipRange.Addr().Is4() || ipRange.Bits() < subnet.Bits() || !subnet.Contains(ipRange.Addr()) {
			return fmt.Errorf("invalid ip range %s: it must lie within the subnet %s", ipRange, subnet)
		}
		if ipRange.Masked() != ipRange {
			return fmt.Errorf("invalid ip range %s: the address has bits set outside the mask, did you mean %s?", ipRange, ipRange.Masked())
		}
	}
	return nil
}
