// Package monitor is the per-container monitor: a small process (the tug
// binary re-executed as "tug-monitor", in its own session) that is the
// container's parent. It starts the container, owns its terminal or pipes,
// writes its log, serves the attach socket, records how it exited, and then
// hands over to the cleanup (unmount, network teardown, --rm).
//
// The attach socket speaks frames: one byte of type, four bytes of length
// (big endian), the payload. A client first sends a Hello.
package monitor

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/tug-project/tug/pkg/events"
	"github.com/tug-project/tug/pkg/logs"
	"github.com/tug-project/tug/pkg/network"
)

// Frame types.
const (
	FrameHello   byte = 'h' // client -> monitor: JSON Hello
	FrameStdin   byte = 'i' // client -> monitor: bytes for the container's stdin
	FrameEOF     byte = 'e' // client -> monitor: the client's stdin ended
	FrameResize  byte = 'r' // client -> monitor: rows, cols as two uint16
	FrameCleaned byte = 'c' // client -> monitor: the client has done the cleanup
	FrameStdout  byte = '1' // monitor -> client
	FrameStderr  byte = '2' // monitor -> client
	FrameExit    byte = 'x' // monitor -> client: JSON Exit; the last frame
	// FrameHealthRun asks for a health check now; FrameHealthResult is
	// the JSON HealthRunResult of it.
	FrameHealthRun    byte = 'k' // client -> monitor
	FrameHealthResult byte = 'K' // monitor -> client
)

// HealthRunResult is the answer to FrameHealthRun: the probe and the
// status it leaves, or why there was none.
type HealthRunResult struct {
	Status string       `json:"status,omitempty"`
	Result HealthResult `json:"result"`
	Error  string       `json:"error,omitempty"`
}

// Hello says which streams a client wants.
type Hello struct {
	Stdin  bool `json:"stdin"`
	Stdout bool `json:"stdout"`
	Stderr bool `json:"stderr"`
	// Rows and Cols are the client's terminal size (with -t).
	Rows uint16 `json:"rows,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
}

// Exit is how the container ended (also the content of the exit file).
type Exit struct {
	Code       int       `json:"exitCode"`
	FinishedAt time.Time `json:"finishedAt"`
	OOMKilled  bool      `json:"oomKilled,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// Ready is what the monitor reports on the sync pipe: the container's PID
// once its process exists and its network is up, or why it could not start.
type Ready struct {
	Pid       int       `json:"pid,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	Error     string    `json:"error,omitempty"`
	ExitCode  int       `json:"exitCode,omitempty"` // 125, 126 or 127 with Error
}

// Slirp configures the user-mode network.
type Slirp struct {
	Binary            string `json:"binary"`
	MTU               int    `json:"mtu"`
	AllowHostLoopback bool   `json:"allowHostLoopback"`
}

// Config is what a monitor is started with (monitor.json in its run directory).
type Config struct {
	ID        string       `json:"id"`
	RunDir    string       `json:"runDir"`    // holds config.json, the attach socket, the exit file
	StateRoot string       `json:"stateRoot"` // libcontainer's
	Rootless  bool         `json:"rootless"`
	Tty       bool         `json:"tty"`
	Stdin     bool         `json:"stdin"`     // the container has an open stdin (-i)
	StdinOnce bool         `json:"stdinOnce"` // close it when the first client's stdin ends
	Log       logs.Options `json:"log"`
	Slirp     *Slirp       `json:"slirp,omitempty"`
	// Network is what the monitor attaches: interfaces on bridge networks
	// (in a network namespace it makes), published ports.
	Network *network.Attachment `json:"network,omitempty"`
	// Cleanup is the command the monitor becomes (exec) after the container
	// exited, unless an attached client did the cleanup itself.
	Cleanup []string `json:"cleanup"`
	// Tug is the tug binary the cleanup runs when the monitor is the shim
	// (pkg/shim), which has no CLI; empty when the monitor is tug itself.
	Tug string `json:"tug,omitempty"`
	// Client says fd 5 is an already connected attach client (foreground run).
	Client bool `json:"client"`
	// Health is the health check to run, if any (health.go).
	Health *HealthCheck `json:"health,omitempty"`
	// Events is where the monitor appends its events (health_status).
	Events *EventSink `json:"events,omitempty"`
}

// HealthCheck is a health check as the monitor runs it.
type HealthCheck struct {
	Command       []string      `json:"command"` // run in the container with its process's user, env and cwd
	Interval      time.Duration `json:"interval"`
	Timeout       time.Duration `json:"timeout"`
	StartPeriod   time.Duration `json:"startPeriod"`
	StartInterval time.Duration `json:"startInterval"`
	Retries       int           `json:"retries"`
	StartedAt     time.Time     `json:"startedAt"` // the start period counts from here
}

// Health statuses, as Docker names them.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// HealthState is the health check's state in Docker's shape (inspect's
// State.Health); the monitor keeps it in HealthFile.
type HealthState struct {
	Status        string         `json:"Status"`
	FailingStreak int            `json:"FailingStreak"`
	Log           []HealthResult `json:"Log"`
}

// HealthResult is one probe.
type HealthResult struct {
	Start    time.Time `json:"Start"`
	End      time.Time `json:"End"`
	ExitCode int       `json:"ExitCode"`
	Output   string    `json:"Output"`
}

// EventSink is the event log's current file and the event the monitor's
// events are made from (the engine's, of this container), whose action and
// time the monitor sets.
type EventSink struct {
	Path     string       `json:"path"`
	Template events.Event `json:"template"`
}

// Files of a run directory.
const (
	ConfigFile   = "monitor.json"
	SpecFile     = "config.json"
	AttachSocket = "attach"
	ExitFile     = "exit"
	// PidFile holds the monitor's PID from its first moment, so that a start
	// whose CLI was killed before recording it is still seen.
	PidFile = "monitor.pid"
	// HealthFile holds the HealthState while the container runs.
	HealthFile = "health.json"
)

// WriteFrame sends one frame.
func WriteFrame(w io.Writer, typ byte, payload []byte) error {
	buf := make([]byte, 5+len(payload))
	buf[0] = typ
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(payload)))
	copy(buf[5:], payload)
	_, err := w.Write(buf)
	return err
}

// WriteJSON sends a frame whose payload is v as JSON.
func WriteJSON(w io.Writer, typ byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return WriteFrame(w, typ, b)
}

// maxFrame bounds a frame so that a confused peer cannot make us allocate much.
const maxFrame = 1 << 20

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("attach protocol: frame of %d bytes", n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return hdr[0], buf, nil
}

// ResizePayload encodes a terminal size.
func ResizePayload(rows, cols uint16) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint16(b, rows)
	binary.BigEndian.PutUint16(b[2:], cols)
	return b
}
