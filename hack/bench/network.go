package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/tug-project/tug/test/testimages"
	"github.com/tug-project/tug/test/testregistry"
)

// The network benchmarks: run --rm on a user-defined network, and the
// throughput of a published port (host -> container) and of egress
// (container -> host), tug and Podman on the same machine. The container
// side is netsink (hack/bench/netsink, built static): busybox nc reads in
// small pieces and would be what is measured.

const transferBytes = 1 << 30 // 1 GiB a transfer

var (
	netImageOnce sync.Once
	netImageRef  string
	netImageErr  error
)

// netBenchImage is busybox with /netsink, pushed to the bench registry.
func netBenchImage(reg *testregistry.Registry) (string, error) {
	netImageOnce.Do(func() {
		bin := filepath.Join(workDir, "netsink")
		build := exec.Command("go", "build", "-o", bin, "./hack/bench/netsink")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			netImageErr = fmt.Errorf("building netsink: %v: %s", err, out)
			return
		}
		body, err := os.ReadFile(bin)
		if err != nil {
			netImageErr = err
			return
		}
		var img v1.Image
		if img, netImageErr = testimages.Busybox(); netImageErr != nil {
			return
		}
		l, err := testimages.Layer([]testimages.File{{Name: "netsink", Mode: 0o755, Body: body}})
		if err != nil {
			netImageErr = err
			return
		}
		if img, netImageErr = mutate.AppendLayers(img, l); netImageErr != nil {
			return
		}
		netImageRef = reg.Addr + "/tug/netbench:latest"
		netImageErr = reg.Push("tug/netbench:latest", img)
	})
	return netImageRef, netImageErr
}

func gbits(d time.Duration) float64 { return float64(transferBytes) * 8 / 1e9 / d.Seconds() }

// networkRunners makes "mynet" for each runner.
func networkRunners(rs []runner) error {
	for _, r := range rs {
		r.mk(r.argv("network", "rm", "mynet")).Run()
		if out, err := r.mk(r.argv("network", "create", "mynet")).CombinedOutput(); err != nil {
			return fmt.Errorf("%s network create: %v: %s", r.name, err, out)
		}
	}
	return nil
}

func benchRunNetworkRoot(reg *testregistry.Registry, hasPodman bool) (result, error) {
	return benchRunNetwork(reg, rootRunners(filepath.Join(workDir, "run-net"), hasPodman))
}

func benchRunNetworkRootless(reg *testregistry.Registry, hasPodman bool) (result, error) {
	b, err := rootlessSetup()
	if err != nil {
		return result{note: "skipped: " + err.Error()}, nil
	}
	res, err := benchRunNetwork(reg, rootlessRunners(b, "run-net", hasPodman))
	if err == nil {
		rss, _, _, _ := processMemory("tug-network", filepath.Join(b.dir, "run-net"))
		res.note = strings.TrimPrefix(res.note+fmt.Sprintf("; tug-network (netns + DNS) RSS %.1f MB", float64(rss)/1024), "; ")
	}
	return res, err
}

func benchRunNetwork(reg *testregistry.Registry, rs []runner) (result, error) {
	ref, err := benchImage(reg)
	if err != nil {
		return result{}, err
	}
	for _, r := range rs {
		if err := r.pull(ref); err != nil {
			return result{}, err
		}
	}
	if err := networkRunners(rs); err != nil {
		return result{}, err
	}
	res, err := timeRunners(rs, ref, *runs*2, func(r runner) []string {
		return r.argv(r.runArgs("--network", "mynet", ref, "true")...)
	})
	if err == nil && res.podman > 0 {
		res.note = fmt.Sprintf("%.1fx faster than podman", float64(res.podman)/float64(res.tug))
	}
	return res, err
}

// sendTo sends transferBytes to addr and waits for the far side's close.
func sendTo(addr string) (time.Duration, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	buf := make([]byte, 1<<20)
	start := time.Now()
	for sent := 0; sent < transferBytes; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			return 0, err
		}
	}
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c)
	return time.Since(start), nil
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(a, b int) bool { return ds[a] < ds[b] })
	return ds[len(ds)/2]
}

// throughputIn times 1 GiB from the host into a container through a
// published port, 3 times, for each runner.
func throughputIn(reg *testregistry.Registry, rs []runner) (result, error) {
	ref, err := netBenchImage(reg)
	if err != nil {
		return result{}, err
	}
	var res result
	var notes []string
	for _, r := range rs {
		if err := r.pull(ref); err != nil {
			return res, err
		}
		port := freeHostPort()
		r.mk(r.argv("rm", "-f", "sink")).Run()
		args := []string{"run", "-d", "--name", "sink", "-p", fmt.Sprintf("%d:8000", port)}
		if r.name == "podman" {
			args = append(args, podmanRunFlags...)
		}
		if out, err := r.mk(r.argv(append(args, ref, "/netsink", "listen", "8000")...)).CombinedOutput(); err != nil {
			return res, fmt.Errorf("%s run sink: %v: %s", r.name, err, out)
		}
		time.Sleep(time.Second) // let the sink listen (a proxy accepts before it does)
		var ds []time.Duration
		for i := 0; i < 3; i++ {
			d, err := sendTo(fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				r.mk(r.argv("rm", "-f", "sink")).Run()
				return res, fmt.Errorf("%s: sending through the published port: %v", r.name, err)
			}
			ds = append(ds, d)
		}
		r.mk(r.argv("rm", "-f", "sink")).Run()
		d := median(ds)
		notes = append(notes, fmt.Sprintf("%s %.1f Gbit/s", r.name, gbits(d)))
		if r.name == "tug" {
			res.tug = d
		} else {
			res.podman = d
		}
	}
	res.note = strings.Join(notes, ", ")
	return res, nil
}

// throughputOut times 1 GiB from a container to a server of the host, 3
// times, for each runner: to the gateway of the container's network as
// root, to the host's loopback through slirp4netns (10.0.2.2) rootless.
func throughputOut(reg *testregistry.Registry, rs []runner, rootless bool, tugConfig string) (result, error) {
	ref, err := netBenchImage(reg)
	if err != nil {
		return result{}, err
	}
	listen := "0.0.0.0:0"
	if rootless {
		listen = "127.0.0.1:0"
	}
	var res result
	var notes []string
	for _, r := range rs {
		if err := r.pull(ref); err != nil {
			return res, err
		}
		var ds []time.Duration
		for i := 0; i < 3; i++ {
			ln, err := net.Listen("tcp4", listen)
			if err != nil {
				return res, err
			}
			port := ln.Addr().(*net.TCPAddr).Port
			got := make(chan time.Duration, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					got <- 0
					return
				}
				defer c.Close()
				buf := make([]byte, 1<<20)
				n, _ := io.ReadFull(c, buf[:1])
				start := time.Now()
				for n < transferBytes {
					m, err := c.Read(buf)
					n += m
					if err != nil {
						break
					}
				}
				got <- time.Since(start)
			}()
			target := fmt.Sprintf("gw:%d", port)
			args := []string{}
			if rootless {
				target = fmt.Sprintf("10.0.2.2:%d", port)
			}
			if r.name == "podman" {
				args = append(args, podmanRunFlags...)
				if rootless {
					args = append(args, "--network", "slirp4netns:allow_host_loopback=true")
				}
			}
			argv := r.argv(r.runArgs(append(args, ref, "/netsink", "send", target, fmt.Sprint(transferBytes))...)...)
			if r.name == "tug" && tugConfig != "" {
				argv = append([]string{argv[0], "--config", tugConfig}, argv[1:]...)
			}
			out, err := r.mk(argv).CombinedOutput()
			ln.Close()
			d := <-got
			if err != nil || d == 0 {
				return res, fmt.Errorf("%s: egress: %v: %s", r.name, err, out)
			}
			ds = append(ds, d)
		}
		d := median(ds)
		notes = append(notes, fmt.Sprintf("%s %.1f Gbit/s", r.name, gbits(d)))
		if r.name == "tug" {
			res.tug = d
		} else {
			res.podman = d
		}
	}
	res.note = strings.Join(notes, ", ")
	return res, nil
}

func freeHostPort() int {
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		return 39999
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func benchInRoot(reg *testregistry.Registry, hasPodman bool) (result, error) {
	return throughputIn(reg, rootRunners(filepath.Join(workDir, "net-in"), hasPodman))
}

func benchInRootless(reg *testregistry.Registry, hasPodman bool) (result, error) {
	b, err := rootlessSetup()
	if err != nil {
		return result{note: "skipped: " + err.Error()}, nil
	}
	return throughputIn(reg, rootlessRunners(b, "net-in", hasPodman))
}

func benchOutRoot(reg *testregistry.Registry, hasPodman bool) (result, error) {
	return throughputOut(reg, rootRunners(filepath.Join(workDir, "net-out"), hasPodman), false, "")
}

func benchOutRootless(reg *testregistry.Registry, hasPodman bool) (result, error) {
	b, err := rootlessSetup()
	if err != nil {
		return result{note: "skipped: " + err.Error()}, nil
	}
	// The host's loopback is off limits by default, for tug as for Podman.
	conf := filepath.Join(b.dir, "loopback.conf")
	if err := os.WriteFile(conf, []byte("[network]\nallow_host_loopback = true\n"), 0o644); err != nil {
		return result{}, err
	}
	return throughputOut(reg, rootlessRunners(b, "net-out", hasPodman), true, conf)
}

// benchRunRootDefault is run --rm on the default bridge network as root,
// beside the --network none figure, for what the network costs a run.
func benchRunRootDefault(reg *testregistry.Registry, hasPodman bool) (result, error) {
	ref, err := benchImage(reg)
	if err != nil {
		return result{}, err
	}
	res, err := timeRunners(rootRunners(filepath.Join(workDir, "rrb"), hasPodman), ref, *runs*2, func(r runner) []string {
		return r.argv(r.runArgs(ref, "true")...)
	})
	if err == nil && res.podman > 0 {
		res.note = fmt.Sprintf("%.1fx faster than podman", float64(res.podman)/float64(res.tug))
	}
	return res, err
}
