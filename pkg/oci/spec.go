// Package oci turns a container's configuration into an OCI runtime spec
// with Docker's security defaults, and runs it with the built-in runtime
// (libcontainer, embedded).
package oci

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"

	"github.com/moby/profiles/seccomp"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-tools/generate"

	"github.com/tug-project/tug/pkg/parse"
)

// Network modes of SpecOptions.
const (
	NetPrivate   = "private"   // a new network namespace (none, or configured by slirp4netns)
	NetHost      = "host"      // the host's network namespace
	NetNamespace = "namespace" // join NetNSPath
)

// SpecOptions is everything the spec is made from, already resolved.
type SpecOptions struct {
	Rootfs   string
	ReadOnly bool
	Args     []string
	Env      []string
	Cwd      string
	UID, GID uint32
	Groups   []uint32
	Hostname string
	Tty      bool

	Caps            []string // the final set (see specgen.Spec.Capabilities)
	Privileged      bool
	NoNewPrivileges bool
	Seccomp         string // "" Docker's default profile, "unconfined", or a profile's JSON
	Ulimits         []parse.Ulimit
	Tmpfs           map[string]string
	// Mounts are the user's binds (volumes, bind mounts, secrets), in the
	// order to mount them; one on /etc/hosts, /etc/hostname or
	// /etc/resolv.conf replaces tug's file there.
	Mounts []rspec.Mount

	NetMode      string
	NetNSPath    string
	HostsFile    string // bind-mounted on /etc/hosts, /etc/hostname, /etc/resolv.conf
	HostnameFile string
	ResolvFile   string

	Rootless    bool   // inside the user namespace: no cgroups, sysfs and devices bound
	CgroupsPath string // "" for none
	Limits      Limits // applied through CgroupsPath (resources_linux.go)

	Init bool // tug's init as PID 1 (--init)
}

// Docker's masked and read-only paths.
var (
	MaskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	ReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// Spec builds the OCI runtime spec.
func Spec(o SpecOptions) (*rspec.Spec, error) {
	g, err := generate.New("linux")
	if err != nil {
		return nil, err
	}
	g.SetRootPath(o.Rootfs)
	g.SetRootReadonly(o.ReadOnly)
	g.SetHostname(o.Hostname)
	g.SetProcessArgs(o.Args)
	g.ClearProcessEnv()
	g.Config.Process.Env = append([]string(nil), o.Env...)
	g.SetProcessCwd(o.Cwd)
	g.SetProcessUID(o.UID)
	g.SetProcessGID(o.GID)
	for _, gid := range o.Groups {
		g.AddProcessAdditionalGid(gid)
	}
	g.SetProcessTerminal(o.Tty)
	g.SetProcessNoNewPrivileges(o.NoNewPrivileges)
	g.ClearProcessRlimits()
	for _, u := range o.Ulimits {
		g.AddProcessRlimits(u.RlimitType(), uint64(u.Hard), uint64(u.Soft))
	}
	setCapabilities(g.Config.Process, boundedCaps(o.Caps), o.UID)
	if err := g.SetLinuxRootPropagation("rprivate"); err != nil {
		return nil, err
	}

	g.ClearLinuxNamespaces()
	for _, ns := range []string{"pid", "mount", "uts", "ipc"} {
		if err := g.AddOrReplaceLinuxNamespace(ns, ""); err != nil {
			return nil, err
		}
	}
	switch o.NetMode {
	case NetHost:
	case NetNamespace:
		if err := g.AddOrReplaceLinuxNamespace("network", o.NetNSPath); err != nil {
			return nil, err
		}
	default:
		if err := g.AddOrReplaceLinuxNamespace("network", ""); err != nil {
			return nil, err
		}
	}

	g.ClearMounts()
	for _, m := range defaultMounts(o) {
		g.AddMount(m)
	}
	for _, dest := range sortedKeys(o.Tmpfs) {
		opts := []string{"nosuid", "nodev", "noexec"}
		if o.Tmpfs[dest] != "" {
			opts = mergeTmpfsOptions(opts, strings.Split(o.Tmpfs[dest], ","))
		}
		g.RemoveMount(dest)
		g.AddMount(rspec.Mount{Destination: dest, Type: "tmpfs", Source: "tmpfs", Options: opts})
	}
	user := map[string]bool{}
	for _, m := range o.Mounts {
		g.RemoveMount(m.Destination)
		g.AddMount(m)
		user[m.Destination] = true
	}
	for _, f := range []struct{ src, dest string }{{o.HostsFile, "/etc/hosts"}, {o.HostnameFile, "/etc/hostname"}, {o.ResolvFile, "/etc/resolv.conf"}} {
		if f.src != "" && !user[f.dest] {
			opts := []string{"rbind", "rprivate"}
			if o.ReadOnly {
				opts = append(opts, "ro")
			}
			g.AddMount(rspec.Mount{Destination: f.dest, Type: "bind", Source: f.src, Options: opts})
		}
	}

	if o.Privileged {
		g.Config.Linux.MaskedPaths = nil
		g.Config.Linux.ReadonlyPaths = nil
		g.Config.Linux.Resources = &rspec.LinuxResources{Devices: []rspec.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}}
	} else {
		g.Config.Linux.MaskedPaths = append([]string(nil), MaskedPaths...)
		g.Config.Linux.ReadonlyPaths = append([]string(nil), ReadonlyPaths...)
		g.Config.Linux.Resources = &rspec.LinuxResources{Devices: []rspec.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	}
	if !o.Rootless && o.CgroupsPath != "" {
		g.SetLinuxCgroupsPath(o.CgroupsPath)
		o.Limits.apply(g.Config.Linux.Resources)
	}

	spec := g.Config
	if o.Init {
		if spec.Annotations == nil {
			spec.Annotations = map[string]string{}
		}
		spec.Annotations[InitAnnotation] = "true"
	}
	switch {
	case o.Privileged || o.Seccomp == "unconfined":
		spec.Linux.Seccomp = nil
	case o.Seccomp == "":
		if spec.Linux.Seccomp, err = seccomp.GetDefaultProfile(spec); err != nil {
			return nil, fmt.Errorf("loading the default seccomp profile: %w", err)
		}
		spec.Linux.Seccomp.Architectures = withoutX32(spec.Linux.Seccomp.Architectures)
	default:
		if spec.Linux.Seccomp, err = seccomp.LoadProfile(o.Seccomp, spec); err != nil {
			return nil, fmt.Errorf("loading the seccomp profile: %w", err)
		}
	}
	return spec, nil
}

// withoutX32 drops the x32 ABI from the default profile's architectures.
// Compiling its rules is three quarters of the filter's cost (~18 ms of
// every start), and without it x32 system calls are refused outright
// (libseccomp's bad-architecture action) rather than filtered: stricter
// than Docker, for an ABI no image uses. i386 binaries still run.
func withoutX32(arches []rspec.Arch) []rspec.Arch {
	out := arches[:0:0]
	for _, a := range arches {
		if a != rspec.ArchX32 {
			out = append(out, a)
		}
	}
	return out
}

// setCapabilities sets Docker's way: bounding = the set; effective and
// permitted too for root (a non-root user starts with none, as with Docker);
// no inheritable or ambient capabilities.
func setCapabilities(p *rspec.Process, caps []string, uid uint32) {
	c := &rspec.LinuxCapabilities{Bounding: append([]string(nil), caps...)}
	if uid == 0 {
		c.Effective = append([]string(nil), caps...)
		c.Permitted = append([]string(nil), caps...)
	}
	p.Capabilities = c
}

// boundedCaps drops the capabilities tug itself does not have (its
// bounding set): a container cannot get more, and asking fails the start.
func boundedCaps(caps []string) []string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return caps
	}
	var bnd uint64
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			bnd, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	known := map[string]int{}
	for _, c := range capability.ListKnown() {
		known["CAP_"+strings.ToUpper(c.String())] = int(c)
	}
	out := caps[:0:0]
	for _, c := range caps {
		if n, ok := known[c]; ok && bnd&(1<<uint(n)) == 0 {
			continue
		}
		out = append(out, c)
	}
	return out
}

func defaultMounts(o SpecOptions) []rspec.Mount {
	ms := []rspec.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
	}
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	if o.Privileged {
		sysOpts = []string{"nosuid", "noexec", "nodev", "rw"}
	}
	if o.Rootless && o.NetMode != NetPrivate {
		// sysfs can be mounted only by the owner of the network namespace:
		// with the host's (or another container's), bind the host's.
		ms = append(ms, rspec.Mount{Destination: "/sys", Type: "bind", Source: "/sys", Options: append([]string{"rbind", "rprivate"}, sysOpts[:len(sysOpts)-1]...)})
	} else {
		ms = append(ms, rspec.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts})
	}
	if !o.Rootless {
		cgOpts := []string{"nosuid", "noexec", "nodev", "relatime", "ro"}
		if o.Privileged {
			cgOpts[len(cgOpts)-1] = "rw"
		}
		ms = append(ms, rspec.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: cgOpts})
	}
	return ms
}

// mergeTmpfsOptions lets the user's options replace the defaults they contradict.
func mergeTmpfsOptions(defaults, user []string) []string {
	opposite := map[string]string{"exec": "noexec", "suid": "nosuid", "dev": "nodev"}
	drop := map[string]bool{}
	for _, u := range user {
		if o, ok := opposite[u]; ok {
			drop[o] = true
		}
	}
	var out []string
	for _, d := range defaults {
		if !drop[d] {
			out = append(out, d)
		}
	}
	return append(out, user...)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
