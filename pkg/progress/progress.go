// Package progress shows what a pull or a push is doing, as Docker does: on
// a pipe, one line per message and per finished layer; on a terminal, a live
// bar per layer.
package progress

import (
	"fmt"
	"io"
	"sync"
)

// Event is one status change. A message (ID "") is a whole line such as
// "latest: Pulling from library/alpine"; a layer event updates the layer's
// line ("Downloading" with byte counts, then a Final status such as
// "Pull complete").
type Event struct {
	ID             string // 12-hex short layer ID, "" for a message
	Status         string
	Current, Total int64 // bytes done and expected, for transfer statuses
	Final          bool  // the layer's last status
}

// Reporter receives events. Implementations are safe for concurrent use.
type Reporter interface {
	Report(Event)
}

// Message is the event for a whole line.
func Message(format string, a ...any) Event { return Event{Status: fmt.Sprintf(format, a...)} }

// Discard drops every event (for -q).
var Discard Reporter = discard{}

type discard struct{}

func (discard) Report(Event) {}

// Lines returns Docker's plain output: each message, and each layer's
// final status as "ID: Status".
func Lines(w io.Writer) Reporter { return &lines{w: w} }

type lines struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lines) Report(e Event) {
	if e.ID != "" && !e.Final {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.ID == "" {
		fmt.Fprintln(l.w, e.Status)
	} else {
		fmt.Fprintf(l.w, "%s: %s\n", e.ID, e.Status)
	}
}
