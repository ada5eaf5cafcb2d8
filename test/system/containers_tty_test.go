//go:build system

package system

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tty drives tug through a real terminal (util-linux script): input is
// typed with pauses, as a person would.
func (e *Env) tty(input string, args ...string) Result {
	e.T.Helper()
	var feed strings.Builder
	feed.WriteString("sleep 1; ")
	for _, chunk := range strings.Split(input, "|") {
		feed.WriteString("printf '" + chunk + "'; sleep 0.5; ")
	}
	script := "(" + feed.String() + "sleep 1) | script -qec \"stty cols 100 rows 30; $TUG " + strings.Join(args, " ") + "\" /dev/null"
	return e.Sh(script)
}

func TestContainersInteractiveTTY(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		r := e.tty(`echo hi from $(tty)\n|stty size\n|exit 5\n`, "run", "-it", "--name", "sample", bb, "/bin/sh")
		if r.Code != 5 {
			t.Fatalf("run -it exit code %d: %s", r.Code, r.Combined())
		}
		mustContain(t, r.Out, "/ # ", "hi from /dev/pts/0", "30 100")
		mustContain(t, e.TugOK("ps", "-a", "--filter", "name=sample").Out, "Exited (5)")

		// Ctrl-P Ctrl-Q detaches and leaves it running; attach comes back.
		r = e.tty(`echo before\n|\020\021`, "run", "-it", "--name", "det", bb, "sh")
		if r.Code != 0 {
			t.Fatalf("detach: exit %d: %s", r.Code, r.Combined())
		}
		if st := e.inspect("det", "{{.State.Status}}"); st != "running" {
			t.Fatalf("after detach the container is %q", st)
		}
		r = e.tty(`echo attached again\n|exit 3\n`, "attach", "det")
		if r.Code != 3 || !strings.Contains(r.Out, "attached again") {
			t.Fatalf("attach: exit %d: %s", r.Code, r.Combined())
		}
		// Ctrl-C reaches the process in the container.
		r = e.tty(`sleep 100\n|\003|echo interrupted $?\n|exit\n`, "run", "-it", "--rm", bb, "sh")
		mustContain(t, r.Out, "interrupted 130")
		// -t without a terminal on stdin is refused, as Docker does.
		r = e.Tug("run", "-it", "--rm", bb, "true")
		if r.Code == 0 || !strings.Contains(r.Err, "not a TTY") {
			t.Fatalf("run -it without a terminal: %d %q", r.Code, r.Err)
		}
		// -i without -t: stdin streams in and ends.
		r = e.TugStdin("from stdin\n", "run", "-i", "--rm", bb, "cat")
		if r.Out != "from stdin\n" {
			t.Fatalf("run -i: %q", r.Out)
		}
		// start -a attaches and returns the exit code.
		e.TugOK("create", "--name", "later", bb, "sh", "-c", "echo started; exit 6")
		r = e.Tug("start", "-a", "later")
		if r.Code != 6 || r.Out != "started\n" {
			t.Fatalf("start -a: %d %q", r.Code, r.Out)
		}
	})
}

// The foreground CLI forwards signals to the container (--sig-proxy).
func TestContainersSignalProxy(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		argv := e.TugArgs("run", "--rm", Img("busybox"), "sh", "-c", "trap 'echo got INT; exit 4' INT; echo ready; while :; do sleep 0.1; done")
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = e.environ()
		if e.Rootless {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(e.uid), Gid: uint32(e.gid), Groups: []uint32{}}}
		}
		out := &syncBuffer{}
		cmd.Stdout = out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the container to be ready", func() bool { return strings.Contains(out.String(), "ready") })
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatal("SIGINT was not forwarded")
		}
		if code := cmd.ProcessState.ExitCode(); code != 4 || !strings.Contains(out.String(), "got INT") {
			t.Fatalf("exit %d, output %q", code, out.String())
		}
	})
}

// kill -9 of the CLI in the middle of run: the next calls see the truth and
// clean up.
func TestContainersCLIKilledDuringRun(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		argv := e.TugArgs("run", "--name", "interrupted", Img("busybox"), "sh", "-c", "echo up; sleep 300")
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = e.environ()
		if e.Rootless {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(e.uid), Gid: uint32(e.gid), Groups: []uint32{}}}
		}
		out := &syncBuffer{}
		cmd.Stdout = out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the container to run", func() bool { return strings.Contains(out.String(), "up") })
		cmd.Process.Kill()
		cmd.Wait()
		// The container runs on under its monitor; it can be stopped and removed.
		if st := e.inspect("interrupted", "{{.State.Status}}"); st != "running" {
			t.Fatalf("after the CLI was killed: %q", st)
		}
		e.TugOK("stop", "-t", "0", "interrupted")
		waitUntil(t, "the monitor's cleanup", func() bool { return e.storageMounts() == 0 })
		e.TugOK("rm", "interrupted")
	})
}
