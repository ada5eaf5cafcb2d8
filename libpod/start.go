package libpod

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tug-project/tug/pkg/logs"
	"github.com/tug-project/tug/pkg/monitor"
	"github.com/tug-project/tug/pkg/oci"
	"github.com/tug-project/tug/pkg/specgen"
)

// StartError is a container that could not start, with Docker's exit code
// for it (125, or 126/127 when the command cannot be run or is missing).
type StartError struct {
	Code int
	Err  error
}

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// StartOptions shape a start.
type StartOptions struct {
	// Attach connects a client before the container runs (foreground run,
	// start -a), so that no output is lost; its session is returned.
	Attach *monitor.Hello
	// StdinOnce closes the container's stdin when the attached client's ends.
	StdinOnce bool
}

// Start starts a created or exited container. It returns once the
// container's process exists and its network is up, with the attach session
// when one was asked for.
func (c *Container) Start(ctx context.Context, opts StartOptions) (*AttachSession, error) {
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	if err := c.reload(); err != nil {
		return nil, err
	}
	c.syncLocked()
	switch c.State.Status {
	case StatusRunning:
		if opts.Attach != nil {
			return c.attach(*opts.Attach)
		}
		return nil, nil
	case StatusRemoving:
		return nil, fmt.Errorf("container %s is being removed", c.Name)
	case StatusPaused:
		return nil, fmt.Errorf("cannot start a paused container, try unpause instead")
	case StatusRestarting:
		if opts.Attach != nil {
			return nil, fmt.Errorf("you cannot attach to a restarting container, wait until it is running")
		}
		// As Docker: the restart policy is about to start it.
		return nil, nil
	}
	// A start by the user begins the restart policy afresh.
	c.State.RestartCount, c.State.RestartDelay, c.State.StoppedByUser = 0, 0, false
	if opts.Attach != nil {
		// Docker's order for a foreground run: create, attach, start.
		c.rt.writeEvent(c, "attach", nil)
	}
	c.rt.TakeStartSlot()
	sess, err := c.startLocked(opts)
	c.rt.ReleaseStartSlot()
	if err != nil {
		return nil, err
	}
	c.rt.writeEvent(c, "start", nil)
	return sess, nil
}

func (c *Container) startLocked(opts StartOptions) (*AttachSession, error) {
	go oci.WarmSpecJSON() // on the other core, before the spec is written
	r := c.rt
	store, err := r.Store()
	if err != nil {
		return nil, err
	}
	trace("start: store open")
	netMode, netNS, shareFrom, err := c.network()
	if err != nil {
		return nil, err
	}
	runDir, dataDir := c.RunDir(), c.DataDir()
	for _, d := range []string{runDir, dataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	os.Remove(filepath.Join(runDir, monitor.ExitFile))
	os.Remove(filepath.Join(runDir, monitor.PidFile))
	pm, err := r.startMonitor(runDir, opts.Attach)
	if err != nil {
		return nil, err
	}
	if c.State.Mounted {
		// The last run's cleanup never ran (its monitor was killed): do it now.
		c.releaseMounts()
		store.Unmount(c.ID, true)
	}
	if c.State.Run > 0 {
		// What an earlier run left of the runtime's state (monitor killed).
		oci.Runtime{Root: r.ociStateRoot(), Rootless: r.Rootless}.Destroy(c.ID)
	}
	rootfs, err := store.Mount(c.ID, "")
	if err != nil {
		pm.abort()
		if _, e := store.Container(c.ID); e != nil {
			return nil, fmt.Errorf("the storage of container %s is missing (its creation was interrupted): remove it with tug rm", c.Name)
		}
		return nil, fmt.Errorf("mounting the container's root filesystem: %w", err)
	}
	trace("start: mounted")
	unmount := func() { pm.abort(); c.releaseMounts(); store.Unmount(c.ID, true) }
	run := c.State.Run + 1
	if len(c.State.Networks) > 0 || len(c.State.Ports) > 0 {
		// The last run's cleanup has not come (yet): release what it held.
		c.releaseNetwork()
		unix.Unmount(filepath.Join(runDir, monitor.NetNSFile), unix.MNT_DETACH)
	}
	plan, err := c.planNetwork(run)
	if err != nil {
		unmount()
		return nil, err
	}
	if plan != nil {
		unmount = func() { pm.abort(); c.releaseMounts(); store.Unmount(c.ID, true); c.releaseNetwork() }
	}
	spec, err := c.ociSpec(rootfs, netMode, netNS, shareFrom, opts.Attach, plan)
	if err != nil {
		unmount()
		var se *StartError
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, &StartError{Code: 125, Err: err}
	}
	trace("start: spec")
	mcfg := monitor.Config{
		ID:        c.ID,
		RunDir:    runDir,
		StateRoot: r.ociStateRoot(),
		Rootless:  r.Rootless,
		Tty:       c.Spec.Tty,
		Stdin:     c.Spec.OpenStdin,
		StdinOnce: opts.StdinOnce,
		Log:       logs.Options{Driver: c.Spec.Log.Driver, Path: c.LogPath(), MaxSize: c.Spec.Log.MaxSize, MaxFile: c.Spec.Log.MaxFile, ID: c.ID, Name: c.Name, Tag: c.Spec.Log.Options["tag"]},
		Cleanup:   append(r.selfArgs(), "container", "cleanup", "--run", strconv.Itoa(run), c.ID),
		Client:    opts.Attach != nil,
		Tug:       pm.tug,
	}
	if plan != nil {
		mcfg.Network = plan.attach
	}
	if netMode == oci.NetPrivate && c.Spec.Network == specgen.NetworkSlirp {
		bin, err := exec.LookPath("slirp4netns")
		if err != nil {
			unmount()
			return nil, &StartError{Code: 125, Err: fmt.Errorf("the default network needs slirp4netns, which is not installed: install it, or use --network none or host")}
		}
		mcfg.Slirp = &monitor.Slirp{Binary: bin, MTU: 65520, AllowHostLoopback: c.Spec.AllowHostLoopback}
	}
	if mcfg.Health, err = c.healthForStart(runDir); err != nil {
		unmount()
		return nil, err
	}
	if mcfg.Health != nil {
		mcfg.Events = c.eventSink()
	}
	if err := writeJSON(filepath.Join(runDir, monitor.SpecFile), spec); err != nil {
		unmount()
		return nil, err
	}
	if err := writeJSON(filepath.Join(runDir, monitor.ConfigFile), mcfg); err != nil {
		unmount()
		return nil, err
	}
	trace("start: files written")
	ready, mpid, sess, err := pm.release()
	trace("start: monitor ready")
	if err == nil && ready.Error != "" {
		err = &StartError{Code: ready.ExitCode, Err: errors.New(ready.Error)}
	}
	if err != nil {
		c.releaseMounts()
		store.Unmount(c.ID, true)
		if plan != nil {
			c.releaseNetwork()
		}
		code := 125
		var se *StartError
		if errors.As(err, &se) {
			code = se.Code
		}
		c.State.ExitCode, c.State.Error = code, err.Error()
		c.saveState()
		if sess != nil {
			sess.Close()
		}
		return nil, err
	}
	st := ContainerState{
		Status:       StatusRunning,
		Pid:          ready.Pid,
		MonitorPid:   mpid,
		MonitorStart: procStartTime(mpid),
		StartedAt:    ready.StartedAt,
		RestartCount: c.State.RestartCount,
		RestartDelay: c.State.RestartDelay,
		// A restart by the policy keeps what the user did (Docker's
		// HasBeenManuallyStopped); a start by the user cleared it.
		StoppedByUser: c.State.StoppedByUser,
		Health:        c.State.Health,
		Run:           run,
		Mounted:       true,
		Rootfs:        rootfs,
	}
	if plan != nil {
		st.Networks, st.Ports = plan.endpoints, plan.ports
	}
	c.State = st
	if err := c.saveState(); err != nil {
		return sess, err
	}
	trace("start: state saved")
	if plan != nil {
		for _, ep := range plan.endpoints {
			r.writeNetworkEventFor(ep.NetworkID, ep.NetworkName, "connect", c.ID)
		}
	}
	return sess, nil
}

// network works out the network namespace: "private" (none, or the default
// user-mode network), "host", or another container's.
func (c *Container) network() (mode, nsPath string, shareFrom *Container, err error) {
	switch c.Spec.Network {
	case specgen.NetworkHost:
		return oci.NetHost, "", nil, nil
	case specgen.NetworkNone, specgen.NetworkDefault, specgen.NetworkBridge, specgen.NetworkSlirp, "":
		return oci.NetPrivate, "", nil, nil
	}
	name := c.Spec.NetworkContainer()
	other, err := c.rt.LookupContainer(name)
	if err != nil {
		return "", "", nil, fmt.Errorf("joining the network of container %s: %w", name, err)
	}
	if !other.Running() || other.State.Pid == 0 {
		return "", "", nil, fmt.Errorf("cannot join network of a non running container: %s", name)
	}
	return oci.NetNamespace, fmt.Sprintf("/proc/%d/ns/net", other.State.Pid), other, nil
}

// ociSpec resolves the user in the image, writes /etc/hosts, /etc/hostname
// and /etc/resolv.conf, and builds the OCI spec.
func (c *Container) ociSpec(rootfs, netMode, netNS string, shareFrom *Container, attach *monitor.Hello, plan *netPlan) (*rspec.Spec, error) {
	user, err := oci.ResolveUser(rootfs, c.User, c.Spec.GroupAdd)
	if err != nil {
		return nil, err
	}
	hostname := c.Hostname
	hosts, hostnameFile, resolv := filepath.Join(c.DataDir(), "hosts"), filepath.Join(c.DataDir(), "hostname"), filepath.Join(c.DataDir(), "resolv.conf")
	if shareFrom != nil {
		hostname = shareFrom.Hostname
		hosts, hostnameFile, resolv = filepath.Join(shareFrom.DataDir(), "hosts"), filepath.Join(shareFrom.DataDir(), "hostname"), filepath.Join(shareFrom.DataDir(), "resolv.conf")
	} else {
		slirp := netMode == oci.NetPrivate && c.Spec.Network == specgen.NetworkSlirp
		eo := oci.EtcOptions{Hostname: hostname, NetMode: netMode, Slirp: slirp, AddHosts: c.Spec.AddHosts, DNS: c.Spec.DNS, DNSSearch: c.Spec.DNSSearch, DNSOptions: c.Spec.DNSOptions}
		if slirp {
			eo.ContainerIP, eo.HostGateway = slirpIP, slirpGateway
		}
		if plan != nil {
			c.etcForBridge(&eo, plan)
		}
		hostResolv, _ := os.ReadFile("/etc/resolv.conf")
		for _, f := range []struct {
			path string
			data []byte
		}{{hosts, oci.Hosts(eo)}, {hostnameFile, []byte(hostname + "\n")}, {resolv, oci.Resolv(hostResolv, eo)}} {
			if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
				return nil, err
			}
		}
	}
	env := processEnv(c.Env, hostname, c.Spec.Tty, user.Home)
	cwd := c.WorkingDir
	if cwd == "" {
		cwd = "/"
	} else if p, err := oci.InRootfs(rootfs, cwd); err == nil {
		if _, err := os.Stat(p); os.IsNotExist(err) {
			os.MkdirAll(p, 0o755)
		}
	}
	mounts, err := c.prepareMounts(rootfs, user)
	if err != nil {
		return nil, err
	}
	env = append(env, mounts.env...) // the process's only: never in inspect or a log
	opts := oci.SpecOptions{
		Rootfs: rootfs, ReadOnly: c.Spec.ReadOnly, Args: c.Command(), Env: env, Cwd: cwd,
		UID: user.UID, GID: user.GID, Groups: user.Groups, Hostname: hostname, Tty: c.Spec.Tty,
		Caps: c.Spec.Capabilities(), Privileged: c.Spec.Privileged, NoNewPrivileges: c.Spec.NoNewPrivileges,
		Seccomp: c.Spec.SeccompProfile, Ulimits: c.Spec.Ulimits, Tmpfs: mounts.tmpfs, Mounts: mounts.mounts,
		NetMode: netMode, NetNSPath: netNS, HostsFile: hosts, HostnameFile: hostnameFile, ResolvFile: resolv,
		Rootless: c.rt.Rootless, Init: c.Spec.Init,
	}
	if !c.rt.Rootless {
		opts.CgroupsPath = "/tug/" + c.ID
		opts.Limits = c.limits()
	}
	spec, err := oci.Spec(opts)
	if err != nil {
		return nil, err
	}
	if attach != nil && c.Spec.Tty && attach.Rows > 0 {
		spec.Process.ConsoleSize = &rspec.Box{Height: uint(attach.Rows), Width: uint(attach.Cols)}
	}
	return spec, nil
}

// The addresses slirp4netns gives a container.
const (
	slirpIP      = "10.0.2.100"
	slirpGateway = "10.0.2.2"
)

// pendingMonitor is a monitor started early: it runs its start-up while
// the rootfs is mounted and its files written, then waits for release.
type pendingMonitor struct {
	cmd    *exec.Cmd
	syncR  *os.File
	goW    *os.File
	sess   *AttachSession
	runDir string
	tug    string // the tug binary when the monitor runs from the shim
}

// startMonitor spawns the monitor of runDir. Its fd 3 is the sync pipe, fd 4
// the go pipe (a byte: go; closed: give up) and, with attach, fd 5 a
// connected attach client.
func (r *Runtime) startMonitor(runDir string, attach *monitor.Hello) (*pendingMonitor, error) {
	cmd := monitor.Command(runDir)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	logf, err := os.OpenFile(filepath.Join(runDir, "monitor.log"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stderr = logf
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer syncW.Close()
	goR, goW, err := os.Pipe()
	if err != nil {
		syncR.Close()
		return nil, err
	}
	defer goR.Close()
	pm := &pendingMonitor{cmd: cmd, syncR: syncR, goW: goW, runDir: runDir}
	cmd.ExtraFiles = []*os.File{syncW, goR}
	if attach != nil {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			pm.abort()
			return nil, err
		}
		mine, theirs := os.NewFile(uintptr(fds[0]), "attach"), os.NewFile(uintptr(fds[1]), "attach-monitor")
		defer theirs.Close()
		conn, err := net.FileConn(mine)
		mine.Close()
		if err != nil {
			pm.abort()
			return nil, err
		}
		pm.sess = &AttachSession{conn: conn}
		if err := pm.sess.hello(*attach); err != nil {
			pm.abort()
			return nil, err
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, theirs)
	}
	if pm.tug, err = r.startHelper(cmd); err != nil {
		pm.abort()
		return nil, fmt.Errorf("starting the container monitor: %w", err)
	}
	// The monitor lives on in its own session; nothing here waits for it.
	go cmd.Wait()
	return pm, nil
}

// abort tells a pending monitor to exit without starting anything.
func (pm *pendingMonitor) abort() {
	pm.goW.Close()
	pm.syncR.Close()
	if pm.sess != nil {
		pm.sess.Close()
	}
}

// release lets the monitor start the container and waits for its report.
func (pm *pendingMonitor) release() (monitor.Ready, int, *AttachSession, error) {
	var ready monitor.Ready
	defer pm.syncR.Close()
	_, err := pm.goW.Write([]byte{'g'})
	pm.goW.Close()
	pid := pm.cmd.Process.Pid
	if err == nil {
		var line []byte
		line, err = bufio.NewReader(pm.syncR).ReadBytes('\n')
		if err == nil {
			if err := json.Unmarshal(line, &ready); err != nil {
				return ready, pid, pm.sess, fmt.Errorf("the container monitor's report: %w", err)
			}
			return ready, pid, pm.sess, nil
		}
	}
	msg, _ := os.ReadFile(filepath.Join(pm.runDir, "monitor.log"))
	return ready, pid, pm.sess, fmt.Errorf("the container monitor exited before the container started: %s", strings.TrimSpace(string(msg)))
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// selfArgs is how a process started by tug calls tug again with the same roots.
func (r *Runtime) selfArgs() []string {
	args := []string{"tug", "--root", r.Root, "--runroot", r.RunRoot}
	if r.configPath != "" {
		args = append(args, "--config", r.configPath)
	}
	return args
}

// procStartTime is the start time of pid in clock ticks since boot (field
// 22 of /proc/PID/stat), 0 if there is no such process.
func procStartTime(pid int) uint64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

// alive reports whether pid is still the process that started at start.
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st := procStartTime(pid)
	return st != 0 && (start == 0 || st == start) && !isZombie(pid)
}

func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}
