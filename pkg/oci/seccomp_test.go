package oci

import (
	"path/filepath"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"strings"
	"testing"
)

func TestSplitSeccompIsTheProfile(t *testing.T) {
	s, err := Spec(SpecOptions{Rootfs: "/", Args: []string{"true"}, Caps: []string{"CAP_CHOWN", "CAP_KILL", "CAP_SYS_CHROOT"}, NetMode: NetPrivate})
	if err != nil {
		t.Fatal(err)
	}
	whole := *s.Linux.Seccomp
	early, late, ok := splitSeccomp(&whole)
	if !ok {
		t.Fatalf("Docker's profile could not be split: flags %v default %s", whole.Flags, whole.DefaultAction)
	}
	// The late filter refuses exactly the setup calls, with the profile's errno.
	if late.DefaultAction != "SCMP_ACT_ALLOW" || len(late.Syscalls) != 1 || strings.Contains(strings.Join(late.Syscalls[0].Names, ","), "chroot") || !strings.Contains(strings.Join(late.Syscalls[0].Names, ","), "pivot_root") || *late.Syscalls[0].ErrnoRet != *whole.DefaultErrnoRet {
		t.Fatalf("late filter %+v", late)
	}
	if len(early.Syscalls) != len(whole.Syscalls)+1 {
		t.Fatal("early filter is not the profile plus the setup calls")
	}
	prog, err := compileSeccomp(early)
	if err != nil || len(prog)%8 != 0 || len(prog) < 100 {
		t.Fatalf("compile: %d bytes, %v", len(prog), err)
	}
	dir := t.TempDir()
	spec := *s
	linux := *s.Linux
	spec.Linux = &linux
	p1 := earlySeccomp(&spec, filepath.Join(dir, "cache"))
	if p1 == nil || spec.Linux.Seccomp.DefaultAction != "SCMP_ACT_ALLOW" {
		t.Fatal("earlySeccomp did not split the spec")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "cache", "*.bpf")); len(m) != 1 {
		t.Fatalf("cache: %v", m)
	}
	// A profile that speaks of a setup call is loaded whole.
	withMount := whole
	withMount.Syscalls = append(append(withMount.Syscalls[:0:0], whole.Syscalls...), whole.Syscalls[0])
	withMount.Syscalls[len(withMount.Syscalls)-1] = rspec.LinuxSyscall{Names: []string{"mount"}, Action: rspec.ActAllow, Args: []rspec.LinuxSeccompArg{{Index: 3, Value: 0, Op: rspec.OpEqualTo}}}
	if _, _, ok := splitSeccomp(&withMount); ok {
		t.Fatal("split a profile with a conditional rule for mount")
	}
	// The stub answers ENOSYS past the profile's newest call, and leaves the rest to it.
	if stub := enosysStub(&whole); len(stub) != 9*8 || !strings.HasPrefix(string(prog), string(stub)) {
		t.Fatal("the ENOSYS stub does not start the program")
	}
}
