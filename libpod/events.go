package libpod

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// Event is one line of the event log, in Docker's shape.
type Event struct {
	Status   string `json:"status,omitempty"`
	ID       string `json:"id,omitempty"`
	From     string `json:"from,omitempty"`
	Type     string `json:"Type"`
	Action   string `json:"Action"`
	Actor    Actor  `json:"Actor"`
	Scope    string `json:"scope"`
	Time     int64  `json:"time"`
	TimeNano int64  `json:"timeNano"`
}

// Actor is what an event is about.
type Actor struct {
	ID         string            `json:"ID"`
	Attributes map[string]string `json:"Attributes"`
}

// EventsPath is the event log: JSON lines appended by every tug process.
func (r *Runtime) EventsPath() string { return filepath.Join(r.RunRoot, "events.log") }

// writeEvent appends a container event. Each is one write(2) on an
// O_APPEND file, so concurrent writers never interleave.
func (r *Runtime) writeEvent(c *Container, action string, attrs map[string]string) {
	now := time.Now()
	a := map[string]string{"image": c.ImageName, "name": c.Name}
	for k, v := range c.Labels {
		a[k] = v
	}
	for k, v := range attrs {
		a[k] = v
	}
	r.appendEvent(Event{Status: action, ID: c.ID, From: c.ImageName, Type: "container", Action: action,
		Actor: Actor{ID: c.ID, Attributes: a}, Scope: "local", Time: now.Unix(), TimeNano: now.UnixNano()})
}

// appendEvent writes one event line.
func (r *Runtime) appendEvent(ev Event) {
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	f, err := os.OpenFile(r.EventsPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	f.Write(append(b, '\n'))
	f.Close()
}
