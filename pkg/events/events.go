// Package events is tug's event log: Docker-shaped events appended as JSON
// lines by every tug process, bounded by rotation, replayed and followed by
// `tug events`. There is no daemon to hold a stream, so the log on disk is
// the stream.
package events

import (
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// Event types.
const (
	TypeContainer = "container"
	TypeImage     = "image"
	TypeVolume    = "volume"
	TypeNetwork   = "network"
)

// Event is one event, in the shape of Docker's events.Message: its JSON is
// what `docker events --format '{{json .}}'` prints, its field names are
// what --format templates use.
type Event struct {
	// Status, ID and From are Docker's deprecated fields, still filled for
	// container and image events (Status = Action, ID = Actor.ID, From = image).
	Status   string `json:"status,omitempty"`
	ID       string `json:"id,omitempty"`
	From     string `json:"from,omitempty"`
	Type     string `json:"Type"`
	Action   string `json:"Action"`
	Actor    Actor  `json:"Actor"`
	Scope    string `json:"scope"`
	Time     int64  `json:"time,omitempty"`
	TimeNano int64  `json:"timeNano,omitempty"`
}

// Actor is what an event is about: an ID and attributes (name, image,
// labels, exitCode ...).
type Actor struct {
	ID         string            `json:"ID"`
	Attributes map[string]string `json:"Attributes"`
}

// New makes an event of now. attrs is used as is (not copied).
func New(typ, action, id string, attrs map[string]string) Event {
	if attrs == nil {
		attrs = map[string]string{}
	}
	now := time.Now()
	ev := Event{Type: typ, Action: action, Actor: Actor{ID: id, Attributes: attrs}, Scope: "local", Time: now.Unix(), TimeNano: now.UnixNano()}
	switch typ {
	case TypeContainer:
		ev.Status, ev.ID, ev.From = action, id, attrs["image"]
	case TypeImage:
		ev.Status, ev.ID = action, id
	}
	return ev
}

// When is the event's time.
func (e *Event) When() time.Time {
	if e.TimeNano != 0 {
		return time.Unix(0, e.TimeNano)
	}
	return time.Unix(e.Time, 0)
}

// timeLayout is Docker's RFC3339NanoFixed: always nine fractional digits.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// String is Docker's default line for an event:
//
//	2018-01-28T15:08:57.318341118-06:00 container create ID (image=alpine, name=confident_hopper)
//
// with the attributes sorted by key, in local time.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.When().Format(timeLayout))
	b.WriteByte(' ')
	b.WriteString(e.Type)
	b.WriteByte(' ')
	b.WriteString(e.Action)
	b.WriteByte(' ')
	b.WriteString(e.Actor.ID)
	if len(e.Actor.Attributes) > 0 {
		keys := make([]string, 0, len(e.Actor.Attributes))
		for k := range e.Actor.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(" (")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(e.Actor.Attributes[k])
		}
		b.WriteByte(')')
	}
	return b.String()
}

// marshal is the event's log line, newline included.
func (e *Event) marshal() ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
