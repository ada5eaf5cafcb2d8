package libpod

import "fmt"

// pauseForCommit freezes a running container while its changes are read,
// as Docker does, and returns what thaws it. Where tug cannot freeze
// (rootless here: no cgroups), the commit reads the changes as they are, as
// podman does without a freezer.
func (c *Container) pauseForCommit() (resume func(), err error) {
	if c.rt.CanPause() != nil || c.State.Status != StatusRunning {
		return func() {}, nil
	}
	rt := c.rt.ociRuntime()
	if err := rt.Pause(c.ID); err != nil {
		return nil, fmt.Errorf("pausing container %s for the commit: %w", c.Name, err)
	}
	return func() { rt.Resume(c.ID) }, nil
}
