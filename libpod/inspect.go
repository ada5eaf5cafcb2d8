package libpod

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tug-project/tug/pkg/monitor"
	"github.com/tug-project/tug/pkg/oci"
	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/specgen"
)

// InspectContainer is `tug container inspect` output, in Docker's shape
// (field names are what --format templates use).
type InspectContainer struct {
	Id              string
	Created         string
	Path            string
	Args            []string
	State           InspectState
	Image           string
	ResolvConfPath  string
	HostnamePath    string
	HostsPath       string
	LogPath         string
	Name            string
	RestartCount    int
	Driver          string
	Platform        string
	MountLabel      string
	ProcessLabel    string
	AppArmorProfile string
	ExecIDs         []string
	HostConfig      InspectHostConfig
	GraphDriver     InspectGraphDriver
	SizeRw          *int64 `json:",omitempty"` // with --size
	SizeRootFs      *int64 `json:",omitempty"`
	Mounts          []InspectMount
	Config          InspectConfig
	NetworkSettings InspectNetworkSettings
}

// InspectState has Docker's State keys, in Docker's order.
type InspectState struct {
	Status     string
	Running    bool
	Paused     bool
	Restarting bool
	OOMKilled  bool
	Dead       bool
	Pid        int
	ExitCode   int
	Error      string
	StartedAt  string
	FinishedAt string
	Health     *HealthState `json:",omitempty"`
}

// InspectHostConfig is the part of HostConfig tug honours.
type InspectHostConfig struct {
	Binds           []string
	ContainerIDFile string
	LogConfig       InspectLogConfig
	NetworkMode     string
	PortBindings    map[string][]InspectPortBinding
	RestartPolicy   parse.RestartPolicy
	AutoRemove      bool
	Init            *bool `json:",omitempty"`
	VolumeDriver    string
	VolumesFrom     []string
	CapAdd          []string
	CapDrop         []string
	Dns             []string
	DnsOptions      []string
	DnsSearch       []string
	ExtraHosts      []string
	GroupAdd        []string
	IpcMode         string
	Cgroup          string
	Links           []string
	OomScoreAdj     int
	PidMode         string
	Privileged      bool
	PublishAllPorts bool
	ReadonlyRootfs  bool
	SecurityOpt     []string
	Tmpfs           map[string]string
	UTSMode         string
	UsernsMode      string
	ShmSize         int64
	Runtime         string
	Ulimits         []parse.Ulimit
	MaskedPaths     []string
	ReadonlyPaths   []string
	InspectResources
}

// InspectResources are HostConfig's limits, as Docker's (0 or null: none).
type InspectResources struct {
	CpuShares         int64
	Memory            int64
	NanoCpus          int64
	CpuPeriod         int64
	CpuQuota          int64
	CpusetCpus        string
	MemoryReservation int64
	MemorySwap        int64
	PidsLimit         *int64
}

// InspectLogConfig is the log driver and its options.
type InspectLogConfig struct {
	Type   string
	Config map[string]string
}

// InspectGraphDriver names the storage driver and the layer directories.
type InspectGraphDriver struct {
	Data map[string]string
	Name string
}

// InspectMount is one of Mounts.
type InspectMount struct {
	Type        string
	Name        string `json:",omitempty"`
	Source      string
	Destination string
	Driver      string `json:",omitempty"`
	Mode        string
	RW          bool
	Propagation string
}

// InspectConfig is the container's Config.
type InspectConfig struct {
	Hostname     string
	Domainname   string
	User         string
	AttachStdin  bool
	AttachStdout bool
	AttachStderr bool
	ExposedPorts map[string]struct{} `json:",omitempty"`
	Tty          bool
	OpenStdin    bool
	StdinOnce    bool
	Env          []string
	Cmd          []string
	Healthcheck  *specgen.HealthConfig `json:",omitempty"`
	Image        string
	Volumes      map[string]struct{}
	WorkingDir   string
	Entrypoint   []string
	OnBuild      []string
	Labels       map[string]string
	StopSignal   string
	StopTimeout  *int `json:",omitempty"`
}

// InspectNetworkSettings is NetworkSettings.
type InspectNetworkSettings struct {
	Bridge                 string
	SandboxID              string
	SandboxKey             string
	Ports                  map[string]any
	HairpinMode            bool
	LinkLocalIPv6Address   string
	LinkLocalIPv6PrefixLen int
	SecondaryIPAddresses   []string
	SecondaryIPv6Addresses []string
	EndpointID             string
	Gateway                string
	GlobalIPv6Address      string
	GlobalIPv6PrefixLen    int
	IPAddress              string
	IPPrefixLen            int
	IPv6Gateway            string
	MacAddress             string
	Networks               map[string]*InspectEndpoint
}

// InspectEndpoint is one network of NetworkSettings.Networks.
type InspectEndpoint struct {
	IPAMConfig          *InspectIPAMAddress
	Links               []string
	Aliases             []string
	MacAddress          string
	DriverOpts          map[string]string
	NetworkID           string
	EndpointID          string
	Gateway             string
	IPAddress           string
	IPPrefixLen         int
	IPv6Gateway         string
	GlobalIPv6Address   string
	GlobalIPv6PrefixLen int
	DNSNames            []string
}

// InspectIPAMAddress is an endpoint's requested address (--ip).
type InspectIPAMAddress struct {
	IPv4Address string `json:",omitempty"`
}

// InspectPortBinding is a host side of a port (HostConfig.PortBindings, NetworkSettings.Ports).
type InspectPortBinding struct {
	HostIp   string
	HostPort string
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// InspectWithSize is Inspect with SizeRw and SizeRootFs, as inspect --size.
func (c *Container) InspectWithSize() *InspectContainer {
	in := c.Inspect()
	if rw, virt, err := c.rt.ContainerSize(c); err == nil {
		in.SizeRw, in.SizeRootFs = &rw, &virt
	}
	return in
}

// Inspect builds the inspect document of the container.
func (c *Container) Inspect() *InspectContainer {
	s := c.State
	cmd := c.Command()
	in := &InspectContainer{
		Id:      c.ID,
		Created: timeString(c.Created),
		Args:    []string{},
		State: InspectState{
			Status: s.Status, Running: c.Running(), Paused: s.Status == StatusPaused,
			Dead: s.Status == StatusDead, OOMKilled: s.OOMKilled, Pid: s.Pid, ExitCode: s.ExitCode, Error: s.Error,
			StartedAt: timeString(s.StartedAt), FinishedAt: timeString(s.FinishedAt),
		},
		Image:          "sha256:" + c.ImageID,
		ResolvConfPath: filepath.Join(c.DataDir(), "resolv.conf"),
		HostnamePath:   filepath.Join(c.DataDir(), "hostname"),
		HostsPath:      filepath.Join(c.DataDir(), "hosts"),
		LogPath:        c.LogPath(),
		Name:           "/" + c.Name,
		RestartCount:   s.RestartCount,
		Driver:         c.rt.StorageDriverName(),
		Platform:       "linux",
		ExecIDs:        nil,
		Mounts:         c.inspectMounts(),
	}
	if s.Status == StatusRemoving {
		in.State.Status = "removing"
	}
	if s.Status == StatusRestarting {
		// As Docker: a container waiting to be restarted counts as running.
		in.State.Running, in.State.Restarting = true, true
	}
	if c.Healthcheck.Active() && s.Health != nil {
		h := *s.Health
		if h.Log == nil {
			h.Log = []monitor.HealthResult{}
		}
		in.State.Health = &h
	}
	if len(cmd) > 0 {
		in.Path, in.Args = cmd[0], append([]string{}, cmd[1:]...)
	}
	sp := c.Spec
	netMode := c.NetworkMode()
	tmpfs := sp.Tmpfs
	if tmpfs == nil {
		tmpfs = map[string]string{}
	}
	in.HostConfig = InspectHostConfig{
		Binds:           nonNil(sp.Binds),
		VolumesFrom:     volumesFromStrings(sp.VolumesFrom),
		LogConfig:       InspectLogConfig{Type: sp.Log.Driver, Config: nonNilMap(sp.Log.Options)},
		NetworkMode:     netMode,
		PortBindings:    c.portBindings(),
		PublishAllPorts: sp.PublishAll,
		RestartPolicy:   restartPolicyOf(sp),
		AutoRemove:      sp.AutoRemove,
		CapAdd:          nonNil(sp.CapAdd),
		CapDrop:         nonNil(sp.CapDrop),
		Dns:             nonNil(sp.DNS),
		DnsOptions:      nonNil(sp.DNSOptions),
		DnsSearch:       nonNil(sp.DNSSearch),
		ExtraHosts:      nonNil(sp.AddHosts),
		GroupAdd:        nonNil(sp.GroupAdd),
		IpcMode:         "private",
		PidMode:         "",
		Privileged:      sp.Privileged,
		ReadonlyRootfs:  sp.ReadOnly,
		SecurityOpt:     nonNil(sp.SecurityOpt),
		Tmpfs:           tmpfs,
		ShmSize:         64 << 20,
		Runtime:         "tug",
		Ulimits:         append([]parse.Ulimit{}, sp.Ulimits...),
	}
	if sp.Init {
		in.HostConfig.Init = &sp.Init
	}
	res := sp.Resources
	hc := &in.HostConfig
	hc.CpuShares, hc.Memory, hc.NanoCpus, hc.CpusetCpus = res.CPUShares, res.Memory, res.NanoCPUs, res.CpusetCpus
	hc.MemoryReservation, hc.MemorySwap = res.MemoryReservation, res.SwapLimit()
	if res.PidsLimit != 0 {
		pids := res.PidsLimit
		hc.PidsLimit = &pids
	}
	if !sp.Privileged {
		in.HostConfig.MaskedPaths = append([]string{}, oci.MaskedPaths...)
		in.HostConfig.ReadonlyPaths = append([]string{}, oci.ReadonlyPaths...)
	}
	in.GraphDriver = InspectGraphDriver{Name: in.Driver, Data: map[string]string{}}
	if s.Rootfs != "" {
		in.GraphDriver.Data["MergedDir"] = s.Rootfs
	}
	volumes := map[string]struct{}{}
	for _, v := range c.Volumes {
		volumes[v] = struct{}{}
	}
	for _, m := range sp.Mounts {
		if m.Type == parse.MountVolume && m.Source == "" {
			volumes[m.Destination] = struct{}{} // -v /path, as Docker lists it
		}
	}
	var exposed map[string]struct{}
	for _, p := range c.exposedPorts() {
		if exposed == nil {
			exposed = map[string]struct{}{}
		}
		exposed[p] = struct{}{}
	}
	env := nonNil(c.Env)
	in.Config = InspectConfig{
		Hostname:     c.Hostname,
		Domainname:   sp.Domainname,
		User:         c.User,
		AttachStdin:  sp.AttachStream("stdin"),
		AttachStdout: sp.AttachStream("stdout"),
		AttachStderr: sp.AttachStream("stderr"),
		ExposedPorts: exposed,
		Tty:          sp.Tty,
		OpenStdin:    sp.OpenStdin,
		StdinOnce:    sp.OpenStdin && sp.AttachStream("stdin"),
		Env:          env,
		Cmd:          c.Cmd,
		Healthcheck:  c.Healthcheck,
		Image:        c.ImageName,
		Volumes:      volumes,
		WorkingDir:   c.WorkingDir,
		Entrypoint:   c.Entrypoint,
		OnBuild:      nil,
		Labels:       nonNilMap(c.Labels),
		StopSignal:   c.StopSignal,
	}
	if sp.StopTimeout != nil {
		in.Config.StopTimeout = sp.StopTimeout
	}
	in.NetworkSettings = c.networkSettings(netMode)
	return in
}

func (c *Container) networkSettings(mode string) InspectNetworkSettings {
	ns := InspectNetworkSettings{Ports: map[string]any{}, Networks: map[string]*InspectEndpoint{}}
	running := c.Running()
	if running && c.State.Pid > 0 {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", c.ID, c.State.Run)))
		ns.SandboxID = hex.EncodeToString(sum[:])
		ns.SandboxKey = fmt.Sprintf("/proc/%d/ns/net", c.State.Pid)
		if mode == specgen.NetworkSlirp || c.usesBridge() {
			ns.SandboxKey = filepath.Join(c.RunDir(), "netns")
		}
	}
	if running && (mode == specgen.NetworkSlirp || c.usesBridge()) {
		for _, p := range c.exposedPorts() {
			ns.Ports[p] = nil
		}
		bound := map[string][]InspectPortBinding{}
		for _, b := range c.State.Ports {
			bound[b.Key()] = append(bound[b.Key()], InspectPortBinding{HostIp: b.HostIPOrAny(), HostPort: strconv.Itoa(int(b.HostPort))})
		}
		for k, v := range bound {
			ns.Ports[k] = v
		}
	}
	switch {
	case strings.HasPrefix(mode, "container:"):
		return ns
	case mode == specgen.NetworkSlirp:
		ep := &InspectEndpoint{}
		if running {
			ns.Gateway, ns.IPAddress, ns.IPPrefixLen = slirpGateway, slirpIP, 24
			ep.Gateway, ep.IPAddress, ep.IPPrefixLen = slirpGateway, slirpIP, 24
		}
		ns.Networks[mode] = ep
		return ns
	case !c.usesBridge():
		ns.Networks[mode] = &InspectEndpoint{}
		return ns
	}
	live := map[string]EndpointState{}
	if running {
		for _, ep := range c.State.Networks {
			live[ep.NetworkID] = ep
		}
	}
	for _, a := range c.attachments() {
		ep := &InspectEndpoint{NetworkID: a.ID, Aliases: a.Aliases, MacAddress: a.MAC}
		if a.IPv4 != "" {
			ep.IPAMConfig = &InspectIPAMAddress{IPv4Address: a.IPv4}
		}
		if st, ok := live[a.ID]; ok {
			ep.EndpointID, ep.Gateway, ep.IPAddress, ep.IPPrefixLen, ep.MacAddress, ep.DNSNames =
				st.EndpointID, st.Gateway.String(), st.IP.String(), st.PrefixLen, st.MAC, st.DNSNames
			if a.Name == specgen.DefaultBridge {
				// Docker's top-level fields describe the default bridge.
				ns.Bridge = st.Bridge
				ns.EndpointID, ns.Gateway, ns.IPAddress, ns.IPPrefixLen, ns.MacAddress = st.EndpointID, ep.Gateway, ep.IPAddress, ep.IPPrefixLen, st.MAC
			}
		}
		ns.Networks[a.Name] = ep
	}
	return ns
}

// NetworkMode is HostConfig.NetworkMode as Docker shows it: "bridge" for
// the default network, else the first network's name, "host", "none",
// "container:ID", or "slirp4netns".
func (c *Container) NetworkMode() string {
	if c.usesBridge() {
		if atts := c.attachments(); len(atts) > 0 {
			return atts[0].Name
		}
		return specgen.DefaultBridge
	}
	return c.Spec.Network
}

// NetworkNames are the networks the container is on, as ps shows them.
func (c *Container) NetworkNames() []string {
	if !c.usesBridge() {
		if strings.HasPrefix(c.Spec.Network, "container:") {
			return nil
		}
		return []string{c.Spec.Network}
	}
	var out []string
	for _, a := range c.attachments() {
		out = append(out, a.Name)
	}
	return out
}

// portBindings is HostConfig.PortBindings: what -p asked for (an empty
// HostPort for a random one).
func (c *Container) portBindings() map[string][]InspectPortBinding {
	out := map[string][]InspectPortBinding{}
	for _, m := range c.Spec.PortMappings {
		b := InspectPortBinding{HostIp: m.HostIP}
		if m.HostPort != 0 {
			b.HostPort = strconv.Itoa(int(m.HostPort))
			if m.HostPortEnd != 0 {
				b.HostPort += "-" + strconv.Itoa(int(m.HostPortEnd))
			}
		}
		out[m.ContainerPortKey()] = append(out[m.ContainerPortKey()], b)
	}
	return out
}

func volumesFromStrings(vf []parse.VolumesFrom) []string {
	var out []string // null without any, as Docker
	for _, v := range vf {
		s := v.Container
		if v.Mode != "" {
			s += ":" + v.Mode
		}
		out = append(out, s)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// SortedLabels returns "k=v" pairs in key order.
func SortedLabels(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// restartPolicyOf is HostConfig.RestartPolicy ("no" when none was given).
func restartPolicyOf(sp specgen.Spec) parse.RestartPolicy {
	if sp.RestartPolicy.IsNone() {
		return parse.RestartPolicy{Name: parse.RestartNo}
	}
	return sp.RestartPolicy
}
