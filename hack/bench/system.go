package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/tug-project/tug/pkg/events"
	"github.com/tug-project/tug/test/testregistry"
)

// The system benchmarks: system df over a full store, and replaying the
// event log.

// benchSystemDf fills a store with 50 images, 100 containers and 50
// volumes (half the containers mount one each), then times system df.
func benchSystemDf(reg *testregistry.Registry, hasPodman bool) (result, error) {
	archives, err := smallArchives()
	if err != nil {
		return result{}, err
	}
	ref, err := benchImage(reg)
	if err != nil {
		return result{}, err
	}
	var res result
	for _, r := range rootRunners(filepath.Join(workDir, "df"), hasPodman) {
		for _, a := range archives {
			if out, err := r.mk(r.argv("load", "-q", "-i", a)).CombinedOutput(); err != nil {
				return res, fmt.Errorf("%s load: %v: %s", r.name, err, out)
			}
		}
		if err := r.pull(ref); err != nil {
			return res, err
		}
		for i := 0; i < 100; i++ {
			args := []string{"create"}
			if i%2 == 0 {
				args = append(args, "-v", fmt.Sprintf("vol%d:/data", i))
			}
			if out, err := r.mk(r.argv(append(args, ref, "true")...)).CombinedOutput(); err != nil {
				return res, fmt.Errorf("%s create: %v: %s", r.name, err, out)
			}
		}
		d, err := timeCmds(*runs*2, nil, func(int) *exec.Cmd { return r.mk(r.argv("system", "df")) })
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

// benchEventsReplay records 10,000 events spread over the last half hour
// in a root's event log (as tug calls write them) and times
// `tug events --since 1h --until now`, which prints them all.
func benchEventsReplay(_ *testregistry.Registry, _ bool) (result, error) {
	root := filepath.Join(workDir, "events")
	log := &events.Log{Dir: filepath.Join(root, "run")}
	start := time.Now().Add(-30 * time.Minute)
	for i := 0; i < 10000; i++ {
		id := fmt.Sprintf("%064x", i)
		ev := events.New(events.TypeContainer, []string{"create", "start", "die", "destroy"}[i%4], id,
			map[string]string{"image": "docker.io/library/busybox:latest", "name": fmt.Sprintf("bench_%d", i/4), "exitCode": "0"})
		ev.TimeNano = start.Add(time.Duration(i) * 150 * time.Millisecond).UnixNano()
		ev.Time = ev.TimeNano / 1e9
		if err := log.Write(ev); err != nil {
			return result{}, err
		}
	}
	if info, err := os.Stat(log.Path()); err != nil {
		return result{}, err
	} else if _, err := os.Stat(log.Path() + ".1"); err == nil {
		return result{}, fmt.Errorf("the 10,000 events (%d bytes) did not fit one file", info.Size())
	}
	d, err := timeRuns(*runs*2, nil, func(int) []string { return tug(root, "events", "--since", "1h", "--until", "now") })
	return result{tug: d, note: "10,000 events printed"}, err
}
