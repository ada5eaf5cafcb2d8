package libpod

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/tug-project/tug/pkg/monitor"
	"github.com/tug-project/tug/pkg/parse"
)

// The restart policy's back-off, as Docker's restart manager: the first
// restart waits 100 ms, each next one twice as long, up to a minute; a
// container that ran 10 s or more starts over at 100 ms.
const (
	restartDelayFirst = 100 * time.Millisecond
	restartDelayMax   = time.Minute
	restartResetAfter = 10 * time.Second
)

// restartDecision says whether policy p restarts a container that exited
// with code after running for ran, having been restarted restarts times,
// and the delay to wait before (the back-off follows prev, the last delay).
// An exit caused by stop (or kill, see cancelsRestart) is never restarted;
// unless-stopped also leaves alone a container the user signalled.
func restartDecision(p parse.RestartPolicy, code int, canceled, stoppedByUser bool, restarts int, prev, ran time.Duration) (bool, time.Duration) {
	if ran >= restartResetAfter {
		prev = 0
	}
	delay := restartDelayFirst
	if prev > 0 {
		delay = min(prev*2, restartDelayMax)
	}
	if canceled {
		return false, delay
	}
	switch p.Name {
	case parse.RestartAlways:
		return true, delay
	case parse.RestartUnlessStopped:
		return !stoppedByUser, delay
	case parse.RestartOnFailure:
		return code != 0 && (p.MaxRetries == 0 || restarts < p.MaxRetries), delay
	}
	return false, delay
}

// StartsAfterReboot is what the reboot restart (`tug start --all
// --filter restart-policy=...`) applies on top of the filter, as Docker's
// daemon does when it comes back: always brings back every container,
// unless-stopped those the user did not stop, on-failure those that failed
// (a reboot is a failure) with retries left.
func (c *Container) StartsAfterReboot() bool {
	p, s := c.Spec.RestartPolicy, c.State
	switch p.Name {
	case parse.RestartAlways:
		return true
	case parse.RestartUnlessStopped:
		return !s.StoppedByUser
	case parse.RestartOnFailure:
		return !s.StoppedByUser && s.ExitCode != 0 && (p.MaxRetries == 0 || s.RestartCount < p.MaxRetries)
	}
	return true
}

// cancelsRestart reports whether kill with sig ends the restart policy, as
// Docker's kill: SIGKILL or the stop signal does, and so does any signal
// when no stop signal was configured.
func (c *Container) cancelsRestart(sig syscall.Signal) bool {
	if sig == syscall.SIGKILL {
		return true
	}
	configured := c.Spec.StopSignal != "" || c.StopSignal != "SIGTERM"
	if !configured {
		return true
	}
	stop, err := parse.Signal(c.StopSignal)
	return err != nil || stop == sig
}

// scheduleRestart runs after a cleanup (under the container's lock) of an
// exit the policy restarts: it records the restarting state, with this
// process (the monitor turned cleanup, or a CLI) as the one that will
// start it, and returns the delay to wait.
func (c *Container) scheduleRestart() (time.Duration, bool) {
	ran := c.State.FinishedAt.Sub(c.State.StartedAt)
	ok, delay := restartDecision(c.Spec.RestartPolicy, c.State.ExitCode, c.State.Stopping, c.State.StoppedByUser, c.State.RestartCount, c.State.RestartDelay, ran)
	if !ok {
		return 0, false
	}
	c.State.Status = StatusRestarting
	c.State.RestartDelay = delay
	c.State.RestartCount++
	c.State.MonitorPid, c.State.MonitorStart = os.Getpid(), procStartTime(os.Getpid())
	if c.saveState() != nil {
		return 0, false
	}
	return delay, true
}

// restartAfter waits delay without any lock, then starts the container of
// run again unless something else (stop, kill, rm, start) took it over
// meanwhile.
func (c *Container) restartAfter(run int, delay time.Duration) error {
	// A crash loop spends most of its time here: wait small.
	monitor.TrimMemory()
	time.Sleep(delay)
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return err
	}
	defer lock.unlock()
	if err := c.reload(); err != nil {
		return nil // removed meanwhile
	}
	if c.State.Status != StatusRestarting || c.State.Run != run || c.State.MonitorPid != os.Getpid() {
		return nil
	}
	if _, err := c.startLocked(StartOptions{}); err != nil {
		// As Docker: a restart that fails leaves the container exited.
		c.State.Status = StatusExited
		c.State.MonitorPid, c.State.MonitorStart = 0, 0
		c.saveState()
		return fmt.Errorf("restarting container %s: %w", c.Name, err)
	}
	c.rt.writeEvent(c, "start", nil)
	return nil
}

// RestartingError is returned by commands that need a running container
// while the restart policy waits to start it again.
type RestartingError struct{ ID, What string }

func (e *RestartingError) Error() string {
	return fmt.Sprintf("%s: container %s is restarting, wait until the container is running", e.What, e.ID)
}
