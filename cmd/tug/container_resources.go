package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/specgen"
)

// resourceFlags are the cgroup limits run and create take.
type resourceFlags struct {
	memory, memorySwap, memoryReservation, cpus, cpusetCpus string
	cpuShares, pidsLimit                                    int64
}

func addResourceFlags(fs *pflag.FlagSet, f *resourceFlags) {
	fs.StringVarP(&f.memory, "memory", "m", "", "memory limit (e.g. 512m, 1g)")
	fs.StringVar(&f.memorySwap, "memory-swap", "", "memory plus swap limit: a size, or -1 for unlimited swap (default twice --memory)")
	fs.StringVar(&f.memoryReservation, "memory-reservation", "", "memory soft limit")
	fs.StringVar(&f.cpus, "cpus", "", "number of CPUs (e.g. 1.5)")
	fs.Int64VarP(&f.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight, default 1024)")
	fs.StringVar(&f.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fs.Int64Var(&f.pidsLimit, "pids-limit", 0, "tune container pids limit (set -1 for unlimited)")
}

// resources reads the flags into the spec's Resources.
func (f *resourceFlags) resources() (specgen.Resources, error) {
	var r specgen.Resources
	var err error
	size := func(flag, v string, dst *int64) {
		if err != nil || v == "" {
			return
		}
		if *dst, err = parse.MemoryBytes(v); err != nil {
			err = fmt.Errorf("invalid argument %q for \"%s\" flag: use a number with an optional unit b, k, m or g, e.g. 512m", v, flag)
		}
	}
	size("-m, --memory", f.memory, &r.Memory)
	size("--memory-swap", f.memorySwap, &r.MemorySwap)
	size("--memory-reservation", f.memoryReservation, &r.MemoryReservation)
	if err != nil {
		return r, err
	}
	if f.cpus != "" {
		if r.NanoCPUs, err = parse.NanoCPUs(f.cpus); err != nil {
			return r, err
		}
	}
	r.CPUShares, r.CpusetCpus, r.PidsLimit = f.cpuShares, f.cpusetCpus, f.pidsLimit
	return r, nil
}
