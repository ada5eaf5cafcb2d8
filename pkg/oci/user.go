package oci

import (
	"fmt"
	"path/filepath"
	"strconv"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
)

// ExecUser is a user resolved in the image.
type ExecUser struct {
	UID, GID uint32
	Groups   []uint32
	Home     string
}

// ResolveUser resolves USER[:GROUP] (names or IDs) and --group-add groups in
// the rootfs's /etc/passwd and /etc/group, as Docker does: an unknown name is
// an error, a numeric ID needs no entry.
func ResolveUser(rootfs, spec string, groupAdd []string) (ExecUser, error) {
	passwd, err := securejoin.SecureJoin(rootfs, "/etc/passwd")
	if err != nil {
		return ExecUser{}, err
	}
	group, err := securejoin.SecureJoin(rootfs, "/etc/group")
	if err != nil {
		return ExecUser{}, err
	}
	if spec == "" {
		spec = "0"
	}
	defaults := &user.ExecUser{Uid: 0, Gid: 0, Home: "/"}
	eu, err := user.GetExecUserPath(spec, defaults, passwd, group)
	if err != nil {
		return ExecUser{}, fmt.Errorf("unable to find user %s: %w", spec, err)
	}
	out := ExecUser{UID: uint32(eu.Uid), GID: uint32(eu.Gid), Home: eu.Home}
	for _, g := range eu.Sgids {
		if g != eu.Gid {
			out.Groups = append(out.Groups, uint32(g))
		}
	}
	if len(groupAdd) > 0 {
		gids, err := user.GetAdditionalGroupsPath(groupAdd, group)
		if err != nil {
			return ExecUser{}, fmt.Errorf("unable to find group %v: %w", groupAdd, err)
		}
		for _, g := range gids {
			out.Groups = append(out.Groups, uint32(g))
		}
	}
	if out.Home == "" {
		out.Home = "/"
	}
	return out, nil
}

// FormatUser is the "uid:gid" form.
func (u ExecUser) String() string {
	return strconv.FormatUint(uint64(u.UID), 10) + ":" + strconv.FormatUint(uint64(u.GID), 10)
}

// InRootfs resolves path inside rootfs without escaping it through symlinks.
func InRootfs(rootfs, path string) (string, error) {
	return securejoin.SecureJoin(rootfs, filepath.Clean("/"+path))
}
