package oci

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecOptions describe a process to add to a running container.
type ExecOptions struct {
	Args            []string
	Env             []string
	Cwd             string
	UID, GID        uint32
	Groups          []uint32
	Tty             bool
	Rows, Cols      uint16
	Caps            []string // the container's set (all with --privileged)
	NoNewPrivileges bool
}

// ExecProcess is the OCI process of an exec: the container's capabilities
// given as for its first process (effective only for root).
func ExecProcess(o ExecOptions) *rspec.Process {
	p := &rspec.Process{
		Terminal:        o.Tty,
		Args:            o.Args,
		Env:             o.Env,
		Cwd:             o.Cwd,
		User:            rspec.User{UID: o.UID, GID: o.GID, AdditionalGids: o.Groups},
		NoNewPrivileges: o.NoNewPrivileges,
	}
	if o.Tty && o.Rows > 0 {
		p.ConsoleSize = &rspec.Box{Height: uint(o.Rows), Width: uint(o.Cols)}
	}
	setCapabilities(p, boundedCaps(o.Caps), o.UID)
	return p
}

// ErrPaused is returned by Exec for a frozen container.
var ErrPaused = errors.New("the container is paused")

// execSeccompName names the memfd that carries the early seccomp program
// to an exec's init (see LoadEarlySeccomp).
const execSeccompName = "tug-seccomp"

// Exec starts p in the running container id, in its namespaces and cgroup,
// under the container's whole seccomp profile. A command that cannot run
// comes back as a StartError with 126 or 127.
func (r Runtime) Exec(id string, p *rspec.Process, stdio Stdio) (*Process, error) {
	c, err := r.load(id)
	if err != nil {
		return nil, err
	}
	switch st, err := c.Status(); {
	case err != nil:
		return nil, err
	case st == libcontainer.Paused:
		return nil, ErrPaused
	case st != libcontainer.Running:
		return nil, ErrNotRunning
	}
	lp := newProcess(p)
	if stdio.Tty {
		lp.ConsoleSocket = stdio.ConsoleSocket
	} else {
		if stdio.Stdin != nil {
			lp.Stdin = stdio.Stdin
		}
		lp.Stdout, lp.Stderr = stdio.Stdout, stdio.Stderr
	}
	// The saved config holds only the late seccomp filter (see
	// seccomp_linux.go): the early one goes along on fd 3, and the init
	// loads it before libcontainer's setns init adds the late one.
	prog, err := os.ReadFile(filepath.Join(r.Root, id, EarlySeccompFile))
	switch {
	case err == nil:
		f, err := memfdWith(execSeccompName, prog)
		if err != nil {
			return nil, &StartError{Code: 125, Err: fmt.Errorf("passing the seccomp filter: %w", err)}
		}
		defer f.Close()
		lp.ExtraFiles = []*os.File{f}
	case !os.IsNotExist(err):
		return nil, &StartError{Code: 125, Err: fmt.Errorf("reading the container's seccomp filter: %w", err)}
	case isLateFilter(c.Config().Seccomp):
		return nil, &StartError{Code: 125, Err: errors.New("the container's seccomp filter is missing from its state: refusing to exec without it")}
	}
	if err := c.Run(lp); err != nil {
		return nil, startError(err)
	}
	pid, err := lp.Pid()
	if err != nil {
		return nil, startError(err)
	}
	awaitExecve(pid)
	return &Process{Pid: pid, container: c, process: lp}, nil
}

// isLateFilter recognizes the late half of a split profile: it allows by
// default and refuses only some of the setup calls.
func isLateFilter(sc *configs.Seccomp) bool {
	if sc == nil || sc.DefaultAction != configs.Allow || len(sc.Syscalls) == 0 {
		return false
	}
	for _, call := range sc.Syscalls {
		if call.Action != configs.Errno || !containsString(setupSyscalls, call.Name) {
			return false
		}
	}
	return true
}

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
