package libpod

import (
	"os"
	"os/exec"
	"path/filepath"

	"github.com/tug-project/tug/pkg/shim"
)

// shimDir is where tug writes the tug-shim binary that runs its monitors
// (pkg/shim). The data root, not the runtime root: it persists across
// reboots (the shim is written once per version of tug, not per boot),
// holds no memory as a tmpfs does, and the runtime root's fallback
// ($TMPDIR/tug-run-UID) is often on a noexec /tmp.
func (r *Runtime) shimDir() string { return filepath.Join(r.Root, "shim") }

// startHelper starts a monitor or an exec monitor (cmd from pkg/monitor),
// from the shim when there is one. It returns the path of this tug binary
// when the shim runs it: what the monitor executes for the work only the
// whole of tug does (the cleanup). Without the shim it returns "": the
// monitor is tug, and /proc/self/exe is right.
func (r *Runtime) startHelper(cmd *exec.Cmd) (tug string, err error) {
	tug, err = os.Executable()
	if err != nil {
		// Nothing could run the cleanup from the shim.
		cmd.Path = shim.Self
		return "", cmd.Start()
	}
	viaShim, err := shim.Start(r.shimDir(), cmd)
	if err != nil || !viaShim {
		return "", err
	}
	return tug, nil
}
