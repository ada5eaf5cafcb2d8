package libpod

import (
	"errors"
	"fmt"

	"github.com/tug-project/tug/pkg/oci"
)

// ErrPauseUnsupported is returned when this tug cannot freeze containers.
var ErrPauseUnsupported = errors.New("pausing a container needs the cgroup freezer, and rootless tug runs containers without cgroups on this host (no delegated cgroup v2 hierarchy): pause and unpause work only as root here")

// CanPause reports whether pause and unpause can work at all here.
func (r *Runtime) CanPause() error {
	if r.Rootless {
		return ErrPauseUnsupported
	}
	if err := oci.CheckControllers("freezer"); err != nil {
		return fmt.Errorf("pausing a container needs the cgroup freezer: %w", err)
	}
	return nil
}

func (r *Runtime) ociRuntime() oci.Runtime {
	return oci.Runtime{Root: r.ociStateRoot(), Rootless: r.Rootless}
}

// Pause freezes every process of the container.
func (c *Container) Pause() error {
	if err := c.rt.CanPause(); err != nil {
		return err
	}
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return err
	}
	defer lock.unlock()
	if err := c.reload(); err != nil {
		return err
	}
	c.syncLocked()
	switch {
	case c.State.Status == StatusPaused:
		return fmt.Errorf("Container %s is already paused", c.ID)
	case !c.Running():
		return fmt.Errorf("container %s is not running", c.ID)
	}
	if err := c.rt.ociRuntime().Pause(c.ID); err != nil {
		if errors.Is(err, oci.ErrNotRunning) {
			return fmt.Errorf("container %s is not running", c.ID)
		}
		return fmt.Errorf("pausing container %s: %w", c.Name, err)
	}
	c.State.Status = StatusPaused
	if err := c.saveState(); err != nil {
		return err
	}
	c.rt.writeEvent(c, "pause", nil)
	return nil
}

// Unpause thaws a paused container.
func (c *Container) Unpause() error {
	if err := c.rt.CanPause(); err != nil {
		return err
	}
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return err
	}
	defer lock.unlock()
	if err := c.reload(); err != nil {
		return err
	}
	c.syncLocked()
	if c.State.Status != StatusPaused {
		return fmt.Errorf("Container %s is not paused", c.ID)
	}
	return c.unpauseLocked()
}

func (c *Container) unpauseLocked() error {
	if err := c.rt.ociRuntime().Resume(c.ID); err != nil && !errors.Is(err, oci.ErrNotRunning) {
		return fmt.Errorf("unpausing container %s: %w", c.Name, err)
	}
	c.State.Status = StatusRunning
	if err := c.saveState(); err != nil {
		return err
	}
	c.rt.writeEvent(c, "unpause", nil)
	return nil
}

// thawAfterSignal lets a signal just sent to a paused container arrive:
// frozen processes act on it only once thawed (stop, kill, rm -f).
func (c *Container) thawAfterSignal() {
	if c.State.Status == StatusPaused {
		c.unpauseLocked()
	}
}
