//go:build system

package system

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// As a user, tug works in a user namespace mapped from /etc/subuid and
// /etc/subgid, where the user is root; as root, in none.
func TestRootlessUnshareMapping(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		uidMap := mapLines(e.TugOK("unshare", "cat", "/proc/self/uid_map").Out)
		gidMap := mapLines(e.TugOK("unshare", "cat", "/proc/self/gid_map").Out)
		id := strings.TrimSpace(e.TugOK("unshare", "id", "-u").Out)
		if id != "0" {
			t.Fatalf("id -u inside: %q, want 0", id)
		}
		if !e.Rootless {
			if want := []string{"0 0 4294967295"}; !equal(uidMap, want) || !equal(gidMap, want) {
				t.Fatalf("as root, maps %v %v: want the host's %v", uidMap, gidMap, want)
			}
			if ns := e.TugOK("unshare", "readlink", "/proc/self/ns/user").Out; strings.TrimSpace(ns) != hostUserNS(t) {
				t.Fatalf("as root, tug unshare is in user namespace %s, not the host's", ns)
			}
			if _, err := os.Stat(filepath.Join(e.RunRoot, "pause.pid")); err == nil {
				t.Fatal("as root, a pause process was started")
			}
			return
		}
		if want := wantMap(t, "/etc/subuid", userUID); !equal(uidMap, want) {
			t.Fatalf("uid_map %v, want %v", uidMap, want)
		}
		if want := wantMap(t, "/etc/subgid", userGID); !equal(gidMap, want) {
			t.Fatalf("gid_map %v, want %v", gidMap, want)
		}
		pid := pausePID(t, e)
		if ns := strings.TrimSpace(e.TugOK("unshare", "readlink", "/proc/self/ns/user").Out); ns != nsOf(t, pid, "user") || ns == hostUserNS(t) {
			t.Fatalf("unshare runs in user namespace %s; the pause process %d holds %s", ns, pid, nsOf(t, pid, "user"))
		}
		// The pause process is detached and holds no directory of the test.
		if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd != "/" {
			t.Fatalf("the pause process works in %s", cwd)
		}
	})
}

// A mount made by one call is visible to the next: they share the mount
// namespace. The host does not see it.
func TestRootlessSharedMountNamespace(t *testing.T) {
	e := newEnv(t, true)
	mnt := filepath.Join(e.TmpDir, "mnt")
	e.ShOK("mkdir " + mnt)
	e.TugOK("unshare", "sh", "-c", "mount -t tmpfs -o size=1m tugtest "+mnt+" && echo hello > "+mnt+"/file")
	mountinfo := e.TugOK("unshare", "cat", "/proc/self/mountinfo").Out
	mustContain(t, mountinfo, " "+mnt+" ")
	if out := e.TugOK("unshare", "cat", mnt+"/file").Out; out != "hello\n" {
		t.Fatalf("the file on the tmpfs: %q", out)
	}
	// A tug run by tug unshare is already inside: it neither joins nor re-executes.
	mustContain(t, e.TugOK("unshare", "sh", "-c", "$TUG unshare cat /proc/self/mountinfo").Out, " "+mnt+" ")
	host, _ := os.ReadFile("/proc/self/mountinfo")
	if bytes.Contains(host, []byte(" "+mnt+" ")) {
		t.Fatal("the mount made inside is visible on the host")
	}
	// A tug inside that names another runroot cannot switch namespaces.
	r := e.Tug("unshare", "sh", "-c", "$TUG --runroot "+e.TmpDir+"/other unshare true")
	if r.Code != 125 {
		t.Fatalf("nested tug with another runroot: exit %d: %s", r.Code, r.Combined())
	}
	mustContain(t, r.Err, "cannot switch")
}

// A process started by one call lives on and can be signalled by the next.
func TestRootlessProcessSurvivesBetweenCalls(t *testing.T) {
	e := newEnv(t, true)
	pid := startSleepInside(t, e, "sleep")
	if ns := nsOf(t, pid, "user"); ns != nsOf(t, pausePID(t, e), "user") {
		t.Fatalf("the background process is in %s, not in the pause process's namespace", ns)
	}
	e.TugOK("unshare", "kill", "-0", strconv.Itoa(pid))
	e.TugOK("unshare", "kill", strconv.Itoa(pid))
	waitGone(t, pid)
}

// --runroot after the command: the constructor leaves it to Go, which still
// joins the pause process of that runroot.
func TestRootlessRunrootAfterCommand(t *testing.T) {
	e := newEnv(t, true)
	want := strings.TrimSpace(e.TugOK("unshare", "readlink", "/proc/self/ns/user").Out)
	r := e.run(nil, TugBin, "--root", e.Root, "unshare", "--runroot", e.RunRoot, "readlink", "/proc/self/ns/user")
	if r.Code != 0 || strings.TrimSpace(r.Out) != want {
		t.Fatalf("with --runroot after the command: exit %d, %q; want %q\n%s", r.Code, r.Out, want, r.Err)
	}
}

// kill -9 of the pause process: the next call starts a new one with fresh
// namespaces (the old mount is gone).
func TestRootlessKilledPauseIsReplaced(t *testing.T) {
	e := newEnv(t, true)
	mnt := filepath.Join(e.TmpDir, "mnt")
	e.ShOK("mkdir " + mnt)
	e.TugOK("unshare", "mount", "-t", "tmpfs", "tugtest", mnt)
	oldNS := strings.TrimSpace(e.TugOK("unshare", "readlink", "/proc/self/ns/user").Out)
	oldPID := pausePID(t, e)
	syscall.Kill(oldPID, syscall.SIGKILL)
	waitGone(t, oldPID)

	newNS := strings.TrimSpace(e.TugOK("unshare", "readlink", "/proc/self/ns/user").Out)
	if newNS == oldNS || newNS == hostUserNS(t) {
		t.Fatalf("after kill -9 of the pause process: user namespace %s (old %s)", newNS, oldNS)
	}
	if pid := pausePID(t, e); pid == oldPID || nsOf(t, pid, "user") != newNS {
		t.Fatalf("the pid file names %d, not a new pause process", pid)
	}
	if strings.Contains(e.TugOK("unshare", "cat", "/proc/self/mountinfo").Out, " "+mnt+" ") {
		t.Fatal("the mount of the old namespace is still there")
	}
	e.TugOK("unshare", "true")
}

// A pid file whose PID now names another process is never joined: neither
// an unrelated process of the user (other namespaces), nor processes that
// still sit in the old namespaces (same namespace inodes): one with another
// name, one named like the pause process but started later.
func TestRootlessReusedPIDIsNotJoined(t *testing.T) {
	e := newEnv(t, true)
	e.ShOK("cp /bin/sleep " + e.TmpDir + "/tug-pause")
	insider := startSleepInside(t, e, "sleep")
	oldPID := pausePID(t, e)
	oldNS := nsOf(t, oldPID, "user")
	fields := strings.Fields(readFile(t, filepath.Join(e.RunRoot, "pause.pid")))
	namesake := startSleepInside(t, e, e.TmpDir+"/tug-pause")
	for startTime(t, namesake) == fields[1] { // same clock tick as the pause: try again
		namesake = startSleepInside(t, e, e.TmpDir+"/tug-pause")
	}
	syscall.Kill(oldPID, syscall.SIGKILL)
	waitGone(t, oldPID)

	outsider := exec.Command("sleep", "300")
	outsider.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(userUID), Gid: uint32(userGID), Groups: []uint32{}}}
	if err := outsider.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { outsider.Process.Kill(); outsider.Wait() })

	for _, impostor := range []int{outsider.Process.Pid, insider, namesake} {
		fields[0] = strconv.Itoa(impostor)
		e.WriteFile(filepath.Join(e.RunRoot, "pause.pid"), []byte(strings.Join(fields, " ")+"\n"))
		ns := strings.TrimSpace(e.TugOK("unshare", "readlink", "/proc/self/ns/user").Out)
		if ns == oldNS || ns == hostUserNS(t) || ns != nsOf(t, pausePID(t, e), "user") {
			t.Fatalf("pid file naming %d: joined user namespace %s (old %s, host %s)", impostor, ns, oldNS, hostUserNS(t))
		}
		if syscall.Kill(impostor, 0) != nil {
			t.Fatalf("process %d named by the stale pid file was killed", impostor)
		}
		syscall.Kill(pausePID(t, e), syscall.SIGKILL)
		waitGone(t, pausePID(t, e))
	}
}

func startTime(t *testing.T, pid int) string {
	t.Helper()
	stat := readFile(t, fmt.Sprintf("/proc/%d/stat", pid))
	return strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])[19]
}

// Concurrent first calls share one pause process.
func TestRootlessConcurrentFirstCalls(t *testing.T) {
	e := newEnv(t, true)
	const n = 8
	outs := make([]Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { outs[i] = e.Tug("unshare", "readlink", "/proc/self/ns/user") })
	}
	wg.Wait()
	for i, r := range outs {
		if r.Code != 0 || r.Out != outs[0].Out {
			t.Fatalf("call %d: exit %d, %q (call 0: %q)\n%s", i, r.Code, r.Out, outs[0].Out, r.Err)
		}
	}
	if pauses := pausesOf(e.RunRoot); len(pauses) != 1 {
		t.Fatalf("%d pause processes for one runroot: %v", len(pauses), pauses)
	}
	if ns := nsOf(t, pausePID(t, e), "user"); strings.TrimSpace(outs[0].Out) != ns {
		t.Fatalf("the calls ran in %s, the pause process holds %s", outs[0].Out, ns)
	}
}

// A user without sub-IDs gets their own ID alone, one warning, and a tug
// that works.
func TestRootlessSingleIDMapping(t *testing.T) {
	e := envForUserWithoutSubIDs(t)
	r := e.TugOK("unshare", "cat", "/proc/self/uid_map", "/proc/self/gid_map")
	want := []string{fmt.Sprintf("0 %d 1", e.uid), fmt.Sprintf("0 %d 1", e.gid)}
	if got := mapLines(r.Out); !equal(got, want) {
		t.Fatalf("maps %v, want %v", got, want)
	}
	mustContain(t, r.Err, "WARNING", `"`+noSubIDUser+`"`, "/etc/subuid", "single ID mapping")
	if strings.Count(r.Err, "\n") != 1 {
		t.Fatalf("more than the one warning line:\n%s", r.Err)
	}
	// Later calls join without a warning, and know the mapping is single
	// (storage then ignores chown errors).
	r = e.TugOK("unshare", "sh", "-c", "id -u; echo single=$_TUG_ROOTLESS_SINGLE_ID")
	if r.Out != "0\nsingle=1\n" || r.Err != "" {
		t.Fatalf("second call: %q, stderr %q", r.Out, r.Err)
	}
}

// Without newuidmap, a user with sub-IDs gets an error that names the package.
func TestRootlessMissingNewuidmap(t *testing.T) {
	e := newEnv(t, true)
	e.ExtraEnv = []string{"PATH=" + e.TmpDir} // no newuidmap there
	r := e.TugFail(125, "unshare", "/bin/true")
	mustContain(t, r.Err, "newuidmap", "uidmap package")
	if len(pausesOf(e.RunRoot)) != 0 {
		t.Fatal("a pause process was left behind")
	}
	if _, err := os.Stat(filepath.Join(e.RunRoot, "pause.pid")); err == nil {
		t.Fatal("a pid file was written")
	}
}

// Commands that need no namespace start no pause process.
func TestRootlessVersionStartsNoPause(t *testing.T) {
	e := newEnv(t, true)
	e.TugOK("version")
	e.TugOK("--version")
	e.TugOK("--help")
	e.TugOK("completion", "bash")
	if _, err := os.Stat(filepath.Join(e.RunRoot, "pause.pid")); err == nil {
		t.Fatal("tug version started a pause process")
	}
	if p := pausesOf(e.RunRoot); len(p) != 0 {
		t.Fatalf("pause processes: %v", p)
	}
}

func TestUnshareRunsTheCommand(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		if r := e.Tug("unshare", "sh", "-c", "echo out; echo err >&2; exit 3"); r.Code != 3 || r.Out != "out\n" || r.Err != "err\n" {
			t.Fatalf("exit %d, %q, %q", r.Code, r.Out, r.Err)
		}
		r := e.TugFail(127, "unshare", "no-such-command-xyz")
		mustContain(t, r.Err, "no-such-command-xyz", "not found")
		e.WriteFile(filepath.Join(e.TmpDir, "noexec"), []byte("#!/bin/sh\n"))
		e.TugFail(126, "unshare", filepath.Join(e.TmpDir, "noexec"))
		// No command: the shell ($SHELL, else /bin/sh) reads stdin.
		if r := e.TugStdin("id -u\n", "unshare"); r.Code != 0 || r.Out != "0\n" {
			t.Fatalf("default shell: exit %d, %q, %s", r.Code, r.Out, r.Err)
		}
		mustContain(t, e.TugOK("unshare", "--help").Out, "Usage:", "unshare")
	})
}

// --- helpers ---

// mapLines is a uid_map or gid_map as "inside host count" lines.
func mapLines(s string) []string {
	var lines []string
	for line := range strings.SplitSeq(strings.TrimSpace(s), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	return lines
}

// wantMap is the map tug must make for the test user from a sub-ID file.
func wantMap(t *testing.T, file string, id int) []string {
	t.Helper()
	want := []string{fmt.Sprintf("0 %d 1", id)}
	inside := 1
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(p) == 3 && (p[0] == testUser || p[0] == strconv.Itoa(userUID)) {
			want = append(want, fmt.Sprintf("%d %s %s", inside, p[1], p[2]))
			n, _ := strconv.Atoi(p[2])
			inside += n
		}
	}
	if len(want) == 1 {
		t.Fatalf("%s has no range for %s", file, testUser)
	}
	return want
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func pausePID(t *testing.T, e *Env) int {
	t.Helper()
	data := readFile(t, filepath.Join(e.RunRoot, "pause.pid"))
	pid, err := strconv.Atoi(strings.Fields(data + " x")[0])
	if err != nil {
		t.Fatalf("pause.pid: %q", data)
	}
	return pid
}

// pausesOf lists the live pause processes of a runroot, found by command line.
func pausesOf(runRoot string) []int {
	var pids []int
	want := "tug-pause\x00" + runRoot + "\x00"
	entries, _ := os.ReadDir("/proc")
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		if cmdline, _ := os.ReadFile("/proc/" + ent.Name() + "/cmdline"); string(cmdline) == want {
			pids = append(pids, pid)
		}
	}
	return pids
}

func nsOf(t *testing.T, pid int, ns string) string {
	t.Helper()
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
	if err != nil {
		t.Fatalf("namespace of %d: %v", pid, err)
	}
	return link
}

func hostUserNS(t *testing.T) string { return nsOf(t, os.Getpid(), "user") }

// startSleepInside starts a background sleep (the program sleep) with tug
// unshare and returns its PID; the test's cleanup kills it.
func startSleepInside(t *testing.T, e *Env, sleep string) int {
	t.Helper()
	out := e.TugOK("unshare", "sh", "-c", sleep+" 300 >/dev/null 2>&1 & echo $!").Out
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("background pid: %q", out)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// waitGone waits until process pid has exited (or is a zombie).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || bytes.Contains(stat, []byte(") Z ")) {
			return
		}
	}
	t.Fatalf("process %d did not exit", pid)
}

// noSubIDUser is a second unprivileged user, with no /etc/subuid or
// /etc/subgid entry.
const noSubIDUser = "tugnosub"

func envForUserWithoutSubIDs(t *testing.T) *Env {
	t.Helper()
	if _, err := user.Lookup(noSubIDUser); err != nil {
		// A system user: useradd gives it no sub-IDs.
		if out, err := exec.Command("useradd", "--system", "--shell", "/bin/sh", noSubIDUser).CombinedOutput(); err != nil {
			t.Fatalf("useradd %s: %v: %s", noSubIDUser, err, out)
		}
	}
	u, err := user.Lookup(noSubIDUser)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		data, _ := os.ReadFile(f)
		for line := range strings.SplitSeq(string(data), "\n") {
			if strings.HasPrefix(line, noSubIDUser+":") || strings.HasPrefix(line, u.Uid+":") {
				t.Fatalf("%s has a range for %s: %q", f, noSubIDUser, line)
			}
		}
	}
	e := newEnv(t, true)
	e.uid, _ = strconv.Atoi(u.Uid)
	e.gid, _ = strconv.Atoi(u.Gid)
	for _, d := range []string{filepath.Dir(e.Root), e.Root, e.RunRoot, e.Home, e.TmpDir} {
		if err := os.Chown(d, e.uid, e.gid); err != nil {
			t.Fatal(err)
		}
	}
	e.ExtraEnv = []string{"USER=" + noSubIDUser, "LOGNAME=" + noSubIDUser, "XDG_RUNTIME_DIR=" + e.TmpDir}
	return e
}

// A runroot of another user is refused: its pid file is not to be trusted.
func TestRootlessRunrootOfAnotherUser(t *testing.T) {
	e := newEnv(t, true)
	dir := filepath.Join(e.TmpDir, "roots")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(dir, 0, 0)
	r := e.TugFail(125, "--runroot", dir, "unshare", "true")
	mustContain(t, r.Err, dir, "belongs to user 0")
}
