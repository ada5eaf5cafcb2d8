package libpod

import (
	"github.com/sirupsen/logrus"

	"github.com/tug-project/tug/pkg/events"
)

// Event is one event of the log, in Docker's shape.
type Event = events.Event

// Actor is what an event is about.
type Actor = events.Actor

// EventLog is the event log of this run root, RUNROOT/events.log (and the
// previous events.log.1), as podman's file backend keeps it: every tug
// call of the root appends to it, `tug events` replays and follows it.
// It lasts until a reboot empties the run root, as Docker's events last
// until its daemon restarts.
func (r *Runtime) EventLog() *events.Log {
	return &events.Log{Dir: r.RunRoot, MaxSize: r.Config.Events.MaxSizeBytes()}
}

// EventsPath is the current file of the event log. A process that cannot
// use EventLog (a monitor) may append whole lines to it with one O_APPEND
// write each; a rotation then moves them to the previous file, still read.
func (r *Runtime) EventsPath() string { return r.EventLog().Path() }

// WriteEvent records an event of any type (events.TypeNetwork ...) with
// Docker's fields. Failing to record it never fails the operation.
func (r *Runtime) WriteEvent(typ, action, id string, attrs map[string]string) {
	r.appendEvent(events.New(typ, action, id, attrs))
}

// appendEvent records a fully made event.
func (r *Runtime) appendEvent(ev Event) {
	if err := r.EventLog().Write(ev); err != nil {
		logrus.Debugf("recording the %s %s event: %v", ev.Type, ev.Action, err)
	}
}

// containerEvent is the event of action on c, now: Docker's attributes
// are the container's labels, its image and name, then attrs.
func containerEvent(c *Container, action string, attrs map[string]string) Event {
	a := map[string]string{}
	for k, v := range c.Labels {
		a[k] = v
	}
	a["image"], a["name"] = c.ImageName, c.Name
	for k, v := range attrs {
		a[k] = v
	}
	return events.New(events.TypeContainer, action, c.ID, a)
}

// writeEvent records a container event.
func (r *Runtime) writeEvent(c *Container, action string, attrs map[string]string) {
	r.appendEvent(containerEvent(c, action, attrs))
}

// Event records an event about c (for the container features outside
// libpod's core: exec, health, rename ...).
func (c *Container) Event(action string, attrs map[string]string) { c.rt.writeEvent(c, action, attrs) }

// volumeEvent records a volume event; Docker's attributes are the driver, then attrs.
func (r *Runtime) volumeEvent(name, action string, attrs map[string]string) {
	a := map[string]string{"driver": DefaultVolumeDriver}
	for k, v := range attrs {
		a[k] = v
	}
	r.WriteEvent(events.TypeVolume, action, name, a)
}
