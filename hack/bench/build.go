package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tug-project/tug/test/testregistry"
)

// The build benchmarks, as root: a 10-instruction Dockerfile (5 RUN, 3
// COPY, ENV, CMD) on the busybox image, built from an empty cache, rebuilt
// fully cached, and rebuilt after a one-line change in the last copied file
// (only the steps from that COPY on run again). Podman builds the same
// context with its default network, as tug does.

const benchDockerfile = `FROM %s
ENV APP=/app
COPY a.txt /app/
RUN cat /app/a.txt > /app/a.out
COPY b.txt /app/
RUN wc -c /app/b.txt > /app/b.out
RUN echo step > /app/step
COPY c.txt /app/
RUN cat /app/c.txt >> /app/all
RUN ls /app > /app/list
CMD ["cat", "/app/list"]
`

func benchBuildContext(ref string) (string, error) {
	dir := filepath.Join(workDir, "build-context")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	files := map[string]string{"Dockerfile": fmt.Sprintf(benchDockerfile, ref), "a.txt": "a\n", "b.txt": "b\n", "c.txt": "c line 1\nc line 2\n"}
	for n, data := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(data), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// buildArgs is the build command line of each engine.
func buildArgs(r runner, dir string) []string {
	if r.name == "podman" {
		return r.argv("build", "--pull=never", "-t", "bench-build", dir)
	}
	return r.argv("build", "-t", "bench-build", dir)
}

func buildRunners(reg *testregistry.Registry, hasPodman bool, sub string) ([]runner, string, error) {
	ref, err := benchImage(reg)
	if err != nil {
		return nil, "", err
	}
	dir, err := benchBuildContext(ref)
	if err != nil {
		return nil, "", err
	}
	return rootRunners(filepath.Join(workDir, sub), hasPodman), dir, nil
}

// wipe removes an engine's store (unmounting what is left) and pulls the base image again.
func wipe(r runner, root, ref string) error {
	exec.Command("sh", "-c", "grep -o ' "+root+"[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l").Run()
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	return r.pull(ref)
}

func benchBuildFirst(reg *testregistry.Registry, hasPodman bool) (result, error) {
	rs, dir, err := buildRunners(reg, hasPodman, "build-first")
	if err != nil {
		return result{}, err
	}
	ref := reg.Addr + "/tug/busybox:latest"
	var res result
	n := max(*runs/2, 3)
	for _, r := range rs {
		root := filepath.Join(workDir, "build-first", r.name)
		d, err := timeCmds(n, func(int) error { return wipe(r, root, ref) }, func(int) *exec.Cmd { return r.mk(buildArgs(r, dir)) })
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

func benchBuildCached(reg *testregistry.Registry, hasPodman bool) (result, error) {
	rs, dir, err := buildRunners(reg, hasPodman, "build-cached")
	if err != nil {
		return result{}, err
	}
	ref := reg.Addr + "/tug/busybox:latest"
	var res result
	for _, r := range rs {
		root := filepath.Join(workDir, "build-cached", r.name)
		if err := wipe(r, root, ref); err != nil {
			return res, err
		}
		if out, err := r.mk(buildArgs(r, dir)).CombinedOutput(); err != nil {
			return res, fmt.Errorf("%s build: %v: %s", r.name, err, out)
		}
		d, err := timeCmds(*runs, nil, func(int) *exec.Cmd { return r.mk(buildArgs(r, dir)) })
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

// benchBuildChange edits one line of c.txt before each timed build: the
// third COPY and the steps after it run again, the six before come from
// the cache (tug's output is checked for that).
func benchBuildChange(reg *testregistry.Registry, hasPodman bool) (result, error) {
	rs, dir, err := buildRunners(reg, hasPodman, "build-change")
	if err != nil {
		return result{}, err
	}
	ref := reg.Addr + "/tug/busybox:latest"
	var res result
	for _, r := range rs {
		root := filepath.Join(workDir, "build-change", r.name)
		if err := wipe(r, root, ref); err != nil {
			return res, err
		}
		if out, err := r.mk(buildArgs(r, dir)).CombinedOutput(); err != nil {
			return res, fmt.Errorf("%s build: %v: %s", r.name, err, out)
		}
		edit := func(i int) error {
			return os.WriteFile(filepath.Join(dir, "c.txt"), []byte(fmt.Sprintf("c line 1\nc line 2, edit %s %d\n", r.name, i)), 0o644)
		}
		d, err := timeCmds(*runs, edit, func(int) *exec.Cmd { return r.mk(buildArgs(r, dir)) })
		if err != nil {
			return res, err
		}
		if r.name == "tug" {
			res.tug = d
			edit(-1)
			out, err := r.mk(buildArgs(r, dir)).CombinedOutput()
			if err != nil {
				return res, err
			}
			if n := strings.Count(string(out), "Using cache"); n != 6 {
				res.note = fmt.Sprintf("WRONG: %d steps from the cache, 6 expected", n)
			} else {
				res.note = "6 steps cached, 4 rebuilt"
			}
		} else {
			res.podman = d
		}
	}
	return res, nil
}
