// Package rootless puts an unprivileged tug inside the user's user and mount
// namespaces, held by the pause process (see DESIGN.md).
//
// The pause process is keyed to the runtime root: its PID file is
// <runroot>/pause.pid, so every --runroot (each system test, each concurrent
// test run) has its own namespaces. Later calls join it from a C constructor
// before the Go runtime starts (join_linux.c); the first call creates it in
// Enter and re-executes tug once so that the constructor joins it.
//
// Every process inside the namespace carries the marker variables below,
// inherited from the call that joined. A helper re-executed from inside with
// an environment of its own (exec.Cmd.Env set) must add MarkerEnv() to it, or
// it will not know that it is inside (InNamespace) nor whose namespace it is.
package rootless

import (
	"os"
	"strconv"
	"strings"
)

// The marker variables.
const (
	// uidEnv carries the user's ID on the host; its presence means "inside".
	uidEnv = "_TUG_ROOTLESS_UID"
	gidEnv = "_TUG_ROOTLESS_GID"
	// pauseEnv names the pid file of the pause process whose namespaces these are.
	pauseEnv = "_TUG_ROOTLESS_PAUSE"
	// singleIDEnv is set when the user has no sub-IDs and only their own ID is mapped.
	singleIDEnv = "_TUG_ROOTLESS_SINGLE_ID"

	// The same facts for the storage library (go.podman.io/storage/pkg/unshare),
	// which would otherwise take uid 0 inside for the user's own ID.
	containersUsernsEnv = "_CONTAINERS_USERNS_CONFIGURED"
	containersUIDEnv    = "_CONTAINERS_ROOTLESS_UID"
	containersGIDEnv    = "_CONTAINERS_ROOTLESS_GID"
)

var markers = []string{uidEnv, gidEnv, pauseEnv, singleIDEnv, containersUsernsEnv, containersUIDEnv, containersGIDEnv}

// IsRootless reports whether tug works for an unprivileged user, whether or
// not it has entered the user namespace yet.
func IsRootless() bool {
	return os.Getenv(uidEnv) != "" || os.Geteuid() != 0
}

// InNamespace reports whether this process runs inside tug's user and mount
// namespaces on behalf of an unprivileged user.
func InNamespace() bool { return os.Getenv(uidEnv) != "" }

// HostUID is the user's ID outside the user namespace.
func HostUID() int { return idFromEnv(uidEnv, os.Geteuid()) }

// HostGID is the user's group ID outside the user namespace.
func HostGID() int { return idFromEnv(gidEnv, os.Getegid()) }

func idFromEnv(name string, dflt int) int {
	if v := os.Getenv(name); v != "" {
		if id, err := strconv.Atoi(v); err == nil {
			return id
		}
	}
	return dflt
}

// SingleIDMapping reports whether only the user's own ID is mapped into the
// namespace (no /etc/subuid entry), so files cannot be owned by other IDs.
func SingleIDMapping() bool { return os.Getenv(singleIDEnv) != "" }

// MarkerEnv is the part of this process's environment that tells a helper it
// runs inside the namespace. Empty outside.
func MarkerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if isMarker(kv) {
			env = append(env, kv)
		}
	}
	return env
}

func isMarker(kv string) bool {
	for _, name := range markers {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

func clearMarkers() {
	for _, name := range markers {
		os.Unsetenv(name)
	}
}
