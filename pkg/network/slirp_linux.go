package network

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// The addresses slirp4netns gives the namespace it serves.
const (
	SlirpIP      = "10.0.2.100"
	SlirpGateway = "10.0.2.2"
	SlirpDNS     = "10.0.2.3"
	SlirpSubnet  = "10.0.2.0/24"
)

// Slirp is a slirp4netns joining a network namespace to the host's: a tap
// device in the namespace, with the user-mode TCP/IP stack behind it.
type Slirp struct {
	cmd    *exec.Cmd
	exitW  *os.File
	done   chan struct{}
	waited error
}

// SlirpOptions shape StartSlirp.
type SlirpOptions struct {
	Binary            string
	NSPath            string
	Device            string // tap0, eth0
	MTU               int
	AllowHostLoopback bool
}

// StartSlirp starts slirp4netns on the namespace and waits until it has
// configured the device (10.0.2.100/24, default route via 10.0.2.2). It
// exits when the returned Slirp is stopped, or when this process dies.
func StartSlirp(o SlirpOptions) (*Slirp, error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyR.Close()
	exitR, exitW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return nil, err
	}
	args := []string{"--configure", "--mtu=" + strconv.Itoa(o.MTU), "--ready-fd=3", "--exit-fd=4", "--netns-type=path"}
	if !o.AllowHostLoopback {
		args = append(args, "--disable-host-loopback")
	}
	args = append(args, o.NSPath, o.Device)
	cmd := exec.Command(o.Binary, args...)
	cmd.ExtraFiles = []*os.File{readyW, exitR}
	// No Pdeathsig: it fires when the forking thread exits, not the process;
	// slirp4netns exits when this process dies, through the exit pipe.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	readyW.Close()
	exitR.Close()
	if err != nil {
		exitW.Close()
		return nil, fmt.Errorf("starting slirp4netns: %w", err)
	}
	s := &Slirp{cmd: cmd, exitW: exitW, done: make(chan struct{})}
	go func() { s.waited = cmd.Wait(); close(s.done) }()
	readyR.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := readyR.Read(make([]byte, 1)); err != nil {
		s.Stop()
		return nil, fmt.Errorf("slirp4netns did not set up the network: %v", err)
	}
	return s, nil
}

// Done is closed when slirp4netns has exited.
func (s *Slirp) Done() <-chan struct{} { return s.done }

// Stop ends slirp4netns.
func (s *Slirp) Stop() {
	s.exitW.Close()
	select {
	case <-s.done:
	case <-time.After(2 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}
