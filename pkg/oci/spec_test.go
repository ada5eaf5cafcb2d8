package oci

import (
	"strings"
	"testing"

	"github.com/tug-project/tug/pkg/parse"
)

func hasMount(t *testing.T, o SpecOptions, dest, typ string) bool {
	t.Helper()
	s, err := Spec(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range s.Mounts {
		if m.Destination == dest && m.Type == typ {
			return true
		}
	}
	return false
}

func TestSpecDockerDefaults(t *testing.T) {
	o := SpecOptions{Rootfs: "/r", Args: []string{"sh"}, Cwd: "/", Hostname: "abc", Caps: []string{"CAP_CHOWN", "CAP_KILL"}, NetMode: NetPrivate}
	s, err := Spec(o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Linux.Seccomp == nil || len(s.Linux.Seccomp.Syscalls) == 0 {
		t.Fatal("no default seccomp profile")
	}
	if strings.Join(s.Linux.MaskedPaths, ",") != strings.Join(MaskedPaths, ",") || len(s.Linux.ReadonlyPaths) != len(ReadonlyPaths) {
		t.Fatal("masked or read-only paths are not Docker's")
	}
	var ns []string
	for _, n := range s.Linux.Namespaces {
		ns = append(ns, string(n.Type))
	}
	if strings.Join(ns, ",") != "pid,mount,uts,ipc,network" {
		t.Fatalf("namespaces %v", ns)
	}
	c := s.Process.Capabilities
	if len(c.Bounding) != 2 || len(c.Effective) != 2 || len(c.Inheritable) != 0 || len(c.Ambient) != 0 {
		t.Fatalf("capabilities %+v", c)
	}
	if s.Hostname != "abc" || s.Linux.RootfsPropagation != "rprivate" {
		t.Fatal("hostname or propagation")
	}
	// A non-root user starts with no effective capabilities.
	o.UID = 1000
	s, _ = Spec(o)
	if len(s.Process.Capabilities.Effective) != 0 || len(s.Process.Capabilities.Bounding) != 2 {
		t.Fatalf("non-root capabilities %+v", s.Process.Capabilities)
	}
}

func TestSpecOptions(t *testing.T) {
	base := SpecOptions{Rootfs: "/r", Args: []string{"sh"}, Cwd: "/", NetMode: NetPrivate}
	o := base
	o.Privileged = true
	s, _ := Spec(o)
	if s.Linux.Seccomp != nil || len(s.Linux.MaskedPaths) != 0 {
		t.Fatal("privileged keeps seccomp or masked paths")
	}
	o = base
	o.Seccomp = "unconfined"
	if s, _ := Spec(o); s.Linux.Seccomp != nil {
		t.Fatal("seccomp=unconfined")
	}
	o = base
	o.Seccomp = `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}`
	if s, err := Spec(o); err != nil || s.Linux.Seccomp.DefaultAction != "SCMP_ACT_ALLOW" {
		t.Fatalf("custom profile: %v", err)
	}
	o.Seccomp = "{not json"
	if _, err := Spec(o); err == nil {
		t.Fatal("a broken profile was accepted")
	}
	o = base
	o.NetMode = NetHost
	s, _ = Spec(o)
	for _, n := range s.Linux.Namespaces {
		if n.Type == "network" {
			t.Fatal("host network has its own namespace")
		}
	}
	o = base
	o.Tmpfs = map[string]string{"/run": "size=1m,exec"}
	o.Ulimits = []parse.Ulimit{{Name: "nofile", Soft: 10, Hard: 20}}
	o.ReadOnly = true
	s, _ = Spec(o)
	found := false
	for _, m := range s.Mounts {
		if m.Destination == "/run" {
			found = true
			if strings.Contains(strings.Join(m.Options, ","), "noexec") || !strings.Contains(strings.Join(m.Options, ","), "size=1m") {
				t.Fatalf("tmpfs options %v", m.Options)
			}
		}
	}
	if !found || !s.Root.Readonly || len(s.Process.Rlimits) != 1 || s.Process.Rlimits[0].Soft != 10 {
		t.Fatal("tmpfs, read-only root or ulimit missing")
	}
	// Rootless without its own network namespace binds /sys and has no cgroup mount.
	o = base
	o.Rootless, o.NetMode = true, NetHost
	if hasMount(t, o, "/sys", "sysfs") || !hasMount(t, o, "/sys", "bind") || hasMount(t, o, "/sys/fs/cgroup", "cgroup") {
		t.Fatal("rootless /sys handling")
	}
}

func TestEtcFiles(t *testing.T) {
	host := []byte("# generated\nsearch corp.example\nnameserver 127.0.0.53\nnameserver 192.0.2.1\noptions edns0\n")
	got := string(Resolv(host, EtcOptions{NetMode: NetPrivate, Slirp: true}))
	if got != "search corp.example\nnameserver 10.0.2.3\nnameserver 192.0.2.1\noptions edns0\n" {
		t.Fatalf("slirp resolv.conf: %q", got)
	}
	got = string(Resolv(host, EtcOptions{NetMode: NetHost}))
	if !strings.Contains(got, "nameserver 127.0.0.53") {
		t.Fatalf("host network keeps the host's resolver: %q", got)
	}
	got = string(Resolv(host, EtcOptions{NetMode: NetPrivate, DNS: []string{"10.9.9.9"}, DNSSearch: []string{"."}, DNSOptions: []string{"ndots:1"}}))
	if got != "nameserver 10.9.9.9\noptions ndots:1\n" {
		t.Fatalf("--dns flags: %q", got)
	}
	h := string(Hosts(EtcOptions{Hostname: "abc", NetMode: NetPrivate, ContainerIP: "10.0.2.100", AddHosts: []string{"db:10.1.1.1", "gw:host-gateway"}, HostGateway: "10.0.2.2"}))
	for _, want := range []string{"127.0.0.1\tlocalhost\n", "10.0.2.100\tabc\n", "10.1.1.1\tdb\n", "10.0.2.2\tgw\n"} {
		if !strings.Contains(h, want) {
			t.Fatalf("hosts lacks %q:\n%s", want, h)
		}
	}
}

func TestStartErrorCodes(t *testing.T) {
	for msg, code := range map[string]int{
		`exec: "x": executable file not found in $PATH`: 127,
		`exec: "/etc/passwd": permission denied`:        126,
		`something else`:                                125,
	} {
		if e := startError(errString(msg)); e.Code != code {
			t.Errorf("%q -> %d, want %d", msg, e.Code, code)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
