// Command tug-shim is the small binary that tug embeds and runs for its
// per-container processes: the monitor (tug-monitor, its idle loop,
// tug-monitor-finish, tug-monitor-health), the exec monitor (tug-exec) and
// the container's init (libcontainer re-executes /proc/self/exe, which is
// then this). It links what those need and nothing of the CLI (storage,
// the image and build libraries, the state DB), so each of those processes
// starts in about half the time and faults of the full binary. tug writes
// it out on first use (pkg/shim); without it tug runs itself as before.
package main

import (
	"fmt"
	"os"

	// The C constructor of libcontainer's init child (see cmd/tug/main.go).
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
	"go.podman.io/storage/pkg/reexec"

	// Registers the monitor's names with reexec (and the idle loop's C constructor).
	_ "github.com/tug-project/tug/pkg/monitor"
	"github.com/tug-project/tug/pkg/oci"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		oci.Init() // a container's init: never returns
	}
	if reexec.Init() {
		return
	}
	fmt.Fprintf(os.Stderr, "tug-shim: %q is not a process this helper runs; it is started by tug\n", os.Args[0])
	os.Exit(125)
}
