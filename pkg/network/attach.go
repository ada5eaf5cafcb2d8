package network

// Attachment is what a container's monitor sets up for its networks: the
// interfaces on the bridges, and the published ports.
type Attachment struct {
	// BridgeNS is where the bridges live: the rootless network namespace,
	// or "" for the host's.
	BridgeNS  string     `json:"bridgeNS,omitempty"`
	Endpoints []Endpoint `json:"endpoints,omitempty"`
	Ports     *Ports     `json:"ports,omitempty"`
}

// Port modes.
const (
	// PortsProxy relays connections in user space (rootless).
	PortsProxy = "proxy"
	// PortsReserve only holds the host ports: the kernel forwards them (root's DNAT).
	PortsReserve = "reserve"
)

// Ports are a container's published ports as its monitor serves them.
type Ports struct {
	Mode    string    `json:"mode"`
	ProxyNS string    `json:"proxyNS,omitempty"` // the namespace the proxy dials in ("" the container's own)
	Publish []Publish `json:"publish"`
}
