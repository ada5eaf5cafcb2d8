package monitor

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// initComm is the name nsexec gives libcontainer's init until it executes
// the container's command.
const initComm = "runc:[2:INIT]\n"

// waitExecuted waits, up to a second, until the container's command (or an
// exec's) runs. Once told to, libcontainer's init still closes its files
// before it executes the command; a signal in between (tug stop or kill
// right after run -d) would end the init (a Go program, exit 2) instead of
// reaching the command, and tug top would show the init. With tug's init,
// the command is the init's only child.
func waitExecuted(pid int, withInit bool) {
	deadline := time.Now().Add(time.Second)
	for d := 20 * time.Microsecond; time.Now().Before(deadline); d = min(2*d, 5*time.Millisecond) {
		p := pid
		if withInit {
			if p = onlyChild(pid); p == 0 {
				return
			}
		}
		comm, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/comm")
		if err != nil || string(comm) != initComm {
			return
		}
		time.Sleep(d)
	}
}

// onlyChild is the first child of pid, 0 if none.
func onlyChild(pid int) int {
	s := strconv.Itoa(pid)
	data, err := os.ReadFile("/proc/" + s + "/task/" + s + "/children")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}
