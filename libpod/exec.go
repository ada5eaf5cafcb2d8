package libpod

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tug-project/tug/pkg/monitor"
	"github.com/tug-project/tug/pkg/oci"
	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/specgen"
)

// ExecOptions describe a process to run in a running container (tug exec).
type ExecOptions struct {
	Cmd         []string
	Env         []string // KEY=VALUE, over the container's environment
	User        string   // "" the container's user
	WorkDir     string   // "" the container's working directory
	Privileged  bool
	Tty         bool
	Interactive bool
	Detach      bool
	Rows, Cols  uint16 // the client's terminal size, with Tty
}

// notRunningError is Docker's refusal of a container that does not run.
func notRunningError(c *Container) error {
	return &RefusedError{fmt.Sprintf("container %s is not running", c.ID)}
}

// RefusedError is a request refused for what the container is or holds
// (not running, paused, no such file): Docker's daemon errors, exit 1.
type RefusedError struct{ Msg string }

func (e *RefusedError) Error() string { return e.Msg }

// ExecSession is a started exec: its ID and, unless detached, the
// connection to its monitor (the process's streams and exit code).
type ExecSession struct {
	ID  string
	Pid int
	*AttachSession
}

// validateExec checks the options before anything runs.
func (o *ExecOptions) validate() error {
	if len(o.Cmd) == 0 || o.Cmd[0] == "" {
		return &specgen.ValidationError{Err: errors.New("no command given: name the command to run in the container")}
	}
	if o.WorkDir != "" && !strings.HasPrefix(o.WorkDir, "/") {
		return &specgen.ValidationError{Err: fmt.Errorf("the working directory '%s' is invalid, it needs to be an absolute path", o.WorkDir)}
	}
	if o.User != "" {
		if _, _, err := parse.User(o.User); err != nil {
			return &specgen.ValidationError{Err: err}
		}
	}
	for _, kv := range o.Env {
		if name, _, _ := strings.Cut(kv, "="); name == "" || strings.ContainsRune(kv, 0) {
			return &specgen.ValidationError{Err: fmt.Errorf("invalid environment variable %q", kv)}
		}
	}
	return nil
}

// Exec starts a process in the running container, with the container's
// namespaces, cgroup, capabilities, seccomp profile and no-new-privileges,
// through an exec monitor that outlives the caller. It returns once the
// process runs (or could not be started: a StartError with 126 or 127).
func (c *Container) Exec(o ExecOptions) (*ExecSession, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	trace("exec: begin")
	if err := c.reload(); err != nil {
		return nil, err
	}
	c.sync()
	switch {
	case c.State.Status == StatusPaused:
		return nil, &RefusedError{fmt.Sprintf("Container %s is paused, unpause the container before exec", c.ID)}
	case !c.Running() || c.State.Pid == 0:
		return nil, notRunningError(c)
	}
	proc, err := c.execProcess(o)
	if err != nil {
		return nil, &StartError{Code: 126, Err: err}
	}
	id := newExecID()
	cfg := monitor.ExecConfig{
		ContainerID: c.ID, StateRoot: c.rt.ociStateRoot(), Rootless: c.rt.Rootless,
		Process: *oci.ExecProcess(proc), Stdin: o.Interactive, Client: !o.Detach,
	}
	trace("exec: process resolved")
	attrs := map[string]string{"execID": id}
	c.rt.writeEvent(c, "exec_create: "+strings.Join(o.Cmd, " "), attrs)
	sess, pid, err := c.rt.startExecMonitor(cfg)
	if err != nil {
		return nil, err
	}
	trace("exec: started")
	c.rt.writeEvent(c, "exec_start: "+strings.Join(o.Cmd, " "), attrs)
	return &ExecSession{ID: id, Pid: pid, AttachSession: sess}, nil
}

// ExecDied records the end of an attached exec (Docker's exec_die event).
func (c *Container) ExecDied(s *ExecSession, code int) {
	c.rt.writeEvent(c, "exec_die", map[string]string{"execID": s.ID, "exitCode": strconv.Itoa(code)})
}

// execProcess resolves what the process runs as: the user in the image
// (seen through the container's root), its environment and directory.
func (c *Container) execProcess(o ExecOptions) (oci.ExecOptions, error) {
	root := fmt.Sprintf("/proc/%d/root", c.State.Pid)
	userSpec := o.User
	if userSpec == "" {
		userSpec = c.User
	}
	user, err := oci.ResolveUser(root, userSpec, c.Spec.GroupAdd)
	if err != nil {
		return oci.ExecOptions{}, err
	}
	hostname := c.Hostname
	if other := c.Spec.NetworkContainer(); other != "" {
		if oc, err := c.rt.lookupContainer(other); err == nil {
			hostname = oc.Hostname
		}
	}
	env := processEnv(c.Env, hostname, o.Tty, user.Home)
	env = mergeEnv(env, o.Env)
	cwd := o.WorkDir
	if cwd == "" {
		cwd = c.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	caps := c.Spec.Capabilities()
	if o.Privileged {
		caps = specgen.AllCaps()
	}
	return oci.ExecOptions{
		Args: o.Cmd, Env: env, Cwd: cwd, UID: user.UID, GID: user.GID, Groups: user.Groups,
		Tty: o.Tty, Rows: o.Rows, Cols: o.Cols, Caps: caps, NoNewPrivileges: c.Spec.NoNewPrivileges,
	}, nil
}

// processEnv is the environment a container's process gets: the image's
// and the user's variables, with HOSTNAME first and PATH, TERM (with a
// terminal) and HOME filled in when missing, as Docker does.
func processEnv(base []string, hostname string, tty bool, home string) []string {
	env := append([]string(nil), base...)
	has := func(k string) bool {
		for _, kv := range env {
			if strings.HasPrefix(kv, k+"=") {
				return true
			}
		}
		return false
	}
	if !has("PATH") {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	env = append([]string{"HOSTNAME=" + hostname}, env...)
	if tty && !has("TERM") {
		env = append(env, "TERM=xterm")
	}
	if !has("HOME") {
		env = append(env, "HOME="+home)
	}
	return env
}

func newExecID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// startExecMonitor spawns an exec monitor and waits for its report.
func (r *Runtime) startExecMonitor(cfg monitor.ExecConfig) (*AttachSession, int, error) {
	cmd := monitor.ExecCommand()
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, 0, err
	}
	defer cfgR.Close()
	syncR, syncW, err := os.Pipe()
	if err != nil {
		cfgW.Close()
		return nil, 0, err
	}
	defer syncR.Close()
	cmd.ExtraFiles = []*os.File{cfgR, syncW}
	var sess *AttachSession
	if cfg.Client {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			cfgW.Close()
			syncW.Close()
			return nil, 0, err
		}
		mine, theirs := os.NewFile(uintptr(fds[0]), "exec"), os.NewFile(uintptr(fds[1]), "exec-monitor")
		defer theirs.Close()
		conn, err := net.FileConn(mine)
		mine.Close()
		if err != nil {
			cfgW.Close()
			syncW.Close()
			return nil, 0, err
		}
		sess = &AttachSession{conn: conn}
		cmd.ExtraFiles = append(cmd.ExtraFiles, theirs)
	}
	_, err = r.startHelper(cmd)
	syncW.Close()
	if err != nil {
		cfgW.Close()
		if sess != nil {
			sess.Close()
		}
		return nil, 0, fmt.Errorf("starting the exec monitor: %w", err)
	}
	// It lives on in its own session; nothing here waits for it.
	go cmd.Wait()
	err = json.NewEncoder(cfgW).Encode(cfg)
	cfgW.Close()
	var ready monitor.Ready
	if err == nil {
		var line []byte
		if line, err = bufio.NewReader(syncR).ReadBytes('\n'); err == nil {
			err = json.Unmarshal(line, &ready)
		}
	}
	if err == nil && ready.Error != "" {
		switch ready.Error {
		case oci.ErrNotRunning.Error():
			err = &RefusedError{"container " + cfg.ContainerID + " is not running"}
		case oci.ErrPaused.Error():
			err = &RefusedError{"Container " + cfg.ContainerID + " is paused, unpause the container before exec"}
		default:
			err = &StartError{Code: ready.ExitCode, Err: errors.New(ready.Error)}
		}
	} else if err != nil {
		err = fmt.Errorf("the exec monitor exited before the process started: %w", err)
	}
	if err != nil {
		if sess != nil {
			sess.Close()
		}
		return nil, 0, err
	}
	return sess, ready.Pid, nil
}
