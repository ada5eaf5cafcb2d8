package monitor

import (
	"os"
	"path/filepath"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tug-project/tug/pkg/network"
)

// publishedPorts are what keeps a container's published ports: the
// user-space forwarder, or the bound sockets that reserve them.
type publishedPorts struct {
	fwd   *network.Forwarder
	files []*os.File
}

func (p *publishedPorts) close() {
	if p == nil {
		return
	}
	if p.fwd != nil {
		p.fwd.Close()
	}
	for _, f := range p.files {
		f.Close()
	}
}

// attachNetwork makes the container's network namespace (unless slirp4netns
// made it), binds the published ports, and starts attaching the interfaces;
// the channel reports when they are up. Ports come first: a taken one
// fails the start before anything runs.
func (m *monitor) attachNetwork(runDir string, spec *rspec.Spec, haveNS bool) (<-chan error, error) {
	a := m.cfg.Network
	if a == nil {
		return nil, nil
	}
	nsPath := filepath.Join(runDir, NetNSFile)
	if len(a.Endpoints) > 0 && !haveNS {
		if err := network.CreateNS(nsPath); err != nil {
			return nil, err
		}
		for i, ns := range spec.Linux.Namespaces {
			if ns.Type == rspec.NetworkNamespace && ns.Path == "" {
				spec.Linux.Namespaces[i].Path = nsPath
			}
		}
		trace("netns made")
	}
	if a.Ports != nil && len(a.Ports.Publish) > 0 {
		p := &publishedPorts{}
		var err error
		switch a.Ports.Mode {
		case network.PortsProxy:
			ns := a.Ports.ProxyNS
			if ns == "" {
				ns = nsPath
			}
			// "." is the run directory (the monitor works there): a relative
			// socket path keeps clear of the 108-byte limit of long runroots.
			p.fwd, err = network.StartForwarder(".", ns, a.Ports.Publish, os.Stderr)
		default:
			p.files, err = network.Reserve(a.Ports.Publish)
		}
		if err != nil {
			m.detachNetwork(runDir)
			return nil, err
		}
		m.ports = p
		trace("ports bound")
	}
	if len(a.Endpoints) == 0 {
		return nil, nil
	}
	done := make(chan error, 1)
	go func() {
		err := network.Attach(a.BridgeNS, nsPath, a.Endpoints)
		trace("interfaces up")
		done <- err
	}()
	return done, nil
}

// detachNetwork undoes attachNetwork after a failed start.
func (m *monitor) detachNetwork(runDir string) {
	m.ports.close()
	m.ports = nil
	if a := m.cfg.Network; a != nil && len(a.Endpoints) > 0 {
		for _, ep := range a.Endpoints {
			network.DeleteLink(a.BridgeNS, ep.HostVeth)
		}
		network.RemoveNS(filepath.Join(runDir, NetNSFile))
	}
}

// TrimMemory drops what an idle helper process does not need resident
// (see trimMemory): the network host uses it too.
func TrimMemory() { trimMemory() }
