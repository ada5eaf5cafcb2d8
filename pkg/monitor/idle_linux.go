package monitor

// The lite monitor. A Go process cannot idle small: most of what it keeps
// resident is the pages of the binary that the runtime keeps touching. So
// once the container has run for a moment (idleAfter), the Go monitor
// becomes the C event loop of idle_linux.c by executing this binary as
// IdleName, same PID, with the container's pipes or terminal, its stdin,
// the attach socket, the connected clients and the held ports inherited.
// The loop starts before the Go runtime and never enters it. At the
// container's exit it executes the binary again as FinishName (Go, below),
// which does what run() does after the exit. Each health probe is a short
// Go process, HealthName. What stays in Go: the journald log driver and the
// rootless port forwarder (they live in the Go monitor), and everything when
// TUG_MONITOR_GO=1.

/*
#cgo CFLAGS: -O2 -Wall
#include <stdlib.h>
#include "idle_linux.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"go.podman.io/storage/pkg/reexec"
	"golang.org/x/sys/unix"

	"github.com/tug-project/tug/pkg/logs"
	"github.com/tug-project/tug/pkg/oci"
)

// The lite monitor's process names (argv[0]); the monitor's own is Name.
const (
	IdleName   = C.IDLE_NAME
	FinishName = C.FINISH_NAME
	HealthName = C.HEALTH_NAME
)

// idleAfter is how long a container runs under the Go monitor before it
// becomes the idle loop: one that is done by then (run --rm IMAGE true)
// never pays for the re-executions.
const idleAfter = 100 * time.Millisecond

// GoMonitorEnv set to 1 keeps the Go monitor for the container's lifetime.
const GoMonitorEnv = "TUG_MONITOR_GO"

func init() {
	reexec.Register(FinishName, finishMain)
	reexec.Register(HealthName, healthMain)
}

// IsMonitor reports whether argv0 is one of the names a monitor runs under.
func IsMonitor(argv0 string) bool {
	return argv0 == Name || argv0 == IdleName || argv0 == FinishName
}

// canIdle reports whether the idle loop can do all this monitor does.
func (m *monitor) canIdle() bool {
	if os.Getenv(GoMonitorEnv) != "" || m.cfg.Log.Driver == logs.Journald {
		return false
	}
	return m.ports == nil || m.ports.fwd == nil
}

// stillRunsAfter reports whether process pid (a child, left unreaped) still
// runs after d.
func stillRunsAfter(pid int, d time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(d)
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms <= 0 {
			return true
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n == 0
	}
}

// becomeIdle executes the idle loop; it returns only if that failed, with
// nothing read from the container's outputs or the clients yet.
func (m *monitor) becomeIdle(runDir string, proc *oci.Process, io *containerIO, client *os.File, slirp *slirpProc, health *healthChecker) error {
	args := []string{IdleName, runDir, "pid=" + strconv.Itoa(proc.InitPid())}
	var fds []int
	pass := func(key string, fd int) {
		fds = append(fds, fd)
		args = append(args, key+"="+strconv.Itoa(fd))
	}
	if m.master != nil {
		pass("pty", int(m.master.Fd()))
		if m.stdin != nil {
			pass("in", int(m.master.Fd()))
		}
	} else {
		pass("out", int(io.outR.Fd()))
		pass("err", int(io.errR.Fd()))
		if f, ok := m.stdin.(*os.File); ok {
			pass("in", int(f.Fd()))
		}
	}
	if m.cfg.StdinOnce {
		args = append(args, "stdinonce=1")
	}
	if rc, err := io.ln.(*net.UnixListener).SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { pass("listen", int(fd)) })
	}
	if client != nil {
		pass("client", int(client.Fd()))
	}
	if m.ports != nil {
		for _, f := range m.ports.files {
			pass("keep", int(f.Fd()))
		}
	}
	if slirp != nil {
		pass("fin-slirpfd", int(slirp.exitFd.Fd()))
		args = append(args, "fin-slirppid="+strconv.Itoa(slirp.cmd.Process.Pid))
	}
	driver := m.cfg.Log.Driver
	if driver == "" {
		driver = logs.JSONFile
	}
	args = append(args, "log="+driver, "logpath="+m.cfg.Log.Path,
		"maxsize="+strconv.FormatInt(m.cfg.Log.MaxSize, 10), "maxfile="+strconv.Itoa(m.cfg.Log.MaxFile))
	if health != nil {
		hc := health.hc
		first := time.Now().Add(health.next())
		args = append(args, "hstarted="+ns(hc.StartedAt.UnixNano()), "hperiod="+ns(int64(hc.StartPeriod)),
			"hinterval="+ns(int64(hc.Interval)), "hstartinterval="+ns(int64(hc.StartInterval)), "hfirst="+ns(first.UnixNano()))
	}
	for _, fd := range fds {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return err
		}
	}
	trace("idle")
	return syscall.Exec("/proc/self/exe", args, os.Environ())
}

func ns(n int64) string { return strconv.FormatInt(n, 10) }

// finishMain is the monitor after the idle loop saw the container exit:
// os.Args are the run directory, then code=, finished=SEC.NSEC, cleaned=,
// client=FD for each connected client, and the fin- arguments of becomeIdle.
func finishMain() {
	if err := finish(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "tug-monitor:", err)
		os.Exit(1)
	}
}

func finish(runDir string, args []string) error {
	if err := os.Chdir(runDir); err != nil {
		return err
	}
	m := &monitor{}
	cfgData, err := os.ReadFile(ConfigFile)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(cfgData, &m.cfg); err != nil {
		return err
	}
	var exit Exit
	var clients []int
	slirpFd, slirpPid := -1, 0
	for _, a := range args {
		key, val, _ := strings.Cut(a, "=")
		switch key {
		case "code":
			exit.Code, _ = strconv.Atoi(val)
		case "finished":
			sec, nsec, _ := strings.Cut(val, ".")
			s, _ := strconv.ParseInt(sec, 10, 64)
			n, _ := strconv.ParseInt(nsec, 10, 64)
			exit.FinishedAt = time.Unix(s, n).UTC()
		case "cleaned":
			m.cleaned = val == "1"
		case "client":
			fd, _ := strconv.Atoi(val)
			clients = append(clients, fd)
		case "fin-slirpfd":
			slirpFd, _ = strconv.Atoi(val)
		case "fin-slirppid":
			slirpPid, _ = strconv.Atoi(val)
		}
	}
	trace("finish")
	if m.cfg.Health != nil {
		// As healthChecker.end: a container that stopped is unhealthy.
		h := &healthChecker{}
		if data, err := os.ReadFile(HealthFile); err == nil {
			json.Unmarshal(data, &h.state)
		}
		h.state.Status = HealthUnhealthy
		h.save()
	}
	rt := oci.Runtime{Root: m.cfg.StateRoot, Rootless: m.cfg.Rootless}
	exit.OOMKilled = rt.OOMKilled(m.cfg.ID)
	writeExitFile(exit)
	rt.Destroy(m.cfg.ID)
	trace("destroyed")
	stopSlirp := func() {}
	if slirpFd >= 0 {
		os.NewFile(uintptr(slirpFd), "slirp-exit").Close()
		stopSlirp = func() { waitSlirp(slirpPid); removeNetNS(filepath.Join(runDir, NetNSFile)) }
	}
	for _, fd := range clients {
		f := os.NewFile(uintptr(fd), "client")
		conn, err := net.FileConn(f)
		f.Close()
		if err != nil {
			continue
		}
		c := &client{conn: conn}
		m.clients = append(m.clients, c)
		m.wg.Add(1)
		go func() { defer m.wg.Done(); m.serve(c) }()
	}
	m.finish(exit)
	trace("finished")
	stopSlirp()
	if m.cleaned || len(m.cfg.Cleanup) == 0 {
		return nil
	}
	return m.becomeCleanup()
}

// waitSlirp waits (a while) for slirp4netns, told to go, then kills it.
func waitSlirp(pid int) {
	if pid <= 0 {
		return
	}
	done := make(chan struct{})
	go func() {
		var ws unix.WaitStatus
		for {
			if _, err := unix.Wait4(pid, &ws, 0, nil); err != unix.EINTR {
				break
			}
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		unix.Kill(pid, unix.SIGKILL)
		<-done
	}
}

// healthMain runs one probe for the idle loop: os.Args are the run
// directory, "scheduled" or "now", and the container's start (Unix
// nanoseconds: the start period counts from it). It records it as the Go monitor's
// checker does, writes the HealthRunResult on stdout, and exits with the
// status it leaves (0 starting, 1 healthy, 2 unhealthy) for the loop's
// schedule.
func healthMain() {
	started, _ := strconv.ParseInt(os.Args[3], 10, 64)
	status, err := healthProbe(os.Args[1], time.Unix(0, started), os.Stdout)
	if err != nil {
		b, _ := json.Marshal(HealthRunResult{Error: err.Error()})
		os.Stdout.Write(b)
		os.Exit(3)
	}
	switch status {
	case HealthStarting:
		os.Exit(0)
	case HealthHealthy:
		os.Exit(1)
	}
	os.Exit(2)
}

func healthProbe(runDir string, started time.Time, out *os.File) (string, error) {
	if err := os.Chdir(runDir); err != nil {
		return "", err
	}
	var cfg Config
	var spec rspec.Spec
	for file, v := range map[string]any{ConfigFile: &cfg, SpecFile: &spec} {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		if err := json.Unmarshal(data, v); err != nil {
			return "", err
		}
	}
	if cfg.Health == nil || spec.Process == nil {
		return "", errors.New("container has no defined healthcheck")
	}
	cfg.Health.StartedAt = started
	h := &healthChecker{hc: cfg.Health, rt: oci.Runtime{Root: cfg.StateRoot, Rootless: cfg.Rootless}, id: cfg.ID,
		proc: *spec.Process, sink: cfg.Events, stop: make(chan struct{})}
	h.proc.Args = h.hc.Command
	h.proc.Terminal = false
	if data, err := os.ReadFile(HealthFile); err == nil {
		json.Unmarshal(data, &h.state)
	}
	res, outcome := h.probe()
	if outcome == probeRan {
		h.record(res)
	}
	b, _ := json.Marshal(HealthRunResult{Status: h.state.Status, Result: res})
	out.Write(b)
	return h.state.Status, nil
}

// cLogEntry is the idle loop's log entry of line (for tests).
func cLogEntry(driver, stream string, line []byte, partial bool, t time.Time) []byte {
	d := C.int(C.LOG_JSON)
	if driver == logs.K8sFile {
		d = C.LOG_K8S
	}
	cs := C.CString(stream)
	defer C.free(unsafe.Pointer(cs))
	in := C.CBytes(append(line, 0))
	defer C.free(in)
	out := C.malloc(C.tug_log_entry_max(C.size_t(len(line))))
	defer C.free(out)
	p := C.int(0)
	if partial {
		p = 1
	}
	n := C.tug_log_entry(d, cs, (*C.uchar)(in), C.size_t(len(line)), p, C.longlong(t.Unix()), C.long(t.Nanosecond()), (*C.char)(out))
	return C.GoBytes(out, C.int(n))
}
