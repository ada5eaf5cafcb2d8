// Command tug is a daemonless, rootless container engine with Docker's command line.
package main

import (
	"os"

	// The C constructor that libcontainer's init child needs: it joins or
	// creates the container's namespaces before the Go runtime starts.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
	"go.podman.io/storage/pkg/reexec"

	"github.com/tug-project/tug/pkg/oci"
)

func main() {
	// Keep main short: whatever runs before these checks runs again in
	// every container's init and every monitor.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		oci.Init() // a container's init: never returns
	}
	// Storage's re-executions, and the container monitor ("tug-monitor").
	if reexec.Init() {
		return
	}
	os.Exit(execute(os.Args[1:]))
}
