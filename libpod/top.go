package libpod

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// Processes lists the host PIDs of the running container's processes: those
// in its PID namespace (which is all of them: tug gives every container
// one). It works as root and rootless, with or without cgroups.
func (c *Container) Processes() ([]int, error) {
	if !c.Running() || c.State.Pid == 0 {
		return nil, notRunningError(c)
	}
	want, err := os.Stat(fmt.Sprintf("/proc/%d/ns/pid", c.State.Pid))
	if err != nil {
		return nil, notRunningError(c)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := os.Stat("/proc/" + e.Name() + "/ns/pid"); err == nil && os.SameFile(st, want) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// TopResult is `tug top`: the titles of ps's columns and one row per process.
type TopResult struct {
	Titles    []string
	Processes [][]string
}

// psArgsPID matches a "field=PID" renaming in ps options, which would hide
// the PID column Top needs (Docker refuses it too).
var psArgsPID = regexp.MustCompile(`\s+([^\s]*)=\s*(PID[^\s]*)`)

// Top runs the host's ps with psArgs (default -ef) and keeps the lines of
// the container's processes, as Docker's top does. Rootless, ps runs in
// tug's user namespace: UIDs are the container's (names come from the
// host's /etc/passwd).
func (c *Container) Top(psArgs []string) (*TopResult, error) {
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	for _, g := range psArgsPID.FindAllStringSubmatch(" "+strings.Join(psArgs, " "), -1) {
		if g[1] != "pid" {
			return nil, fmt.Errorf("specifying \"%s=%s\" is not allowed", g[1], g[2])
		}
	}
	pids, err := c.Processes()
	if err != nil {
		return nil, err
	}
	list := make([]string, len(pids))
	for i, p := range pids {
		list[i] = strconv.Itoa(p)
	}
	// -q PIDs makes ps read only those; some options (f) refuse it: then all.
	out, err := exec.Command("ps", append(append([]string(nil), psArgs...), "-q", strings.Join(list, ","))...).Output()
	if err != nil {
		out, err = exec.Command("ps", psArgs...).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if line, _, _ := bytes.Cut(ee.Stderr, []byte("\n")); len(line) > 0 {
					err = errors.New(string(line))
				}
			}
			return nil, fmt.Errorf("ps: %w", err)
		}
	}
	return parsePS(string(out), pids)
}

// parsePS keeps the rows of ps output whose PID is one of pids (and the
// thread lines, PID "-", that follow such a row).
func parsePS(out string, pids []int) (*TopResult, error) {
	lines := strings.Split(out, "\n")
	res := &TopResult{Titles: strings.Fields(lines[0]), Processes: [][]string{}}
	pidCol := -1
	for i, t := range res.Titles {
		if t == "PID" {
			pidCol = i
			break
		}
	}
	if pidCol < 0 {
		return nil, errors.New("Couldn't find PID field in ps output")
	}
	in := map[int]bool{}
	for _, p := range pids {
		in[p] = true
	}
	prevIn := false
	for _, line := range lines[1:] {
		fields := strings.Fields(line)
		if len(fields) <= pidCol {
			continue
		}
		keep := false
		if fields[pidCol] == "-" {
			keep = prevIn
		} else {
			pid, err := strconv.Atoi(fields[pidCol])
			if err != nil {
				return nil, fmt.Errorf("Unexpected pid '%s': %v", fields[pidCol], err)
			}
			keep, prevIn = in[pid], in[pid]
		}
		if !keep {
			continue
		}
		// The last column (the command) may hold spaces: it takes the rest.
		n := len(res.Titles)
		if len(fields) > n {
			fields = append(fields[:n-1:n-1], strings.Join(fields[n-1:], " "))
		}
		res.Processes = append(res.Processes, fields)
	}
	return res, nil
}
