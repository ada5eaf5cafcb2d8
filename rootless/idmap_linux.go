package rootless

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
)

const (
	subUIDFile = "/etc/subuid"
	subGIDFile = "/etc/subgid"
)

// idMaps is how the user's IDs map into a new user namespace: their own ID
// as 0, then their sub-ID ranges.
type idMaps struct {
	user                 string
	uid, gid             int
	uidRanges, gidRanges []IDRange
}

func loadIDMaps() idMaps {
	m := idMaps{uid: os.Geteuid(), gid: os.Getegid()}
	if u, err := user.LookupId(strconv.Itoa(m.uid)); err == nil {
		m.user = u.Username
	}
	if data, err := os.ReadFile(subUIDFile); err == nil {
		m.uidRanges = ParseSubIDs(data, m.user, m.uid)
	}
	if data, err := os.ReadFile(subGIDFile); err == nil {
		m.gidRanges = ParseSubIDs(data, m.user, m.uid)
	}
	return m
}

// single reports whether some kind of ID has no sub-IDs: then files owned by
// other IDs cannot exist inside.
func (m idMaps) single() bool { return len(m.uidRanges) == 0 || len(m.gidRanges) == 0 }

// warning is the one line printed when the namespace gets a single ID mapping.
func (m idMaps) warning() string {
	var missing, files []string
	if len(m.uidRanges) == 0 {
		missing, files = append(missing, "subuid"), append(files, subUIDFile)
	}
	if len(m.gidRanges) == 0 {
		missing, files = append(missing, "subgid"), append(files, subGIDFile)
	}
	name := m.user
	if name == "" {
		name = strconv.Itoa(m.uid)
	}
	return fmt.Sprintf("WARNING: no %s ranges found for user %q in %s: running with a single ID mapping; images with files owned by other IDs may not work",
		strings.Join(missing, "/"), name, strings.Join(files, " and "))
}

// apply writes the maps of the user namespace of process pid, through the
// setuid helpers for sub-IDs, directly for the user's own ID alone.
func (m idMaps) apply(pid int) error {
	proc := "/proc/" + strconv.Itoa(pid)
	if len(m.uidRanges) > 0 {
		if err := runMapTool("newuidmap", pid, mapArgs(m.uid, m.uidRanges)); err != nil {
			return err
		}
	} else if err := os.WriteFile(proc+"/uid_map", []byte("0 "+strconv.Itoa(m.uid)+" 1\n"), 0); err != nil {
		return fmt.Errorf("writing the uid map: %w", err)
	}
	if len(m.gidRanges) > 0 {
		return runMapTool("newgidmap", pid, mapArgs(m.gid, m.gidRanges))
	}
	// Without newgidmap the kernel takes a gid map only once setgroups is denied.
	if err := os.WriteFile(proc+"/setgroups", []byte("deny"), 0); err != nil {
		return fmt.Errorf("writing setgroups: %w", err)
	}
	if err := os.WriteFile(proc+"/gid_map", []byte("0 "+strconv.Itoa(m.gid)+" 1\n"), 0); err != nil {
		return fmt.Errorf("writing the gid map: %w", err)
	}
	return nil
}

// errNoMapTool is returned when newuidmap or newgidmap is not installed.
var errNoMapTool = errors.New("not found")

func runMapTool(tool string, pid int, mapping []string) error {
	path, err := exec.LookPath(tool)
	if err != nil {
		return fmt.Errorf("%s %w: install the uidmap package; tug needs it to map the sub-IDs of %s and %s into its user namespace", tool, errNoMapTool, subUIDFile, subGIDFile)
	}
	out, err := exec.Command(path, append([]string{strconv.Itoa(pid)}, mapping...)...).CombinedOutput()
	if err != nil {
		msg := string(bytes.TrimSpace(out))
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s: %s (check the entries of the user in %s and %s)", tool, msg, subUIDFile, subGIDFile)
	}
	return nil
}
