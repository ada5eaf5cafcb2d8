//go:build system

package system

import (
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		r := e.TugOK("--version")
		if !strings.HasPrefix(r.Out, "tug version ") {
			t.Fatalf("--version: %q", r.Out)
		}
		if r2 := e.TugOK("-v"); r2.Out != r.Out {
			t.Fatalf("-v differs from --version: %q", r2.Out)
		}
		mustContain(t, e.TugOK("version").Out, "Client:", "Server:", "Version:", "API version:", "OS/Arch:")
		if out := e.TugOK("version", "--format", "{{.Client.Version}}").Out; strings.TrimSpace(out) == "" || strings.Contains(out, "{{") {
			t.Fatalf("version --format: %q", out)
		}
	})
}

func TestUnknownCommandAndFlagExit125(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		r := e.TugFail(125, "no-such-command")
		mustContain(t, r.Err, "unknown command", "--help")
		r = e.TugFail(125, "no-such-command", "--help")
		mustContain(t, r.Err, `unknown command "no-such-command"`)
		if r.Out != "" {
			t.Fatalf("tug no-such-command --help printed help: %q", r.Out)
		}
		r = e.TugFail(125, "version", "--no-such-flag")
		mustContain(t, r.Err, "unknown flag: --no-such-flag")
		r = e.TugFail(125, "--log-level", "loud", "version")
		mustContain(t, r.Err, "invalid --log-level")
		r = e.TugFail(125, "version", "--format", "{{.Client")
		mustContain(t, r.Err, "template")
	})
}

// The harness itself: the registries answer and hold the test images.
func TestRegistryHoldsTestImages(t *testing.T) {
	e := newEnv(t, false)
	for _, img := range []string{Img("busybox"), Img("multilayer"), Img("config")} {
		r := e.Sh("skopeo inspect --tls-verify=false docker://" + img)
		if r.Code != 0 {
			t.Fatalf("skopeo inspect %s: %s", img, r.Err)
		}
	}
	r := e.Sh("skopeo inspect --raw --tls-verify=false docker://" + Img("multiarch"))
	mustContain(t, r.Out, "arm64", "amd64")
	r = e.Sh("skopeo inspect --tls-verify=false docker://" + AuthRegistry + "/tug/busybox:latest")
	if r.Code == 0 {
		t.Fatal("the auth registry answered without credentials")
	}
	e.ShOK("skopeo inspect --tls-verify=false --creds tuguser:tugpass docker://" + AuthRegistry + "/tug/busybox:latest")
}
