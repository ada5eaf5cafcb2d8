package parse

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Secret delivery types of --secret.
const (
	SecretMount = "mount" // a read-only file on a tmpfs, /run/secrets/NAME by default
	SecretEnv   = "env"   // an environment variable, NAME by default
)

// SecretDir is where secrets appear in a container unless target= says otherwise.
const SecretDir = "/run/secrets"

// SecretName checks a secret name with Docker's rule: 1 to 64 letters,
// digits, _ . -, beginning and ending with a letter or digit.
func SecretName(name string) error {
	ok := name != "" && len(name) <= 64
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		edge := i == 0 || i == len(name)-1
		ok = alnum || !edge && (c == '_' || c == '.' || c == '-')
	}
	if !ok {
		return fmt.Errorf("invalid secret name %q: use 1 to 64 letters, digits, '_', '.' or '-', beginning and ending with a letter or digit", name)
	}
	return nil
}

// SecretRequest is a parsed --secret: which secret, and how the container gets it.
type SecretRequest struct {
	Name   string `json:"name"`
	Type   string `json:"type"`   // SecretMount or SecretEnv
	Target string `json:"target"` // absolute file path (mount) or variable name (env)
	UID    uint32 `json:"uid,omitempty"`
	GID    uint32 `json:"gid,omitempty"`
	Mode   uint32 `json:"mode"` // file mode of a mounted secret, 0444 by default
}

// ParseSecret reads --secret NAME[,type=mount|env][,target=T][,uid=N][,gid=N][,mode=OCTAL]
// (the name may also be given as source=NAME or src=NAME). A relative mount
// target is taken under /run/secrets.
func ParseSecret(spec string) (SecretRequest, error) {
	bad := func(format string, a ...any) (SecretRequest, error) {
		return SecretRequest{}, fmt.Errorf("invalid --secret %q: %s", spec, fmt.Sprintf(format, a...))
	}
	if strings.ContainsAny(spec, "\x00\n") {
		return bad("the value contains a NUL or newline character")
	}
	r := SecretRequest{Mode: 0o444}
	var target string
	var uidSet, gidSet, modeSet bool
	for i, field := range strings.Split(spec, ",") {
		key, value, hasValue := strings.Cut(field, "=")
		if !hasValue {
			if i != 0 {
				return bad("field %q is not KEY=VALUE", field)
			}
			r.Name = field
			continue
		}
		switch strings.ToLower(key) {
		case "source", "src":
			if r.Name != "" {
				return bad("the secret is named twice")
			}
			r.Name = value
		case "type":
			if value != SecretMount && value != SecretEnv {
				return bad("type %q: use type=mount or type=env", value)
			}
			r.Type = value
		case "target", "dst", "destination":
			if value == "" {
				return bad("the target is empty")
			}
			target = value
		case "uid", "gid":
			n, err := strconv.ParseUint(value, 10, 32)
			if err != nil {
				return bad("%s %q: use a number", key, value)
			}
			if key == "uid" {
				r.UID, uidSet = uint32(n), true
			} else {
				r.GID, gidSet = uint32(n), true
			}
		case "mode":
			n, err := strconv.ParseUint(value, 8, 32)
			if err != nil || n > 0o777 {
				return bad("mode %q: use an octal file mode such as 0400", value)
			}
			r.Mode, modeSet = uint32(n), true
		default:
			return bad("unknown option %q: use type, target, uid, gid or mode", key)
		}
	}
	if err := SecretName(r.Name); err != nil {
		return bad("%v", err)
	}
	if r.Type == "" {
		r.Type = SecretMount
	}
	switch r.Type {
	case SecretEnv:
		if uidSet || gidSet || modeSet {
			return bad("uid, gid and mode are only for type=mount")
		}
		r.Target = r.Name
		if target != "" {
			r.Target = target
		}
		if strings.ContainsAny(r.Target, "= \t") {
			return bad("%q is not an environment variable name", r.Target)
		}
	case SecretMount:
		switch {
		case target == "":
			r.Target = path.Join(SecretDir, r.Name)
		case path.IsAbs(target):
			r.Target = path.Clean(target)
		default:
			r.Target = path.Join(SecretDir, target)
		}
		if err := checkDestination("secret", r.Target); err != nil || r.Target == SecretDir {
			return bad("target %q: name a file", target)
		}
	}
	return r, nil
}
