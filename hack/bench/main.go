// Command bench times tug against the targets of its issues and, where
// Podman is installed, against Podman in the same run, printing medians and
// ratios. Run it as root through `make bench`. No thresholds fail anything:
// the numbers are for people to read.
package main

import (
	"bytes"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/tug-project/tug/test/testimages"
	"github.com/tug-project/tug/test/testregistry"
)

var (
	tugBin  = flag.String("tug", "bin/tug", "tug binary to measure")
	runs    = flag.Int("runs", 10, "measured runs per benchmark")
	only    = flag.String("only", "", "run only benchmarks whose name contains this")
	workDir string
)

// result is one line of the report.
type result struct {
	name        string
	tug, podman time.Duration // medians; podman is 0 when not measured
	target      string
	note        string
}

func main() {
	flag.Parse()
	if os.Geteuid() != 0 {
		fatalf("run the benchmarks as root (make bench)")
	}
	var err error
	if *tugBin, err = filepath.Abs(*tugBin); err != nil {
		fatalf("%v", err)
	}
	if workDir, err = os.MkdirTemp("", "tug-bench-"); err != nil {
		fatalf("%v", err)
	}
	defer os.RemoveAll(workDir)
	reg, err := testregistry.Start(filepath.Join(workDir, "registry"), "", "")
	if err != nil {
		fatalf("%v", err)
	}
	defer reg.Stop()
	if err := fillRegistry(reg); err != nil {
		fatalf("%v", err)
	}
	_, podmanErr := exec.LookPath("podman")
	hasPodman := podmanErr == nil

	var results []result
	for _, b := range benchmarks {
		if *only != "" && !strings.Contains(b.name, *only) {
			continue
		}
		fmt.Fprintf(os.Stderr, "running %s...\n", b.name)
		r, err := b.run(reg, hasPodman)
		if err != nil {
			fmt.Fprintf(os.Stderr, "  %s failed: %v\n", b.name, err)
			r = result{name: b.name, note: "FAILED: " + firstLine(err.Error())}
		}
		r.name, r.target = b.name, b.target
		results = append(results, r)
	}
	endRootless()
	report(results, hasPodman)
}

type benchmark struct {
	name, target string
	run          func(reg *testregistry.Registry, podman bool) (result, error)
}

var benchmarks = []benchmark{
	{"tug version", "< 10 ms", benchVersion},
	{"tug images (50 images)", "< 20 ms", benchImages},
	{"load 3-layer image archive", "-", benchLoad},
	{"save 3-layer image archive", "-", benchSave},
	{"pull 100 MB, 3 layers", "<= 0.8x podman", benchPull},
	{"rootless first call: unshare true (creates the namespace)", "-", benchUnshareCold},
	{"rootless later call: unshare true (joins)", "-", benchUnshareWarm},
	{"rootless run --rm --network none IMAGE true", "< 40 ms, >= 5x podman", benchRunRootlessNone},
	{"rootless run --rm IMAGE true (default bridge network)", "< 60 ms", benchRunRootlessDefault},
	{"root run --rm --network none IMAGE true", "-", benchRunRoot},
	{"root run --rm IMAGE true (default bridge network)", "-", benchRunRootDefault},
	{"ps -a with 100 containers", "< 25 ms", benchPs100},
	{"16 concurrent run --rm (mean per run)", "<= 3x one run", benchConcurrent},
	{"monitor process start-up (tug-shim)", "-", benchMonitorStart},
	{"monitor idle RSS", "< 5 MB", benchMonitorRSS},
	{"monitor idle RSS, health check every 2 s", "< 5 MB", benchMonitorRSSHealth},
	{"monitor idle RSS, rootless (no network; published port)", "< 5 MB", benchMonitorRSSRootless},
	{"root run --rm --network mynet IMAGE true", "< 80 ms", benchRunNetworkRoot},
	{"rootless run --rm --network mynet IMAGE true", "< 80 ms", benchRunNetworkRootless},
	{"root 1 GiB host -> container (published port)", ">= podman", benchInRoot},
	{"rootless 1 GiB host -> container (published port)", ">= podman", benchInRootless},
	{"root 1 GiB container -> host (egress)", "-", benchOutRoot},
	{"rootless 1 GiB container -> host (egress)", "-", benchOutRootless},
	{"system df (50 images, 100 containers, 50 volumes)", "< 100 ms", benchSystemDf},
	{"events --since 1h --until now (10,000 events)", "< 200 ms", benchEventsReplay},
	{"build 10 steps (5 RUN, 3 COPY, ENV, CMD), empty cache", "<= 0.5x podman", benchBuildFirst},
	{"build 10 steps, fully cached", "< 150 ms, <= 0.2x podman", benchBuildCached},
	{"build 10 steps after a one-line change in the last COPY's file", "-", benchBuildChange},
}

func report(results []result, hasPodman bool) {
	tw := tabwriter.NewWriter(os.Stdout, 4, 1, 2, ' ', 0)
	fmt.Fprintln(tw, "BENCHMARK\tTUG (median)\tPODMAN (median)\tTUG/PODMAN\tTARGET\tNOTE")
	for _, r := range results {
		p, ratio := "-", "-"
		if r.podman > 0 {
			p = ms(r.podman)
			ratio = fmt.Sprintf("%.2fx", float64(r.tug)/float64(r.podman))
		} else if !hasPodman {
			p = "not installed"
		}
		t := "-"
		if r.tug > 0 {
			t = ms(r.tug)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.name, t, p, ratio, r.target, r.note)
	}
	tw.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// timeRuns runs setup (untimed) then cmd, n times, and returns the median of cmd.
func timeRuns(n int, setup func(i int) error, cmd func(i int) []string) (time.Duration, error) {
	return timeCmds(n, setup, func(i int) *exec.Cmd {
		argv := cmd(i)
		return exec.Command(argv[0], argv[1:]...)
	})
}

// timeCmds is timeRuns for commands that need more than a command line.
func timeCmds(n int, setup func(i int) error, mk func(i int) *exec.Cmd) (time.Duration, error) {
	var times []time.Duration
	for i := 0; i < n; i++ {
		if setup != nil {
			if err := setup(i); err != nil {
				return 0, err
			}
		}
		c := mk(i)
		start := time.Now()
		out, err := c.CombinedOutput()
		elapsed := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("%s: %v: %s", strings.Join(c.Args, " "), err, out)
		}
		times = append(times, elapsed)
	}
	sort.Slice(times, func(a, b int) bool { return times[a] < times[b] })
	return times[len(times)/2], nil
}

func tug(root string, args ...string) []string {
	return append([]string{*tugBin, "--root", filepath.Join(root, "root"), "--runroot", filepath.Join(root, "run")}, args...)
}

func podman(root string, args ...string) []string {
	return append([]string{"podman", "--root", filepath.Join(root, "root"), "--runroot", filepath.Join(root, "run"), "--storage-driver", "overlay"}, args...)
}

func run(argv []string) error {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
	return nil
}

func benchVersion(_ *testregistry.Registry, _ bool) (result, error) {
	d, err := timeRuns(*runs*3, nil, func(int) []string { return []string{*tugBin, "version"} })
	return result{tug: d}, err
}

const imageCount = 50

// smallArchives writes the 50 small bench images as docker-archives (as
// `docker save` writes them) and returns their paths, so that the listing
// benchmark fills its stores with load and needs no pull.
func smallArchives() ([]string, error) {
	dir := filepath.Join(workDir, "archives")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for i := 0; i < imageCount; i++ {
		img, err := smallImage(i)
		if err != nil {
			return nil, err
		}
		tag, err := name.NewTag(fmt.Sprintf("127.0.0.1:5000/bench/small%d:latest", i))
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, fmt.Sprintf("small%d.tar", i))
		if err := tarball.WriteToFile(p, tag, img); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func benchImages(_ *testregistry.Registry, hasPodman bool) (result, error) {
	archives, err := smallArchives()
	if err != nil {
		return result{}, err
	}
	root := filepath.Join(workDir, "images")
	for _, a := range archives {
		if err := run(tug(root, "load", "-i", a)); err != nil {
			return result{}, err
		}
	}
	var r result
	if r.tug, err = timeRuns(*runs*2, nil, func(int) []string { return tug(root, "images") }); err != nil {
		return r, err
	}
	if hasPodman {
		proot := filepath.Join(workDir, "images-podman")
		for _, a := range archives {
			if err := run(podman(proot, "load", "-q", "-i", a)); err != nil {
				return r, err
			}
		}
		if r.podman, err = timeRuns(*runs*2, nil, func(int) []string { return podman(proot, "images") }); err != nil {
			return r, err
		}
	}
	return r, nil
}

// benchLoad times `load` of the 3-layer test image into an empty store, and
// benchSave `save` of it, against podman.
func benchLoad(_ *testregistry.Registry, hasPodman bool) (result, error) {
	return benchArchive(hasPodman, true)
}

func benchSave(_ *testregistry.Registry, hasPodman bool) (result, error) {
	return benchArchive(hasPodman, false)
}

func benchArchive(hasPodman, load bool) (result, error) {
	img, err := testimages.MultiLayer()
	if err != nil {
		return result{}, err
	}
	archive := filepath.Join(workDir, "multilayer.tar")
	tag, _ := name.NewTag("127.0.0.1:5000/bench/multilayer:latest")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		return result{}, err
	}
	ref := tag.String()
	out := filepath.Join(workDir, "saved.tar")
	n := max(*runs, 5)
	var r result
	type engine struct {
		dir string
		cmd func(root string, args ...string) []string
		d   *time.Duration
	}
	engines := []engine{{"archive-tug", tug, &r.tug}}
	if hasPodman {
		engines = append(engines, engine{"archive-podman", podman, &r.podman})
	}
	for _, en := range engines {
		root := filepath.Join(workDir, en.dir)
		fresh := func(int) error {
			exec.Command("sh", "-c", "grep -o ' "+root+"[^ ]*' /proc/self/mounts | xargs -r -n1 umount -l").Run()
			return os.RemoveAll(root)
		}
		if load {
			*en.d, err = timeRuns(n, fresh, func(int) []string { return en.cmd(root, "load", "-q", "-i", archive) })
		} else {
			if err = run(en.cmd(root, "load", "-q", "-i", archive)); err == nil {
				*en.d, err = timeRuns(n, func(int) error { return os.RemoveAll(out) }, func(int) []string { return en.cmd(root, "save", "-o", out, ref) })
			}
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

func benchPull(reg *testregistry.Registry, hasPodman bool) (result, error) {
	ref := reg.Addr + "/bench/big:latest"
	fresh := func(dir string) func(int) error {
		return func(i int) error {
			p := filepath.Join(workDir, dir)
			exec.Command("sh", "-c", "grep -o ' "+p+"[^ ]*' /proc/self/mounts | xargs -r -n1 umount -l").Run()
			return os.RemoveAll(p)
		}
	}
	var r result
	var err error
	n := max(*runs/2, 3)
	if r.tug, err = timeRuns(n, fresh("pull-tug"), func(int) []string { return tug(filepath.Join(workDir, "pull-tug"), "pull", "-q", ref) }); err != nil {
		return r, err
	}
	if hasPodman {
		if r.podman, err = timeRuns(n, fresh("pull-podman"), func(int) []string {
			return podman(filepath.Join(workDir, "pull-podman"), "pull", "-q", "--tls-verify=false", ref)
		}); err != nil {
			return r, err
		}
	}
	return r, nil
}

// fillRegistry pushes 50 small distinct images and one ~100 MB image of 3
// incompressible layers.
func fillRegistry(reg *testregistry.Registry) error {
	for i := 0; i < imageCount; i++ {
		img, err := smallImage(i)
		if err != nil {
			return err
		}
		if err := reg.Push(fmt.Sprintf("bench/small%d:latest", i), img); err != nil {
			return err
		}
	}
	// Three layers of ~33 MB of random bytes: nothing to gain from compression.
	var img v1.Image = empty.Image
	for i := 0; i < 3; i++ {
		body := make([]byte, 33<<20)
		rand.Read(body)
		l, err := testimages.Layer([]testimages.File{{Name: fmt.Sprintf("blob%d", i), Mode: 0o644, Body: body}})
		if err != nil {
			return err
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			return err
		}
	}
	return reg.Push("bench/big:latest", img)
}

// smallImage is bench image i: busybox plus a layer that makes it distinct.
func smallImage(i int) (v1.Image, error) {
	base, err := testimages.Busybox()
	if err != nil {
		return nil, err
	}
	l, err := testimages.Layer([]testimages.File{{Name: "bench-id", Mode: 0o644, Body: []byte(fmt.Sprint(i))}})
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(base, l)
}

func firstLine(s string) string {
	if i := bytes.IndexByte([]byte(s), '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func fatalf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+f+"\n", a...)
	os.Exit(1)
}
