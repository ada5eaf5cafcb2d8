package rootless

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// startPause starts a pause process in a new user and mount namespace with
// the maps m. The process is this binary in pause mode: the constructor
// (join_linux.c, run_pause) unshares, waits for the maps, then forks the
// pause proper and exits, so the pause is adopted away from this process.
func startPause(runRoot string, m idMaps) (pauseInfo, error) {
	fromChild, childOut, err := os.Pipe()
	if err != nil {
		return pauseInfo{}, err
	}
	childIn, toChild, err := os.Pipe()
	if err != nil {
		fromChild.Close()
		childOut.Close()
		return pauseInfo{}, err
	}
	defer fromChild.Close()
	defer toChild.Close()
	cmd := &exec.Cmd{
		Path: "/proc/self/exe",
		// The runroot in its command line tells in ps which one it holds.
		Args:        []string{pauseName, runRoot},
		Env:         []string{pauseModeEnv + "=1"},
		Dir:         "/",
		ExtraFiles:  []*os.File{childOut, childIn}, // fds 3 and 4
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	childOut.Close()
	childIn.Close()
	if err != nil {
		return pauseInfo{}, fmt.Errorf("starting the pause process: %w", err)
	}
	fail := func(err error) (pauseInfo, error) {
		cmd.Process.Kill()
		cmd.Wait()
		return pauseInfo{}, err
	}
	r := bufio.NewReader(fromChild)
	if err := expectReady(r); err != nil {
		return fail(err)
	}
	userNS, err := nsInode(cmd.Process.Pid, "user")
	if err != nil {
		return fail(err)
	}
	if err := m.apply(cmd.Process.Pid); err != nil {
		return fail(err)
	}
	if _, err := toChild.Write([]byte("G")); err != nil {
		return fail(fmt.Errorf("the pause process died: %w", err))
	}
	line, err := r.ReadString('\n')
	if !strings.HasPrefix(line, "P") {
		return fail(childError("forking the pause process", line, err))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		return fail(fmt.Errorf("the pause process reported %q", line))
	}
	cmd.Wait()
	info := pauseInfo{PID: pid, SingleID: m.single()}
	var name string
	if name, info.StartTime, err = processIdentity(pid); err != nil || name != pauseName {
		syscall.Kill(pid, syscall.SIGKILL)
		return pauseInfo{}, fmt.Errorf("the pause process died at start (%q): %v", name, err)
	}
	if info.UserNS, err = nsInode(pid, "user"); err == nil {
		info.MntNS, err = nsInode(pid, "mnt")
	}
	if err != nil || info.UserNS != userNS {
		syscall.Kill(pid, syscall.SIGKILL)
		return pauseInfo{}, fmt.Errorf("the pause process died at start: %v", err)
	}
	return info, nil
}

func expectReady(r *bufio.Reader) error {
	b, err := r.ReadByte()
	if err == nil && b == 'R' {
		return nil
	}
	rest, _ := io.ReadAll(r)
	msg := string(rest)
	if err == nil {
		msg = string(b) + msg
	}
	return childError("creating the user namespace", msg, err)
}

// childError turns what the pause process wrote ("E<reason>") into an error.
func childError(what, msg string, err error) error {
	if strings.HasPrefix(msg, "E") {
		reason := msg[1:]
		if strings.HasPrefix(reason, "unshare") {
			reason += " (are unprivileged user namespaces enabled? see /proc/sys/user/max_user_namespaces)"
		}
		return fmt.Errorf("%s: %s", what, reason)
	}
	if err == nil {
		err = fmt.Errorf("unexpected %q", msg)
	}
	return fmt.Errorf("%s: the pause process exited: %v", what, err)
}
