package oci

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	// Without it the cgroup manager cannot apply device rules, and rootless
	// runs fail with "cannot set devices limit".
	"github.com/opencontainers/cgroups"
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runc/libcontainer/utils"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/tug-project/tug/pkg/tuginit"
)

// InitAnnotation, "true" in a spec, runs tug's init as the container's
// PID 1 (--init, see pkg/tuginit).
const InitAnnotation = "io.tug.init"

// Runtime is the built-in OCI runtime: libcontainer, with its state under Root.
type Runtime struct {
	Root     string // libcontainer's state directories, one per container
	Rootless bool   // inside the user namespace, without cgroups
}

// Stdio is how the container's first process is connected: a terminal
// (its master end comes back through ConsoleSocket) or three streams.
type Stdio struct {
	Tty            bool
	ConsoleSocket  *os.File
	Stdin          *os.File // nil: /dev/null
	Stdout, Stderr *os.File
}

// Process is a started container's first process.
type Process struct {
	Pid       int
	container *libcontainer.Container
	process   *libcontainer.Process
	withInit  bool // Pid is tug's init, the command its child (--init)
}

// StartError is a failure to start the container process, with Docker's exit
// code for it: 127 when the command does not exist, 126 when it cannot be
// executed, 125 otherwise.
type StartError struct {
	Code int
	Err  error
}

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

func startError(err error) *StartError {
	msg := err.Error()
	code := 125
	switch {
	case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory"):
		code = 127
	case strings.Contains(msg, "permission denied"), strings.Contains(msg, "is a directory"), strings.Contains(msg, "exec format error"):
		code = 126
	}
	if i := strings.Index(msg, "unable to start container process: "); i >= 0 {
		msg = msg[i:]
	}
	return &StartError{Code: code, Err: errors.New(msg)}
}

// Create creates the container id from spec with its first process set up
// but not yet executed (so that its network can be configured first); Exec
// runs it. On error nothing is left behind.
func (r Runtime) Create(id string, spec *rspec.Spec, stdio Stdio) (*Process, error) {
	early := earlySeccomp(spec, filepath.Join(r.Root, ".seccomp"))
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName:      id,
		Spec:            spec,
		RootlessEUID:    os.Geteuid() != 0,
		RootlessCgroups: r.Rootless,
	})
	if err != nil {
		return nil, &StartError{Code: 125, Err: fmt.Errorf("container configuration: %w", err)}
	}
	if r.Rootless && cfg.Cgroups.Path == "" && !cgroups.IsCgroup2UnifiedMode() {
		// Rootless on cgroup v1 no cgroup can be made (the errors are
		// ignored), yet a name under the caller's own cgroup costs a parse
		// of /proc/self/cgroup and mountinfo per hierarchy (~2 ms). Under
		// an absolute parent each is found at once, and fails the same
		// (ignored) way: only an explicit Path would make that fatal. On v2
		// the own-cgroup name stays: it can land in a delegated subtree.
		cfg.Cgroups.Parent = "/tug"
	}
	trace("libcontainer config")
	c, err := libcontainer.Create(r.Root, id, cfg)
	trace("libcontainer create")
	if err != nil {
		return nil, &StartError{Code: 125, Err: fmt.Errorf("creating container: %w", err)}
	}
	if early != nil {
		if err := os.WriteFile(filepath.Join(r.Root, id, EarlySeccompFile), early, 0o600); err != nil {
			c.Destroy()
			return nil, &StartError{Code: 125, Err: fmt.Errorf("writing the seccomp filter: %w", err)}
		}
	}
	if spec.Annotations[InitAnnotation] == "true" {
		if err := os.WriteFile(filepath.Join(r.Root, id, tuginit.MarkerFile), nil, 0o600); err != nil {
			c.Destroy()
			return nil, &StartError{Code: 125, Err: fmt.Errorf("asking for the init: %w", err)}
		}
	}
	p := newProcess(spec.Process)
	p.Init = true
	if stdio.Tty {
		p.ConsoleSocket = stdio.ConsoleSocket
	} else {
		if stdio.Stdin != nil {
			p.Stdin = stdio.Stdin
		}
		p.Stdout, p.Stderr = stdio.Stdout, stdio.Stderr
	}
	if err := c.Start(p); err != nil {
		c.Destroy()
		return nil, startError(err)
	}
	pid, err := p.Pid()
	if err != nil {
		c.Destroy()
		return nil, startError(err)
	}
	return &Process{Pid: pid, container: c, process: p, withInit: spec.Annotations[InitAnnotation] == "true"}, nil
}

// Exec lets the created process execute the container's command.
func (p *Process) Exec() error {
	if err := p.container.Exec(); err != nil {
		return startError(err)
	}
	pid := p.Pid
	if p.withInit {
		// The command is tug's init's child, forked before the init started.
		if child := firstChild(pid); child != 0 {
			pid = child
		}
	}
	awaitExecve(pid)
	return nil
}

// initComm is the name libcontainer's nsexec gives the container's init
// until it executes the user's command.
const initComm = "runc:[2:INIT]"

// awaitExecve waits (briefly) until pid has executed the user's command.
// libcontainer returns once the init is released, a moment before its
// execve: a signal sent in that moment (a quick stop, a health check) would
// reach tug's init instead of the command, and `tug top` would show the init.
func awaitExecve(pid int) {
	path := "/proc/" + strconv.Itoa(pid) + "/comm"
	deadline := time.Now().Add(2 * time.Second)
	for delay := 50 * time.Microsecond; ; delay = min(2*delay, 5*time.Millisecond) {
		comm, err := os.ReadFile(path)
		if err != nil || strings.TrimSpace(string(comm)) != initComm || time.Now().After(deadline) {
			return
		}
		time.Sleep(delay)
	}
}

// firstChild is the first child of pid, 0 if none.
func firstChild(pid int) int {
	s := strconv.Itoa(pid)
	data, err := os.ReadFile("/proc/" + s + "/task/" + s + "/children")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// Wait waits for the process and returns its exit code as a shell reports
// it: the status, or 128+signal.
func (p *Process) Wait() int {
	ps, err := p.process.Wait()
	if ps == nil {
		if err != nil {
			return 255
		}
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return ps.ExitCode()
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// Destroy removes the container's runtime state (and cgroups); every process
// left in it is killed.
func (p *Process) Destroy() error { return p.container.Destroy() }

// RecvConsole receives the terminal's master end from the console socket.
func RecvConsole(sock *os.File) (*os.File, error) {
	return utils.RecvFile(sock)
}

// Status reports whether the container id still has a live first process
// (for when its monitor is gone), and its PID.
func (r Runtime) Status(id string) (running bool, pid int, err error) {
	c, err := libcontainer.Load(r.Root, id)
	if err != nil {
		if errors.Is(err, libcontainer.ErrNotExist) {
			return false, 0, nil
		}
		return false, 0, err
	}
	st, err := c.Status()
	if err != nil {
		return false, 0, err
	}
	state, err := c.State()
	if err != nil {
		return false, 0, err
	}
	return st == libcontainer.Running || st == libcontainer.Created || st == libcontainer.Paused, state.InitProcessPid, nil
}

// Destroy kills whatever is left of container id and removes its state. A
// container that does not exist is not an error.
func (r Runtime) Destroy(id string) error {
	c, err := libcontainer.Load(r.Root, id)
	if err != nil {
		if errors.Is(err, libcontainer.ErrNotExist) {
			return nil
		}
		os.RemoveAll(r.Root + "/" + id)
		return nil
	}
	if st, _ := c.Status(); st != libcontainer.Stopped {
		c.Signal(unix.SIGKILL)
	}
	return c.Destroy()
}

var traceOn = os.Getenv("TUG_TRACE") != ""

func trace(what string) {
	if traceOn {
		fmt.Fprintf(os.Stderr, "%.2f oci: %s\n", float64(time.Now().UnixMicro()%100000000)/1000, what)
	}
}

func newProcess(p *rspec.Process) *libcontainer.Process {
	lp := &libcontainer.Process{
		Args:            p.Args,
		Env:             p.Env,
		UID:             int(p.User.UID),
		GID:             int(p.User.GID),
		Cwd:             p.Cwd,
		NoNewPrivileges: &p.NoNewPrivileges,
		// nsexec logs at debug level unless told: some 30 JSON lines per
		// start, each parsed by the monitor and then dropped.
		LogLevel: strconv.Itoa(int(logrus.GetLevel())),
	}
	if p.ConsoleSize != nil {
		lp.ConsoleWidth, lp.ConsoleHeight = uint16(p.ConsoleSize.Width), uint16(p.ConsoleSize.Height)
	}
	if c := p.Capabilities; c != nil {
		lp.Capabilities = &configs.Capabilities{Bounding: c.Bounding, Effective: c.Effective, Inheritable: c.Inheritable, Permitted: c.Permitted, Ambient: c.Ambient}
	}
	for _, g := range p.User.AdditionalGids {
		lp.AdditionalGroups = append(lp.AdditionalGroups, int(g))
	}
	for _, rl := range p.Rlimits {
		if t, ok := rlimitTypes[rl.Type]; ok {
			lp.Rlimits = append(lp.Rlimits, configs.Rlimit{Type: t, Hard: rl.Hard, Soft: rl.Soft})
		}
	}
	return lp
}

var rlimitTypes = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}
