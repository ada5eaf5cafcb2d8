package parse

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// PortMapping is one published port: -p [IP:][HOSTPORT:]CONTAINERPORT[/PROTO].
type PortMapping struct {
	// HostIP is the host address to bind, "" for every address (0.0.0.0).
	HostIP string `json:"hostIP,omitempty"`
	// HostPort is the host port; 0 asks for a free one (from 32768 up).
	HostPort uint16 `json:"hostPort,omitempty"`
	// HostPortEnd, when set, lets any free port of HostPort..HostPortEnd
	// serve (-p 8000-8010:80).
	HostPortEnd   uint16 `json:"hostPortEnd,omitempty"`
	ContainerPort uint16 `json:"containerPort"`
	Protocol      string `json:"protocol"` // tcp or udp
}

// String is the mapping as -p takes it back.
func (p PortMapping) String() string {
	var b strings.Builder
	if p.HostIP != "" {
		if strings.Contains(p.HostIP, ":") {
			b.WriteString("[" + p.HostIP + "]:")
		} else {
			b.WriteString(p.HostIP + ":")
		}
	}
	if p.HostPort != 0 {
		b.WriteString(strconv.Itoa(int(p.HostPort)))
		if p.HostPortEnd != 0 {
			b.WriteString("-" + strconv.Itoa(int(p.HostPortEnd)))
		}
		b.WriteString(":")
	} else if p.HostIP != "" {
		b.WriteString(":")
	}
	b.WriteString(strconv.Itoa(int(p.ContainerPort)) + "/" + p.Protocol)
	return b.String()
}

// ContainerPortKey is the container side as Docker keys it: "80/tcp".
func (p PortMapping) ContainerPortKey() string {
	return strconv.Itoa(int(p.ContainerPort)) + "/" + p.Protocol
}

// ParsePublish parses one -p/--publish value into its mappings (a range
// gives one per port): [IP:][HOSTPORT[-END]:]CONTAINERPORT[-END][/tcp|/udp].
// An IPv6 address is written in brackets.
func ParsePublish(s string) ([]PortMapping, error) {
	bad := func(why string) error {
		return fmt.Errorf("invalid -p/--publish %q: %s (use [IP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp])", s, why)
	}
	rest, proto, err := splitProto(s)
	if err != nil {
		return nil, bad(err.Error())
	}
	var ip, host, ctr string
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 || end+1 >= len(rest) || rest[end+1] != ':' {
			return nil, bad("an IPv6 address in brackets must be followed by ':'")
		}
		ip = rest[1:end]
		if strings.Contains(ip, ".") {
			return nil, bad("brackets are for IPv6 addresses")
		}
		rest = rest[end+2:]
		parts := strings.Split(rest, ":")
		switch len(parts) {
		case 1:
			ctr = parts[0]
		case 2:
			host, ctr = parts[0], parts[1]
		default:
			return nil, bad("too many ':'")
		}
	} else {
		parts := strings.Split(rest, ":")
		switch len(parts) {
		case 1:
			ctr = parts[0]
		case 2:
			host, ctr = parts[0], parts[1]
		case 3:
			ip, host, ctr = parts[0], parts[1], parts[2]
		default:
			return nil, bad("too many ':' (write an IPv6 address in brackets)")
		}
	}
	if ip != "" {
		addr, err := netip.ParseAddr(ip)
		if err != nil || addr.Zone() != "" {
			return nil, bad(fmt.Sprintf("%q is not an IP address", ip))
		}
		ip = addr.Unmap().String()
		if addr.Is4() && addr.IsUnspecified() {
			ip = ""
		}
	}
	cStart, cEnd, err := portRange(ctr)
	if err != nil {
		return nil, bad("container port: " + err.Error())
	}
	var hStart, hEnd uint16
	if host != "" {
		if hStart, hEnd, err = portRange(host); err != nil {
			return nil, bad("host port: " + err.Error())
		}
	}
	count := int(cEnd) - int(cStart) + 1
	var out []PortMapping
	switch {
	case host == "":
		for p := int(cStart); p <= int(cEnd); p++ {
			out = append(out, PortMapping{HostIP: ip, ContainerPort: uint16(p), Protocol: proto})
		}
	case count == 1 && hEnd > hStart:
		out = append(out, PortMapping{HostIP: ip, HostPort: hStart, HostPortEnd: hEnd, ContainerPort: cStart, Protocol: proto})
	case int(hEnd)-int(hStart)+1 != count:
		return nil, bad("the host and container port ranges have different sizes")
	default:
		for i := 0; i < count; i++ {
			out = append(out, PortMapping{HostIP: ip, HostPort: hStart + uint16(i), ContainerPort: cStart + uint16(i), Protocol: proto})
		}
	}
	return out, nil
}

// ParseExpose parses one --expose value: PORT[-END][/tcp|/udp]; it returns
// Docker's keys ("80/tcp").
func ParseExpose(s string) ([]string, error) {
	rest, proto, err := splitProto(s)
	if err != nil {
		return nil, fmt.Errorf("invalid --expose %q: %v", s, err)
	}
	start, end, err := portRange(rest)
	if err != nil {
		return nil, fmt.Errorf("invalid --expose %q: %v", s, err)
	}
	var out []string
	for p := int(start); p <= int(end); p++ {
		out = append(out, strconv.Itoa(p)+"/"+proto)
	}
	return out, nil
}

// ParsePortKey parses "80/tcp" (or "80", meaning tcp), as images' ExposedPorts hold them.
func ParsePortKey(s string) (uint16, string, error) {
	rest, proto, err := splitProto(s)
	if err != nil {
		return 0, "", err
	}
	p, err := portNumber(rest)
	return p, proto, err
}

func splitProto(s string) (rest, proto string, err error) {
	rest, proto, has := strings.Cut(s, "/")
	if !has {
		return s, "tcp", nil
	}
	switch p := strings.ToLower(proto); p {
	case "tcp", "udp":
		return rest, p, nil
	case "sctp":
		return "", "", fmt.Errorf("the sctp protocol is not supported: use tcp or udp")
	default:
		return "", "", fmt.Errorf("unknown protocol %q: use tcp or udp", proto)
	}
}

// maxRange bounds a port range, so that a typo cannot ask for 65535 forwarders.
const maxRange = 1024

func portRange(s string) (uint16, uint16, error) {
	a, b, isRange := strings.Cut(s, "-")
	start, err := portNumber(a)
	if err != nil {
		return 0, 0, err
	}
	if !isRange {
		return start, start, nil
	}
	end, err := portNumber(b)
	if err != nil {
		return 0, 0, err
	}
	if end < start {
		return 0, 0, fmt.Errorf("the range %s ends before it starts", s)
	}
	if int(end)-int(start) >= maxRange {
		return 0, 0, fmt.Errorf("the range %s has more than %d ports", s, maxRange)
	}
	return start, end, nil
}

func portNumber(s string) (uint16, error) {
	if s == "" {
		return 0, fmt.Errorf("the port is missing")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a port number", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %s is out of range 1-65535", s)
	}
	return uint16(n), nil
}
