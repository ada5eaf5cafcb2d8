//go:build system

package system

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestContainersPsColumnsAndFilters(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		e.TugOK("run", "--name", "done0", "-l", "tier=db", bb, "true")
		e.Tug("run", "--name", "done3", bb, "sh", "-c", "exit 3")
		e.TugOK("create", "--name", "fresh", bb, "true")
		web := e.ID(e.TugOK("run", "-d", "--name", "web", "-l", "tier=web", bb, "sleep", "300").Out)

		out := e.TugOK("ps").Out
		ls := lines(out)
		if len(ls) != 2 {
			t.Fatalf("ps shows %d lines, want a header and web:\n%s", len(ls), out)
		}
		if !regexp.MustCompile(`^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$`).MatchString(ls[0]) {
			t.Fatalf("ps header: %q", ls[0])
		}
		if !regexp.MustCompile(`^` + web[:12] + ` +` + regexp.QuoteMeta(bb) + ` +"sleep 300" +(Less than a second|\d+ seconds?) ago +Up (Less than a second|\d+ seconds?) +web$`).MatchString(ls[1]) {
			t.Fatalf("ps row: %q", ls[1])
		}
		// The awk pipeline of the book: first column is the short ID.
		if id := e.ShOK(`$TUG ps | grep web | awk '{print $1}'`).Out; strings.TrimSpace(id) != web[:12] {
			t.Fatalf("awk pipeline: %q", id)
		}
		all := e.TugOK("ps", "-a").Out
		mustContain(t, all, "Exited (0) ", "Exited (3) ", "Created", "fresh", "done0", "done3")
		if n := len(lines(e.TugOK("ps", "-aq").Out)); n != 4 {
			t.Fatalf("ps -aq: %d IDs", n)
		}
		if q := e.TugOK("ps", "-q").Out; q != web[:12]+"\n" {
			t.Fatalf("ps -q: %q", q)
		}
		if l := lines(e.TugOK("ps", "-l").Out); len(l) != 2 || !strings.HasSuffix(l[1], "web") {
			t.Fatalf("ps -l: %q", l)
		}
		if n := lines(e.TugOK("ps", "-n", "2", "--format", "{{.Names}}").Out); strings.Join(n, ",") != "web,fresh" {
			t.Fatalf("ps -n 2: %q", n)
		}
		if id := e.TugOK("ps", "-q", "--no-trunc").Out; id != web+"\n" {
			t.Fatalf("--no-trunc: %q", id)
		}
		filter := func(f ...string) string {
			args := []string{"ps", "-a", "--format", "{{.Names}}"}
			for _, x := range f {
				args = append(args, "--filter", x)
			}
			return strings.Join(lines(e.TugOK(args...).Out), ",")
		}
		for f, want := range map[string]string{
			"status=exited":  "done3,done0",
			"status=created": "fresh",
			"status=running": "web",
			"exited=3":       "done3",
			"name=^done":     "done3,done0",
			"label=tier":     "web,done0",
			"label=tier=db":  "done0",
			"id=" + web[:6]:  "web",
			"before=fresh":   "done3,done0",
			"since=done3":    "web,fresh",
			"ancestor=" + bb: "web,fresh,done3,done0",
		} {
			if got := filter(f); got != want {
				t.Errorf("--filter %s: %q, want %q", f, got, want)
			}
		}
		if got := filter("status=exited", "label=tier"); got != "done0" {
			t.Errorf("two filters: %q", got)
		}
		if got := filter("status=exited", "status=created"); got != "fresh,done3,done0" {
			t.Errorf("same filter twice: %q", got)
		}
		e.TugFail(125, "ps", "--filter", "color=red")
		// --format table, plain templates, json.
		tab := lines(e.TugOK("ps", "--format", "table {{.ID}}\t{{.Names}}").Out)
		if len(tab) != 2 || !regexp.MustCompile(`^CONTAINER ID +NAMES$`).MatchString(tab[0]) {
			t.Fatalf("--format table: %q", tab)
		}
		if out := e.TugOK("ps", "--format", `{{.Names}} {{.Label "tier"}} {{.State}}`).Out; out != "web web running\n" {
			t.Fatalf("--format template: %q", out)
		}
		var row map[string]any
		if err := json.Unmarshal([]byte(e.TugOK("ps", "--format", "json").Out), &row); err != nil || row["Names"] != "web" || row["ID"] != web[:12] || row["State"] != "running" {
			t.Fatalf("--format json: %v %v", row, err)
		}
		if out := e.TugOK("ps", "-s").Out; !strings.Contains(out, "SIZE") || !strings.Contains(out, "(virtual ") {
			t.Fatalf("ps -s: %s", out)
		}
		e.TugFail(125, "ps", "--format", "{{.Nope")
		// Both command forms.
		if a, b := e.TugOK("container", "ls", "-aq").Out, e.TugOK("container", "ps", "-aq").Out; a != b {
			t.Fatal("container ls and container ps differ")
		}
	})
}

func TestContainersRandomNamesAreUnique(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		re := regexp.MustCompile(`^[a-z]+_[a-z]+[0-9]?$`)
		seen := map[string]bool{}
		for i := 0; i < 12; i++ {
			e.TugOK("create", Img("busybox"), "true")
		}
		for _, n := range lines(e.TugOK("ps", "-a", "--format", "{{.Names}}").Out) {
			if !re.MatchString(n) || seen[n] {
				t.Fatalf("random name %q: not adjective_surname, or repeated", n)
			}
			seen[n] = true
		}
	})
}

func TestContainersStopKillRestartRm(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		// A script that traps SIGTERM sees it and exits on its own.
		e.TugOK("run", "-d", "--name", "trap", bb, "sh", "-c", "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.1; done")
		e.waitReady("trap")
		if out := e.TugOK("stop", "trap").Out; out != "trap\n" {
			t.Fatalf("stop prints the name: %q", out)
		}
		if st := e.inspect("trap", "{{.State.Status}} {{.State.ExitCode}}"); st != "exited 7" {
			t.Fatalf("after stop: %q", st)
		}
		mustContain(t, e.TugOK("logs", "trap").Out, "got TERM")
		// PID 1 ignores SIGTERM without a handler: stop falls back to SIGKILL after -t.
		e.TugOK("run", "-d", "--name", "stubborn", bb, "sleep", "300")
		start := time.Now()
		e.TugOK("stop", "-t", "1", "stubborn")
		if el := time.Since(start); el < time.Second {
			t.Fatalf("stop -t 1 returned after %v, before the timeout", el)
		}
		if st := e.inspect("stubborn", "{{.State.Status}} {{.State.ExitCode}}"); st != "exited 137" {
			t.Fatalf("after SIGKILL: %q", st)
		}
		mustContain(t, e.TugOK("ps", "-a", "--filter", "name=stubborn").Out, "Exited (137)")
		// The config image's STOPSIGNAL is SIGUSR1.
		e.TugOK("run", "-d", "--name", "usr1", "--entrypoint", "sh", Img("config"), "-c", "trap 'exit 10' USR1; trap 'exit 15' TERM; echo ready; while :; do sleep 0.1; done")
		if sig := e.inspect("usr1", "{{.Config.StopSignal}}"); sig != "SIGUSR1" {
			t.Fatalf("StopSignal %q", sig)
		}
		e.waitReady("usr1")
		e.TugOK("stop", "usr1")
		if code := e.inspect("usr1", "{{.State.ExitCode}}"); code != "10" {
			t.Fatalf("STOPSIGNAL not used: exit %s", code)
		}
		// --stop-signal overrides it.
		e.TugOK("run", "-d", "--name", "hup", "--stop-signal", "HUP", bb, "sh", "-c", "trap 'exit 11' HUP; echo ready; while :; do sleep 0.1; done")
		e.waitReady("hup")
		e.TugOK("stop", "hup")
		if code := e.inspect("hup", "{{.State.ExitCode}}"); code != "11" {
			t.Fatalf("--stop-signal: exit %s", code)
		}
		// kill -s.
		e.TugOK("run", "-d", "--name", "k", bb, "sh", "-c", "trap 'exit 12' USR2; echo ready; while :; do sleep 0.1; done")
		e.waitReady("k")
		e.TugOK("kill", "-s", "USR2", "k")
		if code := e.TugOK("wait", "k").Out; code != "12\n" {
			t.Fatalf("kill -s USR2 then wait: %q", code)
		}
		r := e.TugFail(1, "kill", "k")
		mustContain(t, r.Err, "is not running")
		// restart, and start of a stopped container.
		e.TugOK("run", "-d", "--name", "r", bb, "sleep", "300")
		pid1 := e.inspect("r", "{{.State.Pid}}")
		e.TugOK("restart", "-t", "0", "r")
		if st := e.inspect("r", "{{.State.Running}} {{.State.Pid}}"); st == "true "+pid1 || !strings.HasPrefix(st, "true ") {
			t.Fatalf("restart: %q (pid before %s)", st, pid1)
		}
		e.TugOK("stop", "-t", "0", "r")
		e.TugOK("start", "r")
		if st := e.inspect("r", "{{.State.Running}}"); st != "true" {
			t.Fatalf("start of a stopped container: %q", st)
		}
		// rm refuses a running container, rm -f removes it.
		r = e.TugFail(1, "rm", "r")
		mustContain(t, r.Err, "container is running")
		if out := e.TugOK("rm", "-f", "r").Out; out != "r\n" {
			t.Fatalf("rm -f prints the name: %q", out)
		}
		e.TugFail(1, "container", "exists", "r")
		e.TugOK("container", "exists", "k")
		r = e.TugFail(1, "rm", "no-such-container")
		mustContain(t, r.Err, "No such container: no-such-container")
		e.TugOK("rm", "trap", "stubborn")
		// run -d --rm is removed when it exits.
		e.TugOK("run", "-d", "--rm", "--name", "gone", bb, "true")
		waitUntil(t, "the --rm container to go", func() bool { return e.Tug("container", "exists", "gone").Code == 1 })
		if n := e.storageMounts(); n != 0 {
			t.Fatalf("%d storage mounts left of stopped containers", n)
		}
	})
}

func TestContainersInspect(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		id := e.ID(e.TugOK("run", "-d", "--name", "quotes", bb, "sh", "-c", "while :; do date; sleep 1; done").Out)
		doc := inspectJSON(t, e, "quotes")
		for _, k := range []string{"Id", "Created", "Path", "Args", "State", "Image", "Name", "RestartCount", "Config", "HostConfig", "Mounts", "NetworkSettings", "LogPath", "GraphDriver"} {
			if _, ok := doc[k]; !ok {
				t.Errorf("inspect has no %s", k)
			}
		}
		if doc["Id"] != id || doc["Name"] != "/quotes" || doc["Path"] != "sh" || !strings.HasPrefix(doc["Image"].(string), "sha256:") {
			t.Fatalf("inspect: Id %v Name %v Path %v Image %v", doc["Id"], doc["Name"], doc["Path"], doc["Image"])
		}
		var st map[string]any
		if err := json.Unmarshal([]byte(e.TugOK("container", "inspect", "-f", "{{json .State}}", "quotes").Out), &st); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range st {
			keys = append(keys, k)
		}
		want := "Dead,Error,ExitCode,FinishedAt,OOMKilled,Paused,Pid,Restarting,Running,StartedAt,Status"
		if got := strings.Join(sortStrings(keys), ","); got != want {
			t.Fatalf("State keys %s, want %s", got, want)
		}
		if st["Status"] != "running" || st["Running"] != true || st["FinishedAt"] != "0001-01-01T00:00:00Z" || st["Pid"].(float64) <= 0 {
			t.Fatalf("State while running: %v", st)
		}
		// Pretty-printed, one key per line, greppable.
		if !regexp.MustCompile(`(?m)^ +"Hostname": "` + id[:12] + `",$`).MatchString(e.TugOK("container", "inspect", "quotes").Out) {
			t.Fatal("inspect is not pretty-printed with Config.Hostname on its own line")
		}
		if ip := e.inspect("quotes", "{{.NetworkSettings.IPAddress}}"); !regexp.MustCompile(`^\d+\.\d+\.0\.2$`).MatchString(ip) {
			t.Fatalf("NetworkSettings.IPAddress %q: want the default bridge network's first address", ip)
		}
		cfg := doc["Config"].(map[string]any)
		if cfg["Hostname"] != id[:12] || cfg["Image"] != bb {
			t.Fatalf("Config: %v", cfg)
		}
		e.TugOK("stop", "-t", "0", "quotes")
		if f := e.inspect("quotes", "{{.State.FinishedAt}}"); f == "0001-01-01T00:00:00Z" {
			t.Fatal("FinishedAt not set after stop")
		}
		if sz := e.inspect("quotes", "{{.SizeRw}} {{.SizeRootFs}}"); sz != "<nil> <nil>" {
			t.Fatalf("sizes without --size: %q", sz)
		}
		if sz := strings.Fields(strings.TrimSpace(e.TugOK("container", "inspect", "-s", "--format", "{{.SizeRw}} {{.SizeRootFs}}", "quotes").Out)); len(sz) != 2 || sz[1] == "0" {
			t.Fatalf("inspect --size: %q", sz)
		}
		// tug inspect finds containers first.
		if out := strings.TrimSpace(e.TugOK("inspect", "--format", "{{.Name}} {{.State.Status}}", "quotes").Out); out != "/quotes exited" {
			t.Fatalf("tug inspect of a container: %q", out)
		}
		if out := strings.TrimSpace(e.TugOK("inspect", "--type", "container", "-f", "{{.Id}}", id[:12]).Out); out != id {
			t.Fatalf("tug inspect --type container: %q", out)
		}
		r := e.TugFail(1, "container", "inspect", "quotes", "nope")
		mustContain(t, r.Err, "No such container: nope")
		if !strings.Contains(r.Out, `"Id": "`+id) {
			t.Fatal("inspect of a found and a missing container printed nothing for the found one")
		}
	})
}

func TestContainersLogs(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		e.TugOK("run", "--name", "five", bb, "sh", "-c", "for i in 1 2 3 4 5 6 7; do echo line $i; done; sleep 0.3; echo oops >&2")
		r := e.TugOK("logs", "five")
		if r.Out != "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\n" || r.Err != "oops\n" {
			t.Fatalf("logs: %q %q", r.Out, r.Err)
		}
		if out := e.TugOK("logs", "--tail", "2", "five").Out; out != "line 7\n" {
			// the last 2 entries are "line 7" (stdout) and "oops" (stderr)
			t.Fatalf("--tail 2: %q", out)
		}
		ts := lines(e.TugOK("logs", "-t", "--tail", "3", "five").Out)
		if len(ts) != 2 || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line 6$`).MatchString(ts[0]) {
			t.Fatalf("-t: %q", ts)
		}
		if out := e.TugOK("logs", "--since", "1h", "five").Out; !strings.Contains(out, "line 1") {
			t.Fatal("--since 1h dropped lines")
		}
		if out := e.TugOK("logs", "--since", fmt.Sprint(time.Now().Add(time.Hour).Unix()), "five").Out; out != "" {
			t.Fatalf("--since the future: %q", out)
		}
		if out := e.TugOK("logs", "--until", "2000-01-01", "five").Out; out != "" {
			t.Fatalf("--until 2000: %q", out)
		}
		// Docker's json-file lines on disk.
		path := e.inspect("five", "{{.LogPath}}")
		data := e.TugOK("unshare", "cat", path).Out
		if e.Rootless == false {
			b, _ := os.ReadFile(path)
			data = string(b)
		}
		var entry map[string]string
		if err := json.Unmarshal([]byte(lines(data)[0]), &entry); err != nil || entry["log"] != "line 1\n" || entry["stream"] != "stdout" || entry["time"] == "" {
			t.Fatalf("json-file line: %q %v", lines(data)[0], err)
		}
		// -f follows until the container stops.
		e.TugOK("run", "-d", "--name", "follow", bb, "sh", "-c", "echo first; sleep 1; echo second")
		r = e.TugOK("logs", "-f", "follow")
		if r.Out != "first\nsecond\n" {
			t.Fatalf("logs -f: %q", r.Out)
		}
		// Rotation: max-size=1k, max-file=2 keeps the active file and one more.
		e.TugOK("run", "--name", "rot", "--log-opt", "max-size=1k", "--log-opt", "max-file=2", bb, "sh", "-c", "i=0; while [ $i -lt 200 ]; do echo log line number $i; i=$((i+1)); done")
		out := e.TugOK("logs", "rot").Out
		if strings.Contains(out, "number 0\n") || !strings.HasSuffix(out, "number 199\n") {
			t.Fatalf("rotated logs kept the oldest lines or lost the newest:\n%s", out)
		}
		rotPath := e.inspect("rot", "{{.LogPath}}")
		ls := e.TugOK("unshare", "ls", filepath.Dir(rotPath)).Out
		if !e.Rootless {
			names, _ := readDir(filepath.Dir(rotPath))
			ls = strings.Join(names, "\n")
		}
		if !strings.Contains(ls, "ctr.log.1") || strings.Contains(ls, "ctr.log.2") {
			t.Fatalf("rotation files: %q", ls)
		}
		// --log-driver none: nothing to read.
		r = e.TugOK("run", "--name", "test", "--log-driver", "none", bb, "sh", "-c", "for N in 1 2 3; do echo \"Hello $N\"; done")
		if r.Out != "Hello 1\nHello 2\nHello 3\n" {
			t.Fatalf("--log-driver none run output: %q", r.Out)
		}
		r = e.TugFail(1, "logs", "test")
		mustContain(t, r.Err, "configured logging driver does not support reading")
		e.TugOK("rm", "test")
		r = e.TugFail(125, "run", "--log-driver", "journald", bb, "true")
		mustContain(t, r.Err, "journald")
		e.TugOK("run", "--rm", "--log-driver", "k8s-file", "--name", "k8s", bb, "echo", "k8s line")
	})
}

// kill -9 of the monitor: the container runs on, ps says so, rm -f cleans
// it all; with the container dead too, ps says it exited.
func TestContainersMonitorKilled(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		e.TugOK("run", "-d", "--name", "orphan", bb, "sleep", "300")
		mon := monitorPid(t, e, "orphan")
		ctrPid, _ := strconv.Atoi(e.inspect("orphan", "{{.State.Pid}}"))
		syscall.Kill(mon, syscall.SIGKILL)
		waitUntil(t, "the monitor to die", func() bool { return syscall.Kill(mon, 0) != nil })
		if st := e.inspect("orphan", "{{.State.Status}}"); st != "running" {
			t.Fatalf("container alive but reported %q", st)
		}
		mustContain(t, e.TugOK("ps").Out, "orphan")
		e.TugOK("rm", "-f", "orphan")
		waitUntil(t, "the container process to die", func() bool { return syscall.Kill(ctrPid, 0) != nil })
		if n := e.storageMounts(); n != 0 {
			t.Fatalf("%d storage mounts left", n)
		}
		// Both killed: exited, removable.
		e.TugOK("run", "-d", "--name", "dead", bb, "sleep", "300")
		mon = monitorPid(t, e, "dead")
		ctrPid, _ = strconv.Atoi(e.inspect("dead", "{{.State.Pid}}"))
		syscall.Kill(mon, syscall.SIGKILL)
		syscall.Kill(ctrPid, syscall.SIGKILL)
		waitUntil(t, "both to die", func() bool { return syscall.Kill(ctrPid, 0) != nil && syscall.Kill(mon, 0) != nil })
		waitUntil(t, "ps to see the exit", func() bool { return strings.Contains(e.TugOK("ps", "-a").Out, "Exited (") })
		e.TugOK("rm", "dead")
		if n := e.storageMounts(); n != 0 {
			t.Fatalf("%d storage mounts left", n)
		}
	})
}

func monitorPid(t *testing.T, e *Env, name string) int {
	t.Helper()
	ctr, _ := strconv.Atoi(e.inspect(name, "{{.State.Pid}}"))
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", ctr))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	ppid, _ := strconv.Atoi(f[1])
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", ppid))
	if !strings.HasPrefix(string(cmd), "tug-monitor") {
		t.Fatalf("the container's parent %d is %q, not a monitor", ppid, cmd)
	}
	return ppid
}

// After a reboot (a new boot ID), containers that were running read as
// exited, even if a process with their old PID exists.
func TestContainersRebootMarksExited(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		boot := filepath.Join(e.TmpDir, "boot_id")
		e.WriteFile(boot, []byte("boot-one\n"))
		e.ExtraEnv = []string{"TUG_BOOT_ID_FILE=" + boot}
		e.TugOK("run", "-d", "--name", "survivor", Img("busybox"), "sleep", "300")
		pid, _ := strconv.Atoi(e.inspect("survivor", "{{.State.Pid}}"))
		mon := monitorPid(t, e, "survivor")
		e.WriteFile(boot, []byte("boot-two\n"))
		st := e.inspect("survivor", "{{.State.Status}} {{.State.ExitCode}}")
		syscall.Kill(mon, syscall.SIGKILL)
		syscall.Kill(pid, syscall.SIGKILL)
		if st != "exited 255" {
			t.Fatalf("after a reboot: %q", st)
		}
		mustContain(t, e.TugOK("ps", "-a").Out, "Exited (255)")
	})
}

// Many concurrent run -d and rm -f: all succeed, names unique, nothing leaks.
func TestContainersConcurrentRunAndRm(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		const n = 24
		var wg sync.WaitGroup
		ids := make([]string, n)
		errs := make([]string, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				r := e.Tug("run", "-d", "--network", "none", Img("busybox"), "sleep", "300")
				if r.Code != 0 {
					errs[i] = r.Combined()
					return
				}
				ids[i] = strings.TrimSpace(r.Out)
			}(i)
		}
		wg.Wait()
		for _, er := range errs {
			if er != "" {
				t.Fatalf("concurrent run: %s", er)
			}
		}
		names := lines(e.TugOK("ps", "--format", "{{.Names}}").Out)
		seen := map[string]bool{}
		for _, nm := range names {
			if seen[nm] {
				t.Fatalf("name %s given twice", nm)
			}
			seen[nm] = true
		}
		if len(names) != n {
			t.Fatalf("%d running, want %d", len(names), n)
		}
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if r := e.Tug("rm", "-f", ids[i]); r.Code != 0 {
					errs[i] = r.Combined()
				}
			}(i)
		}
		wg.Wait()
		for _, er := range errs {
			if er != "" {
				t.Fatalf("concurrent rm -f: %s", er)
			}
		}
		if out := e.TugOK("ps", "-aq").Out; out != "" {
			t.Fatalf("left: %q", out)
		}
		if m := e.storageMounts(); m != 0 {
			t.Fatalf("%d storage mounts leaked", m)
		}
	})
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}
