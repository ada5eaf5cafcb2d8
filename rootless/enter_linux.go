package rootless

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// PidFile is the pid file of the pause process of a runtime root.
func PidFile(runRoot string) string { return filepath.Join(runRoot, "pause.pid") }

// maxAttempts bounds Enter's re-executions when the pause process dies
// between the check and the join.
const maxAttempts = 3

// Enter makes sure this process runs inside the user and mount namespaces of
// the pause process of runRoot. As root, or once inside, it does nothing.
//
// Usually the constructor has joined already (join_linux.c). Otherwise Enter
// takes <runroot>/pause.lock, checks the pid file, starts a new pause process
// if there is none alive (a killed pause, a reused PID), and re-executes tug
// for the constructor to join: on success it does not return. The lock makes
// concurrent first calls share one pause process.
func Enter(runRoot string) error {
	if !IsRootless() {
		return nil
	}
	runRoot, err := filepath.Abs(runRoot)
	if err != nil {
		return err
	}
	pidFile := PidFile(runRoot)
	if InNamespace() {
		if joined := os.Getenv(pauseEnv); joined != "" && !samePath(joined, pidFile) {
			return fmt.Errorf("this process runs in the user namespace of %s and cannot switch to the one of --runroot %s", filepath.Dir(joined), runRoot)
		}
		return nil
	}
	attempt, _ := strconv.Atoi(os.Getenv(attemptEnv))
	if attempt >= maxAttempts {
		return fmt.Errorf("cannot join tug's user namespace: %s", joinError())
	}
	if err := os.MkdirAll(runRoot, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", runRoot, err)
	}
	// Another user's directory (say a planted /tmp/tug-run-UID) could feed
	// us their pid file.
	var st syscall.Stat_t
	if err := syscall.Stat(runRoot, &st); err != nil {
		return err
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("the runroot %s belongs to user %d, not to you (%d): choose another with --runroot", runRoot, st.Uid, os.Geteuid())
	}
	lock, err := os.OpenFile(filepath.Join(runRoot, "pause.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close() // also closed by the exec below (close-on-exec)
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	if info, err := readPauseInfo(pidFile); err != nil || !info.alive() {
		maps := loadIDMaps()
		if info, err = startPause(runRoot, maps); err != nil {
			return err
		}
		if err := writePauseInfo(pidFile, info); err != nil {
			syscall.Kill(info.PID, syscall.SIGKILL)
			return fmt.Errorf("writing %s: %w", pidFile, err)
		}
		if maps.single() {
			fmt.Fprintln(os.Stderr, maps.warning())
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, joinEnv+"=") && !strings.HasPrefix(kv, attemptEnv+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, joinEnv+"="+pidFile, attemptEnv+"="+strconv.Itoa(attempt+1))
	return fmt.Errorf("re-executing tug to join its user namespace: %w", syscall.Exec("/proc/self/exe", os.Args, env))
}

func samePath(a, b string) bool {
	a, errA := filepath.Abs(a)
	b, errB := filepath.Abs(b)
	return errA == nil && errB == nil && a == b
}
