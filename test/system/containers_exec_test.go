//go:build system

package system

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// runQuotes starts the seed's "quotes" container (a local loop instead of
// the dead web API) and returns its name.
func (e *Env) runQuotes(name string, extra ...string) string {
	e.T.Helper()
	args := append([]string{"run", "-d", "--name", name}, extra...)
	args = append(args, Img("busybox"), "/bin/sh", "-c", "while :; do date; sleep 1; done")
	e.TugOK(args...)
	return name
}

func TestContainersExec(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		q := e.runQuotes("quotes", "-e", "FROM_RUN=yes")
		// B2: ps in the container shows the main command as PID 1.
		out := e.TugOK("exec", q, "ps").Out
		first := lines(out)
		if len(first) < 3 || !strings.HasPrefix(strings.TrimSpace(first[1]), "1 root") || !strings.Contains(first[1], "while :; do date") {
			t.Fatalf("ps in the container:\n%s", out)
		}
		// B4: -e, on top of the container's environment.
		if r := e.TugOK("container", "exec", "-e", "MY_VAR=Hello World", q, "sh", "-c", `echo "$MY_VAR/$FROM_RUN/$HOSTNAME"`); r.Out != "Hello World/yes/"+e.inspect(q, "{{.Config.Hostname}}")+"\n" {
			t.Fatalf("exec -e: %q", r.Out)
		}
		envFile := filepath.Join(e.TmpDir, "exec.env")
		e.WriteFile(envFile, []byte("# a comment\nFROM_FILE=file value\n"))
		if r := e.TugOK("exec", "--env-file", envFile, q, "sh", "-c", "echo $FROM_FILE"); r.Out != "file value\n" {
			t.Fatalf("exec --env-file: %q", r.Out)
		}
		// Exit codes: the command's; 127 not found; 126 not executable.
		e.TugFail(7, "exec", q, "sh", "-c", "exit 7")
		r := e.TugFail(127, "exec", q, "no-such-command")
		mustContain(t, r.Err, "executable file not found")
		r = e.TugFail(126, "exec", q, "/etc")
		mustContain(t, r.Err, "/etc")
		r = e.TugFail(126, "exec", "-u", "nosuchuser", q, "id")
		mustContain(t, r.Err, "unable to find user nosuchuser")
		// -u resolves in the image; -w; -i feeds stdin.
		if out := e.TugOK("exec", "-u", "tuguser", "-w", "/tmp", q, "sh", "-c", "id -u; pwd; echo $HOME").Out; out != "1000\n/tmp\n/home/tuguser\n" {
			t.Fatalf("exec -u -w: %q", out)
		}
		if r := e.TugStdin("through stdin\n", "exec", "-i", q, "cat"); r.Code != 0 || r.Out != "through stdin\n" {
			t.Fatalf("exec -i: %d %q", r.Code, r.Out)
		}
		// Without -i stdin is not the caller's.
		if r := e.TugStdin("ignored\n", "exec", q, "cat"); r.Code != 0 || r.Out != "" {
			t.Fatalf("exec without -i read stdin: %q", r.Out)
		}
		// The container's security settings: its seccomp profile (not just
		// the late half), its capabilities, none for a non-root user; no
		// descriptor of tug's reaches the command.
		// Two filters: the profile with the setup calls (the early program)
		// and the refusal of those calls; the late one alone would be one.
		out = e.TugOK("exec", q, "grep", "-E", "^(Seccomp|Seccomp_filters|CapEff):", "/proc/self/status").Out
		mustContain(t, out, "Seccomp:\t2", "Seccomp_filters:\t2", "CapEff:\t00000000a80425fb")
		if out := e.TugOK("exec", q, "sh", "-c", "ls /proc/$$/fd; true").Out; out != "0\n1\n2\n" {
			t.Fatalf("descriptors leaked into the exec: %q", out)
		}
		if r := e.Tug("exec", q, "sh", "-c", "unshare -m true && mount -t tmpfs t /mnt"); r.Code == 0 {
			t.Fatalf("exec escaped the seccomp profile: %s", r.Combined())
		}
		if out := e.TugOK("exec", "-u", "1000", q, "grep", "CapEff", "/proc/self/status").Out; !strings.Contains(out, "0000000000000000") {
			t.Fatalf("a non-root exec has capabilities: %q", out)
		}
		if out := e.TugOK("exec", "--privileged", q, "grep", "CapEff", "/proc/self/status").Out; strings.Contains(out, "00000000a80425fb") {
			t.Fatalf("--privileged did not add capabilities: %q", out)
		}
		// The image's user and working directory are the default.
		e.TugOK("run", "-d", "--name", "cfg", "--entrypoint", "sleep", Img("config"), "300")
		if out := e.TugOK("exec", "cfg", "sh", "-c", "id -un; pwd; echo $TUG_TEST").Out; out != "tuguser\n/work\nconfig\n" {
			t.Fatalf("exec in the config image: %q", out)
		}

		// -d: the CLI returns at once; the process runs on, its parent is
		// the exec monitor, not the (gone) CLI.
		e.TugOK("exec", "-d", q, "sh", "-c", "echo started > /tmp/marker; exec sleep 300")
		waitUntil(t, "the detached exec", func() bool { return e.Tug("exec", q, "cat", "/tmp/marker").Out == "started\n" })
		top := e.TugOK("top", q, "-o", "pid,ppid,args").Out
		var ppid string
		for _, l := range lines(top) {
			if f := strings.Fields(l); len(f) >= 4 && f[2] == "sleep" && f[3] == "300" {
				ppid = f[1]
			}
		}
		if ppid == "" {
			t.Fatalf("the detached process is not in top:\n%s", top)
		}
		if cmdline, _ := os.ReadFile("/proc/" + ppid + "/cmdline"); string(cmdline) != "tug-exec\x00" {
			t.Fatalf("the detached process's parent is %q, not the exec monitor", cmdline)
		}

		// A stopped container: Docker's error, exit 1.
		e.TugOK("stop", "-t", "0", q)
		r = e.TugFail(1, "exec", q, "true")
		mustContain(t, r.Err, "is not running")
		r = e.TugFail(1, "exec", "no-such-container", "true")
		mustContain(t, r.Err, "No such container")
		e.TugFail(125, "exec", q)
		e.TugFail(125, "exec", "-w", "relative", "cfg", "pwd")
	})
}

func TestContainersExecTTY(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		q := e.runQuotes("quotes")
		// B1 and B4 through a real terminal.
		r := e.tty(`ps\n|echo "$MY_VAR from $(tty) $TERM"\n|stty size\n|exit 3\n`, "exec", "-it", "-e", `'MY_VAR=Hello World'`, q, "/bin/sh")
		if r.Code != 3 {
			t.Fatalf("exec -it exit code %d: %s", r.Code, r.Combined())
		}
		mustContain(t, r.Out, "/ # ", "1 root     /bin/sh -c while", "Hello World from /dev/pts/0 xterm", "30 100")
		// Ctrl-P Ctrl-Q detaches; the shell runs on.
		r = e.tty(`echo before\n|\020\021`, "exec", "-it", q, "sh")
		if r.Code != 0 {
			t.Fatalf("detach from exec: %d %s", r.Code, r.Combined())
		}
		ps := e.TugOK("exec", q, "ps", "-o", "args").Out
		if !strings.Contains("\n"+ps, "\nsh\n") {
			t.Fatalf("the detached shell is gone:\n%s", ps)
		}
		// -it without a terminal is refused.
		r = e.Tug("exec", "-it", q, "true")
		if r.Code == 0 || !strings.Contains(r.Err, "not a TTY") {
			t.Fatalf("exec -it without a terminal: %d %q", r.Code, r.Err)
		}
		// -t alone, from a script: the output comes through the terminal.
		if out := e.TugOK("exec", "-t", q, "tty").Out; !strings.HasPrefix(out, "/dev/pts/") {
			t.Fatalf("exec -t: %q", out)
		}
	})
}

func TestContainersTop(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		q := e.runQuotes("quotes")
		e.TugOK("exec", "-d", q, "sleep", "301")
		out := e.TugOK("top", q).Out
		ls := lines(out)
		if got := strings.Fields(ls[0]); strings.Join(got, " ") != "UID PID PPID C STIME TTY TIME CMD" {
			t.Fatalf("top header: %q", ls[0])
		}
		mustContain(t, out, "/bin/sh -c while :; do date; sleep 1; done", "sleep 301")
		for _, l := range ls[1:] {
			if strings.Contains(l, "tug-monitor") || strings.Contains(l, "tug-exec") || strings.Contains(l, "ps -ef") {
				t.Fatalf("top shows a process outside the container: %q", l)
			}
			pid, _ := strconv.Atoi(strings.Fields(l)[1])
			if pid <= 1 {
				t.Fatalf("top shows no host PID: %q", l)
			}
		}
		// The root's container processes are UID root as the container sees it.
		if !strings.HasPrefix(ls[1], "root ") {
			t.Fatalf("top UID: %q", ls[1])
		}
		out = e.TugOK("container", "top", q, "-o", "pid,comm").Out
		if f := strings.Fields(lines(out)[0]); len(f) != 2 || f[0] != "PID" || f[1] != "COMMAND" {
			t.Fatalf("top -o: %q", out)
		}
		r := e.TugFail(125, "top", q, "-o", "pid=X")
		mustContain(t, r.Err, "PID")
		e.TugOK("stop", "-t", "0", q)
		r = e.TugFail(1, "top", q)
		mustContain(t, r.Err, "is not running")
	})
}
