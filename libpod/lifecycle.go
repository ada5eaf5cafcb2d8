package libpod

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.podman.io/storage"
	"golang.org/x/sys/unix"

	"github.com/tug-project/tug/pkg/monitor"
	"github.com/tug-project/tug/pkg/oci"
	"github.com/tug-project/tug/pkg/parse"
)

// sync makes the state true without taking the lock: a container recorded as
// running may have exited (its monitor wrote the exit file) or lost its
// monitor (killed). An exit its monitor saw is only shown: the cleanup that
// follows records it, and its die event, under the lock. What else it
// learns it saves only if the row did not change meanwhile.
func (c *Container) sync() {
	before, _ := json.Marshal(c.State)
	was := c.State.Status
	if !c.refresh() {
		return
	}
	if c.State.Status == StatusExited && !c.orphaned && (was == StatusRunning || was == StatusPaused) {
		return
	}
	if changed, _ := c.saveStateIf(before); changed {
		c.dieEvent(was)
		if c.orphaned {
			c.releaseNetwork()
		}
	}
}

// syncLocked is sync for a caller that holds the container's lock. A sync
// without the lock may have recorded the same exit first: then its record
// is taken, and the die event is its.
func (c *Container) syncLocked() error {
	before, _ := json.Marshal(c.State)
	was := c.State.Status
	if !c.refresh() {
		return nil
	}
	changed, err := c.saveStateIf(before)
	if err != nil {
		return err
	}
	if !changed {
		if err := c.reload(); err != nil {
			return err
		}
		if c.State.Status != was {
			return nil
		}
		// Nobody recorded it: the row only reads back differently (written
		// by another version of tug).
		if !c.refresh() {
			return nil
		}
		if err := c.saveState(); err != nil {
			return err
		}
	}
	c.dieEvent(was)
	if c.orphaned {
		c.releaseNetwork()
	}
	return nil
}

// saveStateIf writes c.State if the row still holds the state before (its
// JSON); it reports whether it did.
func (c *Container) saveStateIf(before []byte) (bool, error) {
	after, _ := json.Marshal(c.State)
	db, err := c.rt.DB()
	if err != nil {
		return false, err
	}
	var changed bool
	err = db.Update(context.Background(), func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE containers SET state = ? WHERE id = ? AND state = ?`, string(after), c.ID, string(before))
		if err == nil {
			n, _ := res.RowsAffected()
			changed = n == 1
		}
		return err
	})
	return changed, err
}

// dieEvent records the exit of a container that was running, with Docker's
// attributes.
func (c *Container) dieEvent(was string) {
	if c.State.Status == StatusExited && (was == StatusRunning || was == StatusPaused) {
		ran := c.State.FinishedAt.Sub(c.State.StartedAt)
		c.rt.writeEvent(c, "die", map[string]string{"exitCode": fmt.Sprint(c.State.ExitCode), "execDuration": fmt.Sprint(int(ran.Seconds()))})
	}
}

// refresh updates c.State from the run directory and the processes; it
// reports whether the container exited meanwhile.
func (c *Container) refresh() bool {
	if c.State.Status == StatusCreated {
		return c.adoptMonitor()
	}
	if c.State.Status == StatusRestarting {
		// The process that was to start it again is gone (killed, or a
		// reboot): nothing will, it is exited.
		if alive(c.State.MonitorPid, c.State.MonitorStart) {
			return false
		}
		c.State.Status = StatusExited
		c.State.MonitorPid, c.State.MonitorStart = 0, 0
		return true
	}
	if c.State.Status != StatusRunning && c.State.Status != StatusPaused {
		return false
	}
	if data, err := os.ReadFile(filepath.Join(c.RunDir(), monitor.ExitFile)); err == nil {
		var e monitor.Exit
		if json.Unmarshal(data, &e) == nil {
			c.setExited(e.Code, e.FinishedAt, e.Error)
			c.State.OOMKilled = e.OOMKilled
			return true
		}
	}
	if alive(c.State.MonitorPid, c.State.MonitorStart) {
		// The health check's latest, shown but not saved: it changes with
		// every probe and the DB keeps it from one run to the next only.
		c.readHealth()
		return false
	}
	// The monitor is gone without a word (killed): ask the runtime whether
	// the container's process lives on.
	rt := oci.Runtime{Root: c.rt.ociStateRoot(), Rootless: c.rt.Rootless}
	if running, pid, err := rt.Status(c.ID); err == nil && running {
		c.State.Pid = pid
		return false
	}
	// No cleanup will come for this run: what it attached is released by
	// whoever records the exit.
	c.orphaned = true
	if data, err := os.ReadFile(filepath.Join(c.RunDir(), monitor.ExitFile)); err == nil {
		var e monitor.Exit
		if json.Unmarshal(data, &e) == nil {
			c.setExited(e.Code, e.FinishedAt, e.Error)
			return true
		}
	}
	c.setExited(255, time.Now().UTC(), "the container's monitor was killed: the exit code is unknown")
	return true
}

// adoptMonitor notices a monitor that runs the container although the row
// says created: its CLI was killed between starting it and recording it.
func (c *Container) adoptMonitor() bool {
	data, err := os.ReadFile(filepath.Join(c.RunDir(), monitor.PidFile))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || !isMonitorOf(pid, c.RunDir()) {
		return false
	}
	rt := oci.Runtime{Root: c.rt.ociStateRoot(), Rootless: c.rt.Rootless}
	running, cpid, err := rt.Status(c.ID)
	if err != nil || !running {
		return false
	}
	c.State.Status, c.State.Pid = StatusRunning, cpid
	c.State.MonitorPid, c.State.MonitorStart = pid, procStartTime(pid)
	if c.State.StartedAt.IsZero() {
		c.State.StartedAt = time.Now().UTC()
	}
	c.State.Run++
	c.State.Mounted = true
	return true
}

// isMonitorOf reports whether pid is the monitor of the run directory.
func isMonitorOf(pid int, runDir string) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	args := strings.Split(string(cmdline), "\x00")
	return err == nil && len(args) >= 2 && monitor.IsMonitor(args[0]) && args[1] == runDir
}

func (c *Container) setExited(code int, finished time.Time, msg string) {
	c.State.Status = StatusExited
	c.State.ExitCode = code
	c.State.FinishedAt = finished
	c.State.Error = msg
	c.State.Pid = 0
	c.State.MonitorPid, c.State.MonitorStart = 0, 0
	c.healthAtExit()
}

// containerPid is the PID to signal, checked against reuse.
func (c *Container) containerPid() int {
	if c.State.Pid > 0 && !isZombie(c.State.Pid) {
		return c.State.Pid
	}
	return 0
}

// NotRunningError is returned by kill of a stopped container.
type NotRunningError struct{ ID string }

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("cannot kill container: %s: container %s is not running", e.ID, e.ID)
}

// Kill sends sig to the container's first process.
func (c *Container) Kill(sig syscall.Signal) error {
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return err
	}
	defer lock.unlock()
	if err := c.reload(); err != nil {
		return err
	}
	c.syncLocked()
	if c.State.Status == StatusRestarting {
		// As Docker: killing a container that waits to be restarted
		// cancels the restart; there is no process to signal.
		return c.cancelRestart()
	}
	if !c.Running() {
		return &NotRunningError{ID: c.ShortID()}
	}
	if cancel := c.cancelsRestart(sig); !c.Spec.RestartPolicy.IsNone() && (!c.State.StoppedByUser || cancel && !c.State.Stopping) {
		// Saved before the signal: the exit it causes must find it.
		c.State.StoppedByUser = true
		c.State.Stopping = c.State.Stopping || cancel
		if err := c.saveState(); err != nil {
			return err
		}
	}
	if err := c.signal(sig); err != nil {
		return err
	}
	if sig == syscall.SIGKILL {
		c.thawAfterSignal() // other signals wait for unpause, as the processes do
	}
	c.rt.writeEvent(c, "kill", map[string]string{"signal": fmt.Sprint(int(sig))})
	return nil
}

// cancelRestart turns a restarting container into an exited one stopped by
// the user (the process waiting to restart it then finds nothing to do).
func (c *Container) cancelRestart() error {
	c.State.Status = StatusExited
	c.State.StoppedByUser = true
	c.State.MonitorPid, c.State.MonitorStart = 0, 0
	return c.saveState()
}

func (c *Container) signal(sig syscall.Signal) error {
	pid := c.containerPid()
	if pid == 0 {
		return nil
	}
	if err := unix.Kill(pid, sig); err != nil && err != unix.ESRCH {
		return fmt.Errorf("sending %s to container %s: %w", parse.SignalName(sig), c.ShortID(), err)
	}
	return nil
}

// Stop sends the stop signal, waits up to timeout (negative: forever), then
// kills. It returns once the container has exited.
func (c *Container) Stop(timeout time.Duration) error {
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return err
	}
	if err := c.reload(); err != nil {
		lock.unlock()
		return err
	}
	c.syncLocked()
	if c.State.Status == StatusRestarting {
		err := c.cancelRestart()
		lock.unlock()
		if err == nil {
			c.rt.writeEvent(c, "stop", nil)
		}
		return err
	}
	if !c.Running() {
		var err error
		if c.State.Status == StatusExited && !c.Spec.RestartPolicy.IsNone() && !c.State.Stopping {
			// It exited, and its cleanup may not have applied the restart
			// policy yet: it must not now.
			c.State.StoppedByUser, c.State.Stopping = true, true
			err = c.saveState()
		}
		lock.unlock()
		return err
	}
	if !c.Spec.RestartPolicy.IsNone() && (!c.State.StoppedByUser || !c.State.Stopping) {
		// Saved before the signal, so that the exit is not restarted.
		c.State.StoppedByUser, c.State.Stopping = true, true
		if err := c.saveState(); err != nil {
			lock.unlock()
			return err
		}
	}
	sig, err := parse.Signal(c.StopSignal)
	if err != nil {
		sig = syscall.SIGTERM
	}
	pid := c.containerPid()
	c.signal(sig)
	// As Docker: a stop is a kill event with the stop signal, then die, then stop.
	c.rt.writeEvent(c, "kill", map[string]string{"signal": fmt.Sprint(int(sig))})
	c.thawAfterSignal()
	// Waiting happens without the lock: ps, logs and other containers'
	// commands go on meanwhile.
	lock.unlock()
	if !waitPid(pid, timeout) {
		unix.Kill(pid, syscall.SIGKILL)
		c.rt.writeEvent(c, "kill", map[string]string{"signal": fmt.Sprint(int(syscall.SIGKILL))})
		waitPid(pid, 30*time.Second)
	}
	c.waitExitRecorded()
	c.rt.writeEvent(c, "stop", nil)
	return nil
}

// waitPid waits for pid to end, up to timeout (negative: forever); it
// reports whether it ended.
func waitPid(pid int, timeout time.Duration) bool {
	if pid <= 0 {
		return true
	}
	deadline := time.Now().Add(timeout)
	fd, err := unix.PidfdOpen(pid, 0)
	if err == nil {
		defer unix.Close(fd)
		for {
			ms := -1
			if timeout >= 0 {
				left := time.Until(deadline)
				if left <= 0 {
					return isZombie(pid)
				}
				ms = int(left/time.Millisecond) + 1
			}
			n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
			if err == unix.EINTR {
				continue
			}
			if n > 0 || err != nil {
				return true
			}
		}
	}
	for timeout < 0 || time.Now().Before(deadline) {
		if isZombie(pid) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return isZombie(pid)
}

// waitExitRecorded waits until the monitor has recorded the exit (or is
// gone), then makes the DB say so.
func (c *Container) waitExitRecorded() {
	exitFile := filepath.Join(c.RunDir(), monitor.ExitFile)
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(exitFile); err == nil || !alive(c.State.MonitorPid, c.State.MonitorStart) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return
	}
	defer lock.unlock()
	if c.reload() == nil {
		c.syncLocked()
	}
}

// Wait blocks until the container is not running and returns its exit
// code. As Docker's, a container the restart policy is about to start again
// counts as running when the wait begins, and its next exit ends the wait.
func (c *Container) Wait(ctx context.Context) (int, error) {
	sawRunning := false
	for {
		if err := c.reload(); err != nil {
			return 0, err
		}
		c.sync()
		if c.State.Status == StatusRestarting && !sawRunning {
			done := make(chan struct{})
			go func() { waitPid(c.State.MonitorPid, -1); close(done) }()
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-done:
			}
			continue
		}
		if !c.Running() {
			return c.State.ExitCode, nil
		}
		sawRunning = true
		pid := c.containerPid()
		if pid == 0 {
			pid = c.State.MonitorPid
		}
		done := make(chan struct{})
		go func() { waitPid(pid, -1); close(done) }()
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-done:
		}
		c.waitExitRecorded()
	}
}

// RunningError is returned by rm of a running container without force.
type RunningError struct {
	ID         string
	Restarting bool
}

func (e *RunningError) Error() string {
	state := "running"
	if e.Restarting {
		state = "restarting"
	}
	return fmt.Sprintf("cannot remove container %q: container is %s: stop the container before removing or force remove", e.ID, state)
}

// Remove deletes the container: its storage, files and row. A running one
// is refused unless force, which kills it first. Its volumes stay.
func (c *Container) Remove(force bool) error { return c.RemoveWith(RemoveOptions{Force: force}) }

// RemoveOptions shape a removal.
type RemoveOptions struct {
	Force   bool // kill a running container first
	Volumes bool // remove the anonymous volumes only it uses (rm -v)
}

// RemoveWith is Remove with options.
func (c *Container) RemoveWith(opts RemoveOptions) error {
	force := opts.Force
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return err
	}
	defer lock.unlock()
	if err := c.reload(); err != nil {
		return err
	}
	c.syncLocked()
	if c.State.Status == StatusRestarting && !force {
		return &RunningError{ID: c.Name, Restarting: true}
	}
	var before []byte
	was := c.State.Status
	if c.Running() {
		if !force && c.State.Status == StatusPaused {
			return fmt.Errorf("cannot remove a paused container, unpause and then stop the container before attempting removal or force remove")
		}
		if !force {
			return &RunningError{ID: c.Name}
		}
		before, _ = json.Marshal(c.State)
		pid := c.containerPid()
		c.signal(syscall.SIGKILL)
		c.rt.writeEvent(c, "kill", map[string]string{"signal": fmt.Sprint(int(syscall.SIGKILL))})
		c.thawAfterSignal()
		if c.State.MonitorPid == 0 {
			// No monitor: the runtime kills and reaps what is left.
			oci.Runtime{Root: c.rt.ociStateRoot(), Rootless: c.rt.Rootless}.Destroy(c.ID)
		}
		waitPid(pid, 30*time.Second)
		for i := 0; i < 400 && alive(c.State.MonitorPid, c.State.MonitorStart); i++ {
			if _, err := os.Stat(filepath.Join(c.RunDir(), monitor.ExitFile)); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		c.refresh()
		if c.Running() {
			c.setExited(137, time.Now().UTC(), "")
		}
	}
	if before != nil {
		// The exit of the kill, recorded (and its die event) unless a sync
		// of a monitorless container did it first.
		if saved, err := c.saveStateIf(before); err != nil {
			return err
		} else if saved {
			c.dieEvent(was)
		}
	}
	return c.removeLocked(opts.Volumes)
}

// removeLocked deletes everything of a stopped container, in an order that
// a crash can resume: the row says "removing" first and goes last. With
// volumes, its anonymous volumes go too.
func (c *Container) removeLocked(volumes bool) error {
	trace("remove: begin")
	defer trace("remove: end")
	r := c.rt
	c.State.Status = StatusRemoving
	if err := c.saveState(); err != nil {
		return err
	}
	if c.State.Mounted {
		c.releaseMounts() // its cleanup never ran (a killed monitor, rm -f)
	}
	if store, err := r.Store(); err == nil {
		// DeleteContainer unmounts the layer first: one trip through the
		// storage lock rather than two.
		if err := store.DeleteContainer(c.ID); err != nil && !errors.Is(err, storage.ErrContainerUnknown) && !errors.Is(err, storage.ErrNotAContainer) {
			return fmt.Errorf("removing the storage of container %s: %w", c.ShortID(), err)
		}
	} else {
		return err
	}
	// The runtime's state goes after the storage: at the exit of a
	// foreground `run --rm` the monitor destroys it meanwhile, and this is
	// only for a monitor that was killed.
	oci.Runtime{Root: r.ociStateRoot(), Rootless: r.Rootless}.Destroy(c.ID)
	c.releaseNetwork()
	c.releaseRunDir()
	// (With --rm the data directory was the run directory; one made by an
	// older tug is in the storage root all the same.)
	os.RemoveAll(c.persistentDir())
	gone, err := r.deleteContainerRow(c.ID, volumes)
	if err != nil {
		return err
	}
	r.writeEvent(c, "destroy", nil)
	for _, v := range gone {
		r.volumeEvent(v, "destroy", nil)
	}
	return nil
}

// Cleanup runs after a container's process exited (called by its monitor,
// or by the foreground run that was attached): records the exit, unmounts,
// releases the runtime state and, with --rm, removes the container. run
// names the start it cleans up after; a later start is left alone.
func (r *Runtime) Cleanup(id string, run int) error {
	c, err := r.lookupContainer(id)
	if err != nil {
		if errors.Is(err, ErrNoSuchContainer) {
			return nil // removed meanwhile
		}
		return err
	}
	return c.Cleanup(run)
}

// Cleanup is Runtime.Cleanup for a container in hand.
func (c *Container) Cleanup(run int) error {
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return err
	}
	defer lock.unlock()
	if err := c.reload(); err != nil {
		if errors.Is(err, ErrNoSuchContainer) {
			return nil
		}
		return err
	}
	if run != 0 && c.State.Run != run {
		return nil
	}
	if c.State.Status == StatusRemoving {
		// Every removal holds the lock, and the lock is ours: the one that
		// marked the row was cut short (a CLI killed in `run --rm` or
		// `rm`). Finish it, as the user asked.
		return c.removeLocked(c.Spec.AutoRemove)
	}
	// One write for the exit and the unmount (or none: --rm removes the
	// row). An exit the monitor saw is this call's to record: syncs
	// without the lock only show it.
	was := c.State.Status
	exited := c.refresh()
	if c.Running() || c.State.Status == StatusRestarting {
		if exited {
			c.saveState() // an adopted start, a lost restart
		}
		return nil
	}
	if exited {
		c.dieEvent(was)
	}
	if c.Spec.AutoRemove {
		return c.removeLocked(true)
	}
	if c.usesBridge() || len(c.State.Ports) > 0 {
		held := len(c.State.Networks) > 0 || len(c.State.Ports) > 0
		c.releaseNetwork()
		exited = exited || held
	}
	if c.State.Mounted {
		c.releaseMounts()
		if store, err := c.rt.Store(); err == nil {
			store.Unmount(c.ID, true)
		}
		oci.Runtime{Root: c.rt.ociStateRoot(), Rootless: c.rt.Rootless}.Destroy(c.ID)
		c.State.Mounted, c.State.Rootfs = false, ""
		exited = true
	}
	if exited {
		if err := c.saveState(); err != nil {
			return err
		}
	}
	// The exit is in the DB now; the run directory has served.
	c.releaseRunDir()
	if c.State.Status != StatusExited || c.Spec.RestartPolicy.IsNone() {
		return nil
	}
	// The restart policy: as Docker, the container is cleaned up like any
	// exited one, waits its back-off as "restarting", then starts again
	// (same ID, layer and log). The wait holds no lock.
	delay, ok := c.scheduleRestart()
	if !ok {
		return nil
	}
	lock.unlock()
	return c.restartAfter(c.State.Run, delay)
}

// releaseRunDir removes the run directory, with the network namespace a
// killed monitor may have left pinned in it.
func (c *Container) releaseRunDir() {
	unix.Unmount(filepath.Join(c.RunDir(), monitor.NetNSFile), unix.MNT_DETACH)
	os.RemoveAll(c.RunDir())
}

// Restart stops (if running) and starts the container again.
func (c *Container) Restart(ctx context.Context, timeout time.Duration) error {
	if err := c.Stop(timeout); err != nil {
		return err
	}
	_, err := c.Start(ctx, StartOptions{})
	return err
}
