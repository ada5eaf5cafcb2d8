// Package rootless puts an unprivileged tug inside the user's user and mount
// namespaces, held by the per-user pause process (see DESIGN.md).
package rootless

import (
	"os"
	"strconv"
)

// uidEnv is set for every process that runs inside the user namespace on behalf
// of an unprivileged user; it carries the user's ID on the host.
const uidEnv = "_TUG_ROOTLESS_UID"

// IsRootless reports whether tug works for an unprivileged user, whether or
// not it has entered the user namespace yet.
func IsRootless() bool {
	return os.Getenv(uidEnv) != "" || os.Geteuid() != 0
}

// HostUID is the user's ID outside the user namespace.
func HostUID() int {
	if v := os.Getenv(uidEnv); v != "" {
		if uid, err := strconv.Atoi(v); err == nil {
			return uid
		}
	}
	return os.Geteuid()
}

// singleIDEnv is set when the user has no sub-IDs and only their own ID is mapped.
const singleIDEnv = "_TUG_ROOTLESS_SINGLE_ID"

// SingleIDMapping reports whether only the user's own ID is mapped into the
// namespace (no /etc/subuid entry), so files cannot be owned by other IDs.
func SingleIDMapping() bool { return os.Getenv(singleIDEnv) != "" }
