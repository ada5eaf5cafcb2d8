package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/tug-project/tug/test/testregistry"
)

// benchMonitorStart is the start-up of a monitor process (exec to exit,
// with nothing to monitor) from the tug-shim that tug writes into its data
// root (pkg/shim), beside the same from the whole tug binary: what each
// container's monitor and init pay before doing anything.
func benchMonitorStart(reg *testregistry.Registry, _ bool) (result, error) {
	ref, err := benchImage(reg)
	if err != nil {
		return result{}, err
	}
	dir := filepath.Join(workDir, "monitor-start")
	r := rootRunners(dir, false)[0]
	if err := r.pull(ref); err != nil {
		return result{}, err
	}
	if err := run(r.argv("run", "--rm", "--network", "none", ref, "true")); err != nil {
		return result{}, err
	}
	shims, _ := filepath.Glob(filepath.Join(dir, "tug", "root", "shim", "tug-shim-*"))
	if len(shims) != 1 {
		return result{note: "skipped: this tug has no shim (built without make?)"}, nil
	}
	startOf := func(bin string) (wall, cpu time.Duration, err error) {
		var walls, cpus []time.Duration
		for i := 0; i < *runs*5; i++ {
			// argv0 names the monitor; its go pipe (fd 4) closed, it exits at once.
			goR, goW, err := os.Pipe()
			if err != nil {
				return 0, 0, err
			}
			goW.Close()
			c := &exec.Cmd{Path: bin, Args: []string{"tug-monitor", filepath.Join(dir, "none")}, ExtraFiles: []*os.File{goR, goR}}
			start := time.Now()
			out, err := c.CombinedOutput()
			goR.Close()
			if err != nil {
				return 0, 0, fmt.Errorf("%s as tug-monitor: %v: %s", bin, err, out)
			}
			walls = append(walls, time.Since(start))
			cpus = append(cpus, c.ProcessState.UserTime()+c.ProcessState.SystemTime())
		}
		return median(walls), median(cpus), nil
	}
	shimWall, shimCPU, err := startOf(shims[0])
	if err != nil {
		return result{}, err
	}
	tugWall, tugCPU, err := startOf(*tugBin)
	if err != nil {
		return result{}, err
	}
	return result{tug: shimWall, note: fmt.Sprintf("tug-shim: %s (CPU %s); the whole tug: %s (CPU %s)", ms(shimWall), ms(shimCPU), ms(tugWall), ms(tugCPU))}, nil
}
