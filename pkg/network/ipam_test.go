package network

import (
	"net/netip"
	"testing"
)

func TestFreeSubnetAndAllocate(t *testing.T) {
	pools := Pools()
	if pools[0] != DefaultSubnet || pools[1].String() != "172.18.0.0/16" || pools[15].String() != "192.168.0.0/20" {
		t.Fatalf("pools: %v", pools[:16])
	}
	used := []netip.Prefix{DefaultSubnet, netip.MustParsePrefix("172.18.5.0/24")}
	if p, ok := FreeSubnet(pools, used); !ok || p.String() != "172.19.0.0/16" {
		t.Fatalf("FreeSubnet: %v", p)
	}
	subnet := netip.MustParsePrefix("172.18.0.0/16")
	taken := map[netip.Addr]bool{netip.MustParseAddr("172.18.0.1"): true, netip.MustParseAddr("172.18.0.2"): true}
	ip, err := AllocateIP(subnet, netip.Prefix{}, func(a netip.Addr) bool { return taken[a] })
	if err != nil || ip.String() != "172.18.0.3" {
		t.Fatalf("AllocateIP: %v %v", ip, err)
	}
	ip, err = AllocateIP(subnet, netip.MustParsePrefix("172.18.7.0/24"), func(a netip.Addr) bool { return false })
	if err != nil || ip.String() != "172.18.7.0" {
		t.Fatalf("AllocateIP in a range: %v %v", ip, err)
	}
	small := netip.MustParsePrefix("10.0.0.0/30")
	if _, err := AllocateIP(small, netip.Prefix{}, func(a netip.Addr) bool { return a.String() != "10.0.0.3" && a.String() != "10.0.0.0" }); err == nil {
		t.Fatal("the broadcast address was handed out")
	}
	if Broadcast(netip.MustParsePrefix("10.1.0.0/16")).String() != "10.1.255.255" || Broadcast(netip.MustParsePrefix("10.1.2.8/29")).String() != "10.1.2.15" {
		t.Fatal("Broadcast")
	}
	if MACFromIP(netip.MustParseAddr("172.17.0.2")).String() != "02:42:ac:11:00:02" {
		t.Fatal("MACFromIP")
	}
}

func TestValidateSubnet(t *testing.T) {
	s := netip.MustParsePrefix("10.1.0.0/16")
	if err := ValidateSubnet(s, netip.MustParseAddr("10.1.0.254"), netip.MustParsePrefix("10.1.2.0/24")); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func() error{
		func() error {
			return ValidateSubnet(netip.MustParsePrefix("10.1.0.1/16"), netip.Addr{}, netip.Prefix{})
		},
		func() error { return ValidateSubnet(s, netip.MustParseAddr("10.2.0.1"), netip.Prefix{}) },
		func() error { return ValidateSubnet(s, netip.MustParseAddr("10.1.0.0"), netip.Prefix{}) },
		func() error { return ValidateSubnet(s, netip.Addr{}, netip.MustParsePrefix("10.2.0.0/24")) },
		func() error {
			return ValidateSubnet(netip.MustParsePrefix("10.0.0.0/31"), netip.Addr{}, netip.Prefix{})
		},
		func() error { return ValidateSubnet(netip.MustParsePrefix("fd00::/64"), netip.Addr{}, netip.Prefix{}) },
	} {
		if bad() == nil {
			t.Error("a bad subnet was accepted")
		}
	}
}
