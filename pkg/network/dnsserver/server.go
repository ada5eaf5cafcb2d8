// Package dnsserver is the name server of tug's user-defined networks. It
// is its own package so that the processes that link pkg/network without
// serving names (the container monitor) do not pay for the DNS library's
// start-up.
package dnsserver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/tug-project/tug/pkg/network"
)

// Records answers for the containers of tug's networks.
type Records interface {
	// Lookup returns the addresses of name for a client that asked the
	// server at server (a network's gateway); ok is false when the name is
	// no container's or alias's that this client may see.
	Lookup(server, client netip.Addr, name string) (ips []netip.Addr, ok bool)
	// Reverse names the container at ip, as the client sees it.
	Reverse(server, client, ip netip.Addr) (name string, ok bool)
	// Ours reports whether ip lies in one of tug's subnets (its reverse
	// lookups are never forwarded).
	Ours(ip netip.Addr) bool
}

// Server is the name server of user-defined networks: it listens on
// their gateways, answers container names and aliases from Records, says
// NXDOMAIN for other single-label names and forwards the rest to the host's
// resolvers.
type Server struct {
	Records   Records
	Upstreams []string // "host:53" ...
	TTL       uint32

	mu        sync.Mutex
	listeners map[netip.Addr]*dnsListener
}

type dnsListener struct {
	addr    netip.Addr
	servers []*dns.Server
}

// Listen serves on ip:53 (UDP and TCP), with the sockets opened in the
// namespace at nsPath. IP_FREEBIND lets it listen before the bridge has
// the address. Listening twice on one address is a no-op.
func (s *Server) Listen(nsPath string, ip netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listeners == nil {
		s.listeners = map[netip.Addr]*dnsListener{}
	}
	if _, ok := s.listeners[ip]; ok {
		return nil
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
			if serr == nil {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	addr := net.JoinHostPort(ip.String(), "53")
	var pc net.PacketConn
	var ln net.Listener
	err := network.InNS(nsPath, func() error {
		var err error
		if pc, err = lc.ListenPacket(context.Background(), "udp4", addr); err != nil {
			return err
		}
		if ln, err = lc.Listen(context.Background(), "tcp4", addr); err != nil {
			pc.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("DNS server on %s: %w", addr, err)
	}
	l := &dnsListener{addr: ip}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) { s.serve(ip, w, r) })
	l.servers = []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}}
	for _, srv := range l.servers {
		go srv.ActivateAndServe()
	}
	s.listeners[ip] = l
	return nil
}

// Keep stops listening on every address not in ips.
func (s *Server) Keep(ips []netip.Addr) {
	keep := map[netip.Addr]bool{}
	for _, ip := range ips {
		keep[ip] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for ip, l := range s.listeners {
		if !keep[ip] {
			l.close()
			delete(s.listeners, ip)
		}
	}
}

// Close stops every listener.
func (s *Server) Close() { s.Keep(nil) }

func (l *dnsListener) close() {
	for _, srv := range l.servers {
		srv.Shutdown()
	}
}

func (s *Server) serve(server netip.Addr, w dns.ResponseWriter, r *dns.Msg) {
	client := remoteAddr(w.RemoteAddr())
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = true
	if len(r.Question) != 1 || r.Opcode != dns.OpcodeQuery {
		m.SetRcode(r, dns.RcodeNotImplemented)
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.TrimSuffix(strings.ToLower(q.Name), ".")
	ttl := s.TTL
	if ttl == 0 {
		ttl = 60
	}
	if q.Qclass == dns.ClassINET || q.Qclass == dns.ClassANY {
		if ips, ok := s.Records.Lookup(server, client, name); ok {
			m.Authoritative = true
			if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
				for _, ip := range ips {
					m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: net.IP(ip.AsSlice())})
				}
			}
			w.WriteMsg(m)
			return
		}
		if ip, isRev := reverseAddr(name); isRev && s.Records.Ours(ip) {
			if host, ok := s.Records.Reverse(server, client, ip); ok && (q.Qtype == dns.TypePTR || q.Qtype == dns.TypeANY) {
				m.Authoritative = true
				m.Answer = append(m.Answer, &dns.PTR{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl}, Ptr: dns.Fqdn(host)})
			} else if !ok {
				m.SetRcode(r, dns.RcodeNameError)
			}
			w.WriteMsg(m)
			return
		}
	}
	if !strings.Contains(name, ".") {
		// A single-label name that is no container's: nobody upstream knows
		// it either, and asking would send container names off the host.
		m.SetRcode(r, dns.RcodeNameError)
		w.WriteMsg(m)
		return
	}
	w.WriteMsg(s.forward(r, isTCP(w)))
}

// forward asks the host's resolvers, in order.
func (s *Server) forward(r *dns.Msg, tcp bool) *dns.Msg {
	netw := "udp"
	if tcp {
		netw = "tcp"
	}
	c := &dns.Client{Net: netw, Timeout: 4 * time.Second}
	for _, up := range s.Upstreams {
		resp, _, err := c.Exchange(r, up)
		if err == nil && resp != nil && resp.Truncated && !tcp {
			resp, _, err = (&dns.Client{Net: "tcp", Timeout: 4 * time.Second}).Exchange(r, up)
		}
		if err == nil && resp != nil {
			resp.Id = r.Id
			return resp
		}
	}
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeServerFailure)
	return m
}

func isTCP(w dns.ResponseWriter) bool {
	_, ok := w.RemoteAddr().(*net.TCPAddr)
	return ok
}

func remoteAddr(a net.Addr) netip.Addr {
	switch v := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(v.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(v.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// reverseAddr reads "4.3.2.1.in-addr.arpa" as 1.2.3.4.
func reverseAddr(name string) (netip.Addr, bool) {
	rest, ok := strings.CutSuffix(name, ".in-addr.arpa")
	if !ok {
		return netip.Addr{}, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(parts[3] + "." + parts[2] + "." + parts[1] + "." + parts[0])
	return ip, err == nil
}

// Upstreams are the nameservers of a resolv.conf, as host:port.
func Upstreams(resolvConf []byte) []string {
	var out []string
	for _, line := range strings.Split(string(resolvConf), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if ip, err := netip.ParseAddr(f[1]); err == nil {
				out = append(out, net.JoinHostPort(ip.String(), "53"))
			}
		}
	}
	return out
}
