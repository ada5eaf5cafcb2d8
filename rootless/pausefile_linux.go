package rootless

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// pauseInfo is the content of <runroot>/pause.pid, one line:
//
//	PID STARTTIME USERNS MNTNS SINGLE
//
// STARTTIME (field 22 of /proc/PID/stat) and the inode numbers of the two
// namespaces tell the pause process from any later process that gets its
// PID; SINGLE is 1 when only the user's own ID is mapped. The constructor
// (join_linux.c) reads the same format.
type pauseInfo struct {
	PID           int
	StartTime     uint64
	UserNS, MntNS uint64
	SingleID      bool
}

func (p pauseInfo) String() string {
	single := 0
	if p.SingleID {
		single = 1
	}
	return fmt.Sprintf("%d %d %d %d %d\n", p.PID, p.StartTime, p.UserNS, p.MntNS, single)
}

func parsePauseInfo(s string) (pauseInfo, error) {
	f := strings.Fields(s)
	if len(f) != 5 {
		return pauseInfo{}, fmt.Errorf("malformed pause pid file: %q", s)
	}
	var p pauseInfo
	var err error
	var nums [4]uint64
	for i := range nums {
		if nums[i], err = strconv.ParseUint(f[i], 10, 64); err != nil {
			return pauseInfo{}, fmt.Errorf("malformed pause pid file: %q", s)
		}
	}
	if nums[0] == 0 || nums[0] > 1<<22 {
		return pauseInfo{}, fmt.Errorf("malformed pause pid file: %q", s)
	}
	p.PID, p.StartTime, p.UserNS, p.MntNS = int(nums[0]), nums[1], nums[2], nums[3]
	p.SingleID = f[4] == "1"
	return p, nil
}

func readPauseInfo(path string) (pauseInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return pauseInfo{}, err
	}
	return parsePauseInfo(string(data))
}

// writePauseInfo replaces the pid file atomically: a reader sees the old
// file or the new one, never a part.
func writePauseInfo(path string, p pauseInfo) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pause.pid-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(p.String()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// alive reports whether p still names a live pause process: the PID is the
// same process (name and start time) and holds the same namespaces.
func (p pauseInfo) alive() bool {
	name, start, err := processIdentity(p.PID)
	if err != nil || name != pauseName || start != p.StartTime {
		return false
	}
	u, err1 := nsInode(p.PID, "user")
	m, err2 := nsInode(p.PID, "mnt")
	return err1 == nil && err2 == nil && u == p.UserNS && m == p.MntNS
}

// processIdentity is the name and start time of process pid, which with
// the PID name one process for the life of the machine.
func processIdentity(pid int) (name string, start uint64, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, err
	}
	return parseStat(string(data))
}

// parseStat takes fields 2 (the name) and 22 (the start time) of
// /proc/PID/stat. The name is in parentheses and may hold spaces or
// parentheses itself.
func parseStat(stat string) (name string, start uint64, err error) {
	i, j := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if i < 0 || j < i {
		return "", 0, fmt.Errorf("malformed /proc stat: %q", stat)
	}
	f := strings.Fields(stat[j+1:])
	if len(f) < 20 {
		return "", 0, fmt.Errorf("malformed /proc stat: %q", stat)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	return stat[i+1 : j], start, err
}

func nsInode(pid int, ns string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(pid)+"/ns/"+ns, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// StopPause ends the pause process of runRoot, if one is alive, and
// removes its pid file, so that the next tug call makes new namespaces
// (with the sub-ID ranges /etc/subuid and /etc/subgid give now). Processes
// already inside keep theirs. It returns the PID it stopped (0: none).
func StopPause(runRoot string) (int, error) {
	pidFile := PidFile(runRoot)
	info, err := readPauseInfo(pidFile)
	if err != nil {
		if os.IsNotExist(err) {
			return 0, nil
		}
		return 0, os.Remove(pidFile) // malformed: nobody can join it anyway
	}
	pid := 0
	if info.alive() {
		if err := syscall.Kill(info.PID, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
			return 0, err
		}
		pid = info.PID
	}
	if err := os.Remove(pidFile); err != nil && !os.IsNotExist(err) {
		return pid, err
	}
	return pid, nil
}
