package parse

import (
	"fmt"
	"path"
	"strings"
)

// tmpfsOptions are the mount options --tmpfs accepts (besides size=, mode=, uid=, gid=, nr_inodes=).
var tmpfsOptions = map[string]bool{
	"rw": true, "ro": true, "exec": true, "noexec": true, "suid": true, "nosuid": true, "dev": true,
	"nodev": true, "sync": true, "async": true, "atime": true, "noatime": true, "relatime": true,
	"norelatime": true, "strictatime": true, "nostrictatime": true, "diratime": true, "nodiratime": true,
	"mand": true, "nomand": true, "dirsync": true, "private": true, "rprivate": true, "shared": true,
	"rshared": true, "slave": true, "rslave": true, "tmpcopyup": true, "notmpcopyup": true,
}

var tmpfsValued = map[string]bool{"size": true, "mode": true, "uid": true, "gid": true, "nr_inodes": true, "nr_blocks": true}

// Tmpfs parses --tmpfs PATH[:OPTIONS] ("/run:rw,size=64m").
func Tmpfs(s string) (dest string, options []string, err error) {
	dest, opts, _ := strings.Cut(s, ":")
	if err := ContainerPath(dest); err != nil {
		return "", nil, fmt.Errorf("invalid --tmpfs %q: %v", s, err)
	}
	if opts == "" {
		return path.Clean(dest), nil, nil
	}
	for _, o := range strings.Split(opts, ",") {
		k, _, valued := strings.Cut(o, "=")
		if valued && tmpfsValued[k] || !valued && tmpfsOptions[o] {
			options = append(options, o)
			continue
		}
		return "", nil, fmt.Errorf("invalid --tmpfs %q: unknown mount option %q", s, o)
	}
	return path.Clean(dest), options, nil
}

// ContainerPath checks a path inside a container: absolute, not "/".
func ContainerPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%q is not an absolute path", p)
	}
	if path.Clean(p) == "/" {
		return fmt.Errorf("cannot mount over /")
	}
	if strings.ContainsRune(p, 0) {
		return fmt.Errorf("the path contains a NUL byte")
	}
	return nil
}
