package libpod

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	goruntime "runtime"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Info is what `tug info` reports. Field names are Docker's (`docker info
// --format '{{.ServerVersion}}'` works the same); Rootless and RunRoot
// are tug's own.
type Info struct {
	ID                string
	Containers        int
	ContainersRunning int
	ContainersPaused  int
	ContainersStopped int
	Images            int
	Driver            string
	DriverStatus      [][2]string
	LoggingDriver     string
	CgroupDriver      string
	CgroupVersion     string
	KernelVersion     string
	OperatingSystem   string
	OSVersion         string
	OSType            string
	Architecture      string
	NCPU              int
	MemTotal          int64
	Name              string
	ServerVersion     string
	DockerRootDir     string
	RunRoot           string
	Rootless          bool
	SecurityOptions   []string
	RegistryConfig    RegistryConfig
	Swarm             SwarmInfo
	Debug             bool
	Experimental      bool
}

// RegistryConfig is the registry part of Info, in Docker's shape.
type RegistryConfig struct {
	InsecureRegistryCIDRs []string
	InsecureRegistries    []string // host[:port] names from tug.conf
	Mirrors               []string
	Search                []string
}

// SwarmInfo says tug has no swarm mode.
type SwarmInfo struct{ LocalNodeState string }

// ContainerCounts counts the containers in the state DB by status.
type ContainerCounts struct{ Total, Running, Paused, Stopped int }

// CountContainers reads the containers table (a container's state column is
// JSON with a "status" of created, running, paused, exited...).
func (r *Runtime) CountContainers() (ContainerCounts, error) {
	var c ContainerCounts
	db, err := r.DB()
	if err != nil {
		return c, err
	}
	rows, err := db.SQL().Query(`SELECT COALESCE(json_extract(state, '$.status'), ''), COUNT(*) FROM containers GROUP BY 1`)
	if err != nil {
		return c, fmt.Errorf("counting containers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return c, err
		}
		c.Total += n
		switch status {
		case "running":
			c.Running += n
		case "paused":
			c.Paused += n
		default:
			c.Stopped += n
		}
	}
	return c, rows.Err()
}

// Info gathers the engine and host facts of `tug info`.
func (r *Runtime) Info(serverVersion string, debug bool) (*Info, error) {
	info := &Info{
		ServerVersion: serverVersion,
		OSType:        goruntime.GOOS,
		NCPU:          goruntime.NumCPU(),
		DockerRootDir: r.Root,
		RunRoot:       r.RunRoot,
		Rootless:      r.Rootless,
		LoggingDriver: r.Config.Containers.LogDriver,
		Swarm:         SwarmInfo{LocalNodeState: "inactive"},
		Debug:         debug,
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err == nil {
		info.KernelVersion = unix.ByteSliceToString(uts.Release[:])
		info.Architecture = unix.ByteSliceToString(uts.Machine[:])
	}
	info.Name, _ = os.Hostname()
	info.OperatingSystem, info.OSVersion = osRelease()
	info.MemTotal = memTotal()
	info.CgroupVersion = cgroupVersion()
	info.CgroupDriver = "cgroupfs"
	if r.Rootless && info.CgroupVersion == "1" {
		info.CgroupDriver = "none" // an unprivileged user cannot use v1 cgroups
	}
	if r.Rootless {
		info.SecurityOptions = append(info.SecurityOptions, "name=rootless")
	}
	if id, err := os.ReadFile("/etc/machine-id"); err == nil {
		info.ID = strings.TrimSpace(string(id))
	}
	info.RegistryConfig = r.registryConfig()

	counts, err := r.CountContainers()
	if err != nil {
		return nil, err
	}
	info.Containers, info.ContainersRunning, info.ContainersPaused, info.ContainersStopped = counts.Total, counts.Running, counts.Paused, counts.Stopped

	store, err := r.Store()
	if err != nil {
		return nil, err
	}
	info.Driver = r.driver
	if status, err := store.Status(); err == nil {
		info.DriverStatus = status
	}
	images, err := store.Images()
	if err != nil {
		return nil, err
	}
	info.Images = len(images)
	return info, nil
}

func (r *Runtime) registryConfig() RegistryConfig {
	rc := RegistryConfig{InsecureRegistryCIDRs: []string{"::1/128", "127.0.0.0/8"}, Search: r.Config.Registries.Search}
	rc.InsecureRegistries = append(rc.InsecureRegistries, r.Config.Registries.Insecure...)
	hosts := make([]string, 0, len(r.Config.Registries.Mirrors))
	for h := range r.Config.Registries.Mirrors {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		for _, m := range r.Config.Registries.Mirrors[h] {
			if h == "docker.io" {
				rc.Mirrors = append(rc.Mirrors, m)
			} else {
				rc.Mirrors = append(rc.Mirrors, m+" (for "+h+")")
			}
		}
	}
	return rc
}

// osRelease reads PRETTY_NAME and VERSION_ID from /etc/os-release.
func osRelease() (name, version string) {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return goruntime.GOOS, ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "PRETTY_NAME":
			name = v
		case "VERSION_ID":
			version = v
		}
	}
	if name == "" {
		name = goruntime.GOOS
	}
	return name, version
}

func memTotal() int64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

// cgroupVersion is "2" on a unified hierarchy, "1" on a v1 or hybrid one.
func cgroupVersion() string {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "2"
	}
	return "1"
}
