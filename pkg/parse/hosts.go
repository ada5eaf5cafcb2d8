package parse

import (
	"fmt"
	"net/netip"
	"strings"
)

// HostGateway is the special --add-host address meaning the host as seen
// from the container.
const HostGateway = "host-gateway"

// AddHost parses --add-host HOST:IP (or HOST=IP). IPv6 addresses may be
// written bare or in brackets ("db:[::1]"). It returns "HOST IP" ready for /etc/hosts.
func AddHost(s string) (host, ip string, err error) {
	sep := strings.IndexAny(s, ":=")
	if sep < 0 {
		return "", "", fmt.Errorf("invalid --add-host %q: use HOST:IP", s)
	}
	if eq := strings.Index(s, "="); eq >= 0 && eq < strings.Index(s+":", ":") {
		sep = eq
	}
	host, ip = s[:sep], s[sep+1:]
	if err := Hostname(host); err != nil {
		return "", "", fmt.Errorf("invalid --add-host %q: %v", s, err)
	}
	if ip == HostGateway {
		return host, ip, nil
	}
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	addr, perr := netip.ParseAddr(ip)
	if perr != nil || addr.Zone() != "" {
		return "", "", fmt.Errorf("invalid --add-host %q: %q is not an IP address", s, ip)
	}
	return host, addr.String(), nil
}

// Hostname checks a host name (-h, --add-host): RFC 1123 labels of letters,
// digits and hyphens, dot-separated, at most 253 characters.
func Hostname(s string) error {
	if s == "" {
		return fmt.Errorf("the host name is empty")
	}
	if len(s) > 253 {
		return fmt.Errorf("host name %q is longer than 253 characters", s)
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("invalid host name %q: each dot-separated part must have 1 to 63 characters", s)
		}
		for i, c := range label {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok || (c == '-' && (i == 0 || i == len(label)-1)) {
				return fmt.Errorf("invalid host name %q: use letters, digits and inner hyphens", s)
			}
		}
	}
	return nil
}

// IP checks an IP address (--dns).
func IP(s string) (string, error) {
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		return "", fmt.Errorf("%q is not an IP address", s)
	}
	return addr.String(), nil
}
