package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/rootless-containers/rootlesskit/v3/pkg/port"
	"github.com/rootless-containers/rootlesskit/v3/pkg/port/builtin"
	"golang.org/x/sys/unix"
)

// Publish is one published port as the monitor serves it.
type Publish struct {
	Proto    string `json:"proto"`            // tcp or udp
	HostIP   string `json:"hostIP,omitempty"` // "" every address
	HostPort uint16 `json:"hostPort"`
	// ChildIP and ChildPort are where connections go, dialled in the
	// forwarder's namespace.
	ChildIP   string `json:"childIP"`
	ChildPort uint16 `json:"childPort"`
}

// HostAddr is "0.0.0.0:8080" or "127.0.0.1:8080", as messages name it.
func (p Publish) HostAddr() string {
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return net.JoinHostPort(ip, strconv.Itoa(int(p.HostPort)))
}

// PortInUseError is a host port that another program (or container) holds.
type PortInUseError struct {
	Addr string
	Err  error
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("Bind for %s failed: port is already allocated", e.Addr)
}
func (e *PortInUseError) Unwrap() error { return e.Err }

func bindError(p Publish, err error) error {
	if errors.Is(err, unix.EADDRINUSE) {
		return &PortInUseError{Addr: p.HostAddr(), Err: err}
	}
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
		return fmt.Errorf("cannot publish %s: %w (ports below net.ipv4.ip_unprivileged_port_start need root)", p.HostAddr(), err)
	}
	return fmt.Errorf("publishing %s: %w", p.HostAddr(), err)
}

// Forwarder relays published ports to a container in user space, with
// rootlesskit's builtin port driver: it listens on the host and, for each
// connection, dials the container from inside childNS and splices the two.
type Forwarder struct {
	parent port.ParentDriver
	quit   chan struct{}
}

// StartForwarder listens on every port of ps and forwards them. stateDir
// holds the driver's socket and pipe.
func StartForwarder(stateDir, childNS string, ps []Publish, logw io.Writer) (*Forwarder, error) {
	if logw == nil {
		logw = io.Discard
	}
	pd, err := builtin.NewParentDriver(logw, stateDir, false, "")
	if err != nil {
		return nil, err
	}
	cd := builtin.NewChildDriver(logw)
	f := &Forwarder{parent: pd, quit: make(chan struct{})}
	errc := make(chan error, 2)
	go func() { errc <- cd.RunChildDriver(pd.OpaqueForChild(), f.quit, childNS) }()
	initDone := make(chan struct{}, 1)
	go func() { errc <- pd.RunParentDriver(initDone, f.quit, nil) }()
	select {
	case <-initDone:
	case err := <-errc:
		f.Close()
		return nil, fmt.Errorf("starting the port forwarder: %v", err)
	case <-time.After(10 * time.Second):
		f.Close()
		return nil, fmt.Errorf("starting the port forwarder: timed out")
	}
	for _, p := range ps {
		proto := p.Proto
		if p.HostIP == "" {
			proto += "4" // 0.0.0.0, as Docker binds it
		}
		_, err := pd.AddPort(context.Background(), port.Spec{Proto: proto, ParentIP: p.HostIP, ParentPort: int(p.HostPort), ChildIP: p.ChildIP, ChildPort: int(p.ChildPort)})
		if err != nil {
			f.Close()
			return nil, bindError(p, err)
		}
	}
	return f, nil
}

// Close stops listening and forwarding.
func (f *Forwarder) Close() {
	select {
	case <-f.quit:
	default:
		close(f.quit)
	}
}

// Reserve binds every host port of ps without listening, so that no other
// program takes them while the kernel forwards them (root's DNAT). The
// files keep the ports; closing them frees the ports.
func Reserve(ps []Publish) ([]*os.File, error) { return bind(ps, false) }

// bind binds the ports; with reuseAddr (SO_REUSEADDR, as Go's listeners
// set it) a port whose last connections linger in TIME_WAIT counts as free.
func bind(ps []Publish, reuseAddr bool) ([]*os.File, error) {
	var out []*os.File
	fail := func(err error) ([]*os.File, error) {
		for _, f := range out {
			f.Close()
		}
		return nil, err
	}
	for _, p := range ps {
		typ := unix.SOCK_STREAM
		if p.Proto == "udp" {
			typ = unix.SOCK_DGRAM
		}
		ip := netip.IPv4Unspecified()
		if p.HostIP != "" {
			var err error
			if ip, err = netip.ParseAddr(p.HostIP); err != nil {
				return fail(fmt.Errorf("invalid host IP %q", p.HostIP))
			}
		}
		var sa unix.Sockaddr
		fam := unix.AF_INET
		if ip.Is4() {
			sa = &unix.SockaddrInet4{Port: int(p.HostPort), Addr: ip.As4()}
		} else {
			fam = unix.AF_INET6
			sa = &unix.SockaddrInet6{Port: int(p.HostPort), Addr: ip.As16()}
		}
		fd, err := unix.Socket(fam, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fail(err)
		}
		if reuseAddr && typ == unix.SOCK_STREAM {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		}
		if err := unix.Bind(fd, sa); err != nil {
			unix.Close(fd)
			return fail(bindError(p, err))
		}
		out = append(out, os.NewFile(uintptr(fd), "port "+p.HostAddr()))
	}
	return out, nil
}

// FreePort reports whether a host port can be bound now (on all addresses,
// or on ip): by the forwarder's listener (listening, SO_REUSEADDR) or, when
// not, by Reserve.
func FreePort(proto, ip string, p uint16, listening bool) bool {
	files, err := bind([]Publish{{Proto: proto, HostIP: ip, HostPort: p}}, listening)
	for _, f := range files {
		f.Close()
	}
	return err == nil
}
