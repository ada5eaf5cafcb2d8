package specgen

import (
	"strings"
	"testing"
)

func TestValidateNormalizes(t *testing.T) {
	s := &Spec{Image: "busybox", Name: "/web", CapAdd: []string{"net_admin"}, CapDrop: []string{"CAP_CHOWN"}, StopSignal: "usr1", Network: "slirp4netns:allow_host_loopback=true", SecurityOpt: []string{"no-new-privileges", "label=disable", "seccomp=unconfined"}, AddHosts: []string{"db=10.0.0.1"}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Name != "web" || s.StopSignal != "SIGUSR1" || s.Network != NetworkSlirp || s.Networks != nil || !s.AllowHostLoopback || !s.NoNewPrivileges || s.SeccompProfile != "unconfined" || s.AddHosts[0] != "db:10.0.0.1" {
		t.Fatalf("%+v", s)
	}
	caps := strings.Join(s.Capabilities(), ",")
	if !strings.Contains(caps, "CAP_NET_ADMIN") || strings.Contains(caps, "CAP_CHOWN") || !strings.Contains(caps, "CAP_KILL") {
		t.Fatal(caps)
	}
}

func TestValidateRefusesBadInput(t *testing.T) {
	for name, s := range map[string]Spec{
		"name":     {Image: "x", Name: "-bad"},
		"workdir":  {Image: "x", WorkDir: "rel"},
		"cap":      {Image: "x", CapAdd: []string{"CAP_FLY"}},
		"signal":   {Image: "x", StopSignal: "SIGNOPE"},
		"network":  {Image: "x", Network: "-mynet"},
		"secopt":   {Image: "x", SecurityOpt: []string{"bogus"}},
		"seccomp":  {Image: "x", SecurityOpt: []string{"seccomp=/no/such/profile.json"}},
		"dns":      {Image: "x", DNS: []string{"not-an-ip"}},
		"hostname": {Image: "x", Hostname: "bad_host!"},
		"attach":   {Image: "x", Attach: []string{"stdfoo"}},
		"noimage":  {},
	} {
		s := s
		if err := s.Validate(); err == nil || !IsValidationError(err) {
			t.Errorf("%s: accepted or not a validation error: %v", name, err)
		}
	}
}

func TestValidateNetworks(t *testing.T) {
	s := &Spec{Image: "x"}
	if err := s.Validate(); err != nil || s.Network != NetworkBridge || len(s.Networks) != 1 || s.Networks[0].Name != DefaultBridge {
		t.Fatalf("default: %v %+v", err, s)
	}
	s = &Spec{Image: "x", Networks: []NetworkAttach{{Name: "front", IPv4: "10.1.0.9", Aliases: []string{"web"}, MAC: "02:42:0a:01:00:09"}, {Name: "back"}}}
	if err := s.Validate(); err != nil || s.Network != NetworkBridge || len(s.Networks) != 2 {
		t.Fatalf("two networks: %v %+v", err, s)
	}
	s = &Spec{Image: "x", Network: "host"}
	if err := s.Validate(); err != nil || s.Network != NetworkHost || s.Networks != nil {
		t.Fatalf("host: %v %+v", err, s)
	}
	for name, bad := range map[string]Spec{
		"host and user":     {Image: "x", Networks: []NetworkAttach{{Name: "host"}, {Name: "front"}}},
		"user and none":     {Image: "x", Networks: []NetworkAttach{{Name: "front"}, {Name: "none"}}},
		"twice":             {Image: "x", Networks: []NetworkAttach{{Name: "front"}, {Name: "front"}}},
		"ip on bridge":      {Image: "x", Networks: []NetworkAttach{{Name: "bridge", IPv4: "172.17.0.9"}}},
		"alias on bridge":   {Image: "x", Networks: []NetworkAttach{{Aliases: []string{"a"}}}},
		"bad ip":            {Image: "x", Networks: []NetworkAttach{{Name: "front", IPv4: "10.1"}}},
		"bad mac":           {Image: "x", Networks: []NetworkAttach{{Name: "front", MAC: "zz"}}},
		"multicast mac":     {Image: "x", Networks: []NetworkAttach{{Name: "front", MAC: "01:00:5e:00:00:01"}}},
		"ports + container": {Image: "x", Network: "container:web", PublishAll: true},
		"bad expose":        {Image: "x", Expose: []string{"http"}},
	} {
		bad := bad
		if err := bad.Validate(); err == nil || !IsValidationError(err) {
			t.Errorf("%s: accepted or not a validation error: %v", name, err)
		}
	}
}

func TestCapabilitiesDropAllAndPrivileged(t *testing.T) {
	s := &Spec{CapDrop: []string{"ALL"}, CapAdd: []string{"CAP_KILL"}}
	if got := strings.Join(s.Capabilities(), ","); got != "CAP_KILL" {
		t.Fatal(got)
	}
	s = &Spec{Privileged: true, CapDrop: []string{"ALL"}}
	if len(s.Capabilities()) != len(knownCaps) {
		t.Fatal("privileged must have every capability")
	}
	s = &Spec{}
	if len(s.Capabilities()) != len(DefaultCaps) {
		t.Fatal("defaults")
	}
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"web", "/a.b-c_d", "-x", "", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName(name) == nil && (strings.TrimPrefix(name, "/") == "" || strings.ContainsAny(name[1:], "/ \n")) {
			t.Fatalf("accepted %q", name)
		}
	})
}
