package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tug-project/tug/pkg/oci"
)

// The health check runs as Docker's: a probe (an exec in the container)
// every interval, counted from the end of the last one; exit 0 is healthy,
// anything else a failure; retries failures in a row make the container
// unhealthy, except during the start period while it has never been
// healthy. The last five probes are kept, each output cut at 4096 bytes.
const (
	healthLogEntries = 5
	healthOutputMax  = 4096
)

type healthChecker struct {
	hc    *HealthCheck
	rt    oci.Runtime
	id    string
	proc  rspec.Process // the container's process: user, env, cwd, capabilities
	state HealthState
	sink  *EventSink
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex // one probe at a time (the schedule's, or one asked for)
}

// newHealth prepares the health check of the container whose process spec
// is proc (its loop is started by the Go monitor, or probes are run by the
// idle loop). Its state starts from HealthFile (written by the engine, with
// the log of earlier runs).
func (m *monitor) newHealth(proc *rspec.Process) *healthChecker {
	h := &healthChecker{
		hc: m.cfg.Health, rt: oci.Runtime{Root: m.cfg.StateRoot, Rootless: m.cfg.Rootless}, id: m.cfg.ID,
		proc: *proc, sink: m.cfg.Events, stop: make(chan struct{}), done: make(chan struct{}),
	}
	h.proc.Args = h.hc.Command
	h.proc.Terminal = false
	if data, err := os.ReadFile(HealthFile); err == nil {
		json.Unmarshal(data, &h.state)
	}
	h.state.Status, h.state.FailingStreak = HealthStarting, 0
	h.save()
	return h
}

// end stops the checks (killing a probe that runs), waits for the loop,
// and leaves the container unhealthy, as Docker does one that stopped.
func (h *healthChecker) end() {
	close(h.stop)
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state.Status = HealthUnhealthy
	h.save()
}

func (h *healthChecker) loop() {
	defer close(h.done)
	timer := time.NewTimer(h.next())
	defer timer.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-timer.C:
		}
		h.mu.Lock()
		res, outcome := h.probe()
		if outcome == probeRan {
			h.record(res)
		}
		h.mu.Unlock()
		if outcome == probeStopped {
			return
		}
		// The probe's exec touched code and heap the idle monitor does not need.
		trimMemory()
		timer.Reset(h.next())
	}
}

// runNow runs a probe at once (tug healthcheck run), recorded as any other.
func (h *healthChecker) runNow() (string, HealthResult) {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.stop:
		return HealthUnhealthy, HealthResult{ExitCode: -1, Output: "the container is not running"}
	default:
	}
	res, outcome := h.probe()
	switch outcome {
	case probeStopped:
		return HealthUnhealthy, res
	case probeSkipped:
		return h.state.Status, res
	}
	h.record(res)
	return h.state.Status, res
}

// next is the wait before the next probe: the start interval while the
// container starts, never past the end of the start period.
func (h *healthChecker) next() time.Duration {
	elapsed := time.Since(h.hc.StartedAt)
	if elapsed >= h.hc.StartPeriod {
		return h.hc.Interval
	}
	left := h.hc.StartPeriod - elapsed
	if left < h.hc.Interval {
		return left
	}
	if h.state.Status == HealthStarting {
		return h.hc.StartInterval
	}
	return h.hc.Interval
}

// What became of a probe.
const (
	probeRan     = iota
	probeSkipped // the container is paused
	probeStopped // the monitor ended the checks meanwhile
)

// probe runs the command once, within the timeout.
func (h *healthChecker) probe() (HealthResult, int) {
	res := HealthResult{Start: time.Now()}
	r, w, err := os.Pipe()
	if err != nil {
		return h.failed(res, err), probeRan
	}
	proc := h.proc
	p, err := h.rt.Exec(h.id, &proc, oci.Stdio{Stdout: w, Stderr: w})
	w.Close()
	if errors.Is(err, oci.ErrPaused) {
		// As Docker: a paused container is not probed.
		r.Close()
		return res, probeSkipped
	}
	if err != nil {
		r.Close()
		return h.failed(res, err), probeRan
	}
	out := &limitedBuffer{}
	copied := make(chan struct{})
	go func() { out.ReadFrom(r); close(copied) }()
	exited := make(chan int, 1)
	go func() { exited <- p.Wait() }()
	timeout := time.NewTimer(h.hc.Timeout)
	defer timeout.Stop()
	select {
	case res.ExitCode = <-exited:
	case <-timeout.C:
		unix.Kill(p.Pid, syscall.SIGKILL)
		<-exited
		res.ExitCode = -1
		res.Output = fmt.Sprintf("Health check exceeded timeout (%v)", h.hc.Timeout)
	case <-h.stop:
		unix.Kill(p.Pid, syscall.SIGKILL)
		<-exited
		r.Close()
		return res, probeStopped
	}
	// What the probe wrote; a child it left behind may hold the pipe open.
	select {
	case <-copied:
	case <-time.After(time.Second):
	}
	r.Close()
	if res.ExitCode == -1 {
		if o := out.String(); o != "" {
			res.Output += ": " + o
		}
	} else {
		res.Output = out.String()
	}
	res.End = time.Now()
	return res, probeRan
}

func (h *healthChecker) failed(res HealthResult, err error) HealthResult {
	res.ExitCode, res.Output, res.End = -1, err.Error(), time.Now()
	return res
}

// record applies a probe's result, as Docker's handleProbeResult.
func (h *healthChecker) record(res HealthResult) {
	old := h.state.Status
	h.state.Log = append(h.state.Log, res)
	if n := len(h.state.Log); n > healthLogEntries {
		h.state.Log = append([]HealthResult(nil), h.state.Log[n-healthLogEntries:]...)
	}
	if res.ExitCode == 0 {
		h.state.FailingStreak = 0
		h.state.Status = HealthHealthy
	} else if !(h.state.Status == HealthStarting && res.Start.Sub(h.hc.StartedAt) < h.hc.StartPeriod) {
		h.state.FailingStreak++
		if h.state.FailingStreak >= h.hc.Retries {
			h.state.Status = HealthUnhealthy
		}
	}
	h.save()
	if h.state.Status != old {
		appendEvent(h.sink, "health_status: "+h.state.Status)
	}
}

// save writes the state for the engine to read (atomically: it reads it
// at any time).
func (h *healthChecker) save() {
	b, _ := json.Marshal(h.state)
	tmp := HealthFile + ".tmp"
	if os.WriteFile(tmp, b, 0o600) == nil {
		os.Rename(tmp, HealthFile)
	}
}

// limitedBuffer keeps the first healthOutputMax bytes written, and says
// with "..." that there was more.
type limitedBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	truncated bool
}

func (b *limitedBuffer) ReadFrom(r *os.File) {
	chunk := make([]byte, 4096)
	for {
		n, err := r.Read(chunk)
		if n > 0 {
			b.mu.Lock()
			keep := min(n, healthOutputMax-b.buf.Len())
			b.buf.Write(chunk[:keep])
			b.truncated = b.truncated || keep < n
			b.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.truncated {
		return b.buf.String() + "..."
	}
	return b.buf.String()
}

// appendEvent adds an event made from sink's template to the event log, in
// one O_APPEND write (concurrent writers never interleave).
func appendEvent(sink *EventSink, action string) {
	if sink == nil || sink.Path == "" {
		return
	}
	ev := sink.Template
	now := time.Now()
	ev.Action, ev.Time, ev.TimeNano = action, now.Unix(), now.UnixNano()
	if ev.Status != "" {
		ev.Status = action
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	f, err := os.OpenFile(sink.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	f.Write(append(b, '\n'))
	f.Close()
}
