package libpod

import (
	"strings"
	"testing"
)

func TestParsePSKeepsTheContainersRows(t *testing.T) {
	out := "UID PID PPID C STIME TTY TIME CMD\n" +
		"root 1 0 0 10:00 ? 00:00:01 /sbin/init\n" +
		"root 400 390 0 10:01 ? 00:00:00 /bin/sh -c while :; do date; done\n" +
		"root 401 400 0 10:01 ? 00:00:00 sleep 1\n"
	res, err := parsePS(out, []int{400, 401})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Titles) != 8 || len(res.Processes) != 2 {
		t.Fatalf("%+v", res)
	}
	if got := res.Processes[0][7]; got != "/bin/sh -c while :; do date; done" {
		t.Fatalf("the command column must keep its spaces: %q", got)
	}
	// Thread lines (PID "-") follow their process.
	threads := "PID TID CMD\n400 - sh\n- 400 sh\n- 402 sh\n9 - init\n- 9 init\n"
	res, err = parsePS(threads, []int{400})
	if err != nil || len(res.Processes) != 3 {
		t.Fatalf("threads: %+v %v", res, err)
	}
	if _, err := parsePS("USER COMMAND\nroot x\n", []int{1}); err == nil || !strings.Contains(err.Error(), "PID") {
		t.Fatalf("no PID column: %v", err)
	}
	if _, err := parsePS("PID CMD\nabc x\n", []int{1}); err == nil {
		t.Fatal("a bad PID must be an error")
	}
}

func TestProcessEnv(t *testing.T) {
	env := processEnv([]string{"A=1", "HOME=/h"}, "host", true, "/root")
	want := "HOSTNAME=host A=1 HOME=/h PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=xterm"
	if got := strings.Join(env, " "); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	env = mergeEnv(processEnv([]string{"PATH=/x"}, "h", false, "/home/u"), []string{"MY_VAR=Hello World", "PATH=/y"})
	if got := strings.Join(env, ","); got != "HOSTNAME=h,PATH=/y,HOME=/home/u,MY_VAR=Hello World" {
		t.Fatalf("exec env: %s", got)
	}
}
