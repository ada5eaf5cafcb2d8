package oci

import (
	"runtime/debug"

	"github.com/opencontainers/runc/libcontainer"
)

// Init is a container's init, the process libcontainer starts by running
// this binary with the argument "init" (tug or tug-shim). It never returns:
// it ends in the container's command.
func Init() {
	// The process ends in an exec: a collection would only cost time.
	debug.SetGCPercent(-1)
	LoadEarlySeccomp()
	libcontainer.Init()
}
