package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Bridge is a network's Linux bridge: the gateway address lives on it.
type Bridge struct {
	Name    string       `json:"name"`
	Gateway netip.Prefix `json:"gateway"` // the gateway address with the subnet's length
	MTU     int          `json:"mtu,omitempty"`
	// RouteLocalnet lets DNAT'd connections from the host's loopback out
	// through the bridge (root: published ports on 127.0.0.1).
	RouteLocalnet bool `json:"routeLocalnet,omitempty"`
}

// Endpoint is one interface of a container on a bridge: a veth pair whose
// host end is a port of the bridge.
type Endpoint struct {
	Bridge   string       `json:"bridge"`
	HostVeth string       `json:"hostVeth"`
	IfName   string       `json:"ifName"` // eth0, eth1 ...
	MAC      string       `json:"mac"`
	Address  netip.Prefix `json:"address"`
	Gateway  netip.Addr   `json:"gateway"`
	// DefaultRoute makes this interface the container's way out.
	DefaultRoute bool `json:"defaultRoute,omitempty"`
	MTU          int  `json:"mtu,omitempty"`
}

// handle opens netlink on the namespace at path ("" this process's own).
// The sockets are made on a thread that entered the namespace (InNS):
// netlink.NewHandleAt would switch a thread back to the host's namespace,
// which a rootless process may not do, and then hand the thread back to
// the scheduler still inside.
func handle(path string) (*netlink.Handle, error) {
	var h *netlink.Handle
	err := InNS(path, func() error {
		var err error
		h, err = netlink.NewHandle()
		return err
	})
	return h, err
}

// EnsureBridge makes the bridge exist and be up with its gateway address in
// the namespace at nsPath; it reports whether it had to create it.
func EnsureBridge(nsPath string, b Bridge) (bool, error) {
	h, err := handle(nsPath)
	if err != nil {
		return false, err
	}
	defer h.Close()
	created := false
	link, err := h.LinkByName(b.Name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return false, fmt.Errorf("looking up bridge %s: %w", b.Name, err)
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = b.Name
		attrs.MTU = b.MTU
		// A fixed address: a bridge without one takes its lowest port's,
		// which changes as containers come and go.
		attrs.HardwareAddr = MACFromIP(b.Gateway.Addr())
		br := &netlink.Bridge{LinkAttrs: attrs}
		if err := h.LinkAdd(br); err != nil {
			if !errors.Is(err, unix.EEXIST) {
				return false, fmt.Errorf("creating bridge %s: %w", b.Name, err)
			}
		} else {
			created = true
		}
		if link, err = h.LinkByName(b.Name); err != nil {
			return false, fmt.Errorf("looking up bridge %s: %w", b.Name, err)
		}
	}
	if link.Type() != "bridge" {
		return false, fmt.Errorf("the interface %s exists and is not a bridge: remove it, or name the bridge otherwise (-o com.docker.network.bridge.name=...)", b.Name)
	}
	addr := &netlink.Addr{IPNet: prefixNet(b.Gateway)}
	if err := h.AddrAdd(link, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return false, fmt.Errorf("adding %s to bridge %s: %w", b.Gateway, b.Name, err)
	}
	if b.RouteLocalnet {
		SetSysctl(nsPath, "net/ipv4/conf/"+b.Name+"/route_localnet", "1")
	}
	if err := h.LinkSetUp(link); err != nil {
		return false, fmt.Errorf("bringing bridge %s up: %w", b.Name, err)
	}
	return created, nil
}

// DeleteLink removes an interface (a bridge, or a veth and its peer) from
// the namespace at nsPath; a missing one is no error.
func DeleteLink(nsPath, name string) error {
	h, err := handle(nsPath)
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return err
	}
	if err := h.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("deleting %s: %w", name, err)
	}
	return nil
}

// LinkExists reports whether an interface exists in the namespace at nsPath.
func LinkExists(nsPath, name string) bool {
	h, err := handle(nsPath)
	if err != nil {
		return false
	}
	defer h.Close()
	_, err = h.LinkByName(name)
	return err == nil
}

// Attach connects the container whose network namespace is at ctrNS to the
// bridges in bridgeNS ("" the host's): one veth pair per endpoint, the
// container's end renamed, addressed and up, the default route through
// the endpoint that has it. Loopback is brought up too.
func Attach(bridgeNS, ctrNS string, eps []Endpoint) error {
	bh, err := handle(bridgeNS)
	if err != nil {
		return err
	}
	defer bh.Close()
	cns, err := netns.GetFromPath(ctrNS)
	if err != nil {
		return fmt.Errorf("opening the container's network namespace: %w", err)
	}
	defer cns.Close()
	ch, err := handle(ctrNS)
	if err != nil {
		return err
	}
	defer ch.Close()
	if lo, err := ch.LinkByName("lo"); err == nil {
		ch.LinkSetUp(lo)
	}
	ContainerSysctls(ctrNS)
	for _, ep := range eps {
		if err := attachOne(bh, ch, cns, ep); err != nil {
			return err
		}
	}
	return nil
}

func attachOne(bh, ch *netlink.Handle, cns netns.NsHandle, ep Endpoint) error {
	br, err := bh.LinkByName(ep.Bridge)
	if err != nil {
		return fmt.Errorf("the bridge %s is gone: %w", ep.Bridge, err)
	}
	mac, err := net.ParseMAC(ep.MAC)
	if err != nil {
		return fmt.Errorf("invalid MAC address %q: %w", ep.MAC, err)
	}
	mtu := ep.MTU
	if mtu == 0 {
		mtu = br.Attrs().MTU
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = ep.HostVeth
	attrs.MTU = mtu
	attrs.MasterIndex = br.Attrs().Index
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: ep.IfName, PeerHardwareAddr: mac, PeerNamespace: netlink.NsFd(int(cns)), PeerMTU: uint32(mtu)}
	if err := bh.LinkAdd(veth); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("creating the interface %s of %s: an interface of that name exists already", ep.IfName, ep.HostVeth)
		}
		return fmt.Errorf("creating veth pair %s: %w", ep.HostVeth, err)
	}
	host, err := bh.LinkByName(ep.HostVeth)
	if err == nil {
		err = bh.LinkSetUp(host)
	}
	if err != nil {
		return fmt.Errorf("bringing %s up: %w", ep.HostVeth, err)
	}
	peer, err := ch.LinkByName(ep.IfName)
	if err != nil {
		return fmt.Errorf("finding %s in the container: %w", ep.IfName, err)
	}
	if err := ch.AddrAdd(peer, &netlink.Addr{IPNet: prefixNet(ep.Address)}); err != nil {
		return fmt.Errorf("adding %s to %s: %w", ep.Address, ep.IfName, err)
	}
	if err := ch.LinkSetUp(peer); err != nil {
		return fmt.Errorf("bringing %s up: %w", ep.IfName, err)
	}
	if ep.DefaultRoute && ep.Gateway.IsValid() {
		route := &netlink.Route{LinkIndex: peer.Attrs().Index, Gw: net.IP(ep.Gateway.AsSlice())}
		if err := ch.RouteAdd(route); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("adding the default route via %s: %w", ep.Gateway, err)
		}
	}
	return nil
}

// NextIfName is the first ethN not present in the namespace at nsPath.
func NextIfName(nsPath string) (string, error) {
	h, err := handle(nsPath)
	if err != nil {
		return "", err
	}
	defer h.Close()
	for i := 0; i < 1000; i++ {
		name := fmt.Sprintf("eth%d", i)
		if _, err := h.LinkByName(name); err != nil {
			return name, nil
		}
	}
	return "", fmt.Errorf("no free interface name")
}

// HostRoutes lists the IPv4 destinations routed in this process's network
// namespace (the host's), to keep new subnets clear of them.
func HostRoutes() []netip.Prefix { return HostRoutesExcept("") }

// HostRoutesNotBridged is HostRoutes without the routes through bridges
// (other engines' and other roots' networks): a rootless network's subnet,
// in a namespace of its own, only needs to keep clear of the host's real
// networks.
func HostRoutesNotBridged() []netip.Prefix {
	links, err := netlink.LinkList()
	if err != nil {
		return HostRoutes()
	}
	bridges := map[int]bool{}
	for _, l := range links {
		if l.Type() == "bridge" {
			bridges[l.Attrs().Index] = true
		}
	}
	routes, err := netlink.RouteList(nil, unix.AF_INET)
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil || bridges[r.LinkIndex] {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		if a, ok := netip.AddrFromSlice(r.Dst.IP.To4()); ok && ones > 0 {
			out = append(out, netip.PrefixFrom(a, ones).Masked())
		}
	}
	return out
}

// HostRoutesExcept is HostRoutes without the routes through interface dev.
func HostRoutesExcept(dev string) []netip.Prefix {
	routes, err := netlink.RouteList(nil, unix.AF_INET)
	if err != nil {
		return nil
	}
	skip := -1
	if dev != "" {
		if l, err := netlink.LinkByName(dev); err == nil {
			skip = l.Attrs().Index
		}
	}
	var out []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil || r.LinkIndex == skip {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		if a, ok := netip.AddrFromSlice(r.Dst.IP.To4()); ok && ones > 0 {
			out = append(out, netip.PrefixFrom(a, ones).Masked())
		}
	}
	return out
}

func prefixNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}

// LinkUp brings an interface of the namespace at nsPath up.
func LinkUp(nsPath, name string) error {
	h, err := handle(nsPath)
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("finding %s: %w", name, err)
	}
	return h.LinkSetUp(link)
}

// ContainerSysctls sets what Docker sets in a container's own network
// namespace: any user may bind low ports and send pings.
func ContainerSysctls(nsPath string) {
	InNS(nsPath, func() error {
		os.WriteFile("/proc/sys/net/ipv4/ip_unprivileged_port_start", []byte("0"), 0o644)
		os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 2147483647"), 0o644)
		return nil
	})
}
