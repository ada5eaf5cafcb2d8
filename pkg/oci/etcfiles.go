package oci

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// EtcOptions shape the generated /etc/hosts and /etc/resolv.conf.
type EtcOptions struct {
	Hostname                   string
	NetMode                    string   // NetPrivate, NetHost, NetNamespace
	Slirp                      bool     // networked through slirp4netns
	ContainerIP                string   // the container's own address, "" for none
	AddHosts                   []string // "name:ip"
	HostGateway                string   // the address host-gateway means
	DNS, DNSSearch, DNSOptions []string
}

// SlirpDNS is the DNS forwarder slirp4netns offers at 10.0.2.3.
const SlirpDNS = "10.0.2.3"

// Hosts is the container's /etc/hosts.
func Hosts(o EtcOptions) []byte {
	var b bytes.Buffer
	if o.NetMode == NetHost {
		if host, err := os.ReadFile("/etc/hosts"); err == nil {
			b.Write(host)
			if len(host) > 0 && host[len(host)-1] != '\n' {
				b.WriteByte('\n')
			}
		}
	} else {
		b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
		if o.ContainerIP != "" {
			fmt.Fprintf(&b, "%s\t%s\n", o.ContainerIP, o.Hostname)
		} else {
			fmt.Fprintf(&b, "127.0.1.1\t%s\n", o.Hostname)
		}
	}
	for _, h := range o.AddHosts {
		name, ip, _ := strings.Cut(h, ":")
		if ip == "host-gateway" {
			ip = o.HostGateway
		}
		if ip != "" {
			fmt.Fprintf(&b, "%s\t%s\n", ip, name)
		}
	}
	return b.Bytes()
}

// Resolv is the container's /etc/resolv.conf: the host's, with --dns,
// --dns-search and --dns-option replacing its parts; through slirp4netns,
// nameservers on the host's loopback cannot be reached and slirp's
// forwarder takes their place.
func Resolv(hostResolv []byte, o EtcOptions) []byte {
	var servers, search, options, other []string
	for _, line := range strings.Split(string(hostResolv), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				servers = append(servers, f[1])
			}
		case "search", "domain":
			search = append(search, f[1:]...)
		case "options":
			options = append(options, f[1:]...)
		default:
			if !strings.HasPrefix(f[0], "#") && !strings.HasPrefix(f[0], ";") {
				other = append(other, line)
			}
		}
	}
	if o.NetMode != NetHost {
		kept := servers[:0]
		for _, s := range servers {
			if !strings.HasPrefix(s, "127.") && s != "::1" {
				kept = append(kept, s)
			}
		}
		servers = kept
		if o.Slirp {
			servers = append([]string{SlirpDNS}, servers...)
		}
	}
	if len(o.DNS) > 0 {
		servers = o.DNS
	}
	if len(o.DNSSearch) > 0 {
		search = nil
		for _, s := range o.DNSSearch {
			if s != "." {
				search = append(search, s)
			}
		}
	}
	if len(o.DNSOptions) > 0 {
		options = o.DNSOptions
	}
	var b bytes.Buffer
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	for _, l := range other {
		b.WriteString(l + "\n")
	}
	return b.Bytes()
}
