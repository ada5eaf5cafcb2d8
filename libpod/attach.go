package libpod

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"strconv"
	"sync"
	"syscall"

	"github.com/tug-project/tug/pkg/monitor"
)

// AttachSession is a client's connection to a container's monitor.
type AttachSession struct {
	conn net.Conn
	mu   sync.Mutex
}

// Streams are the caller's ends of an attach.
type Streams struct {
	Stdin          io.Reader // nil: not attached
	Stdout, Stderr io.Writer
	// DetachKeys ends the session, leaving the container running, when
	// read from Stdin (Ctrl-P Ctrl-Q by default).
	DetachKeys []byte
}

// ErrDetached is returned by Pump when the user detached.
var ErrDetached = errors.New("detached")

// AttachOptions are the streams and terminal size of an attach.
type AttachOptions = monitor.Hello

// Attach connects to a running container's monitor.
func (c *Container) Attach(h AttachOptions) (*AttachSession, error) {
	if c.State.Status == StatusRestarting {
		return nil, fmt.Errorf("you cannot attach to a restarting container, wait until it is running")
	}
	if !c.Running() {
		return nil, fmt.Errorf("you cannot attach to a stopped container, start it first")
	}
	s, err := c.attach(h)
	if err == nil {
		c.rt.writeEvent(c, "attach", nil)
	}
	return s, err
}

func (c *Container) attach(h AttachOptions) (*AttachSession, error) { return c.dialMonitor(h) }

// dialMonitor connects to the container's monitor and says hello.
func (c *Container) dialMonitor(h AttachOptions) (*AttachSession, error) {
	if c.State.MonitorPid == 0 {
		return nil, fmt.Errorf("container %s has lost its monitor: it cannot be attached to", c.Name)
	}
	// Socket paths are limited to 108 bytes: reach it through a directory fd.
	dir, err := os.Open(c.RunDir())
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	conn, err := net.Dial("unix", "/proc/self/fd/"+strconv.Itoa(int(dir.Fd()))+"/"+monitor.AttachSocket)
	if err != nil {
		return nil, fmt.Errorf("attaching to container %s: %w", c.Name, err)
	}
	s := &AttachSession{conn: conn}
	if err := s.hello(h); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

func (s *AttachSession) hello(h AttachOptions) error {
	return monitor.WriteJSON(s.conn, monitor.FrameHello, h)
}

func (s *AttachSession) send(typ byte, p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return monitor.WriteFrame(s.conn, typ, p)
}

// Resize tells the container's terminal the client's size.
func (s *AttachSession) Resize(rows, cols uint16) error {
	return s.send(monitor.FrameResize, monitor.ResizePayload(rows, cols))
}

// Pump copies the streams until the container exits (its code is returned)
// or the user detaches (ErrDetached).
func (s *AttachSession) Pump(st Streams) (int, error) {
	detached := make(chan struct{})
	if st.Stdin != nil {
		go func() {
			buf := make([]byte, 32<<10)
			matched := 0
			for {
				n, err := st.Stdin.Read(buf)
				if n > 0 {
					data := buf[:n]
					if len(st.DetachKeys) > 0 {
						var out []byte
						for _, b := range data {
							if b == st.DetachKeys[matched] {
								matched++
								if matched == len(st.DetachKeys) {
									if len(out) > 0 {
										s.send(monitor.FrameStdin, out)
									}
									close(detached)
									s.conn.Close()
									return
								}
								continue
							}
							if matched > 0 {
								out = append(out, st.DetachKeys[:matched]...)
								matched = 0
							}
							if b == st.DetachKeys[0] {
								matched = 1
								continue
							}
							out = append(out, b)
						}
						data = out
					}
					if len(data) > 0 && s.send(monitor.FrameStdin, data) != nil {
						return
					}
				}
				if err != nil {
					s.send(monitor.FrameEOF, nil)
					return
				}
			}
		}()
	}
	for {
		typ, payload, err := monitor.ReadFrame(s.conn)
		if err != nil {
			select {
			case <-detached:
				return 0, ErrDetached
			default:
			}
			return 0, fmt.Errorf("lost the connection to the container's monitor: %w", err)
		}
		switch typ {
		case monitor.FrameStdout:
			if st.Stdout != nil {
				st.Stdout.Write(payload)
			}
		case monitor.FrameStderr:
			if st.Stderr != nil {
				st.Stderr.Write(payload)
			}
		case monitor.FrameExit:
			var e monitor.Exit
			json.Unmarshal(payload, &e)
			return e.Code, nil
		}
	}
}

// Cleaned tells the monitor this client did the cleanup, and ends the session.
func (s *AttachSession) Cleaned() {
	s.send(monitor.FrameCleaned, nil)
	s.conn.Close()
}

// Close ends the session.
func (s *AttachSession) Close() error { return s.conn.Close() }

// ParseDetachKeys parses Docker's --detach-keys ("ctrl-p,ctrl-q", "a,ctrl-@").
func ParseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		return []byte{16, 17}, nil
	}
	var out []byte
	for _, k := range bytes.Split([]byte(s), []byte(",")) {
		ks := string(k)
		switch {
		case len(ks) == 1:
			out = append(out, ks[0])
		case len(ks) == 6 && ks[:5] == "ctrl-":
			c := ks[5]
			switch {
			case c >= 'a' && c <= 'z':
				out = append(out, c-'a'+1)
			case c == '@':
				out = append(out, 0)
			case c == '[':
				out = append(out, 27)
			case c == '\\':
				out = append(out, 28)
			case c == ']':
				out = append(out, 29)
			case c == '^':
				out = append(out, 30)
			case c == '_':
				out = append(out, 31)
			default:
				return nil, fmt.Errorf("invalid detach keys %q: unknown key %q", s, ks)
			}
		default:
			return nil, fmt.Errorf("invalid detach keys %q: use single characters or ctrl-<char>, comma-separated", s)
		}
	}
	return out, nil
}

// ProxySignal forwards a signal the CLI received to the container (--sig-proxy).
func (c *Container) ProxySignal(sig syscall.Signal) {
	c.signal(sig)
}
