//go:build system

package system

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A container's monitor, its idle loop and its exec monitors run from the
// small tug-shim that tug writes into its data root (pkg/shim), not from
// the whole of tug; what needs the CLI (the cleanup of --rm) runs tug.
func TestMonitorRunsFromShim(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		dir := filepath.Join(e.Root, "shim")
		exeOf := func(pid int) string {
			t.Helper()
			exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
			if err != nil {
				t.Fatal(err)
			}
			return exe
		}
		isShim := func(what string, pid int) string {
			t.Helper()
			exe := exeOf(pid)
			if filepath.Dir(exe) != dir || !strings.HasPrefix(filepath.Base(exe), "tug-shim-") {
				t.Fatalf("%s runs %s, not a tug-shim in %s", what, exe, dir)
			}
			return exe
		}

		e.TugOK("run", "-d", "--name", "s", "--network", "none", bb, "sleep", "300")
		exe := isShim("the Go monitor", monitorPid(t, e, "s"))
		for _, c := range []struct {
			path string
			mode os.FileMode
		}{{dir, 0o700 | os.ModeDir}, {exe, 0o755}} {
			fi, err := os.Lstat(c.path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != c.mode || int(fi.Sys().(*syscall.Stat_t).Uid) != e.uid {
				t.Fatalf("%s: mode %v owner %d, want %v and %d", c.path, fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid, c.mode, e.uid)
			}
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("in %s: %v", dir, entries)
		}
		waitIdle(t, e, "s")
		if got := isShim("the idle loop", monitorPid(t, e, "s")); got != exe {
			t.Fatalf("the idle loop runs %s, the monitor ran %s", got, exe)
		}
		e.TugOK("exec", "-d", "s", "sleep", "300")
		ctrNS, _ := os.Readlink(fmt.Sprintf("/proc/%s/ns/pid", e.inspect("s", "{{.State.Pid}}")))
		execMon := 0
		waitUntil(t, "the exec monitor", func() bool { execMon = execMonitorIn(ctrNS); return execMon != 0 })
		isShim("the exec monitor", execMon)
		if out := e.TugOK("exec", "s", "echo", "hi").Out; out != "hi\n" {
			t.Fatalf("exec: %q", out)
		}
		e.TugOK("rm", "-f", "s")

		// The cleanup of --rm, from the idle loop and from the Go monitor:
		// the shim hands over to tug.
		e.TugOK("run", "-d", "--rm", "--name", "gone", "--network", "none", bb, "sh", "-c", "sleep 1")
		waitUntil(t, "--rm to remove the container", func() bool { return e.Tug("container", "exists", "gone").Code == 1 })
		e.ShOK("TUG_MONITOR_GO=1 $TUG run -d --rm --name gone-go --network none " + bb + " sh -c 'sleep 0.5'")
		waitUntil(t, "--rm to remove the container", func() bool { return e.Tug("container", "exists", "gone-go").Code == 1 })
		e.TugOK("run", "-d", "--name", "code", "--network", "none", bb, "sh", "-c", "sleep 0.5; exit 3")
		if out := e.TugOK("wait", "code").Out; out != "3\n" {
			t.Fatalf("wait: %q", out)
		}
		e.TugOK("rm", "code")

		// TUG_SHIM=0: tug runs its monitor itself, as without an embedded shim.
		e.ShOK("TUG_SHIM=0 $TUG run -d --name self --network none " + bb + " sleep 300")
		if got, _ := filepath.EvalSymlinks(TugBin); exeOf(monitorPid(t, e, "self")) != got {
			t.Fatalf("with TUG_SHIM=0 the monitor runs %s", exeOf(monitorPid(t, e, "self")))
		}
		e.TugOK("rm", "-f", "self")

		// Where the shim cannot be written, tug runs its monitors itself.
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		e.TugOK("run", "-d", "--name", "noshim", "--network", "none", bb, "sleep", "300")
		if got, _ := filepath.EvalSymlinks(TugBin); exeOf(monitorPid(t, e, "noshim")) != got {
			t.Fatalf("without a shim directory the monitor runs %s", exeOf(monitorPid(t, e, "noshim")))
		}
		e.TugOK("rm", "-f", "noshim")
		os.Remove(dir)
	})
}

// execMonitorIn is the PID of a tug-exec whose child is in the PID
// namespace ns (a container's), 0 if there is none.
func execMonitorIn(ns string) int {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if !strings.HasPrefix(string(cmd), "tug-exec\x00") {
			continue
		}
		// A child is listed under the thread that forked it, which in Go
		// is any of the process's threads.
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		for _, task := range tasks {
			children, _ := os.ReadFile(task)
			for _, c := range strings.Fields(string(children)) {
				if got, _ := os.Readlink("/proc/" + c + "/ns/pid"); got == ns {
					return pid
				}
			}
		}
	}
	return 0
}
