//go:build system

package system

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestInfo(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		var uts unix.Utsname
		unix.Uname(&uts)
		kernel := unix.ByteSliceToString(uts.Release[:])
		out := e.TugOK("info").Out
		mustContain(t, out, "Client:\n Version: ", "\nServer:\n Containers: 0\n  Running: 0\n  Paused: 0\n  Stopped: 0\n Images: 0\n",
			"\n Server Version: ", "\n Kernel Version: "+kernel+"\n", "\n Storage Driver: ", "\n OSType: linux\n",
			"\n CPUs: ", "\n Total Memory: ", "\n Root Dir: "+e.Root+"\n", "\n Insecure Registries:\n", "127.0.0.0/8")
		// `docker info | grep Version` finds the versions.
		grep := e.ShOK("$TUG info | grep Version").Out
		mustContain(t, grep, "Server Version:", "Kernel Version:")
		if e.Rootless {
			mustContain(t, out, "\n Rootless: true\n", "\n Security Options:\n  rootless\n", "\n Cgroup Driver: none\n")
		} else {
			mustContain(t, out, "\n Rootless: false\n", "\n Cgroup Driver: cgroupfs\n")
		}
		var st syscall.Statfs_t
		if syscall.Statfs("/sys/fs/cgroup", &st) == nil && st.Type != unix.CGROUP2_SUPER_MAGIC {
			mustContain(t, out, "\n Cgroup Version: 1\n")
		}
		if !regexp.MustCompile(`\n Storage Driver: (overlay|vfs)`).MatchString(out) {
			t.Fatalf("storage driver:\n%s", out)
		}
		// Images count what is stored; system info is the same command.
		loadTest(e, "busybox=busybox:latest", "config=config:latest")
		mustContain(t, e.TugOK("system", "info").Out, "\n Images: 2\n")

		// --format: Docker's field names, and {{json .}} as one object.
		if got := e.TugOK("info", "--format", "{{.Images}} {{.KernelVersion}} {{.Rootless}} {{.OSType}}").Out; got != "2 "+kernel+" "+map[bool]string{true: "true", false: "false"}[e.Rootless]+" linux\n" {
			t.Fatalf("--format: %q", got)
		}
		var obj map[string]any
		js := e.TugOK("info", "--format", "{{json .}}").Out
		if err := json.Unmarshal([]byte(js), &obj); err != nil {
			t.Fatalf("{{json .}}: %v\n%s", err, js)
		}
		for _, k := range []string{"ServerVersion", "KernelVersion", "Driver", "DockerRootDir", "Containers", "Images", "NCPU", "MemTotal", "CgroupVersion", "Rootless", "RegistryConfig"} {
			if _, ok := obj[k]; !ok {
				t.Errorf("{{json .}} has no %s", k)
			}
		}
		e.TugFail(125, "info", "--format", "{{.Nope")
	})
}

func TestInfoShowsRegistryConfig(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		conf := filepath.Join(e.TmpDir, "tug.conf")
		e.WriteFile(conf, []byte("[registries]\ninsecure = [\"registry.internal:5000\"]\nsearch = [\"docker.io\", \"quay.io\"]\n[registries.mirrors]\n\"docker.io\" = [\"mirror.internal:5000\"]\n"))
		out := e.TugOK("--config", conf, "info").Out
		mustContain(t, out, " Insecure Registries:\n  registry.internal:5000\n", " Registry Mirrors:\n  mirror.internal:5000\n", " Registries:\n  docker.io\n  quay.io\n")
		got := e.TugOK("--config", conf, "info", "-f", "{{json .RegistryConfig.Mirrors}}").Out
		if strings.TrimSpace(got) != `["mirror.internal:5000"]` {
			t.Fatalf("mirrors: %q", got)
		}
		os.Remove(conf)
	})
}
