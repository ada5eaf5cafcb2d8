//go:build system

package system

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// containerEvents lists the actions of the recorded events about the
// container id, in order.
func (e *Env) containerEvents(id string) []string {
	e.T.Helper()
	return lines(e.TugOK("events", "--since", "1h", "--until", "now", "--filter", "container="+id, "--format", "{{.Action}}").Out)
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// on-failure:N restarts a failing container N times, the same container
// each time; always restarts any exit, with the back-off shown by ps.
func TestRestartPolicyRestartsTheSameContainer(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		// Each run adds a line to a file of the container's own layer.
		id := strings.TrimSpace(e.TugOK("run", "-d", "--name", "flaky", "--network", "none", "--restart", "on-failure:2", bb, "sh", "-c", "echo run >> /runs; cat /runs; exit 3").Out)
		waitUntil(t, "two restarts, then the end", func() bool { return e.inspect("flaky", "{{.RestartCount}} {{.State.Status}}") == "2 exited" })
		if got := e.inspect("flaky", "{{.Id}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}"); got != id+" 3 on-failure 2" {
			t.Fatalf("after the restarts: %q", got)
		}
		if logs := e.TugOK("logs", "flaky").Out; logs != "run\nrun\nrun\nrun\nrun\nrun\n" {
			t.Fatalf("the log of the three runs (1, 2 and 3 lines of the same file): %q", logs)
		}
		evs := e.containerEvents(id)
		if count(evs, "start") != 3 || count(evs, "die") != 3 {
			t.Fatalf("events: %v", evs)
		}
		// Success is not a failure.
		e.TugOK("run", "-d", "--name", "fine", "--network", "none", "--restart", "on-failure", bb, "true")
		waitUntil(t, "the exit", func() bool { return e.inspect("fine", "{{.State.Status}}") == "exited" })
		if n := e.inspect("fine", "{{.RestartCount}}"); n != "0" {
			t.Fatalf("on-failure restarted a success: %s", n)
		}

		// always: exit 0 too, and ps says Restarting while it waits.
		e.TugOK("run", "-d", "--name", "looper", "--network", "none", "--restart", "always", bb, "sh", "-c", "exit 1")
		waitUntil(t, "a restarting state", func() bool {
			return strings.Contains(e.TugOK("ps", "--filter", "name=looper").Out, "Restarting (1) ")
		})
		st := e.inspect("looper", "{{.State.Status}} {{.State.Running}} {{.State.Restarting}}")
		if st != "restarting true true" && st != "running true false" && st != "exited false false" {
			t.Fatalf("state %q", st)
		}
		mustContain(t, e.TugOK("ps", "-a", "--filter", "status=restarting", "--filter", "restart-policy=always").Out, "looper")
		// stop ends it for good.
		e.TugOK("stop", "looper")
		n := e.inspect("looper", "{{.RestartCount}}")
		time.Sleep(time.Second)
		if got := e.inspect("looper", "{{.State.Status}} {{.RestartCount}}"); got != "exited "+n {
			t.Fatalf("restarted after stop: %q (count was %s)", got, n)
		}
		// A manual start begins the count afresh.
		e.TugOK("rm", "-f", "looper")

		// A crash of a long-running container restarts it: new process,
		// same ID, log appended.
		id = strings.TrimSpace(e.TugOK("run", "-d", "--name", "server", "--network", "none", "--restart", "always", bb, "sh", "-c", "echo up; exec sleep 300").Out)
		waitUntil(t, "the server", func() bool { return strings.Contains(e.Tug("logs", "server").Out, "up") })
		pid, _ := strconv.Atoi(e.inspect("server", "{{.State.Pid}}"))
		syscall.Kill(pid, syscall.SIGKILL)
		waitUntil(t, "the restart", func() bool {
			st := e.inspect("server", "{{.State.Status}} {{.RestartCount}} {{.State.Pid}}")
			return strings.HasPrefix(st, "running 1 ") && st != "running 1 "+strconv.Itoa(pid)
		})
		waitUntil(t, "the second run's output", func() bool { return e.Tug("logs", "server").Out == "up\nup\n" })
		if got := e.inspect("server", "{{.Id}}"); got != id {
			t.Fatalf("a new container: %s", got)
		}
		// kill (SIGKILL or the stop signal) is the user's: no restart.
		e.TugOK("kill", "server")
		waitUntil(t, "the kill", func() bool { return e.inspect("server", "{{.State.Status}}") == "exited" })
		time.Sleep(time.Second)
		if got := e.inspect("server", "{{.State.Status}} {{.RestartCount}}"); got != "exited 1" {
			t.Fatalf("restarted after kill: %q", got)
		}
		// start by the user: the count starts over.
		e.TugOK("start", "server")
		if got := e.inspect("server", "{{.State.Status}} {{.RestartCount}}"); got != "running 0" {
			t.Fatalf("after start: %q", got)
		}
		e.TugOK("rm", "-f", "server")
		if m := e.storageMounts(); m != 0 {
			t.Fatalf("%d storage mounts left", m)
		}
	})
}

// A container waiting for its restart can be stopped, killed, waited for
// and removed (with -f only), as with Docker.
func TestRestartingContainerCommands(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		// After eight quick failures the back-off is 12.8 s: long enough to
		// find it restarting and work on it.
		e.TugOK("run", "-d", "--name", "crashy", "--network", "none", "--restart", "always", bb, "false")
		waitUntil(t, "a long back-off", func() bool {
			n, _ := strconv.Atoi(e.inspect("crashy", "{{.RestartCount}}"))
			return n >= 8 && e.inspect("crashy", "{{.State.Status}}") == "restarting"
		})
		r := e.TugFail(1, "rm", "crashy")
		mustContain(t, r.Err, "stop the container before removing or force remove")
		r = e.TugFail(1, "attach", "crashy")
		mustContain(t, r.Err, "restarting")
		if out := e.TugOK("kill", "crashy").Out; out != "crashy\n" {
			t.Fatalf("kill of a restarting container: %q", out)
		}
		if st := e.inspect("crashy", "{{.State.Status}} {{.State.ExitCode}}"); st != "exited 1" {
			t.Fatalf("after kill: %q", st)
		}
		if code := e.TugOK("wait", "crashy").Out; code != "1\n" {
			t.Fatalf("wait: %q", code)
		}
		// rm -f of a restarting one leaves nothing that restarts it.
		e.TugOK("start", "crashy")
		waitUntil(t, "it to restart again", func() bool {
			n, _ := strconv.Atoi(e.inspect("crashy", "{{.RestartCount}}"))
			return n >= 5 && e.inspect("crashy", "{{.State.Status}}") == "restarting"
		})
		e.TugOK("rm", "-f", "crashy")
		time.Sleep(4 * time.Second)
		if out := e.TugOK("ps", "-aq").Out; out != "" {
			t.Fatalf("after rm -f: %q", out)
		}
		if m := e.storageMounts(); m != 0 {
			t.Fatalf("%d storage mounts left", m)
		}
	})
}

func TestRestartPolicyErrors(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		for policy, msg := range map[string]string{
			"sometimes":     "unknown policy 'sometimes'",
			"always:3":      "maximum retry count can only be used with 'on-failure'",
			"on-failure:x":  "maximum retry count must be an integer",
			"on-failure:-1": "maximum retry count cannot be negative",
		} {
			r := e.TugFail(125, "run", "-d", "--restart", policy, bb, "true")
			mustContain(t, r.Err, msg)
		}
		r := e.TugFail(125, "run", "--rm", "--restart", "always", bb, "true")
		mustContain(t, r.Err, "Conflicting options: --restart and --rm")
		r = e.TugFail(125, "create", "--rm", "--restart", "on-failure:2", bb, "true")
		mustContain(t, r.Err, "Conflicting options: --restart and --rm")
		if out := e.TugOK("ps", "-aq").Out; out != "" {
			t.Fatalf("a refused run created %q", out)
		}
		r = e.TugFail(125, "ps", "--filter", "restart-policy=sometimes")
		mustContain(t, r.Err, "restart-policy")
	})
}

// After a reboot the reboot restart (contrib/systemd/tug-restart.service)
// starts the containers Docker's daemon would: always ones, and the
// unless-stopped ones the user did not stop.
func TestRebootRestart(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		boot := filepath.Join(e.TmpDir, "boot_id")
		e.WriteFile(boot, []byte("boot-one\n"))
		e.ExtraEnv = []string{"TUG_BOOT_ID_FILE=" + boot}
		run := func(name, policy string) {
			e.TugOK("run", "-d", "--name", name, "--network", "none", "--restart", policy, bb, "sleep", "300")
		}
		run("always-running", "always")
		run("always-stopped", "always")
		run("unless-running", "unless-stopped")
		run("unless-stopped", "unless-stopped")
		run("no-policy", "no")
		run("onfail-running", "on-failure")
		run("onfail-stopped", "on-failure:3")
		e.TugOK("stop", "-t", "0", "always-stopped", "unless-stopped", "onfail-stopped")
		// The reboot: every process goes, then the kernel has a new boot ID.
		for _, n := range []string{"always-running", "unless-running", "no-policy", "onfail-running"} {
			pid, _ := strconv.Atoi(e.inspect(n, "{{.State.Pid}}"))
			mon := monitorPid(t, e, n)
			syscall.Kill(mon, syscall.SIGKILL)
			syscall.Kill(pid, syscall.SIGKILL)
			waitUntil(t, "the processes to go", func() bool { return syscall.Kill(pid, 0) != nil && syscall.Kill(mon, 0) != nil })
		}
		e.WriteFile(boot, []byte("boot-two\n"))
		if st := e.inspect("always-running", "{{.State.Status}} {{.State.ExitCode}}"); st != "exited 255" {
			t.Fatalf("after the reboot: %q", st)
		}
		// What contrib/systemd/tug-restart.service runs.
		out := e.TugOK("start", "--all", "--filter", "restart-policy=always", "--filter", "restart-policy=unless-stopped", "--filter", "restart-policy=on-failure").Out
		if got := len(lines(out)); got != 4 {
			t.Fatalf("started %d containers: %q", got, out)
		}
		for name, want := range map[string]string{
			"always-running": "running", "always-stopped": "running", "unless-running": "running", "onfail-running": "running",
			"unless-stopped": "exited", "no-policy": "exited", "onfail-stopped": "exited",
		} {
			if st := e.inspect(name, "{{.State.Status}}"); st != want {
				t.Errorf("%s: %s, want %s", name, st, want)
			}
		}
		// start --all without a filter starts the rest; it needs no names.
		out = e.TugOK("start", "--all").Out
		if got := len(lines(out)); got != 3 {
			t.Fatalf("start --all started %d: %q", got, out)
		}
		if out := e.TugOK("ps", "-a", "--filter", "status=exited", "-q").Out; out != "" {
			t.Fatalf("still exited: %q", out)
		}
		r := e.TugFail(125, "start", "--all", "no-policy")
		mustContain(t, r.Err, "--all and container names cannot be used together")
		e.TugFail(125, "start")
	})
}

// touchInContainer creates a file in a running container, from the host.
func (e *Env) touchInContainer(name, path string) {
	e.T.Helper()
	merged := e.inspect(name, "{{.GraphDriver.Data.MergedDir}}")
	if e.Rootless {
		e.TugOK("unshare", "touch", merged+path)
		return
	}
	if err := os.WriteFile(merged+path, nil, 0o644); err != nil {
		e.T.Fatal(err)
	}
}

func (e *Env) removeInContainer(name, path string) {
	e.T.Helper()
	merged := e.inspect(name, "{{.GraphDriver.Data.MergedDir}}")
	if e.Rootless {
		e.TugOK("unshare", "rm", merged+path)
		return
	}
	if err := os.Remove(merged + path); err != nil {
		e.T.Fatal(err)
	}
}

// The image's HEALTHCHECK runs in the container: starting, unhealthy after
// its retries, healthy once the check passes, in ps, inspect and events.
func TestHealthCheckFromTheImage(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		img := Img("health")
		e.TugOK("pull", "-q", img)
		id := strings.TrimSpace(e.TugOK("run", "-d", "--name", "hc", "--network", "none", img).Out)
		if got := e.inspect("hc", "{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Retries}}"); got != `["CMD-SHELL","test -f /tmp/healthy && echo ok"] 2` {
			t.Fatalf("Config.Healthcheck: %s", got)
		}
		waitUntil(t, "unhealthy", func() bool { return e.TugOK("ps", "-q", "--filter", "health=unhealthy").Out != "" })
		mustContain(t, e.TugOK("ps", "--format", "{{.Status}}").Out, "(unhealthy)")
		if got := e.inspect("hc", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}"); !strings.HasPrefix(got, "unhealthy ") || got == "unhealthy 0" || got == "unhealthy 1" {
			t.Fatalf("health %q", got)
		}
		e.touchInContainer("hc", "/tmp/healthy")
		waitUntil(t, "healthy", func() bool { return e.TugOK("ps", "-q", "--filter", "health=healthy").Out != "" })
		mustContain(t, e.TugOK("ps", "--format", "{{.Status}}").Out, "(healthy)")
		var h struct {
			Status        string
			FailingStreak int
			Log           []struct {
				Start, End string
				ExitCode   int
				Output     string
			}
		}
		if err := json.Unmarshal([]byte(e.inspect("hc", "{{json .State.Health}}")), &h); err != nil {
			t.Fatal(err)
		}
		last := h.Log[len(h.Log)-1]
		if h.Status != "healthy" || h.FailingStreak != 0 || len(h.Log) > 5 || last.ExitCode != 0 || last.Output != "ok\n" || last.Start == "" || last.End < last.Start {
			t.Fatalf("State.Health %+v", h)
		}
		if r := e.Tug("healthcheck", "run", "hc"); r.Code != 0 || r.Out != "" {
			t.Fatalf("healthcheck run of a healthy container: %d %q %s", r.Code, r.Out, r.Err)
		}
		e.removeInContainer("hc", "/tmp/healthy")
		waitUntil(t, "unhealthy again", func() bool { return e.TugOK("ps", "-q", "--filter", "health=unhealthy").Out != "" })
		if r := e.TugFail(1, "healthcheck", "run", "hc"); r.Out != "unhealthy\n" {
			t.Fatalf("healthcheck run of an unhealthy container: %q", r.Out)
		}
		evs := e.containerEvents(id)
		if count(evs, "health_status: healthy") != 1 || count(evs, "health_status: unhealthy") != 2 {
			t.Fatalf("events %v", evs)
		}
		// A stopped container is unhealthy, with its last probes kept.
		e.TugOK("stop", "-t", "0", "hc")
		mustContain(t, e.TugFail(125, "healthcheck", "run", "hc").Err, "is not running")
		if got := e.inspect("hc", "{{.State.Health.Status}} {{len .State.Health.Log}}"); got != "unhealthy 5" {
			t.Fatalf("after stop: %q", got)
		}
		// --no-healthcheck turns the image's off; a container without one is health=none.
		e.TugOK("run", "-d", "--name", "nohc", "--network", "none", "--no-healthcheck", img)
		if got := e.inspect("nohc", "{{json .Config.Healthcheck.Test}} {{.State.Health}}"); got != `["NONE"] <nil>` {
			t.Fatalf("--no-healthcheck: %s", got)
		}
		if out := e.TugOK("ps", "--filter", "health=none", "--format", "{{.Names}} {{.Status}}").Out; !strings.HasPrefix(out, "nohc Up ") || strings.Contains(out, "(") {
			t.Fatalf("health=none: %q", out)
		}
		mustContain(t, e.TugFail(125, "healthcheck", "run", "nohc").Err, "no defined healthcheck")
	})
}

// --health-* flags: a check that times out, and one with a start period.
func TestHealthCheckFlags(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		e.TugOK("run", "-d", "--name", "slow", "--network", "none", "--health-cmd", "echo probing; sleep 10",
			"--health-timeout", "300ms", "--health-interval", "100ms", "--health-retries", "1", bb, "sleep", "300")
		waitUntil(t, "unhealthy", func() bool { return e.inspect("slow", "{{.State.Health.Status}}") == "unhealthy" })
		if out := e.inspect("slow", "{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}"); out != "-1 Health check exceeded timeout (300ms): probing" {
			t.Fatalf("timeout: %q", out)
		}
		// In the start period failures do not count: starting until the first success.
		e.TugOK("run", "-d", "--name", "warming", "--network", "none", "--user", "1000", "--health-cmd", "id -u; test -f /tmp/up",
			"--health-interval", "100ms", "--health-start-period", "1h", "--health-start-interval", "100ms", "--health-retries", "1", bb, "sh", "-c", "sleep 300")
		waitUntil(t, "a few probes", func() bool {
			var n int
			fmt.Sscan(e.inspect("warming", "{{len .State.Health.Log}}"), &n)
			return n >= 3
		})
		if got := e.inspect("warming", "{{.State.Health.Status}} {{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).Output}}"); got != "starting 0 1000" {
			t.Fatalf("in the start period: %q", got)
		}
		mustContain(t, e.TugOK("ps", "--filter", "name=warming").Out, "(health: starting)")
		for _, bad := range [][]string{
			{"--no-healthcheck", "--health-cmd", "true"},
			{"--health-interval", "-1s"},
			{"--health-retries", "-1"},
			{"--health-interval", "1us"},
		} {
			r := e.TugFail(125, append(append([]string{"run", "-d"}, bad...), bb, "true")...)
			if !strings.Contains(r.Err, "health") && !strings.Contains(r.Err, "Healthcheck") {
				t.Errorf("%v: %s", bad, r.Err)
			}
		}
		r := e.TugFail(125, "ps", "--filter", "health=sick")
		mustContain(t, r.Err, "health=sick")
	})
}

// descendants lists the processes under pid (its children, theirs...) with
// their state letter.
func descendants(pid int) map[int]string {
	children := map[int][]int{}
	state := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		p, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], p)
		state[p] = f[0]
	}
	out := map[int]string{}
	var walk func(int)
	walk = func(p int) {
		for _, c := range children[p] {
			out[c] = state[c]
			walk(c)
		}
	}
	walk(pid)
	return out
}

func zombies(pid int) int {
	n := 0
	for _, st := range descendants(pid) {
		if st == "Z" {
			n++
		}
	}
	return n
}

// --init: tug's PID 1 reaps orphans, forwards signals and passes the
// command's exit code on.
func TestInit(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		r := e.Tug("run", "--rm", "--init", "--network", "none", bb, "sh", "-c", "cat /proc/1/comm; exit 7")
		if r.Code != 7 || r.Out != "tug-init\n" {
			t.Fatalf("run --init: exit %d, %q %s", r.Code, r.Out, r.Err)
		}
		// An orphan: its parent exits, and PID 1 (here a sleep that never
		// waits) inherits it. Without --init it stays a zombie.
		orphan := `(sh -c "sleep 0.2; echo orphan done" &); exec sleep 300`
		e.TugOK("run", "-d", "--name", "plain", "--network", "none", bb, "sh", "-c", orphan)
		e.TugOK("run", "-d", "--name", "inited", "--network", "none", "--init", bb, "sh", "-c", orphan)
		for _, n := range []string{"plain", "inited"} {
			waitUntil(t, "the orphan", func() bool { return strings.Contains(e.Tug("logs", n).Out, "orphan done") })
		}
		plain, _ := strconv.Atoi(e.inspect("plain", "{{.State.Pid}}"))
		inited, _ := strconv.Atoi(e.inspect("inited", "{{.State.Pid}}"))
		waitUntil(t, "the zombie without init", func() bool { return zombies(plain) == 1 })
		waitUntil(t, "the orphan reaped by the init", func() bool {
			d := descendants(inited)
			return len(d) == 1 && zombies(inited) == 0
		})
		if got := e.inspect("inited", "{{.HostConfig.Init}}"); got != "true" {
			t.Fatalf("HostConfig.Init %q", got)
		}
		// stop's SIGTERM reaches the command (sleep dies of it) rather than
		// an init that ignores it (SIGKILL after the timeout: 137).
		e.TugOK("stop", "-t", "60", "inited")
		if code := e.inspect("inited", "{{.State.ExitCode}}"); code != "143" {
			t.Fatalf("stop of an --init container: exit %s", code)
		}
		// A terminal works through the init.
		r = e.tty(`tty\n|exit 4\n`, "run", "-it", "--rm", "--init", "--network", "none", bb, "sh")
		if r.Code != 4 {
			t.Fatalf("run -it --init: exit %d: %s", r.Code, r.Combined())
		}
		mustContain(t, r.Out, "/dev/pts/0")
	})
}

// 50 run -d and rm -f from several shells at once: all succeed, names are
// unique, nothing is left.
func TestConcurrentRunAndRmFromShells(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		script := fmt.Sprintf(`
set -u
shell() {
	for i in 1 2 3 4 5 6 7 8 9 10; do
		$TUG run -d --network none %s sleep 300 >> ids.$1 2>> errs.$1 || echo "run failed" >> errs.$1 &
	done
	wait
}
for s in 1 2 3 4 5; do shell $s & done
wait
cat ids.* | sort | uniq | wc -l
cat errs.* 2>/dev/null
`, bb)
		r := e.ShOK(script)
		if !strings.HasPrefix(r.Out, "50\n") || strings.TrimPrefix(r.Out, "50\n") != "" {
			t.Fatalf("50 runs from 5 shells: %s%s", r.Out, r.Err)
		}
		names := lines(e.TugOK("ps", "--format", "{{.Names}}").Out)
		seen := map[string]bool{}
		for _, n := range names {
			if seen[n] {
				t.Fatalf("name %s given twice", n)
			}
			seen[n] = true
		}
		if len(names) != 50 {
			t.Fatalf("%d running, want 50", len(names))
		}
		// rm -f of all of them, from 5 shells, while more runs come and go.
		r = e.ShOK(`
i=0
for id in $(cat ids.*); do
	i=$((i+1))
	$TUG rm -f $id >/dev/null 2>> rmerrs.$((i % 5)) || echo "rm failed" >> rmerrs.$((i % 5)) &
	if [ $((i % 10)) = 0 ]; then
		($TUG run --rm --network none ` + bb + ` true 2>> rmerrs.x || echo "run --rm failed" >> rmerrs.x) &
	fi
done
wait
cat rmerrs.* 2>/dev/null
`)
		if strings.TrimSpace(r.Out) != "" {
			t.Fatalf("concurrent rm -f: %s", r.Out)
		}
		if out := e.TugOK("ps", "-aq").Out; out != "" {
			t.Fatalf("left: %q", out)
		}
		if m := e.storageMounts(); m != 0 {
			t.Fatalf("%d storage mounts leaked", m)
		}
	})
}

// stop of one container never waits for another's: two containers that
// ignore SIGTERM, stopped at once, both get their SIGTERM while both
// stops are still waiting.
func TestStopsDoNotWaitForEachOther(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		for _, n := range []string{"a", "b"} {
			e.TugOK("run", "-d", "--name", n, "--network", "none", bb, "sh", "-c", "trap 'echo got TERM' TERM; echo ready; while :; do sleep 0.1; done")
			waitUntil(t, "the trap", func() bool { return strings.Contains(e.Tug("logs", n).Out, "ready") })
		}
		r := e.ShOK(`
$TUG stop -t 20 a > stop-a.out 2>&1 & a=$!
$TUG stop -t 20 b > stop-b.out 2>&1 & b=$!
for i in $(seq 1 100); do
	if $TUG logs a | grep -q "got TERM" && $TUG logs b | grep -q "got TERM"; then break; fi
	sleep 0.1
done
# Both have their SIGTERM: are both stops still waiting?
kill -0 $a && kill -0 $b && echo "both waiting"
kill $a $b
wait
`)
		if !strings.Contains(r.Out, "both waiting") {
			t.Fatalf("the stops did not overlap: %s %s", r.Out, r.Err)
		}
		e.TugOK("rm", "-f", "a", "b")
	})
}

// kill -9 of `run -d` at any point leaves what the next calls repair.
func TestRunKilledAtAnyPoint(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		r := e.ShOK(`
for d in 0 0.005 0.01 0.02 0.03 0.05 0.08 0.12 0.2 0.3; do
	$TUG run -d --network none ` + bb + ` sleep 300 >/dev/null 2>&1 & p=$!
	sleep $d; kill -9 $p; wait $p 2>/dev/null
done
$TUG ps -aq | xargs -r $TUG rm -f >/dev/null || echo "rm failed"
$TUG ps -aq
`)
		if strings.TrimSpace(r.Out) != "" {
			t.Fatalf("after interrupted runs: %q %s", r.Out, r.Err)
		}
		if m := e.storageMounts(); m != 0 {
			t.Fatalf("%d storage mounts leaked", m)
		}
		// The same for rm -f of a running container.
		r = e.ShOK(`
for d in 0 0.005 0.01 0.02 0.03 0.05 0.08 0.12; do
	id=$($TUG run -d --network none ` + bb + ` sleep 300) || echo "run failed"
	$TUG rm -f $id >/dev/null 2>&1 & p=$!
	sleep $d; kill -9 $p; wait $p 2>/dev/null
done
$TUG ps -aq | xargs -r $TUG rm -f >/dev/null || echo "rm failed"
$TUG ps -aq
`)
		if strings.TrimSpace(r.Out) != "" {
			t.Fatalf("after interrupted removals: %q %s", r.Out, r.Err)
		}
		if m := e.storageMounts(); m != 0 {
			t.Fatalf("%d storage mounts leaked", m)
		}
		// The engine still works.
		if out := e.TugOK("run", "--rm", "--network", "none", bb, "echo", "ok").Out; out != "ok\n" {
			t.Fatalf("run after: %q", out)
		}
	})
}

// A signal sent as soon as run -d returns reaches the command, not the
// runtime's init still setting it up: sleep as PID 1 ignores SIGTERM and
// runs on; under tug's init it gets it and dies of it.
func TestSignalRightAfterRunReachesTheCommand(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		r := e.ShOK(`
for i in 1 2 3 4 5 6 7 8 9 10; do
	$TUG run -d --name plain$i --network none ` + Img("busybox") + ` sleep 300 >/dev/null && $TUG kill -s TERM plain$i >/dev/null
	$TUG run -d --name init$i --init --network none ` + Img("busybox") + ` sleep 300 >/dev/null && $TUG kill -s TERM init$i >/dev/null
done
`)
		for i := 1; i <= 10; i++ {
			n := strconv.Itoa(i)
			for try := 0; e.inspect("init"+n, "{{.State.Status}}") != "exited"; try++ {
				if try == 200 {
					t.Fatalf("init%d: still %s after SIGTERM\n%s", i, e.inspect("init"+n, "{{.State.Status}} {{.State.Pid}} {{.State.Error}}"), r.Err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if got := e.inspect("init"+n, "{{.State.ExitCode}}"); got != "143" {
				t.Errorf("init%d: exit %s, want 143 (SIGTERM)", i, got)
			}
			if got := e.inspect("plain"+n, "{{.State.Status}}"); got != "running" {
				t.Errorf("plain%d: %s %s, want running", i, got, e.inspect("plain"+n, "{{.State.ExitCode}}"))
			}
		}
	})
}
