// Command tug is a daemonless, rootless container engine with Docker's command line.
package main

import (
	"os"

	"go.podman.io/storage/pkg/reexec"
)

func main() {
	// Storage re-executes this binary for some layer operations; those children
	// stop here. Keep main short: whatever runs before this point runs twice.
	if reexec.Init() {
		return
	}
	os.Exit(execute(os.Args[1:]))
}
