package parse

import (
	"encoding/csv"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
)

// Mount types.
const (
	MountVolume = "volume"
	MountBind   = "bind"
	MountTmpfs  = "tmpfs"
)

// Mount is one mount a user asked for with -v/--volume or --mount, checked
// and normalized: what the container spec takes.
type Mount struct {
	Type        string `json:"type"`             // MountVolume, MountBind or MountTmpfs
	Source      string `json:"source,omitempty"` // volume name ("" for a new anonymous volume) or absolute host path
	Destination string `json:"destination"`      // absolute, cleaned path in the container
	ReadOnly    bool   `json:"readOnly,omitempty"`
	// Mode is the mode string Docker shows in inspect's Mounts ("z" for a
	// named volume given with -v, "ro", "" ...).
	Mode string `json:"mode,omitempty"`

	// Binds.
	Propagation  string `json:"propagation,omitempty"`  // rprivate (the default), private, rshared, shared, rslave, slave
	NonRecursive bool   `json:"nonRecursive,omitempty"` // bind-recursive=disabled, :bind
	// CreateSource: -v creates a missing host directory (Docker's legacy
	// behaviour); --mount refuses a missing source instead.
	CreateSource bool `json:"createSource,omitempty"`

	// Volumes.
	NoCopy        bool              `json:"noCopy,omitempty"`        // do not fill an empty volume from the image
	Subpath       string            `json:"subpath,omitempty"`       // mount only this directory of the volume
	VolumeDriver  string            `json:"volumeDriver,omitempty"`  // for a volume this mount creates
	VolumeLabels  map[string]string `json:"volumeLabels,omitempty"`  // for a volume this mount creates
	VolumeOptions map[string]string `json:"volumeOptions,omitempty"` // driver options, for a volume this mount creates

	// Tmpfs.
	TmpfsSize int64  `json:"tmpfsSize,omitempty"` // bytes; 0 = the kernel's default (half the RAM)
	TmpfsMode uint32 `json:"tmpfsMode,omitempty"` // 0 = 1777

	Relabel string   `json:"relabel,omitempty"` // "z" (shared) or "Z" (private) SELinux relabelling
	Chown   bool     `json:"chown,omitempty"`   // :U, chown the source to the container's user
	Options []string `json:"options,omitempty"` // extra mount flags: exec, noexec, suid, nosuid, dev, nodev
}

func mountConfigError(typ, format string, a ...any) error {
	return fmt.Errorf("invalid mount config for type %q: %s", typ, fmt.Sprintf(format, a...))
}

func invalidVolumeSpec(spec string) error {
	return fmt.Errorf("invalid volume specification: '%s'", spec)
}

var propagations = map[string]bool{"shared": true, "rshared": true, "slave": true, "rslave": true, "private": true, "rprivate": true}

// ParseVolume reads a -v/--volume value as Docker does:
//
//	NAME:/path[:MODE]   a named volume (created on first use)
//	/host/path:/path[:MODE]  a bind mount; ./rel and ../rel are taken from cwd, as Docker 23+ does
//	/path               a new anonymous volume
//
// MODE is a comma-separated list of rw|ro, z|Z, nocopy, U, a propagation
// (rprivate, shared, ...) for binds, and exec|noexec, suid|nosuid, dev|nodev.
func ParseVolume(spec, cwd string) (Mount, error) {
	if strings.ContainsRune(spec, 0) {
		return Mount{}, fmt.Errorf("invalid volume specification: the value contains a NUL byte")
	}
	parts := strings.Split(spec, ":")
	var src, dst, mode string
	switch len(parts) {
	case 1:
		dst = parts[0]
	case 2:
		if looksLikeMode(parts[1]) {
			// "/data:ro": a destination with a mode but no source.
			return Mount{}, invalidVolumeSpec(spec)
		}
		src, dst = parts[0], parts[1]
	case 3:
		src, dst, mode = parts[0], parts[1], parts[2]
	default:
		return Mount{}, invalidVolumeSpec(spec)
	}
	if dst == "" || len(parts) > 1 && src == "" || len(parts) == 3 && mode == "" {
		return Mount{}, invalidVolumeSpec(spec)
	}
	m := Mount{Type: MountVolume}
	switch {
	case len(parts) == 1:
	case strings.HasPrefix(src, "/"):
		m.Type, m.Source, m.CreateSource = MountBind, path.Clean(src), true
	case isRelativePath(src):
		m.Type, m.Source, m.CreateSource = MountBind, filepath.Join(cwd, src), true
	default:
		if err := VolumeName(src); err != nil {
			return Mount{}, fmt.Errorf("create %s: %w", src, err)
		}
		m.Source = src
	}
	if err := checkDestination(m.Type, dst); err != nil {
		return Mount{}, err
	}
	m.Destination = path.Clean(dst)
	if mode != "" {
		mo, err := parseVolumeMode(mode, m.Type)
		if err != nil {
			return Mount{}, err
		}
		mo.apply(&m)
	}
	m.Mode = mode
	if m.Type == MountVolume && m.Source != "" && mode == "" {
		m.Mode = "z" // what Docker records for a named volume given with -v
	}
	if m.Type == MountBind && m.Propagation == "" {
		m.Propagation = "rprivate"
	}
	return m, nil
}

// isRelativePath is a source Docker 23+ takes as a path relative to the
// current directory: ".", "..", "./x", "../x". Anything else without a
// leading "/" is a volume name.
func isRelativePath(s string) bool {
	return s == "." || s == ".." || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../")
}

func checkDestination(typ, dst string) error {
	if !strings.HasPrefix(dst, "/") {
		return mountConfigError(typ, "invalid mount path: '%s' mount path must be absolute", dst)
	}
	if path.Clean(dst) == "/" {
		return mountConfigError(typ, "invalid specification: destination can't be '/'")
	}
	return nil
}

func looksLikeMode(s string) bool {
	_, errV := parseVolumeMode(s, MountVolume)
	_, errB := parseVolumeMode(s, MountBind)
	return errV == nil || errB == nil
}

// volumeMode is a parsed MODE of -v.
type volumeMode struct {
	readOnly, nocopy, chown, nonRecursive bool
	relabel, propagation                  string
	options                               []string
}

func (mo volumeMode) apply(m *Mount) {
	m.ReadOnly, m.NoCopy, m.Chown, m.NonRecursive = mo.readOnly, mo.nocopy, mo.chown, mo.nonRecursive
	m.Relabel, m.Propagation, m.Options = mo.relabel, mo.propagation, mo.options
}

// parseVolumeMode reads the MODE of -v: one option of each kind at most.
func parseVolumeMode(mode, typ string) (volumeMode, error) {
	var mo volumeMode
	seen := map[string]string{}
	once := func(kind, opt string) error {
		if prev, ok := seen[kind]; ok {
			return fmt.Errorf("invalid mode: %s: %q and %q conflict", mode, prev, opt)
		}
		seen[kind] = opt
		return nil
	}
	for _, opt := range strings.Split(mode, ",") {
		var kind string
		switch opt {
		case "rw", "ro":
			kind, mo.readOnly = "access", opt == "ro"
		case "z", "Z":
			kind, mo.relabel = "relabel", opt
		case "nocopy", "copy":
			if typ != MountVolume {
				return mo, fmt.Errorf("invalid mode: %s: %s is only for volumes", mode, opt)
			}
			kind, mo.nocopy = "copy", opt == "nocopy"
		case "U":
			kind, mo.chown = "chown", true
		case "consistent", "cached", "delegated":
			kind = "consistency" // Docker Desktop's file sharing hints: nothing to do here
		case "bind", "rbind":
			if typ != MountBind {
				return mo, fmt.Errorf("invalid mode: %s: %s is only for bind mounts", mode, opt)
			}
			kind, mo.nonRecursive = "recursion", opt == "bind"
		case "exec", "noexec", "suid", "nosuid", "dev", "nodev":
			kind = strings.TrimPrefix(opt, "no")
			mo.options = append(mo.options, opt)
		default:
			if !propagations[opt] {
				return mo, fmt.Errorf("invalid mode: %s: unknown option %q (use ro, rw, z, Z, U, nocopy, or a propagation for binds)", mode, opt)
			}
			if typ != MountBind {
				return mo, fmt.Errorf("invalid mode: %s: propagation %q is only for bind mounts", mode, opt)
			}
			kind, mo.propagation = "propagation", opt
		}
		if err := once(kind, opt); err != nil {
			return mo, err
		}
	}
	return mo, nil
}

// ParseMount reads a --mount value as Docker does: comma-separated
// KEY[=VALUE] fields (CSV, so a field may be quoted), among
//
//	type=volume|bind|tmpfs (default volume), source|src=, target|destination|dst=,
//	readonly|ro[=BOOL], bind-propagation=, bind-recursive=enabled|disabled,
//	volume-nocopy[=BOOL], volume-subpath=, volume-driver=, volume-label=K=V,
//	volume-opt=K=V, tmpfs-size=SIZE, tmpfs-mode=OCTAL, consistency=
//
// and podman's relabel=shared|private and U[=BOOL]. A relative bind source
// (./x, ../x) is taken from cwd, as Docker 23+ does.
func ParseMount(spec, cwd string) (Mount, error) {
	r := csv.NewReader(strings.NewReader(spec))
	r.LazyQuotes = false
	fields, err := r.Read()
	if err != nil || strings.ContainsAny(spec, "\n\r\x00") {
		return Mount{}, fmt.Errorf("invalid --mount %q: use comma-separated KEY=VALUE fields", spec)
	}
	m := Mount{Type: MountVolume}
	var src, dst string
	var bindOpts, volumeOpts, tmpfsOpts bool
	for _, field := range fields {
		key, value, hasValue := strings.Cut(field, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		boolValue := func() (bool, error) {
			if !hasValue {
				return true, nil
			}
			b, err := strconv.ParseBool(strings.ToLower(value))
			if err != nil {
				return false, fmt.Errorf("invalid value for %s: %s", key, value)
			}
			return b, nil
		}
		needValue := func() error {
			if !hasValue {
				return fmt.Errorf("invalid field '%s' must be a key=value pair", field)
			}
			return nil
		}
		switch key {
		case "readonly", "ro":
			if m.ReadOnly, err = boolValue(); err != nil {
				return Mount{}, err
			}
			continue
		case "volume-nocopy":
			if m.NoCopy, err = boolValue(); err != nil {
				return Mount{}, err
			}
			volumeOpts = true
			continue
		case "u", "chown":
			if m.Chown, err = boolValue(); err != nil {
				return Mount{}, err
			}
			continue
		case "bind-nonrecursive":
			if m.NonRecursive, err = boolValue(); err != nil {
				return Mount{}, err
			}
			bindOpts = true
			continue
		}
		if err := needValue(); err != nil {
			return Mount{}, err
		}
		switch key {
		case "type":
			switch value {
			case MountVolume, MountBind, MountTmpfs:
				m.Type = value
			default:
				return Mount{}, fmt.Errorf("invalid --mount type %q: use volume, bind or tmpfs", value)
			}
		case "source", "src":
			src = value
		case "target", "destination", "dst":
			dst = value
		case "consistency":
			switch value {
			case "default", "consistent", "cached", "delegated":
			default:
				return Mount{}, fmt.Errorf("invalid value for consistency: %s", value)
			}
		case "bind-propagation":
			if !propagations[value] {
				return Mount{}, fmt.Errorf("invalid value for bind-propagation: %s (use rprivate, private, rshared, shared, rslave or slave)", value)
			}
			m.Propagation, bindOpts = value, true
		case "bind-recursive":
			switch value {
			case "enabled":
			case "disabled":
				m.NonRecursive = true
			default:
				return Mount{}, fmt.Errorf("invalid value for bind-recursive: %s (use enabled or disabled)", value)
			}
			bindOpts = true
		case "volume-driver":
			m.VolumeDriver, volumeOpts = value, true
		case "volume-subpath":
			if value == "" || path.IsAbs(value) || path.Clean(value) != value || value == ".." || strings.HasPrefix(value, "../") {
				return Mount{}, fmt.Errorf("invalid value for volume-subpath: %q: use a relative path inside the volume, without ..", value)
			}
			m.Subpath, volumeOpts = value, true
		case "volume-label", "volume-opt":
			k, v, err := ParseKeyValue(value, key, key == "volume-opt")
			if err != nil {
				return Mount{}, err
			}
			if key == "volume-label" {
				m.VolumeLabels = setKey(m.VolumeLabels, k, v)
			} else {
				m.VolumeOptions = setKey(m.VolumeOptions, k, v)
			}
			volumeOpts = true
		case "tmpfs-size":
			n, err := units.RAMInBytes(value)
			if err != nil || n < 0 {
				return Mount{}, fmt.Errorf("invalid value for tmpfs-size: %s (use a size such as 64m)", value)
			}
			m.TmpfsSize, tmpfsOpts = n, true
		case "tmpfs-mode":
			n, err := strconv.ParseUint(value, 8, 32)
			if err != nil || n > 0o7777 {
				return Mount{}, fmt.Errorf("invalid value for tmpfs-mode: %s (use an octal mode such as 1777)", value)
			}
			m.TmpfsMode, tmpfsOpts = uint32(n), true
		case "relabel":
			switch value {
			case "shared":
				m.Relabel = "z"
			case "private":
				m.Relabel = "Z"
			default:
				return Mount{}, fmt.Errorf("invalid value for relabel: %s (use shared or private)", value)
			}
		default:
			return Mount{}, fmt.Errorf("unexpected key '%s' in '%s'", key, field)
		}
	}
	switch {
	case m.Type != MountVolume && volumeOpts:
		return Mount{}, fmt.Errorf("cannot mix 'volume-*' options with mount type '%s'", m.Type)
	case m.Type != MountBind && bindOpts:
		return Mount{}, fmt.Errorf("cannot mix 'bind-*' options with mount type '%s'", m.Type)
	case m.Type != MountTmpfs && tmpfsOpts:
		return Mount{}, fmt.Errorf("cannot mix 'tmpfs-*' options with mount type '%s'", m.Type)
	}
	if dst == "" {
		return Mount{}, mountConfigError(m.Type, "field Target must not be empty")
	}
	if err := checkDestination(m.Type, dst); err != nil {
		return Mount{}, err
	}
	m.Destination = path.Clean(dst)
	switch m.Type {
	case MountBind:
		switch {
		case src == "":
			return Mount{}, mountConfigError(m.Type, "field Source must not be empty")
		case strings.HasPrefix(src, "/"):
			m.Source = path.Clean(src)
		case isRelativePath(src):
			m.Source = filepath.Join(cwd, src)
		default:
			return Mount{}, mountConfigError(m.Type, "invalid mount path: '%s' mount path must be absolute", src)
		}
		if m.Propagation == "" {
			m.Propagation = "rprivate"
		}
		if m.ReadOnly {
			m.Mode = "ro"
		}
	case MountVolume:
		if src != "" {
			if err := VolumeName(src); err != nil {
				return Mount{}, fmt.Errorf("create %s: %w", src, err)
			}
		}
		m.Source = src
		if src != "" {
			m.Mode = "z"
		}
	case MountTmpfs:
		if src != "" {
			return Mount{}, mountConfigError(m.Type, "field Source must not be specified")
		}
	}
	return m, nil
}

func setKey(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

// CheckMounts refuses two mounts on one destination, as Docker does.
func CheckMounts(mounts []Mount) error {
	seen := map[string]bool{}
	for _, m := range mounts {
		if seen[m.Destination] {
			return fmt.Errorf("Duplicate mount point: %s", m.Destination)
		}
		seen[m.Destination] = true
	}
	return nil
}

// VolumesFrom is a parsed --volumes-from CONTAINER[:ro|rw|z|Z].
type VolumesFrom struct {
	Container string `json:"container"`
	// Mode "ro" or "rw" forces every mount read-only or writable; "" keeps
	// each mount's own mode, as Docker does.
	Mode    string `json:"mode,omitempty"`
	Relabel string `json:"relabel,omitempty"`
}

// ParseVolumesFrom reads a --volumes-from value.
func ParseVolumesFrom(spec string) (VolumesFrom, error) {
	name, mode, hasMode := strings.Cut(spec, ":")
	v := VolumesFrom{Container: strings.TrimPrefix(name, "/")}
	if v.Container == "" || strings.ContainsAny(v.Container, " \t\n\x00/") {
		return VolumesFrom{}, fmt.Errorf("invalid --volumes-from %q: name a container, optionally with :ro or :rw", spec)
	}
	if !hasMode {
		return v, nil
	}
	for _, opt := range strings.Split(mode, ",") {
		switch {
		case (opt == "ro" || opt == "rw") && v.Mode == "":
			v.Mode = opt
		case (opt == "z" || opt == "Z") && v.Relabel == "":
			v.Relabel = opt
		default:
			return VolumesFrom{}, fmt.Errorf("invalid mode: %s: --volumes-from takes ro or rw (and z or Z)", mode)
		}
	}
	return v, nil
}
