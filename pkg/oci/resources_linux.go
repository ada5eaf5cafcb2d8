package oci

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// Limits are a container's cgroup limits, in Docker's units (0: unset).
type Limits struct {
	Memory            int64 // bytes
	MemorySwap        int64 // memory plus swap; -1 unlimited
	MemoryReservation int64
	NanoCPUs          int64
	CPUShares         uint64
	CpusetCpus        string
	PidsLimit         int64 // -1 unlimited
}

// cfsPeriod is the CFS period Docker uses for --cpus (100 ms).
const cfsPeriod = 100000

func (l Limits) apply(r *rspec.LinuxResources) {
	if l.Memory != 0 || l.MemorySwap != 0 || l.MemoryReservation != 0 {
		m := &rspec.LinuxMemory{}
		if l.Memory > 0 {
			m.Limit = &l.Memory
		}
		if l.MemorySwap != 0 && swapAccounting() {
			m.Swap = &l.MemorySwap
		}
		if l.MemoryReservation > 0 {
			m.Reservation = &l.MemoryReservation
		}
		r.Memory = m
	}
	if l.NanoCPUs > 0 || l.CPUShares > 0 || l.CpusetCpus != "" {
		c := &rspec.LinuxCPU{Cpus: l.CpusetCpus}
		if l.CPUShares > 0 {
			c.Shares = &l.CPUShares
		}
		if l.NanoCPUs > 0 {
			period := uint64(cfsPeriod)
			quota := l.NanoCPUs * cfsPeriod / 1e9
			c.Period, c.Quota = &period, &quota
		}
		r.CPU = c
	}
	if l.PidsLimit != 0 {
		r.Pids = &rspec.LinuxPids{Limit: &l.PidsLimit}
	}
}

// swapAccounting reports whether the kernel limits memory plus swap (v1:
// memory.memsw.*; v2: memory.swap.max), as Docker checks before using it.
func swapAccounting() bool {
	if cgroups.IsCgroup2UnifiedMode() {
		return true
	}
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	return err == nil
}

// CheckControllers says which cgroup controller needed by the named limits
// is missing on this host (nil when all are there).
func CheckControllers(controllers ...string) error {
	if cgroups.IsCgroup2UnifiedMode() {
		data, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
		if err != nil {
			return fmt.Errorf("reading the cgroup controllers: %w", err)
		}
		have := strings.Fields(string(data))
		for _, c := range controllers {
			if !containsString(have, c) {
				return fmt.Errorf("the cgroup controller %q is not enabled on this host", c)
			}
		}
		return nil
	}
	for _, c := range controllers {
		if _, err := cgroups.FindCgroupMountpoint("", c); err != nil {
			return fmt.Errorf("the cgroup controller %q is not mounted on this host", c)
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ErrNotRunning is returned for a container whose process is gone.
var ErrNotRunning = errors.New("the container is not running")

func (r Runtime) load(id string) (*libcontainer.Container, error) {
	c, err := libcontainer.Load(r.Root, id)
	if errors.Is(err, libcontainer.ErrNotExist) {
		return nil, ErrNotRunning
	}
	return c, err
}

// Pause freezes every process of container id (cgroup freezer).
func (r Runtime) Pause(id string) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	if err := c.Pause(); err != nil {
		if errors.Is(err, libcontainer.ErrNotRunning) {
			return ErrNotRunning
		}
		return err
	}
	return nil
}

// Resume thaws a paused container.
func (r Runtime) Resume(id string) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	if err := c.Resume(); err != nil && !errors.Is(err, libcontainer.ErrNotPaused) {
		return err
	}
	return nil
}

// Stats are the cgroup statistics of container id.
func (r Runtime) Stats(id string) (*cgroups.Stats, error) {
	c, err := r.load(id)
	if err != nil {
		return nil, err
	}
	st, err := c.Stats()
	if err != nil {
		return nil, err
	}
	return st.CgroupStats, nil
}

// OOMKilled reports whether the kernel's OOM killer killed a process of the
// container (read before Destroy, which removes the cgroup).
func (p *Process) OOMKilled() bool {
	st, err := p.container.State()
	if err != nil {
		return false
	}
	if path := st.CgroupPaths["memory"]; path != "" && !cgroups.IsCgroup2UnifiedMode() {
		return counterAbove(filepath.Join(path, "memory.oom_control"), "oom_kill")
	}
	if path := st.CgroupPaths[""]; path != "" {
		return counterAbove(filepath.Join(path, "memory.events"), "oom_kill")
	}
	return false
}

// counterAbove reports whether the "key N" line of file has N > 0.
func counterAbove(file, key string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n > 0
		}
	}
	return false
}
