package libpod

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tug-project/tug/pkg/specgen"
)

// Measure is a figure that may not be measurable here (Known false): it
// is shown as "--", never as a made-up zero.
type Measure struct {
	Value uint64
	Known bool
}

func known(v uint64) Measure { return Measure{Value: v, Known: true} }

// ContainerStats is one sample of a container's resource use.
type ContainerStats struct {
	At        time.Time
	Running   bool
	CPUTime   Measure // cumulative, nanoseconds
	MemUsage  Measure // bytes
	MemLimit  Measure // bytes (the host's memory without a limit)
	NetRx     Measure // bytes, all interfaces but lo
	NetTx     Measure
	BlockRead Measure // bytes
	BlockWrit Measure
	PIDs      Measure
}

// Stats samples the container's resource use: from its cgroups as root;
// rootless (no cgroups), from /proc of its processes: CPU time and block
// I/O of the processes alive now (and of the children they reaped), and
// memory as their proportional set size.
func (c *Container) Stats() (*ContainerStats, error) {
	s := &ContainerStats{At: time.Now(), Running: c.Running() && c.State.Pid > 0}
	if !s.Running {
		return s, nil
	}
	hostMem := hostMemory()
	if c.rt.Rootless {
		c.procStats(s, hostMem)
	} else if err := c.cgroupStats(s, hostMem); err != nil {
		c.procStats(s, hostMem)
	}
	if c.Spec.Network != specgen.NetworkHost {
		s.NetRx, s.NetTx = netDev(c.State.Pid)
	}
	return s, nil
}

func (c *Container) cgroupStats(s *ContainerStats, hostMem uint64) error {
	cg, err := c.rt.ociRuntime().Stats(c.ID)
	if err != nil {
		return err
	}
	s.CPUTime = known(cg.CpuStats.CpuUsage.TotalUsage)
	mem := cg.MemoryStats
	usage := mem.Usage.Usage
	// As Docker: the page cache that can be dropped does not count.
	for _, k := range []string{"total_inactive_file", "inactive_file"} {
		if v, ok := mem.Stats[k]; ok && v < usage {
			usage -= v
			break
		}
	}
	s.MemUsage = known(usage)
	limit := mem.Usage.Limit
	if limit == 0 || hostMem > 0 && limit > hostMem {
		limit = hostMem
	}
	s.MemLimit = Measure{limit, limit > 0}
	var rd, wr uint64
	for _, e := range cg.BlkioStats.IoServiceBytesRecursive {
		switch strings.ToLower(e.Op) {
		case "read":
			rd += e.Value
		case "write":
			wr += e.Value
		}
	}
	s.BlockRead, s.BlockWrit = known(rd), known(wr)
	s.PIDs = known(cg.PidsStats.Current)
	if cg.PidsStats.Current == 0 {
		if pids, err := c.Processes(); err == nil {
			s.PIDs = known(uint64(len(pids)))
		}
	}
	return nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on Linux).
const clockTicks = 100

func (c *Container) procStats(s *ContainerStats, hostMem uint64) {
	pids, err := c.Processes()
	if err != nil {
		return
	}
	s.PIDs = known(uint64(len(pids)))
	var ticks, pss, rd, wr uint64
	cpuOK, memOK, ioOK := true, true, true
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid)
		if t, ok := procCPUTicks(dir); ok {
			ticks += t
		} else {
			cpuOK = false
		}
		if v, ok := procField(dir+"/smaps_rollup", "Pss:"); ok {
			pss += v * 1024
		} else {
			memOK = false
		}
		r, ok1 := procField(dir+"/io", "read_bytes:")
		w, ok2 := procField(dir+"/io", "write_bytes:")
		rd, wr, ioOK = rd+r, wr+w, ioOK && ok1 && ok2
	}
	if cpuOK {
		s.CPUTime = known(ticks * uint64(time.Second/clockTicks))
	}
	if memOK {
		s.MemUsage = known(pss)
	}
	s.MemLimit = Measure{hostMem, hostMem > 0}
	if ioOK {
		s.BlockRead, s.BlockWrit = known(rd), known(wr)
	}
}

// procCPUTicks is utime+stime+cutime+cstime of a process.
func procCPUTicks(dir string) (uint64, bool) {
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, false
	}
	var sum uint64
	for _, k := range f[11:15] { // fields 14-17 of stat
		n, err := strconv.ParseUint(k, 10, 64)
		if err != nil {
			return 0, false
		}
		sum += n
	}
	return sum, true
}

// procField reads the number after key in a "Key: N ..." file.
func procField(path, key string) (uint64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				return 0, false
			}
			n, err := strconv.ParseUint(fields[0], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

func hostMemory() uint64 {
	kb, _ := procField("/proc/meminfo", "MemTotal:")
	return kb * 1024
}

// netDev sums the bytes received and sent on the interfaces of the
// network namespace of pid, but lo.
func netDev(pid int) (rx, tx Measure) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/dev")
	if err != nil {
		return
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 2 {
		return
	}
	var r, t uint64
	for _, line := range lines[2:] {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue
		}
		rv, _ := strconv.ParseUint(f[0], 10, 64)
		tv, _ := strconv.ParseUint(f[8], 10, 64)
		r, t = r+rv, t+tv
	}
	return known(r), known(t)
}
