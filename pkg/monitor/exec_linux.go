package monitor

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"go.podman.io/storage/pkg/reexec"
	"golang.org/x/sys/unix"

	"github.com/tug-project/tug/pkg/oci"
)

// ExecName is the argv[0] of an exec monitor: the parent of one process
// added to a running container (tug exec). It owns the process's terminal
// or pipes, relays them to its client, and reports the exit code. Being its
// own process (setsid), it lets the exec outlive the CLI: `exec -d`, a
// detached `exec -it`, a killed CLI.
const ExecName = "tug-exec"

func init() { reexec.Register(ExecName, execMain) }

// ExecConfig is what an exec monitor is started with (as JSON on fd 3).
type ExecConfig struct {
	ContainerID string        `json:"containerId"`
	StateRoot   string        `json:"stateRoot"`
	Rootless    bool          `json:"rootless"`
	Process     rspec.Process `json:"process"`
	Stdin       bool          `json:"stdin"` // -i: the client's input goes to the process
	// Client says fd 5 is the connected client; without one (exec -d) the
	// output is discarded.
	Client bool `json:"client"`
}

// ExecCommand returns the command that starts an exec monitor. Its fd 3
// must be the read end of the config pipe, fd 4 the write end of the sync
// pipe (one Ready line) and, with ExecConfig.Client, fd 5 the client socket.
func ExecCommand() *exec.Cmd {
	cmd := reexec.Command(ExecName)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

func execMain() {
	trace("exec monitor: main")
	debug.SetGCPercent(20)
	if err := runExec(); err != nil {
		fmt.Fprintln(os.Stderr, "tug-exec:", err)
		os.Exit(1)
	}
}

type execMonitor struct {
	cfg    ExecConfig
	client *client
	stdin  io.WriteCloser
	master *os.File
	mu     sync.Mutex
}

func runExec() error {
	cfgPipe := os.NewFile(3, "config")
	var cfg ExecConfig
	err := json.NewDecoder(cfgPipe).Decode(&cfg)
	cfgPipe.Close()
	if err != nil {
		return fmt.Errorf("reading the exec configuration: %w", err)
	}
	syncPipe := os.NewFile(4, "sync")
	ready := func(r Ready) {
		json.NewEncoder(syncPipe).Encode(r)
		syncPipe.Close()
	}
	m := &execMonitor{cfg: cfg}
	if cfg.Client {
		f := os.NewFile(5, "client")
		conn, err := net.FileConn(f)
		f.Close()
		if err == nil {
			m.client = &client{conn: conn, hello: Hello{Stdin: cfg.Stdin, Stdout: true, Stderr: true}}
		}
	}
	proc, outputs, err := m.start()
	if err != nil {
		ready(failed(err))
		return nil
	}
	trace("exec monitor: running")
	ready(Ready{Pid: proc.Pid, StartedAt: time.Now().UTC()})
	if m.client != nil {
		go m.serveClient()
	}
	// A long exec (-d, a shell) idles here: as small as the container's monitor.
	trim := time.AfterFunc(300*time.Millisecond, trimMemory)
	code := proc.Wait()
	trim.Stop()
	waitTimeout(outputs, 5*time.Second)
	if c := m.client; c != nil {
		b, _ := json.Marshal(Exit{Code: code, FinishedAt: time.Now().UTC()})
		c.send(FrameExit, b)
		c.conn.Close()
	}
	return nil
}

// start runs the process with pipes or a terminal and starts copying its output.
func (m *execMonitor) start() (*oci.Process, *sync.WaitGroup, error) {
	var stdio oci.Stdio
	var closeAfter []*os.File
	var consoleParent, outR, errR *os.File
	tty := m.cfg.Process.Terminal
	if tty {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, nil, err
		}
		consoleParent = os.NewFile(uintptr(fds[0]), "console-parent")
		defer consoleParent.Close()
		child := os.NewFile(uintptr(fds[1]), "console-child")
		stdio = oci.Stdio{Tty: true, ConsoleSocket: child}
		closeAfter = append(closeAfter, child)
	} else {
		var outW, errW *os.File
		var err error
		if outR, outW, err = os.Pipe(); err != nil {
			return nil, nil, err
		}
		if errR, errW, err = os.Pipe(); err != nil {
			return nil, nil, err
		}
		stdio = oci.Stdio{Stdout: outW, Stderr: errW}
		closeAfter = append(closeAfter, outW, errW)
		if m.cfg.Stdin && m.client != nil {
			inR, inW, err := os.Pipe()
			if err != nil {
				return nil, nil, err
			}
			stdio.Stdin, m.stdin = inR, inW
			closeAfter = append(closeAfter, inR)
		}
	}
	rt := oci.Runtime{Root: m.cfg.StateRoot, Rootless: m.cfg.Rootless}
	trace("exec monitor: configured")
	proc, err := rt.Exec(m.cfg.ContainerID, &m.cfg.Process, stdio)
	for _, f := range closeAfter {
		f.Close()
	}
	if err != nil {
		return nil, nil, err
	}
	if tty {
		master, err := oci.RecvConsole(consoleParent)
		if err != nil {
			unix.Kill(proc.Pid, unix.SIGKILL)
			proc.Wait()
			return nil, nil, fmt.Errorf("receiving the terminal: %w", err)
		}
		m.master = master
		if m.cfg.Stdin {
			m.stdin = master
		}
	}
	outputs := &sync.WaitGroup{}
	copyOut := func(r io.Reader, typ byte) {
		outputs.Add(1)
		go func() {
			defer outputs.Done()
			buf := make([]byte, 32<<10)
			for {
				n, err := r.Read(buf)
				if n > 0 && m.client != nil {
					m.client.send(typ, buf[:n])
				}
				if err != nil {
					return
				}
			}
		}()
	}
	if m.master != nil {
		copyOut(m.master, FrameStdout)
	} else {
		copyOut(outR, FrameStdout)
		copyOut(errR, FrameStderr)
	}
	return proc, outputs, nil
}

// serveClient relays the client's input and terminal size until it goes
// away (detached, or killed): the process runs on, its output discarded.
func (m *execMonitor) serveClient() {
	c := m.client
	for {
		typ, payload, err := ReadFrame(c.conn)
		if err != nil {
			break
		}
		switch typ {
		case FrameStdin:
			if m.stdin != nil {
				m.stdin.Write(payload)
			}
		case FrameEOF:
			if m.master == nil {
				m.closeStdin()
			}
		case FrameResize:
			if m.master != nil && len(payload) == 4 {
				setSize(m.master, uint16(payload[0])<<8|uint16(payload[1]), uint16(payload[2])<<8|uint16(payload[3]))
			}
		}
	}
	c.mu.Lock()
	c.dead = true
	c.mu.Unlock()
	if m.master == nil {
		m.closeStdin()
	}
}

func (m *execMonitor) closeStdin() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stdin != nil {
		m.stdin.Close()
		m.stdin = nil
	}
}
