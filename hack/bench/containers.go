package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tug-project/tug/test/testimages"
	"github.com/tug-project/tug/test/testregistry"
)

// The container benchmarks: run --rm as root and rootless, with and without
// the default network, ps -a of 100 containers, 16 runs at once, and the
// idle memory of a monitor. Podman runs with runc (crun refuses hybrid
// cgroups here) and with NOFILE/NPROC limits inside the host's (its default
// of 1048576 cannot be set without CAP_SYS_RESOURCE on these machines).

var podmanRunFlags = []string{"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}

func podmanGlobal(root string) []string {
	return podmanGlobalRun(filepath.Join(root, "root"), filepath.Join(root, "run"))
}

// podmanGlobalRun is podman with a root and a runroot (rootless podman wants
// a runroot shorter than 50 characters).
func podmanGlobalRun(root, runRoot string) []string {
	return []string{"podman", "--root", root, "--runroot", runRoot,
		"--storage-driver", "overlay", "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"}
}

// rootlessRunRoots are the runroots whose pause processes the bench ends.
var rootlessRunRoots []string

// endRootless kills the pause processes the rootless benchmarks started.
func endRootless() {
	for _, r := range rootlessRunRoots {
		killPause(filepath.Join(r, "pause.pid"))
	}
	if rb != nil {
		killPause(rb.podmanPidFile())
	}
	for _, r := range podmanRunRoots {
		exec.Command("sh", "-c", "grep -o ' "+r+"[^ ]*' /proc/self/mounts | xargs -r -n1 umount -l").Run()
		os.RemoveAll(r)
	}
}

// benchImage is the busybox test image in the bench registry.
func benchImage(reg *testregistry.Registry) (string, error) {
	img, err := testimages.Busybox()
	if err != nil {
		return "", err
	}
	ref := reg.Addr + "/tug/busybox:latest"
	return ref, reg.Push("tug/busybox:latest", img)
}

// runner runs tug or podman as root or as the bench user, with its own roots.
type runner struct {
	name string
	argv func(args ...string) []string
	mk   func(argv []string) *exec.Cmd
}

func rootRunners(dir string, hasPodman bool) []runner {
	plain := func(argv []string) *exec.Cmd { return exec.Command(argv[0], argv[1:]...) }
	rs := []runner{{"tug", func(a ...string) []string { return tug(filepath.Join(dir, "tug"), a...) }, plain}}
	if hasPodman {
		rs = append(rs, runner{"podman", func(a ...string) []string { return append(podmanGlobal(filepath.Join(dir, "podman")), a...) }, plain})
	}
	return rs
}

// rootlessTug is a copy of tug for the bench user in a directory of its own.
// libcontainer seals the binary for each container with an overlay whose
// lower layer is the binary's directory; that cannot be an ancestor of the
// runroot (overlayfs refuses overlapping layers and libcontainer falls back
// to copying the whole binary), as b.tug's directory is.
func rootlessTug(b *rootlessBench) string {
	dir := filepath.Join(workDir, "bin-rootless")
	path := filepath.Join(dir, "tug")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	os.MkdirAll(dir, 0o755)
	data, err := os.ReadFile(*tugBin)
	if err != nil || os.WriteFile(path, data, 0o755) != nil {
		return b.tug
	}
	return path
}

func rootlessRunners(b *rootlessBench, sub string, hasPodman bool) []runner {
	mk := func(argv []string) *exec.Cmd { return b.cmd(argv...) }
	tugPath := rootlessTug(b)
	dir := filepath.Join(b.dir, sub)
	rootlessRunRoots = append(rootlessRunRoots, filepath.Join(dir, "tug-run"))
	rs := []runner{{"tug", func(a ...string) []string {
		return append([]string{tugPath, "--root", filepath.Join(dir, "tug-root"), "--runroot", filepath.Join(dir, "tug-run")}, a...)
	}, mk}}
	if hasPodman {
		runRoot := filepath.Join(os.TempDir(), "tugbench-"+sub)
		os.MkdirAll(runRoot, 0o700)
		os.Chown(runRoot, b.uid, b.gid)
		podmanRunRoots = append(podmanRunRoots, runRoot)
		rs = append(rs, runner{"podman", func(a ...string) []string {
			return append(podmanGlobalRun(filepath.Join(dir, "podman"), runRoot), a...)
		}, mk})
	}
	return rs
}

// podmanRunRoots are the short runroots of rootless podman, removed at the end.
var podmanRunRoots []string

func (r runner) pull(ref string) error {
	args := []string{"pull", "-q", ref}
	if r.name == "podman" {
		args = []string{"pull", "-q", "--tls-verify=false", ref}
	}
	c := r.mk(r.argv(args...))
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("%s pull: %v: %s", r.name, err, out)
	}
	return nil
}

func (r runner) runArgs(extra ...string) []string {
	args := []string{"run", "--rm"}
	if r.name == "podman" {
		args = append(args, podmanRunFlags...)
	}
	return append(args, extra...)
}

// timeRunners measures each runner's median of cmd, after pulling ref.
func timeRunners(rs []runner, ref string, n int, cmd func(r runner) []string) (result, error) {
	var res result
	for _, r := range rs {
		if err := r.pull(ref); err != nil {
			return res, err
		}
		argv := cmd(r)
		c0 := r.mk(argv) // warm up once: caches, the rootless namespace
		if out, err := c0.CombinedOutput(); err != nil {
			return res, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, out)
		}
		d, err := timeCmds(n, nil, func(int) *exec.Cmd { return r.mk(argv) })
		if err != nil {
			return res, err
		}
		if r.name == "tug" {
			res.tug = d
		} else {
			res.podman = d
		}
	}
	return res, nil
}

func benchRunRootlessNone(reg *testregistry.Registry, hasPodman bool) (result, error) {
	b, err := rootlessSetup()
	if err != nil {
		return result{note: "skipped: " + err.Error()}, nil
	}
	ref, err := benchImage(reg)
	if err != nil {
		return result{}, err
	}
	res, err := timeRunners(rootlessRunners(b, "run-none", hasPodman), ref, *runs*2, func(r runner) []string {
		return r.argv(r.runArgs("--network", "none", ref, "true")...)
	})
	if err == nil && res.podman > 0 {
		res.note = fmt.Sprintf("%.1fx faster than podman", float64(res.podman)/float64(res.tug))
	}
	return res, err
}

func benchRunRootlessDefault(reg *testregistry.Registry, hasPodman bool) (result, error) {
	b, err := rootlessSetup()
	if err != nil {
		return result{note: "skipped: " + err.Error()}, nil
	}
	ref, err := benchImage(reg)
	if err != nil {
		return result{}, err
	}
	return timeRunners(rootlessRunners(b, "run-default", hasPodman), ref, *runs*2, func(r runner) []string {
		return r.argv(r.runArgs(ref, "true")...)
	})
}

func benchRunRoot(reg *testregistry.Registry, hasPodman bool) (result, error) {
	ref, err := benchImage(reg)
	if err != nil {
		return result{}, err
	}
	res, err := timeRunners(rootRunners(filepath.Join(workDir, "run-root"), hasPodman), ref, *runs*2, func(r runner) []string {
		return r.argv(r.runArgs("--network", "none", ref, "true")...)
	})
	if err == nil && res.podman > 0 {
		res.note = fmt.Sprintf("%.1fx faster than podman", float64(res.podman)/float64(res.tug))
	}
	return res, err
}

// benchPs100 lists 100 created containers.
func benchPs100(reg *testregistry.Registry, hasPodman bool) (result, error) {
	ref, err := benchImage(reg)
	if err != nil {
		return result{}, err
	}
	var res result
	for _, r := range rootRunners(filepath.Join(workDir, "ps"), hasPodman) {
		if err := r.pull(ref); err != nil {
			return res, err
		}
		for i := 0; i < 100; i++ {
			if out, err := r.mk(r.argv("create", ref, "true")).CombinedOutput(); err != nil {
				return res, fmt.Errorf("%s create: %v: %s", r.name, err, out)
			}
		}
		d, err := timeCmds(*runs*2, nil, func(int) *exec.Cmd { return r.mk(r.argv("ps", "-a")) })
		if err != nil {
			return res, err
		}
		if r.name == "tug" {
			res.tug = d
		} else {
			res.podman = d
		}
	}
	return res, nil
}

// benchConcurrent runs 16 run --rm at once (rootless when the bench user
// exists) and reports the mean time of one, against a single run.
func benchConcurrent(reg *testregistry.Registry, hasPodman bool) (result, error) {
	ref, err := benchImage(reg)
	if err != nil {
		return result{}, err
	}
	rs := rootRunners(filepath.Join(workDir, "concurrent"), hasPodman)
	label := "root"
	if b, err := rootlessSetup(); err == nil {
		rs, label = rootlessRunners(b, "concurrent", hasPodman), "rootless"
	}
	var res result
	notes := []string{label}
	for _, r := range rs {
		if err := r.pull(ref); err != nil {
			return res, err
		}
		argv := r.argv(r.runArgs("--network", "none", ref, "true")...)
		single, err := timeCmds(*runs, nil, func(int) *exec.Cmd { return r.mk(argv) })
		if err != nil {
			return res, err
		}
		// One burst is noisy: take the median of three bursts' means.
		var means []time.Duration
		for burst := 0; burst < 3; burst++ {
			m, err := burstMean(r, argv, 16)
			if err != nil {
				return res, err
			}
			means = append(means, m)
		}
		sort.Slice(means, func(i, j int) bool { return means[i] < means[j] })
		mean := means[1]
		notes = append(notes, fmt.Sprintf("%s: single %s, %.1fx", r.name, ms(single), float64(mean)/float64(single)))
		if r.name == "tug" {
			res.tug = mean
		} else {
			res.podman = mean
		}
	}
	res.note = strings.Join(notes, "; ")
	return res, nil
}

// burstMean starts n copies of argv at once and returns their mean time.
func burstMean(r runner, argv []string, n int) (time.Duration, error) {
	var total time.Duration
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := r.mk(argv)
			start := time.Now()
			out, err := c.CombinedOutput()
			mu.Lock()
			defer mu.Unlock()
			total += time.Since(start)
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("%s: %v: %s", r.name, err, out)
			}
		}()
	}
	wg.Wait()
	return total / time.Duration(n), firstErr
}

// benchMonitorRSS is the resident memory of an idle monitor (and of conmon).
func benchMonitorRSS(reg *testregistry.Registry, hasPodman bool) (result, error) {
	return monitorRSS(reg, hasPodman, "rss", nil, 2*time.Second)
}

// benchMonitorRSSHealth is the same with a health check every 2 s, after a
// few probes (tug's monitor runs them itself; podman needs systemd timers,
// which these machines do not run, so only tug is measured).
func benchMonitorRSSHealth(reg *testregistry.Registry, _ bool) (result, error) {
	return monitorRSS(reg, false, "rss-health", []string{"--health-cmd", "true", "--health-interval", "2s"}, 7*time.Second)
}

// benchMonitorRSSRootless is the rootless monitor: the idle loop with no
// network, and the Go monitor that a published port keeps (its forwarder,
// rootlesskit's builtin driver, lives in the monitor).
func benchMonitorRSSRootless(reg *testregistry.Registry, _ bool) (result, error) {
	b, err := rootlessSetup()
	if err != nil {
		return result{note: "skipped: " + err.Error()}, nil
	}
	idle, err := monitorRSSOf(reg, rootlessRunners(b, "rss-rootless", false), filepath.Join(b.dir, "rss-rootless"), []string{"--network", "none"}, 2*time.Second)
	if err != nil {
		return result{}, err
	}
	port, err := monitorRSSOf(reg, rootlessRunners(b, "rss-rootless-port", false), filepath.Join(b.dir, "rss-rootless-port"), []string{"-p", "127.0.0.1:18089:80"}, 2*time.Second)
	if err != nil {
		return result{}, err
	}
	trim := func(n string) string { return strings.TrimSuffix(n, "; target < 5 MB") }
	return result{note: "no network: " + trim(idle.note) + "; published port: " + trim(port.note)}, nil
}

func monitorRSS(reg *testregistry.Registry, hasPodman bool, dir string, extra []string, settle time.Duration) (result, error) {
	return monitorRSSOf(reg, rootRunners(filepath.Join(workDir, dir), hasPodman), filepath.Join(workDir, dir), append(extra, "--network", "none"), settle)
}

func monitorRSSOf(reg *testregistry.Registry, runners []runner, dir string, extra []string, settle time.Duration) (result, error) {
	ref, err := benchImage(reg)
	if err != nil {
		return result{}, err
	}
	var notes []string
	for _, r := range runners {
		if err := r.pull(ref); err != nil {
			return result{}, err
		}
		args := append([]string{"run", "-d", "--name", "idle"}, extra...)
		if r.name == "podman" {
			args = append(args, podmanRunFlags...)
		}
		out, err := r.mk(r.argv(append(args, ref, "sleep", "600")...)).CombinedOutput()
		if err != nil {
			return result{}, fmt.Errorf("%s run -d: %v: %s", r.name, err, out)
		}
		time.Sleep(settle)
		monitor := "tug-monitor"
		if r.name == "podman" {
			monitor = "conmon"
		}
		rss, pss, anon, argv0 := processMemory(monitor, dir)
		if argv0 != "" {
			monitor = argv0 // tug-monitor-idle: the C loop; tug-monitor: Go
		}
		notes = append(notes, fmt.Sprintf("%s: RSS %.1f MB (PSS %.1f MB, anonymous %.1f MB)", monitor, float64(rss)/1024, float64(pss)/1024, float64(anon)/1024))
		r.mk(r.argv("rm", "-f", "idle")).Run()
	}
	return result{note: strings.Join(notes, "; ") + "; target < 5 MB"}, nil
}

// processMemory finds the process whose command line starts with name and
// mentions dir, and returns its RSS, PSS and anonymous memory in kB. The
// rest of RSS is the binary's pages, page cache shared by every process
// that runs it (on kernels with large page-cache folios, such as 6.18 on
// ext4, a fault maps a whole folio, and a big binary reads larger).
func processMemory(name, dir string) (rss, pss, anon int, argv0 string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if !bytes.HasPrefix(cmdline, []byte(name)) && !bytes.Contains(cmdline, []byte("/"+name+"\x00")) || !bytes.Contains(cmdline, []byte(dir)) {
			continue
		}
		argv0, _, _ = strings.Cut(string(cmdline), "\x00")
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		for _, l := range strings.Split(string(status), "\n") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.Atoi(f[1])
				switch f[0] {
				case "Rss:":
					rss = n
				case "Pss:":
					pss = n
				case "Anonymous:":
					anon = n
				}
			}
		}
		return rss, pss, anon, argv0
	}
	return 0, 0, 0, ""
}
