package rootless

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPauseInfoRoundTrip(t *testing.T) {
	p := pauseInfo{PID: 4242, StartTime: 123456, UserNS: 4026532177, MntNS: 4026532178, SingleID: true}
	path := filepath.Join(t.TempDir(), "pause.pid")
	if err := writePauseInfo(path, p); err != nil {
		t.Fatal(err)
	}
	got, err := readPauseInfo(path)
	if err != nil || got != p {
		t.Fatalf("got %+v, %v; want %+v", got, err, p)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	for _, bad := range []string{"", "4242", "4242\n", "x 1 2 3 0", "0 1 2 3 0", "-1 1 2 3 0", "99999999 1 2 3 0", "1 2 3 4 0 5"} {
		if _, err := parsePauseInfo(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseStartTime(t *testing.T) {
	stat := "77 (a (b) c) S 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615"
	if got, err := parseStartTime(stat); err != nil || got != 987654 {
		t.Fatalf("got %d, %v", got, err)
	}
	if _, err := parseStartTime("77 (x) S 1"); err == nil {
		t.Fatal("short stat parsed")
	}
}

// This process is alive with its own start time and namespaces; the same
// PID with another start time (a reused PID) is not.
func TestPauseInfoAlive(t *testing.T) {
	pid := os.Getpid()
	start, err := processStartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := nsInode(pid, "user")
	m, _ := nsInode(pid, "mnt")
	p := pauseInfo{PID: pid, StartTime: start, UserNS: u, MntNS: m}
	if !p.alive() {
		t.Fatal("this process is not alive")
	}
	reused := p
	reused.StartTime++
	if reused.alive() {
		t.Fatal("a PID with another start time passed for the pause process")
	}
	otherNS := p
	otherNS.MntNS++
	if otherNS.alive() {
		t.Fatal("a PID in other namespaces passed for the pause process")
	}
}
