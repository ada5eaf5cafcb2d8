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
	if s.Name != "web" || s.StopSignal != "SIGUSR1" || s.Network != NetworkDefault || !s.AllowHostLoopback || !s.NoNewPrivileges || s.SeccompProfile != "unconfined" || s.AddHosts[0] != "db:10.0.0.1" {
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
		"network":  {Image: "x", Network: "mynet"},
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
