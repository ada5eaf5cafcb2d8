package oci

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/opencontainers/runc/libcontainer"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecProcess is a process added to a running container (an exec: the
// health check's probe, `tug exec`).
type ExecProcess struct {
	Pid     int
	process *libcontainer.Process
}

// execSeccompName names the memfd that carries the container's early
// seccomp program to an exec's init (see LoadEarlySeccomp).
const execSeccompName = "tug-seccomp"

// ExecProcess starts p in the namespaces of the running container id, with
// p's user, environment, working directory, capabilities and limits, under
// the container's whole seccomp profile, connected as stdio says. The
// caller waits for it with Wait.
func (r Runtime) ExecProcess(id string, p *rspec.Process, stdio Stdio) (*ExecProcess, error) {
	c, err := libcontainer.Load(r.Root, id)
	if err != nil {
		return nil, fmt.Errorf("container %s is not running: %w", id[:min(12, len(id))], err)
	}
	lp := newProcess(p)
	lp.Init = false
	if stdio.Tty {
		lp.ConsoleSocket = stdio.ConsoleSocket
	} else {
		if stdio.Stdin != nil {
			lp.Stdin = stdio.Stdin
		}
		lp.Stdout, lp.Stderr = stdio.Stdout, stdio.Stderr
	}
	// The saved configuration holds only the late seccomp filter (see
	// seccomp_linux.go): give the exec's init the early one too, as fd 3.
	if prog, err := os.ReadFile(filepath.Join(r.Root, id, EarlySeccompFile)); err == nil {
		f, err := memfdWith(execSeccompName, prog)
		if err != nil {
			return nil, &StartError{Code: 125, Err: fmt.Errorf("passing the seccomp filter: %w", err)}
		}
		defer f.Close()
		lp.ExtraFiles = []*os.File{f}
	}
	if err := c.Run(lp); err != nil {
		return nil, startError(err)
	}
	pid, err := lp.Pid()
	if err != nil {
		return nil, startError(err)
	}
	return &ExecProcess{Pid: pid, process: lp}, nil
}

// Wait waits for the process and returns its exit code as a shell reports
// it (128+signal for a killed one).
func (e *ExecProcess) Wait() int {
	ps, err := e.process.Wait()
	if ps == nil {
		if err != nil {
			return 255
		}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// Signal sends sig to the process.
func (e *ExecProcess) Signal(sig syscall.Signal) error { return e.process.Signal(sig) }

func memfdWith(name string, data []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
