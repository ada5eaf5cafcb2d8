package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"go.podman.io/storage/pkg/reexec"
	"golang.org/x/sys/unix"

	"github.com/tug-project/tug/pkg/logs"
	"github.com/tug-project/tug/pkg/oci"
)

// Name is the argv[0] the monitor runs under.
const Name = "tug-monitor"

func init() { reexec.Register(Name, main) }

// Command returns the command that starts a monitor for the container whose
// run directory is runDir. Its fd 3 must be the write end of the sync pipe,
// fd 4 the read end of the go pipe, and, with Config.Client, fd 5 a
// connected attach client.
func Command(runDir string) *exec.Cmd {
	cmd := reexec.Command(Name, runDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

var traceOn = os.Getenv("TUG_TRACE") != ""

// trace writes timings of the run path (TUG_TRACE=1: to the monitor's
// log; TUG_TRACE=/path: appended to that file, which outlives the run dir).
func trace(what string) {
	if !traceOn {
		return
	}
	line := fmt.Sprintf("%.2f monitor: %s\n", float64(time.Now().UnixMicro()%100000000)/1000, what)
	if p := os.Getenv("TUG_TRACE"); strings.HasPrefix(p, "/") {
		if f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
			f.WriteString(line)
			f.Close()
			return
		}
	}
	os.Stderr.WriteString(line)
}

func main() {
	// No collection while the container starts (see SetGCPercent(20) below).
	debug.SetGCPercent(-1)
	trace("main")
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "tug-monitor:", err)
		os.Exit(1)
	}
}

type client struct {
	conn  net.Conn
	hello Hello
	mu    sync.Mutex // serializes writes
	dead  bool
}

type monitor struct {
	cfg         Config
	ports       *publishedPorts // held for the container's lifetime
	logw        logs.Writer
	stdin       io.WriteCloser // the container's stdin (pipe, or the terminal's master)
	master      *os.File
	mu          sync.Mutex
	clients     []*client
	cleaned     bool
	stdinClosed bool
	process     *rspec.Process // the container's, from its spec
	health      *healthChecker
	wg          sync.WaitGroup // client readers
}

func run(runDir string) error {
	// Started early, the monitor waits until its files are written: a byte
	// on fd 4 says go, its closing without one that the start was given up.
	oci.WarmJSON() // while the CLI still writes the files
	goPipe := os.NewFile(4, "go")
	n, _ := goPipe.Read(make([]byte, 1))
	goPipe.Close()
	if n == 0 {
		return nil
	}
	trace("released")
	cfgData, err := os.ReadFile(filepath.Join(runDir, ConfigFile))
	if err != nil {
		return err
	}
	m := &monitor{}
	if err := json.Unmarshal(cfgData, &m.cfg); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(runDir, PidFile), []byte(strconv.Itoa(os.Getpid())), 0o600)
	syncPipe := os.NewFile(3, "sync")
	var clientFile *os.File
	if m.cfg.Client {
		clientFile = os.NewFile(5, "client")
	}
	ready := func(r Ready) {
		json.NewEncoder(syncPipe).Encode(r)
		syncPipe.Close()
	}
	proc, slirp, cio, err := m.start(runDir)
	if err != nil {
		ready(failed(err))
		return nil
	}
	trace("executed")
	startedAt := time.Now().UTC()
	ready(Ready{Pid: proc.Pid, StartedAt: startedAt})
	// The monitor idles for the container's lifetime: keep its heap small.
	// Only from now: during the start, with a 20% goal on one P, the
	// spec's and libcontainer's JSON cost two collections (~1.5 ms).
	debug.SetGCPercent(20)
	var health *healthChecker
	if m.cfg.Health != nil {
		m.cfg.Health.StartedAt = startedAt
		health = m.newHealth(m.process)
	}
	// A container that runs on is watched by the idle loop (idle_linux.go).
	if m.canIdle() && stillRunsAfter(proc.InitPid(), idleAfter) {
		err := m.becomeIdle(runDir, proc, cio, clientFile, slirp, health)
		trace("no idle loop: " + err.Error())
	}
	if health != nil {
		m.mu.Lock()
		m.health = health
		m.mu.Unlock()
		go health.loop()
	}
	if clientFile != nil {
		conn, err := net.FileConn(clientFile)
		clientFile.Close()
		if err == nil {
			m.addFirstClient(conn)
		}
	}
	outputs := m.serveIO(cio)
	// Trimming costs a GC: not for a container that is done at once.
	trim := time.AfterFunc(300*time.Millisecond, trimMemory)

	code := proc.Wait()
	trim.Stop()
	trace("exited")
	if health != nil {
		health.end()
	}
	// Published ports are free once the container has exited, before stop returns.
	m.ports.close()
	finished := time.Now().UTC()
	waitTimeout(outputs, 5*time.Second)
	trace("output drained")
	exit := Exit{Code: code, FinishedAt: finished, OOMKilled: proc.OOMKilled()}
	writeExitFile(exit)
	m.logw.Close()
	// The clients learn of the exit first: a foreground `run --rm` removes
	// the container meanwhile (its removal destroys the runtime's state
	// last, so it finds it gone).
	m.announce(exit)
	proc.Destroy()
	trace("destroyed")
	if slirp != nil {
		// Tell slirp4netns to go, but do not keep the client waiting for it.
		slirp.exitFd.Close()
		defer slirp.stop()
	}
	m.waitClients()
	trace("finished")
	if m.cleaned || len(m.cfg.Cleanup) == 0 {
		return nil
	}
	if slirp != nil {
		slirp.stop()
	}
	// Become the cleanup: same PID, nothing of the monitor kept in memory.
	return m.becomeCleanup()
}

// becomeCleanup executes the cleanup command: with the tug binary when the
// monitor runs from the shim (which has no CLI), else this binary again.
func (m *monitor) becomeCleanup() error {
	exe := m.cfg.Tug
	if exe == "" {
		exe = "/proc/self/exe"
	}
	return syscall.Exec(exe, m.cfg.Cleanup, os.Environ())
}

// containerIO is what the monitor serves while the container runs: its
// output pipes (none with a terminal) and the attach socket.
type containerIO struct {
	outR, errR *os.File
	ln         net.Listener
}

// failed is the Ready of a start that did not happen: 125, or the 126/127
// of a command that could not be run.
func failed(err error) Ready {
	code := 125
	var se *oci.StartError
	if errors.As(err, &se) {
		code = se.Code
	}
	return Ready{Error: err.Error(), ExitCode: code}
}

// start creates the container, brings its network up and runs its command.
func (m *monitor) start(runDir string) (*oci.Process, *slirpProc, *containerIO, error) {
	if err := os.Chdir(runDir); err != nil {
		return nil, nil, nil, err
	}
	var err error
	if m.logw, err = logs.NewWriter(m.cfg.Log); err != nil {
		return nil, nil, nil, fmt.Errorf("opening the container log: %w", err)
	}
	os.Remove(AttachSocket)
	ln, err := net.Listen("unix", AttachSocket)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("attach socket: %w", err)
	}
	specData, err := os.ReadFile(SpecFile)
	if err != nil {
		return nil, nil, nil, err
	}
	var spec rspec.Spec
	if err := json.Unmarshal(specData, &spec); err != nil {
		return nil, nil, nil, err
	}
	m.process = spec.Process

	var stdio oci.Stdio
	var closeAfter []*os.File
	var consoleParent *os.File
	var outR, errR *os.File
	if m.cfg.Tty {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, nil, nil, err
		}
		consoleParent = os.NewFile(uintptr(fds[0]), "console-parent")
		child := os.NewFile(uintptr(fds[1]), "console-child")
		stdio = oci.Stdio{Tty: true, ConsoleSocket: child}
		closeAfter = append(closeAfter, child)
	} else {
		var outW, errW *os.File
		if outR, outW, err = os.Pipe(); err != nil {
			return nil, nil, nil, err
		}
		if errR, errW, err = os.Pipe(); err != nil {
			return nil, nil, nil, err
		}
		stdio = oci.Stdio{Stdout: outW, Stderr: errW}
		closeAfter = append(closeAfter, outW, errW)
		if m.cfg.Stdin {
			inR, inW, err := os.Pipe()
			if err != nil {
				return nil, nil, nil, err
			}
			stdio.Stdin = inR
			m.stdin = inW
			closeAfter = append(closeAfter, inR)
		}
	}
	// The user-mode network comes up while the container is being created:
	// its namespace is made first, slirp4netns configures it meanwhile.
	var slirp *slirpProc
	if m.cfg.Slirp != nil {
		nsPath := filepath.Join(runDir, NetNSFile)
		if err := createNetNS(nsPath); err != nil {
			return nil, nil, nil, fmt.Errorf("creating the network namespace: %w", err)
		}
		for i, ns := range spec.Linux.Namespaces {
			if ns.Type == rspec.NetworkNamespace && ns.Path == "" {
				spec.Linux.Namespaces[i].Path = nsPath
			}
		}
		if slirp, err = startSlirp(m.cfg.Slirp, nsPath); err != nil {
			removeNetNS(nsPath)
			return nil, nil, nil, err
		}
	}
	// Bridge networks: the interfaces are made while the container is created.
	attached, err := m.attachNetwork(runDir, &spec, slirp != nil)
	if err != nil {
		if slirp != nil {
			slirp.stop()
		}
		return nil, nil, nil, err
	}
	rt := oci.Runtime{Root: m.cfg.StateRoot, Rootless: m.cfg.Rootless}
	trace("spec read")
	proc, err := rt.Create(m.cfg.ID, &spec, stdio)
	trace("created")
	if err != nil && slirp != nil {
		slirp.stop()
	}
	if err != nil {
		m.detachNetwork(runDir)
	}
	for _, f := range closeAfter {
		f.Close()
	}
	if err != nil {
		return nil, nil, nil, err
	}
	fail := func(err error) (*oci.Process, *slirpProc, *containerIO, error) {
		if slirp != nil {
			slirp.stop()
		}
		proc.Destroy()
		m.detachNetwork(runDir)
		return nil, nil, nil, err
	}
	if m.cfg.Tty {
		master, err := oci.RecvConsole(consoleParent)
		consoleParent.Close()
		if err != nil {
			return fail(fmt.Errorf("receiving the terminal: %w", err))
		}
		m.master = master
		if m.cfg.Stdin {
			m.stdin = master
		}
	}
	if slirp != nil {
		if err := slirp.ready(); err != nil {
			return fail(err)
		}
	}
	if attached != nil {
		if err := <-attached; err != nil {
			return fail(fmt.Errorf("attaching the container to its networks: %w", err))
		}
	}
	trace("network up")
	if err := proc.Exec(); err != nil {
		return fail(err)
	}
	return proc, slirp, &containerIO{outR: outR, errR: errR, ln: ln}, nil
}

// serveIO copies the container's output and accepts attach clients.
func (m *monitor) serveIO(cio *containerIO) *sync.WaitGroup {
	outputs := &sync.WaitGroup{}
	copyOut := func(r io.Reader, stream string) {
		outputs.Add(1)
		go func() {
			defer outputs.Done()
			buf := make([]byte, 32<<10)
			for {
				n, err := r.Read(buf)
				if n > 0 {
					m.output(stream, buf[:n])
				}
				if err != nil {
					return
				}
			}
		}()
	}
	if m.master != nil {
		copyOut(m.master, "stdout")
	} else {
		copyOut(cio.outR, "stdout")
		copyOut(cio.errR, "stderr")
	}
	go func() {
		for {
			conn, err := cio.ln.Accept()
			if err != nil {
				return
			}
			m.addClient(conn)
		}
	}()
	return outputs
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

func writeExitFile(e Exit) {
	b, _ := json.Marshal(e)
	tmp := ExitFile + ".tmp"
	if os.WriteFile(tmp, b, 0o600) == nil {
		os.Rename(tmp, ExitFile)
	}
}

// output writes a chunk to the log and to every client that wants it.
func (m *monitor) output(stream string, p []byte) {
	m.logw.Write(stream, p)
	typ := FrameStdout
	if stream == "stderr" {
		typ = FrameStderr
	}
	m.mu.Lock()
	clients := append([]*client(nil), m.clients...)
	m.mu.Unlock()
	for _, c := range clients {
		if stream == "stdout" && !c.hello.Stdout || stream == "stderr" && !c.hello.Stderr {
			continue
		}
		c.send(typ, p)
	}
}

func (c *client) send(typ byte, p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return
	}
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := WriteFrame(c.conn, typ, p); err != nil {
		c.dead = true
		c.conn.Close()
	}
}

func (m *monitor) addClient(conn net.Conn) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if c := m.greet(conn); c != nil {
			m.serve(c)
		}
	}()
}

// addFirstClient adds the client the monitor was started with, its Hello
// read before any output is copied (which it would miss otherwise).
func (m *monitor) addFirstClient(conn net.Conn) {
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	c := m.greet(conn)
	if c == nil {
		return
	}
	conn.SetReadDeadline(time.Time{})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.serve(c)
	}()
}

// greet reads a client's Hello and adds it to those the output goes to.
func (m *monitor) greet(conn net.Conn) *client {
	c := &client{conn: conn}
	typ, payload, err := ReadFrame(conn)
	if err != nil || typ != FrameHello || json.Unmarshal(payload, &c.hello) != nil {
		conn.Close()
		return nil
	}
	if c.hello.Rows > 0 && m.master != nil {
		setSize(m.master, c.hello.Rows, c.hello.Cols)
	}
	m.mu.Lock()
	m.clients = append(m.clients, c)
	m.mu.Unlock()
	return c
}

// serve reads a client's frames until it goes away.
func (m *monitor) serve(c *client) {
	for {
		typ, payload, err := ReadFrame(c.conn)
		if err != nil {
			return
		}
		switch typ {
		case FrameStdin:
			if c.hello.Stdin && m.stdin != nil {
				m.stdin.Write(payload)
			}
		case FrameEOF:
			m.mu.Lock()
			if c.hello.Stdin && m.cfg.StdinOnce && m.stdin != nil && m.master == nil && !m.stdinClosed {
				m.stdinClosed = true
				m.stdin.Close()
			}
			m.mu.Unlock()
		case FrameResize:
			if m.master != nil && len(payload) == 4 {
				setSize(m.master, uint16(payload[0])<<8|uint16(payload[1]), uint16(payload[2])<<8|uint16(payload[3]))
			}
		case FrameCleaned:
			m.mu.Lock()
			m.cleaned = true
			m.mu.Unlock()
			return
		case FrameHealthRun:
			m.mu.Lock()
			h := m.health
			m.mu.Unlock()
			go func() {
				var out HealthRunResult
				if h == nil {
					out.Error = "container has no defined healthcheck"
				} else {
					out.Status, out.Result = h.runNow()
				}
				b, _ := json.Marshal(out)
				c.send(FrameHealthResult, b)
			}()
		}
	}
}

// finish tells every client how the container exited and waits (a while)
// for them to go, so that one doing the cleanup can say so.
func (m *monitor) finish(e Exit) {
	m.announce(e)
	m.waitClients()
}

// announce sends the exit to every client.
func (m *monitor) announce(e Exit) {
	b, _ := json.Marshal(e)
	m.mu.Lock()
	clients := append([]*client(nil), m.clients...)
	m.mu.Unlock()
	for _, c := range clients {
		c.send(FrameExit, b)
	}
}

// waitClients waits (at most 30 s) until the clients are done, then closes
// their connections.
func (m *monitor) waitClients() {
	m.mu.Lock()
	clients := append([]*client(nil), m.clients...)
	m.mu.Unlock()
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	for _, c := range clients {
		c.conn.Close()
	}
}

func setSize(f *os.File, rows, cols uint16) {
	unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
}

// slirpProc is the slirp4netns serving a container's network namespace.
type slirpProc struct {
	cmd     *exec.Cmd
	exitFd  *os.File
	readyR  *os.File
	nsPath  string
	stopped bool
}

// startSlirp starts slirp4netns on the network namespace at nsPath; ready
// waits until eth0 is configured (10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3).
func startSlirp(s *Slirp, nsPath string) (*slirpProc, error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	exitR, exitW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	args := []string{"--configure", "--mtu=" + strconv.Itoa(s.MTU), "--ready-fd=3", "--exit-fd=4", "--netns-type=path"}
	if !s.AllowHostLoopback {
		args = append(args, "--disable-host-loopback")
	}
	args = append(args, nsPath, "eth0")
	cmd := exec.Command(s.Binary, args...)
	cmd.ExtraFiles = []*os.File{readyW, exitR}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting slirp4netns: %w", err)
	}
	readyW.Close()
	exitR.Close()
	return &slirpProc{cmd: cmd, exitFd: exitW, readyR: readyR, nsPath: nsPath}, nil
}

func (s *slirpProc) ready() error {
	defer s.readyR.Close()
	s.readyR.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1)
	if _, err := s.readyR.Read(buf); err != nil {
		return fmt.Errorf("slirp4netns did not set up the network: %w", err)
	}
	return nil
}

// stop ends slirp4netns and removes the network namespace's file.
func (s *slirpProc) stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	s.exitFd.Close()
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	removeNetNS(s.nsPath)
}

// NetNSFile is the bind mount, in the run directory, that holds a
// container's network namespace while it runs.
const NetNSFile = "netns"

// createNetNS makes a network namespace and pins it at path. It is made on a
// thread of its own, which is never given back to the Go scheduler.
func createNetNS(path string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread exits with this goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o600)
		if err != nil {
			errc <- err
			return
		}
		f.Close()
		errc <- unix.Mount("/proc/thread-self/ns/net", path, "", unix.MS_BIND, "")
	}()
	return <-errc
}

// removeNetNS unpins a network namespace made by createNetNS.
func removeNetNS(path string) {
	unix.Unmount(path, unix.MNT_DETACH)
	os.Remove(path)
}
