package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tug-project/tug/test/testregistry"
)

// benchUser is the unprivileged user the rootless benchmarks run as: the one
// the system tests create, with sub-IDs.
const benchUser = "tugtest"

// rootlessBench is what the rootless benchmarks share: a copy of tug the
// user can run, and a directory of the user's for runroots, HOME and
// XDG_RUNTIME_DIR.
type rootlessBench struct {
	uid, gid int
	dir, tug string
}

var rb *rootlessBench

func rootlessSetup() (*rootlessBench, error) {
	if rb != nil {
		return rb, nil
	}
	u, err := user.Lookup(benchUser)
	if err != nil {
		return nil, fmt.Errorf("no user %s (make system creates it)", benchUser)
	}
	b := &rootlessBench{dir: filepath.Join(workDir, "rootless")}
	b.uid, _ = strconv.Atoi(u.Uid)
	b.gid, _ = strconv.Atoi(u.Gid)
	b.tug = filepath.Join(b.dir, "tug")
	if err := os.Chmod(workDir, 0o755); err != nil {
		return nil, err
	}
	for _, d := range []string{b.dir, filepath.Join(b.dir, "home"), filepath.Join(b.dir, "xdg")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chown(d, b.uid, b.gid); err != nil {
			return nil, err
		}
	}
	data, err := os.ReadFile(*tugBin)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(b.tug, data, 0o755); err != nil {
		return nil, err
	}
	rb = b
	return b, nil
}

// cmd runs argv as the bench user.
func (b *rootlessBench) cmd(argv ...string) *exec.Cmd {
	c := exec.Command(argv[0], argv[1:]...)
	c.Dir = b.dir
	c.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + filepath.Join(b.dir, "home"), "XDG_RUNTIME_DIR=" + filepath.Join(b.dir, "xdg"), "USER=" + benchUser}
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(b.uid), Gid: uint32(b.gid), Groups: []uint32{}}}
	return c
}

func (b *rootlessBench) tugUnshare(runRoot string) *exec.Cmd {
	return b.cmd(b.tug, "--root", filepath.Join(b.dir, "root"), "--runroot", runRoot, "unshare", "true")
}

// killPause kills the pause process named by a pid file and waits for it.
func killPause(pidFile string) {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.Fields(string(data) + " x")[0])
	if err != nil || syscall.Kill(pid, syscall.SIGKILL) != nil {
		return
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
	}
}

func (b *rootlessBench) podmanPidFile() string {
	return filepath.Join(b.dir, "xdg", "libpod", "tmp", "pause.pid")
}

// The first call of a runroot: user namespace, ID maps, pause process, one re-exec.
func benchUnshareCold(_ *testregistry.Registry, hasPodman bool) (result, error) {
	b, err := rootlessSetup()
	if err != nil {
		return result{note: "skipped: " + err.Error()}, nil
	}
	runRoot := func(i int) string { return filepath.Join(b.dir, fmt.Sprintf("cold-%d", i)) }
	var r result
	r.tug, err = timeCmds(*runs, func(i int) error {
		if i > 0 {
			killPause(filepath.Join(runRoot(i-1), "pause.pid"))
		}
		return nil
	}, func(i int) *exec.Cmd { return b.tugUnshare(runRoot(i)) })
	killPause(filepath.Join(runRoot(*runs-1), "pause.pid"))
	if err != nil || !hasPodman {
		return r, err
	}
	r.podman, err = timeCmds(*runs, func(int) error { killPause(b.podmanPidFile()); return nil },
		func(int) *exec.Cmd { return b.cmd("podman", "unshare", "true") })
	killPause(b.podmanPidFile())
	return r, err
}

// A later call: the constructor joins the pause process before Go starts.
func benchUnshareWarm(_ *testregistry.Registry, hasPodman bool) (result, error) {
	b, err := rootlessSetup()
	if err != nil {
		return result{note: "skipped: " + err.Error()}, nil
	}
	runRoot := filepath.Join(b.dir, "warm")
	defer killPause(filepath.Join(runRoot, "pause.pid"))
	if out, err := b.tugUnshare(runRoot).CombinedOutput(); err != nil {
		return result{}, fmt.Errorf("%v: %s", err, out)
	}
	var r result
	if r.tug, err = timeCmds(*runs*3, nil, func(int) *exec.Cmd { return b.tugUnshare(runRoot) }); err != nil || !hasPodman {
		return r, err
	}
	defer killPause(b.podmanPidFile())
	if out, err := b.cmd("podman", "unshare", "true").CombinedOutput(); err != nil {
		return r, fmt.Errorf("podman: %v: %s", err, out)
	}
	r.podman, err = timeCmds(*runs*3, nil, func(int) *exec.Cmd { return b.cmd("podman", "unshare", "true") })
	return r, err
}
