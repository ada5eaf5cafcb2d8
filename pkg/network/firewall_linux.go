package network

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// FirewallNet is a bridge network as the rules see it.
type FirewallNet struct {
	Subnet   netip.Prefix
	Internal bool // no way in or out of its subnet
	// Masquerade gives outgoing connections the host's address.
	Masquerade bool
}

// DNAT is a published port forwarded by the kernel (root).
type DNAT struct {
	Proto         string     // tcp or udp
	HostIP        netip.Addr // invalid: every local address
	HostPort      uint16
	ContainerIP   netip.Addr
	ContainerPort uint16
}

// Firewall is the nftables ruleset of tug's networks in one network
// namespace: one table of tug's own, replaced whole and atomically.
//
//   - forward: traffic within a subnet passes; between two tug subnets it is
//     dropped (isolation), as is all of an internal network's traffic out of
//     its subnet; new connections from elsewhere into a subnet are dropped
//     unless DNAT'd (a published port).
//   - postrouting: masquerade of what leaves a subnet; hairpin of DNAT'd
//     connections within one; root's loopback clients of published ports.
//   - prerouting/output: DNAT of published ports to local addresses.
type Firewall struct {
	NSPath string // "" this process's namespace
	Table  string
	Nets   []FirewallNet
	Ports  []DNAT
	// LoopbackDNAT makes published ports answer on 127.0.0.1 (root).
	LoopbackDNAT bool
}

// conn opens one lasting nftables connection in the namespace at nsPath
// (see handle for why the socket is made on a thread of InNS).
func conn(nsPath string) (*nftables.Conn, error) {
	var c *nftables.Conn
	err := InNS(nsPath, func() error {
		var err error
		c, err = nftables.New(nftables.AsLasting())
		return err
	})
	return c, err
}

// Digest identifies the rules fw loads.
func (fw Firewall) Digest() string {
	b, _ := json.Marshal(fw)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Apply replaces the table with the rules for fw, in one transaction.
func (fw Firewall) Apply() error {
	c, err := conn(fw.NSPath)
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: fw.Table}
	// add+delete+add: the transaction replaces the table whether it existed or not.
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	accept := nftables.ChainPolicyAccept
	forward := c.AddChain(&nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &accept})
	add := func(ch *nftables.Chain, exprs ...expr.Any) {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: exprs})
	}
	for _, n := range fw.Nets {
		// Within the subnet (bridged traffic seen through br_netfilter).
		add(forward, cat(match(12, n.Subnet, true), match(16, n.Subnet, true), verdict(expr.VerdictAccept))...)
		add(forward, cat(match(16, n.Subnet, true), ctStatus(0x20 /* IPS_DST_NAT */), verdict(expr.VerdictAccept))...)
		for _, o := range fw.Nets {
			if o.Subnet != n.Subnet {
				add(forward, cat(match(12, o.Subnet, true), match(16, n.Subnet, true), verdict(expr.VerdictDrop))...)
			}
		}
		if n.Internal {
			add(forward, cat(match(12, n.Subnet, true), verdict(expr.VerdictDrop))...)
			add(forward, cat(match(16, n.Subnet, true), verdict(expr.VerdictDrop))...)
			continue
		}
		add(forward, cat(match(16, n.Subnet, true), ctState(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), verdict(expr.VerdictAccept))...)
		add(forward, cat(match(16, n.Subnet, true), verdict(expr.VerdictDrop))...)
		add(post, cat(match(12, n.Subnet, true), match(16, n.Subnet, true), ctStatus(0x20), []expr.Any{&expr.Masq{}})...)
		if n.Masquerade {
			add(post, cat(match(12, n.Subnet, true), match(16, n.Subnet, false), []expr.Any{&expr.Masq{}})...)
		}
		if fw.LoopbackDNAT {
			add(post, cat(match(12, netip.MustParsePrefix("127.0.0.0/8"), true), match(16, n.Subnet, true), []expr.Any{&expr.Masq{}})...)
		}
	}
	if len(fw.Ports) > 0 {
		pre := c.AddChain(&nftables.Chain{Name: "prerouting", Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest, Policy: &accept})
		out := c.AddChain(&nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest, Policy: &accept})
		ports := c.AddChain(&nftables.Chain{Name: "ports", Table: t})
		toPorts := []expr.Any{
			&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
			&expr.Verdict{Kind: expr.VerdictJump, Chain: "ports"},
		}
		add(pre, toPorts...)
		add(out, toPorts...)
		for _, p := range fw.Ports {
			var e []expr.Any
			if p.HostIP.IsValid() {
				e = append(e, match(16, netip.PrefixFrom(p.HostIP, 32), true)...)
			}
			proto := byte(unix.IPPROTO_TCP)
			if p.Proto == "udp" {
				proto = unix.IPPROTO_UDP
			}
			e = append(e,
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(p.HostPort)},
				&expr.Immediate{Register: 1, Data: p.ContainerIP.AsSlice()},
				&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.ContainerPort)},
				&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
			)
			add(ports, e...)
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("setting up the firewall rules (nftables table %s): %w", fw.Table, err)
	}
	return nil
}

// Remove deletes the table; a missing one is no error.
func (fw Firewall) Remove() error {
	c, err := conn(fw.NSPath)
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if t.Name == fw.Table {
			c.DelTable(t)
			if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("removing the nftables table %s: %w", fw.Table, err)
			}
		}
	}
	return nil
}

func cat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// match compares the IPv4 header's source (offset 12) or destination (16)
// address with a subnet.
func match(offset uint32, p netip.Prefix, in bool) []expr.Any {
	p = p.Masked()
	op := expr.CmpOpEq
	if !in {
		op = expr.CmpOpNeq
	}
	mask := prefixNet(p).Mask
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte(mask), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: op, Register: 1, Data: p.Addr().AsSlice()},
	}
}

func ctState(bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0, 0, 0, 0}},
	}
}

func ctStatus(bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0, 0, 0, 0}},
	}
}

func verdict(k expr.VerdictKind) []expr.Any { return []expr.Any{&expr.Verdict{Kind: k}} }
