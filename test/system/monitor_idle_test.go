//go:build system

package system

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// monitorName is the argv[0] of the container's monitor.
func monitorName(t *testing.T, e *Env, name string) string {
	t.Helper()
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", monitorPid(t, e, name)))
	return strings.SplitN(string(cmd), "\x00", 2)[0]
}

func waitIdle(t *testing.T, e *Env, name string) {
	t.Helper()
	waitUntil(t, name+"'s monitor to be the idle loop", func() bool { return monitorName(t, e, name) == "tug-monitor-idle" })
}

// A running container's monitor becomes the small C loop (pkg/monitor's
// idle_linux.c), which logs, attaches, checks health and records the exit
// as the Go monitor does.
func TestMonitorIdleLoop(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		// Output before and after the switch, both streams; rotation.
		e.TugOK("run", "-d", "--name", "chatty", "--network", "none", "--log-opt", "max-size=2k", "--log-opt", "max-file=2", bb,
			"sh", "-c", `echo early; echo early-err >&2; sleep 0.5; i=0; while [ $i -lt 100 ]; do echo "line $i"; i=$((i+1)); done; printf partial; sleep 300`)
		waitIdle(t, e, "chatty")
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", monitorPid(t, e, "chatty")))
		if strings.TrimSpace(string(comm)) != "tug-monitor-idl" {
			t.Fatalf("comm %q", comm)
		}
		waitUntil(t, "the last line", func() bool { return e.TugOK("logs", "--tail", "1", "chatty").Out == "line 99\n" })
		logPath := e.inspect("chatty", "{{.LogPath}}")
		if _, err := os.Stat(logPath + ".1"); err != nil {
			t.Fatalf("not rotated: %v", err)
		}
		if _, err := os.Stat(logPath + ".2"); err == nil {
			t.Fatal("max-file=2 kept a third file")
		}
		if out := e.TugOK("logs", "chatty").Out; strings.Contains(out, "early") || !strings.HasSuffix(out, "line 98\nline 99\n") {
			t.Fatalf("logs after rotation: %q", out)
		}
		e.TugOK("stop", "-t", "1", "chatty")
		if out := e.TugOK("logs", "--tail", "2", "chatty").Out; out != "line 99\npartial" {
			t.Fatalf("the partial line at the exit: %q", out)
		}
		if got := e.inspect("chatty", "{{.State.Status}} {{.State.ExitCode}}"); got != "exited 137" && got != "exited 143" {
			t.Fatalf("after stop: %q", got)
		}

		// k8s-file, both streams.
		e.TugOK("run", "-d", "--name", "k8s", "--network", "none", "--log-driver", "k8s-file", bb,
			"sh", "-c", "sleep 0.5; echo out; echo err >&2; sleep 300")
		waitIdle(t, e, "k8s")
		waitUntil(t, "both lines", func() bool {
			r := e.TugOK("logs", "k8s")
			return r.Out == "out\n" && r.Err == "err\n"
		})
		e.TugOK("rm", "-f", "k8s")

		// A foreground run with stdin: the client handed over keeps its
		// streams, and the exit code comes back.
		r := e.TugStdin("hello\nworld\n", "run", "-i", "--rm", "--network", "none", bb, "sh", "-c", "sleep 0.5; cat; echo to-err >&2; exit 7")
		if r.Code != 7 || r.Out != "hello\nworld\n" || !strings.Contains(r.Err, "to-err") {
			t.Fatalf("run -i: %d %q %q", r.Code, r.Out, r.Err)
		}
		// attach to an idle container's output, then its exit.
		e.TugOK("run", "-d", "--name", "later", "--network", "none", bb, "sh", "-c", "sleep 1; echo bye; exit 3")
		waitIdle(t, e, "later")
		if r := e.Tug("attach", "later"); r.Code != 3 || r.Out != "bye\n" {
			t.Fatalf("attach: %d %q %q", r.Code, r.Out, r.Err)
		}
		e.TugOK("rm", "later")

		// Health checks: probes run by the loop, status in ps, healthcheck run.
		e.TugOK("run", "-d", "--name", "hc", "--network", "none", "--health-cmd", "test -f /tmp/up", "--health-interval", "200ms",
			"--health-retries", "1", bb, "sleep", "300")
		waitIdle(t, e, "hc")
		waitUntil(t, "unhealthy", func() bool { return strings.Contains(e.TugOK("ps").Out, "(unhealthy)") })
		e.TugFail(1, "healthcheck", "run", "hc")
		e.TugOK("exec", "hc", "touch", "/tmp/up")
		waitUntil(t, "healthy", func() bool { return strings.Contains(e.TugOK("ps").Out, "(healthy)") })
		e.TugOK("healthcheck", "run", "hc")
		if monitorName(t, e, "hc") != "tug-monitor-idle" {
			t.Fatal("the monitor did not stay the idle loop")
		}
		e.TugOK("rm", "-f", "hc")

		// kill -9 of the idle loop: the container lives on, the next calls cope.
		e.TugOK("run", "-d", "--name", "orphan", "--network", "none", bb, "sleep", "300")
		waitIdle(t, e, "orphan")
		mon := monitorPid(t, e, "orphan")
		ctrPid, _ := strconv.Atoi(e.inspect("orphan", "{{.State.Pid}}"))
		syscall.Kill(mon, syscall.SIGKILL)
		waitUntil(t, "the monitor to die", func() bool { return syscall.Kill(mon, 0) != nil })
		if st := e.inspect("orphan", "{{.State.Status}}"); st != "running" {
			t.Fatalf("container alive but reported %q", st)
		}
		e.TugOK("rm", "-f", "orphan")
		waitUntil(t, "the container process to die", func() bool { return syscall.Kill(ctrPid, 0) != nil })
		if n := e.storageMounts(); n != 0 {
			t.Fatalf("%d storage mounts left", n)
		}

		// TUG_MONITOR_GO=1 keeps the Go monitor.
		e.ShOK(`TUG_MONITOR_GO=1 $TUG run -d --name gomon --network none ` + bb + ` sleep 300`)
		e.ShOK("sleep 0.5")
		if n := monitorName(t, e, "gomon"); n != "tug-monitor" {
			t.Fatalf("with TUG_MONITOR_GO=1 the monitor is %q", n)
		}
		e.TugOK("rm", "-f", "gomon")
	})
}

// Restart policies and --rm work from the idle loop: its exit hands over
// to the same cleanup.
func TestMonitorIdleRestartAndRm(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		e.TugOK("run", "-d", "--name", "again", "--network", "none", "--restart", "on-failure:2", bb, "sh", "-c", "sleep 0.5; exit 1")
		waitUntil(t, "two restarts", func() bool {
			return e.inspect("again", "{{.RestartCount}} {{.State.Status}}") == "2 exited"
		})
		if code := e.inspect("again", "{{.State.ExitCode}}"); code != "1" {
			t.Fatalf("exit code %s", code)
		}
		e.TugOK("run", "-d", "--rm", "--name", "gone", "--network", "none", bb, "sleep", "300")
		waitIdle(t, e, "gone")
		e.TugOK("stop", "-t", "1", "gone")
		waitUntil(t, "--rm to remove it", func() bool { return e.Tug("container", "exists", "gone").Code == 1 })
	})
}
