package specgen

import (
	"os"
	"runtime"
	"strings"

	"github.com/tug-project/tug/pkg/parse"
)

// Resources are the cgroup limits of a container (--memory, --cpus, ...),
// in Docker's units. Zero means unset.
type Resources struct {
	Memory            int64  `json:"memory,omitempty"`            // bytes
	MemorySwap        int64  `json:"memorySwap,omitempty"`        // memory plus swap, bytes; -1 unlimited
	MemoryReservation int64  `json:"memoryReservation,omitempty"` // soft limit, bytes
	NanoCPUs          int64  `json:"nanoCpus,omitempty"`          // billionths of a CPU
	CPUShares         int64  `json:"cpuShares,omitempty"`         // relative weight
	CpusetCpus        string `json:"cpusetCpus,omitempty"`        // "0-2,4"
	PidsLimit         int64  `json:"pidsLimit,omitempty"`         // >0 a limit; -1 unlimited
}

// Any reports whether a limit was asked for (-1 for no pids limit is not one).
func (r Resources) Any() bool {
	return r.Memory != 0 || r.MemorySwap != 0 || r.MemoryReservation != 0 || r.NanoCPUs != 0 ||
		r.CPUShares != 0 || r.CpusetCpus != "" || r.PidsLimit > 0
}

// Flags names the flags that set the limits, for error messages.
func (r Resources) Flags() []string {
	var out []string
	add := func(set bool, name string) {
		if set {
			out = append(out, name)
		}
	}
	add(r.Memory != 0, "--memory")
	add(r.MemorySwap != 0, "--memory-swap")
	add(r.MemoryReservation != 0, "--memory-reservation")
	add(r.NanoCPUs != 0, "--cpus")
	add(r.CPUShares != 0, "--cpu-shares")
	add(r.CpusetCpus != "", "--cpuset-cpus")
	add(r.PidsLimit > 0, "--pids-limit")
	return out
}

// minMemory is the smallest limit Docker accepts.
const minMemory = 6 << 20

// validate applies Docker's rules, with Docker's messages.
func (r *Resources) validate() error {
	if r.Memory < 0 {
		r.Memory = 0 // -1: no limit
	}
	if r.Memory > 0 && r.Memory < minMemory {
		return invalid("Minimum memory limit allowed is 6MB")
	}
	if r.MemoryReservation < 0 {
		r.MemoryReservation = 0
	}
	if r.MemoryReservation > 0 && r.MemoryReservation < minMemory {
		return invalid("Minimum memory reservation allowed is 6MB")
	}
	if r.Memory > 0 && r.MemoryReservation > r.Memory {
		return invalid("Minimum memory limit can not be less than memory reservation limit, see usage")
	}
	if r.MemorySwap > 0 && r.Memory == 0 {
		return invalid("You should always set the Memory limit when using Memoryswap limit, see usage")
	}
	if r.MemorySwap > 0 && r.MemorySwap < r.Memory {
		return invalid("Minimum memoryswap limit should be larger than memory limit, see usage")
	}
	if r.MemorySwap < -1 {
		return invalid("invalid --memory-swap: use a size, or -1 for unlimited swap")
	}
	if r.NanoCPUs < 0 {
		return invalid("invalid --cpus: the number of CPUs cannot be negative")
	}
	if n := int64(runtime.NumCPU()); r.NanoCPUs > n*1e9 {
		return invalid("Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", n, n)
	}
	if r.NanoCPUs > 0 && r.NanoCPUs < 1e7 {
		return invalid("Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", runtime.NumCPU(), runtime.NumCPU())
	}
	if r.CPUShares < 0 {
		return invalid("invalid --cpu-shares %d: use a positive weight (the default is 1024)", r.CPUShares)
	}
	if r.CPUShares > 262144 {
		return invalid("invalid --cpu-shares %d: the kernel's maximum is 262144", r.CPUShares)
	}
	if r.CPUShares > 0 && r.CPUShares < 2 {
		r.CPUShares = 2 // the kernel's minimum, as Docker clamps it
	}
	if r.CpusetCpus != "" {
		want, err := parse.CPUSet(r.CpusetCpus)
		if err != nil {
			return invalid("%v", err)
		}
		online := onlineCPUs()
		if online != nil {
			for _, c := range want {
				if !online[c] {
					avail, _ := os.ReadFile("/sys/devices/system/cpu/online")
					return invalid("Requested CPUs are not available - requested %s, available: %s", r.CpusetCpus, strings.TrimSpace(string(avail)))
				}
			}
		}
	}
	if r.PidsLimit < 0 {
		r.PidsLimit = -1
	}
	return nil
}

// onlineCPUs is the set of the host's online CPUs, nil when unknown.
func onlineCPUs() map[int]bool {
	data, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil
	}
	cpus, err := parse.CPUSet(strings.TrimSpace(string(data)))
	if err != nil {
		return nil
	}
	out := map[int]bool{}
	for _, c := range cpus {
		out[c] = true
	}
	return out
}

// SwapLimit is the memory-plus-swap limit to apply: Docker's default is twice
// the memory limit; -1 is unlimited; 0 when there is no memory limit.
func (r Resources) SwapLimit() int64 {
	switch {
	case r.Memory == 0:
		return 0
	case r.MemorySwap == 0:
		return 2 * r.Memory
	}
	return r.MemorySwap
}
