package libpod

// pauseForCommit would freeze a running container while its changes are
// read, and return what thaws it. tug has no freezer yet (pause/unpause are
// to come), so a commit reads a running container's changes as they are,
// as podman does rootless where no freezer exists.
func (c *Container) pauseForCommit() (resume func(), err error) {
	return func() {}, nil
}
