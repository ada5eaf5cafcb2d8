// Package specgen holds the container spec a user asks for (from flags now,
// later from compose and kube YAML) and validates all of it before anything
// is created. It knows nothing of cobra or of the engine.
package specgen

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tug-project/tug/pkg/parse"
)

// Spec is what a user asks of a new container. The zero value of every
// field means "the image's value" or Docker's default.
type Spec struct {
	Name          string            `json:"name,omitempty"`
	Image         string            `json:"image"`
	Command       []string          `json:"command,omitempty"`    // overrides the image's CMD
	Entrypoint    []string          `json:"entrypoint,omitempty"` // with EntrypointSet: overrides ENTRYPOINT ([] clears it)
	EntrypointSet bool              `json:"entrypointSet,omitempty"`
	Env           []string          `json:"env,omitempty"` // KEY=VALUE, flags and env files merged in order
	WorkDir       string            `json:"workDir,omitempty"`
	User          string            `json:"user,omitempty"`
	GroupAdd      []string          `json:"groupAdd,omitempty"`
	Hostname      string            `json:"hostname,omitempty"`
	Domainname    string            `json:"domainname,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`

	StopSignal  string `json:"stopSignal,omitempty"`  // "" = the image's STOPSIGNAL, else SIGTERM
	StopTimeout *int   `json:"stopTimeout,omitempty"` // seconds; nil = 10

	Log parse.LogConfig `json:"log"`

	// RestartPolicy is --restart (the monitor's cleanup applies it).
	RestartPolicy parse.RestartPolicy `json:"restartPolicy,omitempty"`
	// Init runs tug's reaping init as the container's PID 1 (--init).
	Init bool `json:"init,omitempty"`
	// Healthcheck is what the --health-* flags set, merged over the
	// image's HEALTHCHECK field by field (nil: the image's as it is).
	Healthcheck *HealthConfig `json:"healthcheck,omitempty"`

	Tty        bool     `json:"tty,omitempty"`
	OpenStdin  bool     `json:"openStdin,omitempty"` // -i
	Attach     []string `json:"attach,omitempty"`    // of stdin, stdout, stderr (foreground run/start -a)
	AutoRemove bool     `json:"autoRemove,omitempty"`

	// Network is the mode: "bridge" (the networks of Networks, by default
	// the default bridge network), "none", "host", "container:NAME" or
	// "slirp4netns" (a user-mode network of the container's own).
	Network  string          `json:"network"`
	Networks []NetworkAttach `json:"networks,omitempty"`
	// PortMappings are -p's; PublishAll (-P) adds every exposed port.
	PortMappings      []parse.PortMapping `json:"portMappings,omitempty"`
	PublishAll        bool                `json:"publishAll,omitempty"`
	Expose            []string            `json:"expose,omitempty"`            // --expose, as "80/tcp"
	AllowHostLoopback bool                `json:"allowHostLoopback,omitempty"` // slirp4netns:allow_host_loopback=true
	AddHosts          []string            `json:"addHosts,omitempty"`          // "name:ip"
	DNS               []string            `json:"dns,omitempty"`
	DNSSearch         []string            `json:"dnsSearch,omitempty"`
	DNSOptions        []string            `json:"dnsOptions,omitempty"`

	Tmpfs map[string]string `json:"tmpfs,omitempty"` // destination -> comma-separated options

	// Volumes and mounts (see mounts.go).
	Binds       []string              `json:"binds,omitempty"`  // the -v values with a source, as given (inspect's HostConfig.Binds)
	Mounts      []parse.Mount         `json:"mounts,omitempty"` // -v and --mount, parsed
	VolumesFrom []parse.VolumesFrom   `json:"volumesFrom,omitempty"`
	Secrets     []parse.SecretRequest `json:"secrets,omitempty"`

	Privileged      bool           `json:"privileged,omitempty"`
	CapAdd          []string       `json:"capAdd,omitempty"`  // normalized CAP_X or ALL
	CapDrop         []string       `json:"capDrop,omitempty"` // normalized CAP_X or ALL
	SecurityOpt     []string       `json:"securityOpt,omitempty"`
	SeccompProfile  string         `json:"seccompProfile,omitempty"` // "" default, "unconfined", or a profile's JSON
	NoNewPrivileges bool           `json:"noNewPrivileges,omitempty"`
	ReadOnly        bool           `json:"readOnly,omitempty"`
	Ulimits         []parse.Ulimit `json:"ulimits,omitempty"`

	Resources Resources `json:"resources,omitzero"` // resources.go
}

// Network modes.
const (
	NetworkBridge = "bridge"
	NetworkNone   = "none"
	NetworkHost   = "host"
	NetworkSlirp  = "slirp4netns"
	// NetworkDefault is what older containers recorded for the default network.
	NetworkDefault = "default"
)

// DefaultBridge is the name of the default bridge network (Docker's).
const DefaultBridge = "bridge"

// NetworkAttach is one network a container joins (--network NAME, with
// --ip, --mac-address and --network-alias for the first).
type NetworkAttach struct {
	Name    string   `json:"name"`
	ID      string   `json:"id,omitempty"` // filled when the container is created
	Aliases []string `json:"aliases,omitempty"`
	IPv4    string   `json:"ipv4,omitempty"`
	MAC     string   `json:"mac,omitempty"`
}

// ValidationError marks bad user input (exit 125, nothing created).
type ValidationError struct{ Err error }

func (e *ValidationError) Error() string { return e.Err.Error() }
func (e *ValidationError) Unwrap() error { return e.Err }

func invalid(format string, a ...any) error {
	return &ValidationError{Err: fmt.Errorf(format, a...)}
}

// IsValidationError reports whether err is bad user input.
func IsValidationError(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}

// validName matches Docker's [a-zA-Z0-9][a-zA-Z0-9_.-]* (with an optional leading /).
func validName(name string) bool {
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		return false
	}
	for i, c := range name {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// ValidateName checks a container name as Docker does.
func ValidateName(name string) error {
	if !validName(name) {
		return invalid("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	if len(name) > 253 {
		return invalid("Invalid container name (%s): longer than 253 characters", name)
	}
	return nil
}

// Validate checks the whole spec and normalizes it (capability names, the
// network mode, security options). It changes nothing outside the spec.
func (s *Spec) Validate() error {
	if s.Image == "" {
		return invalid("requires at least 1 argument: an image")
	}
	if s.Name != "" {
		if err := ValidateName(s.Name); err != nil {
			return err
		}
		s.Name = strings.TrimPrefix(s.Name, "/")
	}
	if s.Hostname != "" {
		if err := parse.Hostname(s.Hostname); err != nil {
			return invalid("invalid hostname: %v", err)
		}
	}
	if s.WorkDir != "" && !strings.HasPrefix(s.WorkDir, "/") {
		return invalid("the working directory '%s' is invalid, it needs to be an absolute path", s.WorkDir)
	}
	if s.User != "" {
		if _, _, err := parse.User(s.User); err != nil {
			return invalid("%v", err)
		}
	}
	for _, g := range s.GroupAdd {
		if g == "" || strings.ContainsAny(g, ": \t\n/") {
			return invalid("invalid --group-add %q: use a group name or GID", g)
		}
	}
	for _, kv := range s.Env {
		if name, _, _ := strings.Cut(kv, "="); name == "" || strings.ContainsRune(kv, 0) {
			return invalid("invalid environment variable %q", kv)
		}
	}
	for k := range s.Labels {
		if k == "" {
			return invalid("invalid label: the key is empty")
		}
	}
	if s.StopSignal != "" {
		sig, err := parse.Signal(s.StopSignal)
		if err != nil {
			return invalid("invalid --stop-signal: %v", err)
		}
		s.StopSignal = parse.SignalName(sig)
	}
	if s.StopTimeout != nil && *s.StopTimeout < -1 {
		return invalid("invalid --stop-timeout %d: use seconds, or -1 to wait forever", *s.StopTimeout)
	}
	if s.AutoRemove && !s.RestartPolicy.IsNone() {
		return invalid("Conflicting options: --restart and --rm")
	}
	if s.RestartPolicy.Name == "" {
		s.RestartPolicy.Name = parse.RestartNo
	}
	if err := s.Healthcheck.Validate(); err != nil {
		return &ValidationError{Err: err}
	}
	if s.Log.Driver == "" {
		s.Log = parse.LogConfig{Driver: "json-file", Options: map[string]string{}, MaxFile: 1}
	}
	for _, a := range s.Attach {
		switch strings.ToLower(a) {
		case "stdin", "stdout", "stderr":
		default:
			return invalid("invalid argument %q for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR", a)
		}
	}
	if err := s.validateNetwork(); err != nil {
		return err
	}
	for i, h := range s.AddHosts {
		host, ip, err := parse.AddHost(h)
		if err != nil {
			return invalid("%v", err)
		}
		s.AddHosts[i] = host + ":" + ip
	}
	for i, d := range s.DNS {
		ip, err := parse.IP(d)
		if err != nil {
			return invalid("invalid --dns: %v", err)
		}
		s.DNS[i] = ip
	}
	for _, d := range s.DNSSearch {
		if d != "." {
			if err := parse.Hostname(d); err != nil {
				return invalid("invalid --dns-search %q: %v", d, err)
			}
		}
	}
	for _, o := range s.DNSOptions {
		if o == "" || strings.ContainsAny(o, " \t\n") {
			return invalid("invalid --dns-option %q", o)
		}
	}
	for dest := range s.Tmpfs {
		if err := parse.ContainerPath(dest); err != nil {
			return invalid("invalid --tmpfs: %v", err)
		}
	}
	if err := s.Resources.validate(); err != nil {
		return err
	}
	if err := s.validateMounts(); err != nil {
		return err
	}
	var err error
	if s.CapAdd, err = normalizeCaps(s.CapAdd); err != nil {
		return err
	}
	if s.CapDrop, err = normalizeCaps(s.CapDrop); err != nil {
		return err
	}
	return s.parseSecurityOpts()
}

func (s *Spec) validateNetwork() error {
	if len(s.Networks) == 0 {
		s.Networks = []NetworkAttach{{Name: s.Network}}
	}
	first := s.Networks[0]
	mode := ""
	for i, a := range s.Networks {
		m, opts, _ := strings.Cut(a.Name, ":")
		switch m {
		case "", NetworkDefault, NetworkBridge, "private":
			if opts != "" {
				return invalid("invalid network %q", a.Name)
			}
			s.Networks[i].Name = DefaultBridge
			m = NetworkBridge
		case NetworkNone, NetworkHost:
			if opts != "" {
				return invalid("invalid network %q", a.Name)
			}
		case "container":
			if opts == "" {
				return invalid("invalid network %q: use container:NAME or container:ID", a.Name)
			}
		case NetworkSlirp:
			for _, o := range strings.Split(opts, ",") {
				switch o {
				case "":
				case "allow_host_loopback=true":
					s.AllowHostLoopback = true
				case "allow_host_loopback=false":
					s.AllowHostLoopback = false
				default:
					return invalid("invalid slirp4netns option %q: tug supports allow_host_loopback=true|false", o)
				}
			}
		default:
			if !validNetworkName(a.Name) {
				return invalid("invalid network name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", a.Name)
			}
			m = NetworkBridge
		}
		if i > 0 && (m != NetworkBridge || mode != NetworkBridge) {
			return invalid("conflicting options: cannot attach both user-defined and non-user-defined network-modes")
		}
		if i == 0 {
			mode = m
		}
		for _, b := range s.Networks[:i] {
			if b.Name == s.Networks[i].Name {
				return invalid("network %s is specified multiple times", b.Name)
			}
		}
	}
	userDefined := mode == NetworkBridge && s.Networks[0].Name != DefaultBridge
	if first.IPv4 != "" {
		ip, err := parse.IP(first.IPv4)
		if err != nil || strings.Contains(ip, ":") {
			return invalid("invalid --ip %q: give an IPv4 address", first.IPv4)
		}
		if !userDefined {
			return invalid("user specified IP address is supported on user defined networks only")
		}
		s.Networks[0].IPv4 = ip
	}
	if len(first.Aliases) > 0 {
		if !userDefined {
			return invalid("network-scoped alias is supported only for containers in user defined networks")
		}
		for _, a := range first.Aliases {
			if err := parse.Hostname(a); err != nil {
				return invalid("invalid --network-alias %q: %v", a, err)
			}
		}
	}
	if first.MAC != "" {
		if mode != NetworkBridge {
			return invalid("conflicting options: mac-address and the network mode")
		}
		if err := validMAC(first.MAC); err != nil {
			return invalid("%v", err)
		}
	}
	if mode == NetworkBridge {
		s.Network = NetworkBridge
	} else {
		s.Network = s.Networks[0].Name
		if mode == NetworkSlirp {
			s.Network = NetworkSlirp
		}
		s.Networks = nil
	}
	if s.Network == NetworkHost && len(s.DNS)+len(s.DNSSearch)+len(s.DNSOptions) > 0 {
		return invalid("conflicting options: dns and the network mode host")
	}
	if strings.HasPrefix(s.Network, "container:") {
		if len(s.AddHosts) > 0 {
			return invalid("conflicting options: custom host-to-IP mapping and the network mode container")
		}
		if s.Hostname != "" {
			return invalid("conflicting options: hostname and the network mode container")
		}
		if len(s.DNS)+len(s.DNSSearch)+len(s.DNSOptions) > 0 {
			return invalid("conflicting options: dns and the network mode container")
		}
		if len(s.PortMappings) > 0 || s.PublishAll {
			return invalid("conflicting options: port publishing and the container type network mode")
		}
	}
	for i, e := range s.Expose {
		p, proto, err := parse.ParsePortKey(e)
		if err != nil {
			return invalid("invalid --expose %q: %v", e, err)
		}
		s.Expose[i] = fmt.Sprintf("%d/%s", p, proto)
	}
	return nil
}

// PublishesPorts reports whether the container gets published ports.
func (s *Spec) PublishesPorts() bool {
	return (len(s.PortMappings) > 0 || s.PublishAll) && (s.Network == NetworkBridge || s.Network == NetworkSlirp)
}

func validNetworkName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

func validMAC(s string) error {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return fmt.Errorf("invalid --mac-address %q: use six colon-separated hex bytes, e.g. 02:42:ac:11:00:02", s)
	}
	if hw[0]&1 == 1 {
		return fmt.Errorf("invalid --mac-address %q: it is a multicast address", s)
	}
	return nil
}

// NetworkContainer returns the container named by --network container:X, or "".
func (s *Spec) NetworkContainer() string {
	if rest, ok := strings.CutPrefix(s.Network, "container:"); ok {
		return rest
	}
	return ""
}

func (s *Spec) parseSecurityOpts() error {
	for _, o := range s.SecurityOpt {
		k, v, hasV := strings.Cut(o, "=")
		if !hasV {
			k, v, hasV = strings.Cut(o, ":")
		}
		switch {
		case k == "no-new-privileges" && !hasV:
			s.NoNewPrivileges = true
		case k == "no-new-privileges":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return invalid("invalid --security-opt %q: no-new-privileges takes true or false", o)
			}
			s.NoNewPrivileges = b
		case k == "seccomp" && v == "unconfined":
			s.SeccompProfile = "unconfined"
		case k == "seccomp" && v != "":
			data, err := os.ReadFile(v)
			if err != nil {
				return invalid("opening seccomp profile (%s) failed: %v", v, err)
			}
			s.SeccompProfile = string(data)
		case k == "label" && (v == "disable" || strings.HasPrefix(v, "type:") || strings.HasPrefix(v, "level:") || strings.HasPrefix(v, "user:") || strings.HasPrefix(v, "role:")):
			// SELinux is not enabled on these hosts: labels are accepted and have no effect.
		case k == "apparmor" && v != "":
			// AppArmor is not used by tug; "unconfined" and profiles are accepted.
		default:
			return invalid("invalid --security-opt %q: use seccomp=unconfined|PROFILE.json, no-new-privileges[=true|false], label=disable or apparmor=PROFILE", o)
		}
	}
	return nil
}

// knownCaps are the capabilities of Linux 6.x, without CAP_.
var knownCaps = []string{
	"AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE", "CHOWN",
	"DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE",
	"LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE",
	"NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_ADMIN",
	"SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO",
	"SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM",
}

// AllCaps lists every known capability as CAP_X.
func AllCaps() []string {
	out := make([]string, len(knownCaps))
	for i, c := range knownCaps {
		out[i] = "CAP_" + c
	}
	return out
}

// DefaultCaps is Docker's default capability set.
var DefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

func normalizeCaps(caps []string) ([]string, error) {
	var out []string
	for _, c := range caps {
		u := strings.ToUpper(strings.TrimSpace(c))
		if u == "ALL" {
			out = append(out, "ALL")
			continue
		}
		u = strings.TrimPrefix(u, "CAP_")
		i := sort.SearchStrings(knownCaps, u)
		if i == len(knownCaps) || knownCaps[i] != u {
			return nil, invalid("invalid capability %q: unknown capability (see capabilities(7))", c)
		}
		out = append(out, "CAP_"+u)
	}
	return out, nil
}

// Capabilities computes the final capability set: the defaults (or all when
// privileged), minus --cap-drop, plus --cap-add, as Docker does (ALL in
// --cap-drop drops everything not explicitly added).
func (s *Spec) Capabilities() []string {
	if s.Privileged {
		return AllCaps()
	}
	set := map[string]bool{}
	base := DefaultCaps
	for _, c := range s.CapAdd {
		if c == "ALL" {
			base = AllCaps()
		}
	}
	dropAll := false
	for _, c := range s.CapDrop {
		dropAll = dropAll || c == "ALL"
	}
	if !dropAll {
		for _, c := range base {
			set[c] = true
		}
		for _, c := range s.CapDrop {
			delete(set, c)
		}
	}
	for _, c := range s.CapAdd {
		if c == "ALL" {
			for _, a := range AllCaps() {
				set[a] = true
			}
		} else {
			set[c] = true
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// StopTimeoutOr is the stop timeout, or def when unset.
func (s *Spec) StopTimeoutOr(def time.Duration) time.Duration {
	if s.StopTimeout == nil {
		return def
	}
	return time.Duration(*s.StopTimeout) * time.Second
}

// AttachStream reports whether stream (stdin, stdout, stderr) is attached.
func (s *Spec) AttachStream(stream string) bool {
	for _, a := range s.Attach {
		if strings.EqualFold(a, stream) {
			return true
		}
	}
	return false
}
