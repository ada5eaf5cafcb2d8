package oci

// InitPid is the PID of the container's init: the monitor's child, which it
// waits for (also once it is no longer Go, see pkg/monitor/idle_linux.go).
func (p *Process) InitPid() int {
	pid, _ := p.process.Pid()
	return pid
}

// OOMKilled is Process.OOMKilled for a container known by its ID only.
func (r Runtime) OOMKilled(id string) bool {
	c, err := r.load(id)
	if err != nil {
		return false
	}
	return (&Process{container: c}).OOMKilled()
}
