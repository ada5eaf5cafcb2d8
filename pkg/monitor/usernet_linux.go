package monitor

// UserNetwork is a network namespace pinned at a path and served by
// slirp4netns, for a container whose parent is not a monitor (a build's RUN
// step, whose process the build itself waits for).
type UserNetwork struct {
	NSPath string
	slirp  *slirpProc
}

// StartUserNetwork makes the namespace at nsPath and starts slirp4netns on
// it; Ready waits until eth0 is configured, Stop ends it all. slirp4netns
// also goes when the caller dies (its exit pipe closes).
func StartUserNetwork(s Slirp, nsPath string) (*UserNetwork, error) {
	if err := createNetNS(nsPath); err != nil {
		return nil, err
	}
	p, err := startSlirp(&s, nsPath)
	if err != nil {
		removeNetNS(nsPath)
		return nil, err
	}
	return &UserNetwork{NSPath: nsPath, slirp: p}, nil
}

// Ready waits until the network is configured.
func (n *UserNetwork) Ready() error { return n.slirp.ready() }

// Stop ends slirp4netns and removes the namespace's file.
func (n *UserNetwork) Stop() { n.slirp.stop() }

// RemoveNetNS unpins a namespace left at path by a killed caller.
func RemoveNetNS(path string) { removeNetNS(path) }
