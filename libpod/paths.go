package libpod

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/tug-project/tug/rootless"
)

// DefaultDataRoot is where storage, the state DB and volumes live.
func DefaultDataRoot() string {
	if !rootless.IsRootless() {
		return "/var/lib/tug"
	}
	if dir := os.Getenv("XDG_DATA_HOME"); dir != "" {
		return filepath.Join(dir, "tug")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "tug")
}

// DefaultRunRoot is where sockets, pid files and other per-boot state live.
func DefaultRunRoot() string {
	if !rootless.IsRootless() {
		return "/run/tug"
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		return filepath.Join(dir, "tug")
	}
	return filepath.Join(os.TempDir(), "tug-run-"+strconv.Itoa(rootless.HostUID()))
}
