package oci

import (
	"testing"

	"github.com/opencontainers/runc/libcontainer/configs"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

func TestExecProcessCapabilities(t *testing.T) {
	caps := []string{"CAP_CHOWN", "CAP_KILL"}
	root := ExecProcess(ExecOptions{Args: []string{"sh"}, Caps: caps, Tty: true, Rows: 30, Cols: 100})
	if len(root.Capabilities.Effective) != 2 || len(root.Capabilities.Bounding) != 2 || root.ConsoleSize.Height != 30 || !root.Terminal {
		t.Fatalf("root exec: %+v", root)
	}
	user := ExecProcess(ExecOptions{Args: []string{"sh"}, UID: 1000, Caps: caps})
	if len(user.Capabilities.Effective) != 0 || len(user.Capabilities.Bounding) != 2 || user.ConsoleSize != nil {
		t.Fatalf("a non-root exec gets no effective capabilities: %+v", user.Capabilities)
	}
}

// Only the late half of a split profile is taken for one: a user's profile
// that allows by default is not.
func TestIsLateFilter(t *testing.T) {
	early, late, ok := splitSeccomp(&rspec.LinuxSeccomp{DefaultAction: rspec.ActErrno, Syscalls: []rspec.LinuxSyscall{{Names: []string{"read"}, Action: rspec.ActAllow}}})
	if !ok || early == nil {
		t.Fatal("split")
	}
	cfg := &configs.Seccomp{DefaultAction: configs.Allow}
	for _, sc := range late.Syscalls {
		for _, n := range sc.Names {
			cfg.Syscalls = append(cfg.Syscalls, &configs.Syscall{Name: n, Action: configs.Errno})
		}
	}
	if !isLateFilter(cfg) {
		t.Fatal("the late filter is not recognized")
	}
	user := &configs.Seccomp{DefaultAction: configs.Allow, Syscalls: []*configs.Syscall{{Name: "reboot", Action: configs.Errno}}}
	if isLateFilter(user) || isLateFilter(nil) || isLateFilter(&configs.Seccomp{DefaultAction: configs.Allow}) {
		t.Fatal("a user's allow-by-default profile is taken for the late filter")
	}
}

func TestLimitsInTheSpec(t *testing.T) {
	r := &rspec.LinuxResources{}
	Limits{Memory: 32 << 20, MemorySwap: 64 << 20, NanoCPUs: 15e8, CPUShares: 512, CpusetCpus: "0-1", PidsLimit: 5}.apply(r)
	if *r.Memory.Limit != 32<<20 || *r.CPU.Quota != 150000 || *r.CPU.Period != 100000 || *r.CPU.Shares != 512 || r.CPU.Cpus != "0-1" || *r.Pids.Limit != 5 {
		t.Fatalf("%+v %+v %+v", r.Memory, r.CPU, r.Pids)
	}
	empty := &rspec.LinuxResources{}
	Limits{}.apply(empty)
	if empty.Memory != nil || empty.CPU != nil || empty.Pids != nil {
		t.Fatal("no limits must leave the resources alone")
	}
}
