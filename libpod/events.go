package libpod

import (
	"path/filepath"

	"github.com/sirupsen/logrus"

	"github.com/tug-project/tug/pkg/events"
)

// Event is one event of the log, in Docker's shape.
type Event = events.Event

// EventLog is the event log of this root. It lives in the data root, not
// the run root: `events --since` replays what happened before a reboot, as
// the persisted log a daemonless engine needs in place of a daemon's memory.
func (r *Runtime) EventLog() *events.Log {
	return &events.Log{Dir: filepath.Join(r.Root, "events"), MaxSize: r.Config.Events.MaxSizeBytes()}
}

// WriteEvent records an event of any type (events.TypeNetwork ...) with
// Docker's fields. Failing to record it never fails the operation.
func (r *Runtime) WriteEvent(typ, action, id string, attrs map[string]string) {
	if err := r.EventLog().Write(events.New(typ, action, id, attrs)); err != nil {
		logrus.Debugf("recording the %s %s event: %v", typ, action, err)
	}
}

// writeEvent records a container event: Docker's attributes are the
// image, the name and the container's labels, then attrs.
func (r *Runtime) writeEvent(c *Container, action string, attrs map[string]string) {
	a := map[string]string{}
	for k, v := range c.Labels {
		a[k] = v
	}
	a["image"], a["name"] = c.ImageName, c.Name
	for k, v := range attrs {
		a[k] = v
	}
	r.WriteEvent(events.TypeContainer, action, c.ID, a)
}

// Event records an event about c (for the container features
// outside libpod's core: exec, health, rename ...).
func (c *Container) Event(action string, attrs map[string]string) { c.rt.writeEvent(c, action, attrs) }

// volumeEvent records a volume event; Docker's attributes are the driver, then attrs.
func (r *Runtime) volumeEvent(name, action string, attrs map[string]string) {
	a := map[string]string{"driver": DefaultVolumeDriver}
	for k, v := range attrs {
		a[k] = v
	}
	r.WriteEvent(events.TypeVolume, action, name, a)
}
