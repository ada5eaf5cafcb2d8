package parse

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// VolumeNameChars is Docker's rule for local volume names, as its errors quote it.
const VolumeNameChars = "[a-zA-Z0-9][a-zA-Z0-9_.-]"

// VolumeName checks a local volume name as Docker does: two or more
// characters, the first a letter or digit, the others letters, digits, _ . -.
// (Docker refuses one-character names too; its message says why.)
func VolumeName(name string) error {
	if len(name) == 1 {
		return fmt.Errorf("volume name is too short, names should be at least two alphanumeric characters")
	}
	if !validVolumeName(name) {
		return fmt.Errorf("%q includes invalid characters for a local volume name, only %q are allowed. If you intended to pass a host directory, use absolute path", name, VolumeNameChars)
	}
	if len(name) > 255 {
		return fmt.Errorf("volume name %q is too long: at most 255 characters", name)
	}
	return nil
}

func validVolumeName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// LocalVolumeOptions are the options of Docker's local volume driver
// (`volume create -o KEY=VALUE`): with none, a volume is a plain directory;
// with type and device, that device is mounted on the volume's directory
// while a container uses it, with the mount options of o=, as mount(8) takes
// them (-o type=tmpfs -o device=tmpfs -o o=size=100m; -o type=none -o
// device=/srv/data -o o=bind).
type LocalVolumeOptions struct {
	Type    string // filesystem type (tmpfs, none for a bind mount, nfs, ext4 ...)
	Device  string // what to mount: a device, a host path for binds, tmpfs
	Options string // comma-separated mount options
}

// NeedsMount reports whether the volume is mounted rather than a plain directory.
func (o LocalVolumeOptions) NeedsMount() bool { return o.Type != "" || o.Device != "" }

// IsBind reports a bind mount of a host directory (type=none, o=bind).
func (o LocalVolumeOptions) IsBind() bool {
	for _, opt := range strings.Split(o.Options, ",") {
		if opt == "bind" || opt == "rbind" {
			return true
		}
	}
	return false
}

// localVolumeKeys are the option keys the local driver takes, and what each
// needs beside it (Docker's rules).
var localVolumeKeys = map[string][]string{
	"type":   {"device"},
	"device": {"type"},
	"o":      {"device", "type"},
	"size":   nil,
}

// ParseLocalVolumeOptions checks the driver options of a local volume as
// Docker does and reads them.
func ParseLocalVolumeOptions(opts map[string]string) (LocalVolumeOptions, error) {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := localVolumeKeys[k]; !ok {
			return LocalVolumeOptions{}, fmt.Errorf("invalid option: %q: the local driver takes type, device and o (as mount(8) does)", k)
		}
		if strings.ContainsAny(opts[k], "\x00\n") {
			return LocalVolumeOptions{}, fmt.Errorf("invalid option %s: the value contains a NUL or newline character", k)
		}
	}
	for _, k := range keys {
		for _, need := range localVolumeKeys[k] {
			if _, ok := opts[need]; !ok {
				return LocalVolumeOptions{}, fmt.Errorf("missing required option: %q", need)
			}
		}
	}
	if _, ok := opts["size"]; ok {
		// Docker needs XFS project quotas for this; tug does not set quotas.
		return LocalVolumeOptions{}, fmt.Errorf("quota size requested but no quota support: for a tmpfs volume use -o type=tmpfs -o device=tmpfs -o o=size=SIZE")
	}
	o := LocalVolumeOptions{Type: opts["type"], Device: opts["device"], Options: opts["o"]}
	if len(opts) == 0 {
		return o, nil
	}
	if o.Type == "" || o.Device == "" {
		return LocalVolumeOptions{}, fmt.Errorf("invalid options: type and device must not be empty")
	}
	if strings.ContainsAny(o.Type, ", =/") {
		return LocalVolumeOptions{}, fmt.Errorf("invalid option type %q: name a filesystem type (tmpfs, none, nfs, ext4 ...)", o.Type)
	}
	if o.Options != "" {
		for _, item := range strings.Split(o.Options, ",") {
			if item == "" || strings.HasPrefix(item, "=") {
				return LocalVolumeOptions{}, fmt.Errorf("invalid option o=%q: an empty mount option", o.Options)
			}
		}
	}
	if o.Type == "none" || o.Type == "bind" {
		if !o.IsBind() {
			return LocalVolumeOptions{}, fmt.Errorf("invalid options type=%s: a bind mount of a host directory needs o=bind (-o type=none -o o=bind -o device=/path)", o.Type)
		}
	}
	if o.IsBind() && (!path.IsAbs(o.Device) || path.Clean(o.Device) == "/") {
		return LocalVolumeOptions{}, fmt.Errorf("invalid option device=%q: a bind mount needs the absolute path of a host directory", o.Device)
	}
	return o, nil
}

// ParseKeyValue reads one KEY=VALUE flag value (-o, --label, --opt). A
// missing "=" gives the key with an empty value, as Docker's label flags do;
// requireValue refuses it instead (Docker's -o).
func ParseKeyValue(s, what string, requireValue bool) (key, value string, err error) {
	key, value, ok := strings.Cut(s, "=")
	if key == "" || strings.TrimSpace(key) != key || strings.ContainsAny(key, "\x00\n") {
		return "", "", fmt.Errorf("invalid %s %q: use KEY=VALUE with a non-empty key", what, s)
	}
	if !ok && requireValue {
		return "", "", fmt.Errorf("invalid %s %q: use KEY=VALUE", what, s)
	}
	return key, value, nil
}
