package parse

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePublish(t *testing.T) {
	for in, want := range map[string][]PortMapping{
		"8080:80":           {{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
		"80":                {{ContainerPort: 80, Protocol: "tcp"}},
		"3000:4321/udp":     {{HostPort: 3000, ContainerPort: 4321, Protocol: "udp"}},
		"127.0.0.1:8080:80": {{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
		"0.0.0.0:8080:80":   {{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
		"127.0.0.1::80":     {{HostIP: "127.0.0.1", ContainerPort: 80, Protocol: "tcp"}},
		"[::1]:8080:80/TCP": {{HostIP: "::1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
		"8000-8001:80-81":   {{HostPort: 8000, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 8001, ContainerPort: 81, Protocol: "tcp"}},
		"8000-8010:80":      {{HostPort: 8000, HostPortEnd: 8010, ContainerPort: 80, Protocol: "tcp"}},
		"80-81/udp":         {{ContainerPort: 80, Protocol: "udp"}, {ContainerPort: 81, Protocol: "udp"}},
	} {
		got, err := ParsePublish(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParsePublish(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		"":                "missing",
		"0:80":            "out of range",
		"8080:65536":      "out of range",
		"8080:80/sctp":    "sctp",
		"8080:80/icmp":    "unknown protocol",
		"a:80":            "not a port number",
		"1.2.3:80:80":     "not an IP address",
		"1:2:3:4":         "too many",
		"8000-8002:80-81": "different sizes",
		"90-80":           "ends before",
		"1-2000":          "more than",
		"[1.2.3.4]:1:2":   "brackets",
		"[::1]80":         "followed by",
	} {
		_, err := ParsePublish(in)
		if err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), "-p/--publish") {
			t.Errorf("ParsePublish(%q) error %v, want one saying %q", in, err, why)
		}
	}
}

func TestParseExposeAndKey(t *testing.T) {
	got, err := ParseExpose("8000-8002/udp")
	if err != nil || strings.Join(got, ",") != "8000/udp,8001/udp,8002/udp" {
		t.Fatalf("%v %v", got, err)
	}
	if p, proto, err := ParsePortKey("80/tcp"); p != 80 || proto != "tcp" || err != nil {
		t.Fatalf("%v %v %v", p, proto, err)
	}
	if _, _, err := ParsePortKey("x/tcp"); err == nil {
		t.Fatal("bad key accepted")
	}
}

// FuzzParsePublish: never a panic, and what parses prints back to a value
// that parses to the same mappings.
func FuzzParsePublish(f *testing.F) {
	for _, s := range []string{"8080:80", "80", "127.0.0.1:8080:80/udp", "[::1]::80", "8000-8010:80", "1-3:4-6/tcp", "::80", "[]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParsePublish(s)
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.ContainerPort == 0 || (m.Protocol != "tcp" && m.Protocol != "udp") || (m.HostPortEnd != 0 && m.HostPortEnd <= m.HostPort) {
				t.Fatalf("%q gave %+v", s, m)
			}
			again, err := ParsePublish(m.String())
			if err != nil || len(again) != 1 || again[0] != m {
				t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, m, m.String(), again, err)
			}
		}
	})
}
