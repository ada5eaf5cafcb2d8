package libpod

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tug-project/tug/pkg/network"
	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/specgen"
)

// networksSchema adds networks and their endpoints. A network's row is the
// truth about it; an endpoint row is an IP lease: it exists while a
// container (of start number run) is attached to the network.
const networksSchema = `CREATE TABLE networks (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		created INTEGER NOT NULL,
		config TEXT NOT NULL
	 );
	 CREATE TABLE endpoints (
		network_id TEXT NOT NULL REFERENCES networks(id),
		container_id TEXT NOT NULL,
		run INTEGER NOT NULL,
		ip TEXT NOT NULL,
		config TEXT NOT NULL,
		PRIMARY KEY (network_id, ip),
		UNIQUE (container_id, network_id)
	 );`

func init() {
	// After a reboot no container is attached to anything.
	rebootHooks = append(rebootHooks, func(tx *sql.Tx) error {
		_, err := tx.Exec(`DELETE FROM endpoints`)
		return err
	})
}

// Network drivers.
const (
	DriverBridge = "bridge"
	DriverHost   = "host"
	DriverNull   = "null"
)

// DefaultNetwork is the network containers join when --network is not given.
const DefaultNetwork = "bridge"

// defaultBridgeDevice is the default network's bridge (Docker's is docker0).
const defaultBridgeDevice = "tug0"

var (
	// ErrNoSuchNetwork is returned (wrapped, with the name) when no network matches.
	ErrNoSuchNetwork = errors.New("network not found")
	// ErrNetworkExists is returned by create for a name in use.
	ErrNetworkExists = errors.New("network with name already exists")
)

// NetworkNotFoundError is Docker's "network NAME not found".
type NetworkNotFoundError struct{ Name string }

func (e *NetworkNotFoundError) Error() string { return "network " + e.Name + " not found" }
func (e *NetworkNotFoundError) Unwrap() error { return ErrNoSuchNetwork }

// ActiveEndpointsError refuses to remove a network containers are attached to.
type ActiveEndpointsError struct{ Name, ID string }

func (e *ActiveEndpointsError) Error() string {
	return fmt.Sprintf("error while removing network: network %s id %s has active endpoints", e.Name, e.ID)
}

// NetworkConfig is a network as stored.
type NetworkConfig struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Created  time.Time         `json:"created"`
	Driver   string            `json:"driver"`
	Subnet   netip.Prefix      `json:"subnet"`
	Gateway  netip.Addr        `json:"gateway"`
	IPRange  netip.Prefix      `json:"ipRange"`
	Internal bool              `json:"internal,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Options  map[string]string `json:"options,omitempty"`
	Bridge   string            `json:"bridge,omitempty"` // the Linux bridge
	MTU      int               `json:"mtu,omitempty"`
	// NoMasquerade keeps containers' addresses on outgoing connections.
	NoMasquerade bool `json:"noMasquerade,omitempty"`
	// DNS: containers resolve each other's names (user-defined networks).
	DNS bool `json:"dns,omitempty"`
	// Builtin marks bridge, host and none, which cannot be removed.
	Builtin bool `json:"builtin,omitempty"`
	// AutoSubnet says tug chose the subnet: as root it may move to a free
	// one when another holds it on the host while this network is unused.
	AutoSubnet bool `json:"autoSubnet,omitempty"`
	// HostIP is the default address published ports bind
	// (com.docker.network.bridge.host_binding_ipv4).
	HostIP string `json:"hostIP,omitempty"`
}

// Network is one network as read from the state DB.
type Network struct {
	NetworkConfig
	rt *Runtime
}

// ShortID is the 12-character ID tables show.
func (n *Network) ShortID() string { return n.ID[:12] }

// Scope is Docker's: every tug network is local.
func (n *Network) Scope() string { return "local" }

// EndpointState is a container's attachment to one network while it runs.
type EndpointState struct {
	NetworkID   string        `json:"networkId"`
	NetworkName string        `json:"networkName"`
	ContainerID string        `json:"containerId"`
	EndpointID  string        `json:"endpointId"`
	IP          netip.Addr    `json:"ip"`
	PrefixLen   int           `json:"prefixLen"`
	Gateway     netip.Addr    `json:"gateway"`
	MAC         string        `json:"mac"`
	IfName      string        `json:"ifName"`
	HostVeth    string        `json:"hostVeth"`
	Bridge      string        `json:"bridge"`
	Aliases     []string      `json:"aliases,omitempty"`
	DNSNames    []string      `json:"dnsNames,omitempty"`
	Ports       []PortBinding `json:"ports,omitempty"` // on the endpoint published ports reach
	Run         int           `json:"run"`
	Name        string        `json:"containerName"`

	defaultRoute bool // while a start is planned: this endpoint is the way out
}

// PortBinding is a published port as bound: host port chosen.
type PortBinding struct {
	HostIP        string `json:"hostIP,omitempty"`
	HostPort      uint16 `json:"hostPort"`
	ContainerPort uint16 `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

// Key is Docker's "80/tcp".
func (p PortBinding) Key() string { return strconv.Itoa(int(p.ContainerPort)) + "/" + p.Protocol }

// HostIPOrAny is the bound address as Docker shows it (0.0.0.0 for all).
func (p PortBinding) HostIPOrAny() string {
	if p.HostIP == "" {
		return "0.0.0.0"
	}
	return p.HostIP
}

var validNetworkName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

func (r *Runtime) scanNetwork(row interface{ Scan(...any) error }) (*Network, error) {
	var id, cfg string
	if err := row.Scan(&id, &cfg); err != nil {
		return nil, err
	}
	n := &Network{rt: r}
	if err := json.Unmarshal([]byte(cfg), &n.NetworkConfig); err != nil {
		return nil, fmt.Errorf("network %s: corrupt configuration: %w", id, err)
	}
	return n, nil
}

// ensureDefaultNetworks creates bridge, host and none the first time they
// are needed. The default bridge takes 172.17.0.0/16 unless the host routes
// it already.
func (r *Runtime) ensureDefaultNetworks() error {
	db, err := r.DB()
	if err != nil {
		return err
	}
	var n int
	if err := db.sql.QueryRow(`SELECT COUNT(*) FROM networks WHERE name IN ('bridge', 'host', 'none')`).Scan(&n); err != nil {
		return err
	}
	if n == 3 {
		return nil
	}
	routes := r.reservedRoutes()
	return db.Update(context.Background(), func(tx *sql.Tx) error {
		now := time.Now().UTC()
		for _, name := range []string{"bridge", "host", "none"} {
			var exists int
			tx.QueryRow(`SELECT COUNT(*) FROM networks WHERE name = ?`, name).Scan(&exists)
			if exists > 0 {
				continue
			}
			cfg := NetworkConfig{ID: newID(), Name: name, Created: now, Builtin: true, Labels: map[string]string{}, Options: map[string]string{}}
			switch name {
			case "bridge":
				cfg.Driver = DriverBridge
				used, err := usedSubnets(tx)
				if err != nil {
					return err
				}
				subnet := network.DefaultSubnet
				if network.OverlapsAny(subnet, append(used, routes...)) {
					var ok bool
					if subnet, ok = network.FreeSubnet(network.Pools(), append(used, routes...)); !ok {
						return fmt.Errorf("no free subnet for the default bridge network")
					}
				}
				cfg.Subnet, cfg.Gateway, cfg.Bridge, cfg.AutoSubnet = subnet, network.FirstHost(subnet), r.defaultBridgeName(cfg.ID), true
				cfg.Options = map[string]string{
					"com.docker.network.bridge.default_bridge":       "true",
					"com.docker.network.bridge.enable_icc":           "true",
					"com.docker.network.bridge.enable_ip_masquerade": "true",
					"com.docker.network.bridge.host_binding_ipv4":    "0.0.0.0",
					"com.docker.network.bridge.name":                 cfg.Bridge,
					"com.docker.network.driver.mtu":                  "1500",
				}
			case "host":
				cfg.Driver = DriverHost
			case "none":
				cfg.Driver = DriverNull
			}
			b, _ := json.Marshal(cfg)
			if _, err := tx.Exec(`INSERT INTO networks(id, name, created, config) VALUES(?, ?, ?, ?)`, cfg.ID, cfg.Name, now.UnixNano(), string(b)); err != nil {
				return err
			}
		}
		return nil
	})
}

func usedSubnets(tx *sql.Tx) ([]netip.Prefix, error) {
	rows, err := tx.Query(`SELECT id, config FROM networks`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []netip.Prefix
	for rows.Next() {
		var id, cfg string
		if err := rows.Scan(&id, &cfg); err != nil {
			return nil, err
		}
		var c NetworkConfig
		if json.Unmarshal([]byte(cfg), &c) == nil && c.Subnet.IsValid() {
			out = append(out, c.Subnet)
		}
	}
	return out, rows.Err()
}

// Networks lists every network, by name (as Docker's network ls).
func (r *Runtime) Networks() ([]*Network, error) {
	if err := r.ensureDefaultNetworks(); err != nil {
		return nil, err
	}
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.Query(`SELECT id, config FROM networks ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Network
	for rows.Next() {
		n, err := r.scanNetwork(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// LookupNetwork finds a network by full ID, name, or unique ID prefix.
func (r *Runtime) LookupNetwork(nameOrID string) (*Network, error) {
	if err := r.ensureDefaultNetworks(); err != nil {
		return nil, err
	}
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	n, err := r.scanNetwork(db.sql.QueryRow(`SELECT id, config FROM networks WHERE id = ? OR name = ? ORDER BY name = ? DESC LIMIT 1`, nameOrID, nameOrID, nameOrID))
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if isHex(nameOrID) {
		rows, err := db.sql.Query(`SELECT id, config FROM networks WHERE id >= ? AND id < ? LIMIT 2`, nameOrID, nameOrID+"g")
		if err != nil {
			return nil, err
		}
		var found []*Network
		for rows.Next() {
			n, err := r.scanNetwork(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			found = append(found, n)
		}
		rows.Close()
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return nil, fmt.Errorf("network %s is ambiguous (%d matches found based on ID prefix)", nameOrID, len(found))
		}
	}
	return nil, &NetworkNotFoundError{Name: nameOrID}
}

func (r *Runtime) networkByID(tx *sql.Tx, id string) (*Network, error) {
	return r.scanNetwork(tx.QueryRow(`SELECT id, config FROM networks WHERE id = ?`, id))
}

// NetworkCreateOptions are `network create`'s flags.
type NetworkCreateOptions struct {
	Name     string
	Driver   string
	Subnet   string
	Gateway  string
	IPRange  string
	Internal bool
	Labels   map[string]string
	Options  map[string]string
}

// Bridge options tug understands (-o), as Docker names them.
const (
	optBridgeName = "com.docker.network.bridge.name"
	optMTU        = "com.docker.network.driver.mtu"
	optMasquerade = "com.docker.network.bridge.enable_ip_masquerade"
	optHostIP     = "com.docker.network.bridge.host_binding_ipv4"
	optICC        = "com.docker.network.bridge.enable_icc"
)

// CreateNetwork makes a user-defined bridge network: its subnet is the one
// given, or the next free /16 (from 172.18.0.0), never one that overlaps
// another network's or a route of the host.
func (r *Runtime) CreateNetwork(o NetworkCreateOptions) (*Network, error) {
	invalid := func(format string, a ...any) error { return &specgen.ValidationError{Err: fmt.Errorf(format, a...)} }
	if !validNetworkName.MatchString(o.Name) {
		return nil, invalid("invalid network name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", o.Name)
	}
	switch o.Driver {
	case "", DriverBridge:
	default:
		return nil, invalid("network driver %q is not supported: tug has the bridge driver", o.Driver)
	}
	if o.Name == "host" || o.Name == "none" || o.Name == "bridge" {
		return nil, invalid("network name %s is reserved for a predefined network: choose another", o.Name)
	}
	cfg := NetworkConfig{ID: newID(), Name: o.Name, Created: time.Now().UTC(), Driver: DriverBridge, Internal: o.Internal, DNS: true,
		Labels: o.Labels, Options: o.Options}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	if cfg.Options == nil {
		cfg.Options = map[string]string{}
	}
	for k, v := range cfg.Options {
		switch k {
		case optBridgeName:
			if v == "" || len(v) > 15 || strings.ContainsAny(v, "/ \t\n:") {
				return nil, invalid("invalid -o %s=%s: a Linux interface name has 1 to 15 characters, without '/', ':' or spaces", k, v)
			}
			cfg.Bridge = v
		case optMTU, "mtu":
			mtu, err := strconv.Atoi(v)
			if err != nil || mtu < 68 || mtu > 65535 {
				return nil, invalid("invalid -o %s=%s: the MTU is a number from 68 to 65535", k, v)
			}
			cfg.MTU = mtu
		case optMasquerade:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, invalid("invalid -o %s=%s: use true or false", k, v)
			}
			cfg.NoMasquerade = !b
		case optICC:
			if b, err := strconv.ParseBool(v); err != nil || !b {
				return nil, invalid("invalid -o %s=%s: tug networks always let their containers talk to each other (true)", k, v)
			}
		case optHostIP:
			ip, err := netip.ParseAddr(v)
			if err != nil || !ip.Is4() {
				return nil, invalid("invalid -o %s=%s: give an IPv4 address", k, v)
			}
			if !ip.IsUnspecified() {
				cfg.HostIP = ip.String()
			}
		default:
			return nil, invalid("unsupported network option %q: tug supports %s, %s, %s, %s and %s", k, optBridgeName, optMTU, optMasquerade, optHostIP, optICC)
		}
	}
	if cfg.Bridge == "" {
		cfg.Bridge = "br-" + cfg.ID[:12]
	}
	var err error
	if o.Subnet != "" {
		if cfg.Subnet, err = netip.ParsePrefix(o.Subnet); err != nil {
			return nil, invalid("invalid subnet %q: give an IPv4 CIDR, e.g. 10.1.0.0/16", o.Subnet)
		}
	} else if o.Gateway != "" || o.IPRange != "" {
		return nil, invalid("--gateway and --ip-range need --subnet")
	}
	if o.Gateway != "" {
		if cfg.Gateway, err = netip.ParseAddr(o.Gateway); err != nil {
			return nil, invalid("invalid gateway %q: give an IPv4 address", o.Gateway)
		}
	}
	if o.IPRange != "" {
		if cfg.IPRange, err = netip.ParsePrefix(o.IPRange); err != nil {
			return nil, invalid("invalid ip range %q: give an IPv4 CIDR within the subnet", o.IPRange)
		}
	}
	if cfg.Subnet.IsValid() {
		if err := network.ValidateSubnet(cfg.Subnet, cfg.Gateway, cfg.IPRange); err != nil {
			return nil, &specgen.ValidationError{Err: err}
		}
	}
	if err := r.ensureDefaultNetworks(); err != nil {
		return nil, err
	}
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	lock, err := r.lockNetworks()
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	routes := r.reservedRoutes()
	err = db.Update(context.Background(), func(tx *sql.Tx) error {
		var other string
		if err := tx.QueryRow(`SELECT id FROM networks WHERE name = ?`, cfg.Name).Scan(&other); err == nil {
			return &specgen.ValidationError{Err: fmt.Errorf("network with name %s already exists", cfg.Name)}
		}
		used, err := usedSubnets(tx)
		if err != nil {
			return err
		}
		if cfg.Subnet.IsValid() {
			if network.OverlapsAny(cfg.Subnet, used) {
				return &specgen.ValidationError{Err: fmt.Errorf("invalid pool request: Pool overlaps with other one on this address space (%s)", cfg.Subnet)}
			}
			if network.OverlapsAny(cfg.Subnet, routes) {
				return &specgen.ValidationError{Err: fmt.Errorf("subnet %s overlaps with a route of the host: choose another --subnet", cfg.Subnet)}
			}
		} else {
			var ok bool
			if cfg.Subnet, ok = network.FreeSubnet(network.Pools(), append(used, routes...)); !ok {
				return fmt.Errorf("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network: give one with --subnet")
			}
			cfg.AutoSubnet = true
		}
		if !cfg.Gateway.IsValid() {
			cfg.Gateway = network.FirstHost(cfg.Subnet)
		}
		rows, err := tx.Query(`SELECT config FROM networks`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			var c NetworkConfig
			if json.Unmarshal([]byte(s), &c) == nil && c.Bridge == cfg.Bridge {
				rows.Close()
				return &specgen.ValidationError{Err: fmt.Errorf("bridge name %s is used by network %s", cfg.Bridge, c.Name)}
			}
		}
		rows.Close()
		b, _ := json.Marshal(cfg)
		_, err = tx.Exec(`INSERT INTO networks(id, name, created, config) VALUES(?, ?, ?, ?)`, cfg.ID, cfg.Name, cfg.Created.UnixNano(), string(b))
		return err
	})
	if err != nil {
		return nil, err
	}
	n := &Network{NetworkConfig: cfg, rt: r}
	r.netHostSync()
	r.writeNetworkEvent(n, "create", nil)
	return n, nil
}

// defaultBridgeName is the default network's bridge: tug0 (Docker's is
// docker0), except as root with a data root of its own (tests, --root),
// whose bridges live beside the default root's on one host.
func (r *Runtime) defaultBridgeName(id string) string {
	if r.Rootless || r.Root == "/var/lib/tug" {
		return defaultBridgeDevice
	}
	return "br-" + id[:12]
}

// reservedRoutes are the routes a new subnet must keep clear of: as root
// every route of the host; rootless those of the host's real networks
// (not other engines' bridges) and slirp4netns's.
func (r *Runtime) reservedRoutes() []netip.Prefix {
	if r.Rootless {
		return append(network.HostRoutesNotBridged(), netip.MustParsePrefix(network.SlirpSubnet))
	}
	return network.HostRoutes()
}

// Endpoints lists the network's endpoints (its running containers).
func (n *Network) Endpoints() ([]EndpointState, error) {
	db, err := n.rt.DB()
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.Query(`SELECT config FROM endpoints WHERE network_id = ? ORDER BY ip`, n.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []EndpointState
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		var ep EndpointState
		if json.Unmarshal([]byte(s), &ep) == nil {
			out = append(out, ep)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IP.Less(out[j].IP) })
	return out, rows.Err()
}

// usersOf lists the containers whose configuration names the network
// (running or not), as "name" strings.
func (r *Runtime) usersOf(n *Network) ([]string, error) {
	ctrs, err := r.Containers()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range ctrs {
		for _, a := range c.Spec.Networks {
			if a.ID == n.ID {
				out = append(out, c.Name)
			}
		}
	}
	return out, nil
}

// RemoveNetwork removes a user-defined network. One with running containers
// is refused, as Docker's ("has active endpoints"); with force, the
// containers that use it (running or not) are removed first.
func (r *Runtime) RemoveNetwork(n *Network, force bool) error {
	if n.Builtin {
		return &specgen.ValidationError{Err: fmt.Errorf("%s is a pre-defined network and cannot be removed", n.Name)}
	}
	if force {
		ctrs, err := r.Containers()
		if err != nil {
			return err
		}
		for _, c := range ctrs {
			for _, a := range c.Spec.Networks {
				if a.ID == n.ID {
					if err := c.Remove(true); err != nil && !errors.Is(err, ErrNoSuchContainer) {
						return err
					}
					break
				}
			}
		}
	}
	r.gcEndpoints()
	lock, err := r.lockNetworks()
	if err != nil {
		return err
	}
	defer lock.unlock()
	db, err := r.DB()
	if err != nil {
		return err
	}
	err = db.Update(context.Background(), func(tx *sql.Tx) error {
		var count int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM endpoints WHERE network_id = ?`, n.ID).Scan(&count); err != nil {
			return err
		}
		if count > 0 {
			return &ActiveEndpointsError{Name: n.Name, ID: n.ID}
		}
		_, err := tx.Exec(`DELETE FROM networks WHERE id = ?`, n.ID)
		return err
	})
	if err != nil {
		return err
	}
	if r.bridgeNSReady() {
		network.DeleteLink(r.bridgeNS(), n.Bridge)
		r.applyFirewall()
	}
	r.netHostSync()
	r.writeNetworkEvent(n, "destroy", nil)
	return nil
}

// NetworkFilters are `network ls` and `network prune` filters.
type NetworkFilters parse.Filters

// NetworkListFilters and NetworkPruneFilters are the keys each command takes.
var (
	NetworkListFilters  = []string{"driver", "id", "label", "name", "scope", "type", "dangling"}
	NetworkPruneFilters = []string{"label", "label!", "until"}
)

// MatchNetwork applies `network ls` filters: names and IDs match by
// substring / prefix as Docker's, type is custom or builtin.
func (f NetworkFilters) Match(n *Network, inUse bool) (bool, error) {
	pf := parse.Filters(f)
	any := func(key string, ok func(v string) (bool, error)) (bool, error) {
		vals := pf[key]
		if len(vals) == 0 {
			return true, nil
		}
		for _, v := range vals {
			m, err := ok(v)
			if err != nil || m {
				return m, err
			}
		}
		return false, nil
	}
	checks := []struct {
		key string
		fn  func(v string) (bool, error)
	}{
		{"driver", func(v string) (bool, error) { return n.Driver == v, nil }},
		{"id", func(v string) (bool, error) { return strings.HasPrefix(n.ID, v), nil }},
		{"name", func(v string) (bool, error) {
			re, err := regexp.Compile(v)
			if err != nil {
				return false, fmt.Errorf("invalid filter 'name=%s': %v", v, err)
			}
			return re.MatchString(n.Name), nil
		}},
		{"scope", func(v string) (bool, error) { return v == "local", nil }},
		{"type", func(v string) (bool, error) {
			switch v {
			case "custom":
				return !n.Builtin, nil
			case "builtin":
				return n.Builtin, nil
			}
			return false, fmt.Errorf("invalid filter: 'type'='%s': use custom or builtin", v)
		}},
	}
	for _, c := range checks {
		if ok, err := any(c.key, c.fn); err != nil || !ok {
			return false, err
		}
	}
	if !pf.MatchLabels("label", n.Labels) {
		return false, nil
	}
	if d, set, err := pf.Bool("dangling"); err != nil {
		return false, err
	} else if set && d == inUse {
		return false, nil
	}
	return true, nil
}

// InUse reports whether a container's configuration names the network.
func (r *Runtime) NetworkInUse(n *Network) bool {
	users, _ := r.usersOf(n)
	return len(users) > 0
}

// PruneNetworks removes the user-defined networks no container uses
// (running or not), returning their names.
func (r *Runtime) PruneNetworks(f NetworkFilters) ([]string, error) {
	nets, err := r.Networks()
	if err != nil {
		return nil, err
	}
	pf := parse.Filters(f)
	var until time.Time
	for _, u := range pf["until"] {
		t, err := parse.ParseTimestamp(u, time.Now())
		if err != nil {
			return nil, err
		}
		until = t
	}
	var out []string
	for _, n := range nets {
		if n.Builtin || r.NetworkInUse(n) || !pf.MatchLabels("label", n.Labels) {
			continue
		}
		if !until.IsZero() && !n.Created.Before(until) {
			continue
		}
		if err := r.RemoveNetwork(n, false); err != nil {
			var ae *ActiveEndpointsError
			if errors.As(err, &ae) {
				continue
			}
			return out, err
		}
		out = append(out, n.Name)
	}
	return out, nil
}

// InspectNetwork is `network inspect`'s document, in Docker's shape.
type InspectNetwork struct {
	Name       string
	Id         string
	Created    string
	Scope      string
	Driver     string
	EnableIPv4 bool
	EnableIPv6 bool
	IPAM       InspectIPAM
	Internal   bool
	Attachable bool
	Ingress    bool
	ConfigFrom struct{ Network string }
	ConfigOnly bool
	Containers map[string]InspectNetworkContainer
	Options    map[string]string
	Labels     map[string]string
}

// InspectIPAM is the IPAM part.
type InspectIPAM struct {
	Driver  string
	Options map[string]string
	Config  []InspectIPAMConfig
}

// InspectIPAMConfig is one pool.
type InspectIPAMConfig struct {
	Subnet  string
	IPRange string `json:",omitempty"`
	Gateway string `json:",omitempty"`
}

// InspectNetworkContainer is one attached container.
type InspectNetworkContainer struct {
	Name        string
	EndpointID  string
	MacAddress  string
	IPv4Address string
	IPv6Address string
}

// Inspect builds the network's inspect document.
func (n *Network) Inspect() (*InspectNetwork, error) {
	in := &InspectNetwork{Name: n.Name, Id: n.ID, Created: n.Created.Local().Format(time.RFC3339Nano), Scope: "local", Driver: n.Driver,
		EnableIPv4: n.Driver == DriverBridge, Internal: n.Internal, Containers: map[string]InspectNetworkContainer{},
		Options: nonNilMap(n.Options), Labels: nonNilMap(n.Labels)}
	in.IPAM = InspectIPAM{Driver: "default", Config: []InspectIPAMConfig{}}
	if n.Subnet.IsValid() {
		c := InspectIPAMConfig{Subnet: n.Subnet.String(), Gateway: n.Gateway.String()}
		if n.IPRange.IsValid() {
			c.IPRange = n.IPRange.String()
		}
		in.IPAM.Config = append(in.IPAM.Config, c)
	}
	if n.Driver == DriverBridge {
		n.rt.gcEndpoints()
		eps, err := n.Endpoints()
		if err != nil {
			return nil, err
		}
		for _, ep := range eps {
			c, err := n.rt.LookupContainer(ep.ContainerID)
			name := ep.Name
			if err == nil {
				if !c.Running() {
					continue
				}
				name = c.Name
			}
			in.Containers[ep.ContainerID] = InspectNetworkContainer{Name: name, EndpointID: ep.EndpointID, MacAddress: ep.MAC,
				IPv4Address: netip.PrefixFrom(ep.IP, ep.PrefixLen).String(), IPv6Address: ""}
		}
	}
	return in, nil
}

// endpointID is Docker's 64-hex endpoint ID, stable for (container, network, run).
func endpointID(ctr, net string, run int) string {
	sum := sha256.Sum256([]byte(ctr + "/" + net + "/" + strconv.Itoa(run)))
	return hex.EncodeToString(sum[:])
}

// hostVethName names the host end of a container's veth on a network for
// one start: the last start's veth may still be on its way out (a network
// namespace is freed asynchronously).
func hostVethName(ctr, net string, run int) string {
	sum := sha256.Sum256([]byte(ctr + "/" + net + "/" + strconv.Itoa(run)))
	return "veth" + hex.EncodeToString(sum[:])[:8]
}
