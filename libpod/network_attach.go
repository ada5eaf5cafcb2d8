package libpod

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/tug-project/tug/pkg/events"
	"github.com/tug-project/tug/pkg/monitor"
	"github.com/tug-project/tug/pkg/network"
	"github.com/tug-project/tug/pkg/oci"
	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/specgen"
)

// netPlan is what one start of a container attached: its endpoints (IP
// leases, in the DB) and published ports, and what its monitor must set up.
type netPlan struct {
	endpoints []EndpointState
	ports     []PortBinding
	attach    *network.Attachment
}

// usesBridge reports whether the container joins bridge networks.
func (c *Container) usesBridge() bool {
	return c.Spec.Network == specgen.NetworkBridge || c.Spec.Network == specgen.NetworkDefault || c.Spec.Network == ""
}

// attachments are the networks the container joins, the default bridge
// for a container made before it named its networks.
func (c *Container) attachments() []specgen.NetworkAttach {
	if len(c.Spec.Networks) == 0 && c.Spec.Network == specgen.NetworkDefault {
		return []specgen.NetworkAttach{{Name: specgen.DefaultBridge}}
	}
	return c.Spec.Networks
}

// resolveNetworks fills in the IDs of the networks a new container names;
// a missing one is Docker's "network NAME not found".
func (r *Runtime) resolveNetworks(spec *specgen.Spec) error {
	if spec.Network != specgen.NetworkBridge {
		return nil
	}
	for i, a := range spec.Networks {
		n, err := r.LookupNetwork(a.Name)
		if err != nil {
			var nf *NetworkNotFoundError
			if errors.As(err, &nf) {
				return &specgen.ValidationError{Err: err}
			}
			return err
		}
		if n.Driver != DriverBridge {
			return &specgen.ValidationError{Err: fmt.Errorf("network %s cannot be combined with other networks: use --network %s alone", n.Name, n.Name)}
		}
		spec.Networks[i].ID, spec.Networks[i].Name = n.ID, n.Name
		if a.IPv4 != "" {
			ip := netip.MustParseAddr(a.IPv4)
			if !n.Subnet.Contains(ip) {
				return &specgen.ValidationError{Err: fmt.Errorf("invalid --ip %s: it is not in network %s's subnet %s", ip, n.Name, n.Subnet)}
			}
		}
	}
	return nil
}

// ExposedPortKeys are the container's exposed ports ("80/tcp"), sorted.
func (c *Container) ExposedPortKeys() []string { return c.exposedPorts() }

// exposedPorts are the image's, --expose's and -p's container ports, sorted.
func (c *Container) exposedPorts() []string {
	seen := map[string]bool{}
	var out []string
	all := append(append([]string(nil), c.ExposedPorts...), c.Spec.Expose...)
	for _, m := range c.Spec.PortMappings {
		all = append(all, m.ContainerPortKey())
	}
	for _, p := range all {
		port, proto, err := parse.ParsePortKey(p)
		if err != nil {
			continue
		}
		k := strconv.Itoa(int(port)) + "/" + proto
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		pi, _, _ := parse.ParsePortKey(out[i])
		pj, _, _ := parse.ParsePortKey(out[j])
		return pi < pj || pi == pj && out[i] < out[j]
	})
	return out
}

// wantedPorts are -p's mappings plus, with -P, one for each exposed port
// that -p does not map.
func (c *Container) wantedPorts() []parse.PortMapping {
	out := append([]parse.PortMapping(nil), c.Spec.PortMappings...)
	if c.Spec.PublishAll {
		mapped := map[string]bool{}
		for _, m := range out {
			mapped[m.ContainerPortKey()] = true
		}
		for _, k := range c.exposedPorts() {
			if mapped[k] {
				continue
			}
			p, proto, _ := parse.ParsePortKey(k)
			out = append(out, parse.PortMapping{ContainerPort: p, Protocol: proto})
		}
	}
	return out
}

// Random host ports come from Docker's range.
const (
	ephemeralFirst = 32768
	ephemeralLast  = 60999
)

// portConflictError is Docker's wording for a host port that is taken.
func (c *Container) portConflictError(addr string) error {
	return &StartError{Code: 125, Err: fmt.Errorf("driver failed programming external connectivity on endpoint %s (%s): Bind for %s failed: port is already allocated", c.Name, c.ID, addr)}
}

// takenSet is the host ports in use: "proto/port" -> the addresses ("" all).
type takenSet map[string][]string

func portKey(proto string, port uint16) string { return proto + "/" + strconv.Itoa(int(port)) }

// conflicts reports whether binding ip:port clashes: the same address,
// or either side binding every address.
func (t takenSet) conflicts(proto, ip string, port uint16) bool {
	for _, other := range t[portKey(proto, port)] {
		if other == "" || ip == "" || other == ip {
			return true
		}
	}
	return false
}

// bindPorts chooses the host ports of the wanted mappings: given ones
// must be free, random ones are the lowest free from 32768 (or in the
// given range). taken holds the ports other containers hold.
func (c *Container) bindPorts(wanted []parse.PortMapping, defaultIP string, taken takenSet) ([]PortBinding, error) {
	listening := c.rt.Rootless || c.Spec.Network == specgen.NetworkSlirp
	free := func(proto, ip string, port uint16) bool {
		return !taken.conflicts(proto, ip, port) && network.FreePort(proto, ip, port, listening)
	}
	var out []PortBinding
	for _, m := range wanted {
		ip := m.HostIP
		if ip == "" {
			ip = defaultIP
		}
		b := PortBinding{HostIP: ip, ContainerPort: m.ContainerPort, Protocol: m.Protocol}
		lo, hi := m.HostPort, m.HostPortEnd
		if m.HostPort == 0 {
			lo, hi = ephemeralFirst, ephemeralLast
		}
		if hi == 0 {
			if !free(m.Protocol, ip, lo) {
				return nil, c.portConflictError(network.Publish{HostIP: ip, HostPort: lo}.HostAddr())
			}
			b.HostPort = lo
		} else {
			for p := int(lo); p <= int(hi); p++ {
				if free(m.Protocol, ip, uint16(p)) {
					b.HostPort = uint16(p)
					break
				}
			}
			if b.HostPort == 0 {
				return nil, c.portConflictError(fmt.Sprintf("%s:%d-%d", b.HostIPOrAny(), lo, hi))
			}
		}
		k := portKey(m.Protocol, b.HostPort)
		taken[k] = append(taken[k], ip)
		out = append(out, b)
	}
	return out, nil
}

// prepareNetwork attaches the container for start number run: it leases
// an address on each of its networks, makes their bridges exist, chooses
// the host ports, and updates the firewall. The monitor then makes the
// interfaces. On error nothing stays leased.
func (c *Container) prepareNetwork(run int) (*netPlan, error) {
	r := c.rt
	atts := c.attachments()
	wanted := c.wantedPorts()
	if len(atts) == 0 {
		return &netPlan{}, nil
	}
	lock, err := r.lockNetworks()
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	trace("network: locked")
	dirty := r.gcEndpointsLocked()
	// The network host holds the bridges (and rootless, their namespace)
	// and serves DNS; it takes them down when no container is left.
	if err := r.ensureNetHost(); err != nil {
		return nil, &StartError{Code: 125, Err: err}
	}
	plan := &netPlan{attach: &network.Attachment{BridgeNS: r.bridgeNS()}}
	var nets []*Network
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	err = db.Update(context.Background(), func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM endpoints WHERE container_id = ?`, c.ID); err != nil {
			return err
		}
		taken, err := takenPorts(tx)
		if err != nil {
			return err
		}
		gateway := -1
		for i, a := range atts {
			n, err := r.networkByID(tx, a.ID)
			if err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return &StartError{Code: 125, Err: fmt.Errorf("network %s not found", a.Name)}
				}
				return err
			}
			if !r.Rootless {
				if n, err = r.claimSubnet(tx, n); err != nil {
					return err
				}
			}
			ep, err := c.lease(tx, n, a, i, run)
			if err != nil {
				return err
			}
			if gateway < 0 && !n.Internal {
				gateway = i
			}
			nets = append(nets, n)
			plan.endpoints = append(plan.endpoints, ep)
		}
		if gateway < 0 {
			gateway = 0
		}
		plan.endpoints[gateway].gatewayEndpoint()
		if len(wanted) > 0 {
			ports, err := c.bindPorts(wanted, nets[gateway].HostIP, taken)
			if err != nil {
				return err
			}
			plan.ports = ports
			plan.endpoints[gateway].Ports = ports
		}
		for _, ep := range plan.endpoints {
			b, _ := json.Marshal(ep)
			if _, err := tx.Exec(`INSERT INTO endpoints(network_id, container_id, run, ip, config) VALUES(?, ?, ?, ?, ?)`, ep.NetworkID, c.ID, run, ep.IP.String(), string(b)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if dirty {
			r.applyFirewall()
		}
		return nil, err
	}
	trace("network: leased")
	r.ensureDNS(nets)
	force := false
	undo := func(err error) (*netPlan, error) {
		r.deleteEndpoints(c.ID)
		r.applyFirewall()
		return nil, err
	}
	for i, n := range nets {
		created, err := network.EnsureBridge(r.bridgeNS(), network.Bridge{Name: n.Bridge, Gateway: netip.PrefixFrom(n.Gateway, n.Subnet.Bits()), MTU: r.mtu(n), RouteLocalnet: !r.Rootless})
		if err != nil {
			return undo(&StartError{Code: 125, Err: err})
		}
		dirty = dirty || created
		force = force || created
		if created && n.DNS && !r.Rootless {
			// Its subnet may have moved (claimSubnet).
			r.netHostSync()
		}
		ep := plan.endpoints[i]
		plan.attach.Endpoints = append(plan.attach.Endpoints, network.Endpoint{Bridge: n.Bridge, HostVeth: ep.HostVeth, IfName: ep.IfName,
			MAC: ep.MAC, Address: netip.PrefixFrom(ep.IP, ep.PrefixLen), Gateway: ep.Gateway, DefaultRoute: ep.defaultRoute, MTU: r.mtu(n)})
	}
	trace("network: bridges")
	if len(plan.ports) > 0 {
		dirty = dirty || !r.Rootless
		gw := plan.endpoints[0]
		for _, ep := range plan.endpoints {
			if len(ep.Ports) > 0 {
				gw = ep
			}
		}
		// Rootless, connections are dialled inside the container's own
		// namespace, to its address: no hop over the bridge.
		plan.attach.Ports = c.publishFor(plan.ports, gw.IP.String(), "")
	}
	if dirty {
		if err := r.loadFirewall(force); err != nil {
			return undo(&StartError{Code: 125, Err: err})
		}
		trace("network: firewall")
	}
	return plan, nil
}

// claimSubnet checks, as root, that no other interface of the host routes
// the subnet of a network about to get its first container (another data
// root's bridge, a VPN...). A subnet tug chose moves to a free one; a
// user's is refused with the reason.
func (r *Runtime) claimSubnet(tx *sql.Tx, n *Network) (*Network, error) {
	var count int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM endpoints WHERE network_id = ?`, n.ID).Scan(&count); err != nil || count > 0 {
		return n, err
	}
	routes := network.HostRoutesExcept(n.Bridge)
	if !network.OverlapsAny(n.Subnet, routes) {
		return n, nil
	}
	if !n.AutoSubnet {
		return nil, &StartError{Code: 125, Err: fmt.Errorf("network %s: its subnet %s is routed elsewhere on this host: remove what holds it, or recreate the network with another --subnet", n.Name, n.Subnet)}
	}
	used, err := usedSubnets(tx)
	if err != nil {
		return nil, err
	}
	var others []netip.Prefix
	for _, u := range used {
		if u != n.Subnet {
			others = append(others, u)
		}
	}
	subnet, ok := network.FreeSubnet(network.Pools(), append(others, routes...))
	if !ok {
		return nil, &StartError{Code: 125, Err: fmt.Errorf("network %s: no free subnet on this host", n.Name)}
	}
	n.Subnet, n.Gateway = subnet, network.FirstHost(subnet)
	b, _ := json.Marshal(n.NetworkConfig)
	_, err = tx.Exec(`UPDATE networks SET config = ? WHERE id = ?`, string(b), n.ID)
	return n, err
}

// rootlessMTU is the MTU of rootless bridges and veths when the network
// sets none: slirp4netns's, so that what leaves through it goes in large
// segments (at 1500 bytes, the user-mode TCP stack moves ~10x less).
const rootlessMTU = 65520

// mtu is the network's MTU, or the default (0: the kernel's, 1500).
func (r *Runtime) mtu(n *Network) int {
	if n.MTU == 0 && r.Rootless {
		return rootlessMTU
	}
	return n.MTU
}

// publishFor is what the monitor serves for the bindings: a user-space
// relay rootless (dialling childIP in ns), the kernel's DNAT as root (the
// monitor only holds the ports).
func (c *Container) publishFor(ports []PortBinding, childIP, ns string) *network.Ports {
	p := &network.Ports{Mode: network.PortsReserve}
	if c.rt.Rootless || c.Spec.Network == specgen.NetworkSlirp {
		p.Mode, p.ProxyNS = network.PortsProxy, ns
	}
	for _, b := range ports {
		p.Publish = append(p.Publish, network.Publish{Proto: b.Protocol, HostIP: b.HostIP, HostPort: b.HostPort, ChildIP: childIP, ChildPort: b.ContainerPort})
	}
	return p
}

// gatewayEndpoint marks the endpoint that carries the default route.
func (ep *EndpointState) gatewayEndpoint() { ep.defaultRoute = true }

// lease chooses the address and names of the container on network n.
func (c *Container) lease(tx *sql.Tx, n *Network, a specgen.NetworkAttach, index, run int) (EndpointState, error) {
	used := map[netip.Addr]bool{n.Gateway: true}
	rows, err := tx.Query(`SELECT ip FROM endpoints WHERE network_id = ?`, n.ID)
	if err != nil {
		return EndpointState{}, err
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		if ip, err := netip.ParseAddr(s); err == nil {
			used[ip] = true
		}
	}
	rows.Close()
	var ip netip.Addr
	if a.IPv4 != "" {
		ip = netip.MustParseAddr(a.IPv4)
		if used[ip] {
			return EndpointState{}, &StartError{Code: 125, Err: fmt.Errorf("failed to set up container networking: Address already in use (%s on network %s)", ip, n.Name)}
		}
		if !n.Subnet.Contains(ip) {
			return EndpointState{}, &StartError{Code: 125, Err: fmt.Errorf("invalid --ip %s: it is not in network %s's subnet %s", ip, n.Name, n.Subnet)}
		}
	} else {
		ip, err = network.AllocateIP(n.Subnet, n.IPRange, func(a netip.Addr) bool { return used[a] })
		if err != nil {
			return EndpointState{}, &StartError{Code: 125, Err: fmt.Errorf("network %s: %w", n.Name, err)}
		}
	}
	mac := a.MAC
	if mac == "" {
		mac = network.MACFromIP(ip).String()
	}
	ep := EndpointState{NetworkID: n.ID, NetworkName: n.Name, ContainerID: c.ID, EndpointID: endpointID(c.ID, n.ID, run),
		IP: ip, PrefixLen: n.Subnet.Bits(), Gateway: n.Gateway, MAC: mac, IfName: "eth" + strconv.Itoa(index),
		HostVeth: hostVethName(c.ID, n.ID, run), Bridge: n.Bridge, Aliases: a.Aliases, Run: run, Name: c.Name}
	if n.DNS {
		ep.DNSNames = append([]string{c.Name, c.ShortID()}, a.Aliases...)
	}
	return ep, nil
}

// takenPorts are the host ports the endpoints in the DB hold.
func takenPorts(tx *sql.Tx) (takenSet, error) {
	rows, err := tx.Query(`SELECT config FROM endpoints`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := takenSet{}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		var ep EndpointState
		if json.Unmarshal([]byte(s), &ep) == nil {
			for _, p := range ep.Ports {
				k := portKey(p.Protocol, p.HostPort)
				out[k] = append(out[k], p.HostIP)
			}
		}
	}
	return out, rows.Err()
}

// gcEndpointsLocked drops the leases of containers that no longer run
// (their monitor was killed, or a start was interrupted) with their host
// interfaces. It reports whether the firewall needs to be rebuilt.
func (r *Runtime) gcEndpointsLocked() bool {
	db, err := r.DB()
	if err != nil {
		return false
	}
	// A lease is stale once its container is gone, or has been recorded as
	// started for the lease's run (or later) and is not running.
	const stale = `NOT EXISTS (SELECT 1 FROM containers c WHERE c.id = endpoints.container_id AND
		(IFNULL(json_extract(c.state, '$.run'), 0) < endpoints.run OR json_extract(c.state, '$.status') IN ('running', 'paused')))`
	var eps []EndpointState
	db.Update(context.Background(), func(tx *sql.Tx) error {
		rows, err := tx.Query(`SELECT config FROM endpoints WHERE ` + stale)
		if err != nil {
			return err
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			var ep EndpointState
			if json.Unmarshal([]byte(s), &ep) == nil {
				eps = append(eps, ep)
			}
		}
		rows.Close()
		if len(eps) == 0 {
			return nil
		}
		_, err = tx.Exec(`DELETE FROM endpoints WHERE ` + stale)
		return err
	})
	if len(eps) == 0 {
		return false
	}
	for _, ep := range eps {
		r.unpinNetNS(ep.ContainerID)
	}
	return r.dropInterfaces(eps, false)
}

// gcEndpoints is gcEndpointsLocked under the network lock.
func (r *Runtime) gcEndpoints() {
	lock, err := r.lockNetworks()
	if err != nil {
		return
	}
	defer lock.unlock()
	if r.gcEndpointsLocked() {
		r.applyFirewall()
	}
}

// dropInterfaces lets released endpoints' interfaces go; it reports
// whether the firewall needs rebuilding (they had published ports). A
// stopped container's veths die with its network namespace, which its
// cleanup unpins: deleting them one by one here would only wait for the
// kernel (an interface's removal waits out RCU grace periods). A live one
// (disconnect) has its veth deleted.
func (r *Runtime) dropInterfaces(eps []EndpointState, live bool) bool {
	dirty := false
	for _, ep := range eps {
		if live && r.bridgeNSReady() {
			network.DeleteLink(r.bridgeNS(), ep.HostVeth)
		}
		dirty = dirty || len(ep.Ports) > 0
	}
	return dirty
}

// unpinNetNS lets a stopped container's network namespace (and its veths)
// go.
func (r *Runtime) unpinNetNS(id string) {
	unix.Unmount(filepath.Join(r.RunRoot, "containers", id, monitor.NetNSFile), unix.MNT_DETACH)
}

// deleteEndpoints removes the container's leases (and their interfaces),
// returning them.
func (r *Runtime) deleteEndpoints(id string) []EndpointState {
	return r.deleteEndpointsWhere(`container_id = ?`, id)
}

// deleteEndpointsWhere removes the leases the condition selects, returning them.
func (r *Runtime) deleteEndpointsWhere(cond string, args ...any) []EndpointState {
	db, err := r.DB()
	if err != nil {
		return nil
	}
	var eps []EndpointState
	db.Update(context.Background(), func(tx *sql.Tx) error {
		rows, err := tx.Query(`DELETE FROM endpoints WHERE `+cond+` RETURNING config`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			rows.Scan(&s)
			var ep EndpointState
			if json.Unmarshal([]byte(s), &ep) == nil {
				eps = append(eps, ep)
			}
		}
		return rows.Err()
	})
	return eps
}

// releaseNetwork gives back everything the container's start attached:
// leases, host interfaces, firewall entries. Safe to call more than once.
func (c *Container) releaseNetwork() {
	if !c.usesBridge() {
		c.State.Networks, c.State.Ports = nil, nil
		return
	}
	r := c.rt
	trace("network: release")
	lock, err := r.lockNetworks()
	if err != nil {
		return
	}
	eps := r.deleteEndpoints(c.ID)
	trace("network: leases released")
	if len(eps) > 0 {
		r.unpinNetNS(c.ID)
		if r.dropInterfaces(eps, false) {
			r.applyFirewall()
		}
	}
	trace("network: released")
	lock.unlock()
	for _, ep := range eps {
		r.writeNetworkEventFor(ep.NetworkID, ep.NetworkName, "disconnect", c.ID)
	}
	c.State.Networks, c.State.Ports = nil, nil
}

// applyFirewall rebuilds the nftables table from the DB: every bridge
// network and, as root, the published ports.
func (r *Runtime) applyFirewall() error { return r.loadFirewall(false) }

// loadFirewall is applyFirewall; force loads the rules even when the last
// ones loaded were the same (a bridge was just made: the table may be new).
func (r *Runtime) loadFirewall(force bool) error {
	if !r.bridgeNSReady() {
		return nil
	}
	if !r.Rootless && r.netHostPid() == 0 {
		// As root the table lives with the network host, which takes it
		// down: none is left on the host without one.
		os.Remove(filepath.Join(r.netDir(), "firewall.sum"))
		return network.Firewall{Table: r.firewallTable()}.Remove()
	}
	db, err := r.DB()
	if err != nil {
		return err
	}
	nets, err := r.Networks()
	if err != nil {
		return err
	}
	var dnat []network.DNAT
	rows, err := db.sql.Query(`SELECT config FROM endpoints`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		var ep EndpointState
		if json.Unmarshal([]byte(s), &ep) != nil {
			continue
		}
		for _, p := range ep.Ports {
			d := network.DNAT{Proto: p.Protocol, HostPort: p.HostPort, ContainerIP: ep.IP, ContainerPort: p.ContainerPort}
			if p.HostIP != "" {
				d.HostIP, _ = netip.ParseAddr(p.HostIP)
			}
			dnat = append(dnat, d)
		}
	}
	rows.Close()
	fw := network.Firewall{NSPath: r.bridgeNS(), Table: r.firewallTable(), LoopbackDNAT: !r.Rootless}
	if !r.Rootless {
		fw.Ports = dnat
	}
	for _, n := range nets {
		if n.Driver == DriverBridge {
			fw.Nets = append(fw.Nets, network.FirewallNet{Subnet: n.Subnet, Internal: n.Internal, Masquerade: !n.NoMasquerade})
		}
	}
	// The same rules are not loaded again (a transaction costs ~10 ms).
	sum := fw.Digest()
	sumFile := filepath.Join(r.netDir(), "firewall.sum")
	if !force {
		if old, err := os.ReadFile(sumFile); err == nil && string(old) == sum {
			return nil
		}
	}
	if err := fw.Apply(); err != nil {
		os.Remove(sumFile)
		return err
	}
	return os.WriteFile(sumFile, []byte(sum), 0o600)
}

// netNSPath is where a running container's network namespace can be entered.
func (c *Container) netNSPath() string {
	p := filepath.Join(c.RunDir(), monitor.NetNSFile)
	if network.IsNS(p) {
		return p
	}
	if c.State.Pid > 0 {
		return fmt.Sprintf("/proc/%d/ns/net", c.State.Pid)
	}
	return ""
}

// AlreadyConnectedError is Docker's refusal to connect twice.
type AlreadyConnectedError struct{ Container, Network string }

func (e *AlreadyConnectedError) Error() string {
	return fmt.Sprintf("endpoint with name %s already exists in network %s", e.Container, e.Network)
}

// NotConnectedError is Docker's refusal to disconnect what is not connected.
type NotConnectedError struct{ Container, Network string }

func (e *NotConnectedError) Error() string {
	return fmt.Sprintf("container %s is not connected to network %s", e.Container, e.Network)
}

// Connect attaches the container to n: to its configuration and, when it
// runs, live (a new interface, ethN).
func (c *Container) Connect(n *Network, att specgen.NetworkAttach) error {
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return err
	}
	defer lock.unlock()
	if err := c.reload(); err != nil {
		return err
	}
	c.syncLocked()
	if n.Driver != DriverBridge || !c.usesBridge() {
		return &specgen.ValidationError{Err: fmt.Errorf("container sharing network namespace with another container or host cannot be connected to any other network")}
	}
	for _, a := range c.attachments() {
		if a.ID == n.ID || a.Name == n.Name {
			return &specgen.ValidationError{Err: &AlreadyConnectedError{Container: c.Name, Network: n.Name}}
		}
	}
	if att.IPv4 != "" {
		ip, err := netip.ParseAddr(att.IPv4)
		if err != nil || !ip.Is4() || !n.Subnet.Contains(ip) {
			return &specgen.ValidationError{Err: fmt.Errorf("invalid --ip %s: give an IPv4 address of network %s's subnet %s", att.IPv4, n.Name, n.Subnet)}
		}
	}
	if (att.IPv4 != "" || len(att.Aliases) > 0) && n.Builtin {
		return &specgen.ValidationError{Err: fmt.Errorf("network-scoped aliases and addresses are supported only for containers in user defined networks")}
	}
	att.ID, att.Name = n.ID, n.Name
	if c.Running() {
		ep, err := c.connectLive(n, att)
		if err != nil {
			return err
		}
		c.State.Networks = append(c.State.Networks, ep)
	}
	c.Spec.Network = specgen.NetworkBridge
	c.Spec.Networks = append(c.attachments(), att)
	if err := c.saveConfig(); err != nil {
		return err
	}
	if c.Running() {
		if err := c.saveState(); err != nil {
			return err
		}
		c.rt.writeNetworkEventFor(n.ID, n.Name, "connect", c.ID)
	}
	return nil
}

func (c *Container) connectLive(n *Network, att specgen.NetworkAttach) (EndpointState, error) {
	r := c.rt
	nsPath := c.netNSPath()
	if nsPath == "" {
		return EndpointState{}, fmt.Errorf("container %s has no network namespace to connect", c.Name)
	}
	ifName, err := network.NextIfName(nsPath)
	if err != nil {
		return EndpointState{}, err
	}
	lock, err := r.lockNetworks()
	if err != nil {
		return EndpointState{}, err
	}
	defer lock.unlock()
	dirty := r.gcEndpointsLocked()
	if err := r.ensureNetHost(); err != nil {
		return EndpointState{}, err
	}
	db, err := r.DB()
	if err != nil {
		return EndpointState{}, err
	}
	var ep EndpointState
	err = db.Update(context.Background(), func(tx *sql.Tx) error {
		var err error
		if ep, err = c.lease(tx, n, att, 0, c.State.Run); err != nil {
			return err
		}
		ep.IfName = ifName
		b, _ := json.Marshal(ep)
		_, err = tx.Exec(`INSERT INTO endpoints(network_id, container_id, run, ip, config) VALUES(?, ?, ?, ?, ?)`, n.ID, c.ID, c.State.Run, ep.IP.String(), string(b))
		return err
	})
	if err != nil {
		return EndpointState{}, err
	}
	fail := func(err error) (EndpointState, error) {
		db.Update(context.Background(), func(tx *sql.Tx) error {
			_, err := tx.Exec(`DELETE FROM endpoints WHERE container_id = ? AND network_id = ?`, c.ID, n.ID)
			return err
		})
		if r.dropInterfaces([]EndpointState{ep}, true) || dirty {
			r.applyFirewall()
		}
		return EndpointState{}, err
	}
	created, err := network.EnsureBridge(r.bridgeNS(), network.Bridge{Name: n.Bridge, Gateway: netip.PrefixFrom(n.Gateway, n.Subnet.Bits()), MTU: r.mtu(n), RouteLocalnet: !r.Rootless})
	if err != nil {
		return fail(err)
	}
	if created || dirty {
		if err := r.loadFirewall(created); err != nil {
			return fail(err)
		}
	}
	if err := network.Attach(r.bridgeNS(), nsPath, []network.Endpoint{{Bridge: n.Bridge, HostVeth: ep.HostVeth, IfName: ifName, MAC: ep.MAC,
		Address: netip.PrefixFrom(ep.IP, ep.PrefixLen), Gateway: ep.Gateway, MTU: r.mtu(n)}}); err != nil {
		return fail(err)
	}
	return ep, nil
}

// Disconnect detaches the container from n: live (its interface goes) and
// from its configuration.
func (c *Container) Disconnect(n *Network, force bool) error {
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return err
	}
	defer lock.unlock()
	if err := c.reload(); err != nil {
		return err
	}
	c.syncLocked()
	atts := c.attachments()
	idx := -1
	for i, a := range atts {
		if a.ID == n.ID {
			idx = i
		}
	}
	if idx < 0 {
		return &specgen.ValidationError{Err: &NotConnectedError{Container: c.Name, Network: n.Name}}
	}
	r := c.rt
	if c.Running() {
		nl, err := r.lockNetworks()
		if err != nil {
			return err
		}
		gone := r.deleteEndpointsWhere(`container_id = ? AND network_id = ?`, c.ID, n.ID)
		if r.dropInterfaces(gone, true) {
			r.applyFirewall()
		}
		nl.unlock()
		kept := c.State.Networks[:0]
		for _, ep := range c.State.Networks {
			if ep.NetworkID != n.ID {
				kept = append(kept, ep)
			} else if len(ep.Ports) > 0 {
				c.State.Ports = nil
			}
		}
		c.State.Networks = kept
		if err := c.saveState(); err != nil {
			return err
		}
		r.writeNetworkEventFor(n.ID, n.Name, "disconnect", c.ID)
	}
	c.Spec.Network = specgen.NetworkBridge
	c.Spec.Networks = append(append([]specgen.NetworkAttach(nil), atts[:idx]...), atts[idx+1:]...)
	return c.saveConfig()
}

// saveConfig writes c.ContainerConfig.
func (c *Container) saveConfig() error {
	db, err := c.rt.DB()
	if err != nil {
		return err
	}
	b, _ := json.Marshal(c.ContainerConfig)
	return db.Update(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE containers SET config = ? WHERE id = ?`, string(b), c.ID)
		return err
	})
}

// writeNetworkEvent appends a network event (create, destroy).
func (r *Runtime) writeNetworkEvent(n *Network, action string, attrs map[string]string) {
	a := map[string]string{"name": n.Name, "type": n.Driver}
	for k, v := range attrs {
		a[k] = v
	}
	r.WriteEvent(events.TypeNetwork, action, n.ID, a)
}

// writeNetworkEventFor appends Docker's "network connect" / "network
// disconnect" of a container.
func (r *Runtime) writeNetworkEventFor(netID, netName, action, ctrID string) {
	r.writeNetworkEvent(&Network{NetworkConfig: NetworkConfig{ID: netID, Name: netName, Driver: DriverBridge}}, action, map[string]string{"container": ctrID})
}

// planNetwork attaches what the container's network mode needs for start
// number run: its bridge networks, or the published ports of its own
// slirp4netns. It is nil when there is nothing to set up.
func (c *Container) planNetwork(run int) (*netPlan, error) {
	switch {
	case c.usesBridge():
		return c.prepareNetwork(run)
	case c.Spec.Network == specgen.NetworkSlirp && len(c.wantedPorts()) > 0:
		taken := takenSet{}
		if db, err := c.rt.DB(); err == nil {
			db.Update(context.Background(), func(tx *sql.Tx) error {
				var err error
				taken, err = takenPorts(tx)
				return err
			})
		}
		if taken == nil {
			taken = takenSet{}
		}
		ports, err := c.bindPorts(c.wantedPorts(), "", taken)
		if err != nil {
			return nil, err
		}
		return &netPlan{ports: ports, attach: &network.Attachment{Ports: c.publishFor(ports, slirpIP, "")}}, nil
	}
	return nil, nil
}

// etcForBridge fills the container's /etc/hosts and /etc/resolv.conf
// choices from its endpoints: its own address, and the DNS server of its
// first user-defined network (the default bridge has none: the host's
// resolvers, through slirp4netns's forwarder when rootless).
func (c *Container) etcForBridge(eo *oci.EtcOptions, plan *netPlan) {
	if len(plan.endpoints) == 0 {
		return
	}
	first := plan.endpoints[0]
	eo.ContainerIP = first.IP.String()
	eo.HostGateway = first.Gateway.String()
	if c.rt.Rootless {
		eo.HostGateway = network.SlirpGateway
	}
	if len(c.Spec.DNS) == 0 {
		for _, ep := range plan.endpoints {
			if len(ep.DNSNames) > 0 {
				eo.DNS = []string{ep.Gateway.String()}
				break
			}
		}
		eo.Slirp = eo.DNS == nil && c.rt.Rootless
	}
}

// renameEndpoints makes a renamed running container answer to its new
// name on its networks (DNS reads the endpoints).
func (c *Container) renameEndpoints(oldName, newName string) {
	rename := func(ep *EndpointState) {
		ep.Name = newName
		for i, n := range ep.DNSNames {
			if n == oldName {
				ep.DNSNames[i] = newName
			}
		}
	}
	db, err := c.rt.DB()
	if err != nil || len(c.State.Networks) == 0 {
		return
	}
	db.Update(context.Background(), func(tx *sql.Tx) error {
		rows, err := tx.Query(`SELECT network_id, config FROM endpoints WHERE container_id = ?`, c.ID)
		if err != nil {
			return err
		}
		type upd struct{ net, cfg string }
		var ups []upd
		for rows.Next() {
			var id, s string
			rows.Scan(&id, &s)
			var ep EndpointState
			if json.Unmarshal([]byte(s), &ep) == nil {
				rename(&ep)
				b, _ := json.Marshal(ep)
				ups = append(ups, upd{id, string(b)})
			}
		}
		rows.Close()
		for _, u := range ups {
			if _, err := tx.Exec(`UPDATE endpoints SET config = ? WHERE container_id = ? AND network_id = ?`, u.cfg, c.ID, u.net); err != nil {
				return err
			}
		}
		for i := range c.State.Networks {
			rename(&c.State.Networks[i])
		}
		b, _ := json.Marshal(c.State)
		_, err = tx.Exec(`UPDATE containers SET state = ? WHERE id = ?`, string(b), c.ID)
		return err
	})
}
