package libpod

import (
	"fmt"
	"strings"

	"github.com/tug-project/tug/pkg/oci"
	"github.com/tug-project/tug/pkg/specgen"
)

// checkResources refuses limits this host cannot apply: rootless tug runs
// containers without cgroups, and as root a controller may be missing. A
// limit is never silently dropped.
func (r *Runtime) checkResources(res specgen.Resources) error {
	if !res.Any() {
		return nil
	}
	if r.Rootless {
		return &specgen.ValidationError{Err: fmt.Errorf("%s cannot be applied: rootless tug runs containers without cgroups on this host (no delegated cgroup v2 hierarchy), so it cannot limit them; run as root to use resource limits", strings.Join(res.Flags(), ", "))}
	}
	var need []string
	if res.Memory != 0 || res.MemorySwap != 0 || res.MemoryReservation != 0 {
		need = append(need, "memory")
	}
	if res.NanoCPUs != 0 || res.CPUShares != 0 {
		need = append(need, "cpu")
	}
	if res.CpusetCpus != "" {
		need = append(need, "cpuset")
	}
	if res.PidsLimit > 0 {
		need = append(need, "pids")
	}
	if err := oci.CheckControllers(need...); err != nil {
		return &specgen.ValidationError{Err: fmt.Errorf("%s cannot be applied: %v", strings.Join(res.Flags(), ", "), err)}
	}
	return nil
}

// limits is what the OCI spec applies of the container's resources.
func (c *Container) limits() oci.Limits {
	res := c.Spec.Resources
	return oci.Limits{
		Memory: res.Memory, MemorySwap: res.SwapLimit(), MemoryReservation: res.MemoryReservation,
		NanoCPUs: res.NanoCPUs, CPUShares: uint64(res.CPUShares), CpusetCpus: res.CpusetCpus, PidsLimit: res.PidsLimit,
	}
}
