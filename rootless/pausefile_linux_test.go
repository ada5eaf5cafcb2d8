package rootless

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
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

func TestParseStat(t *testing.T) {
	stat := "77 (a (b) c) S 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615"
	if name, start, err := parseStat(stat); err != nil || name != "a (b) c" || start != 987654 {
		t.Fatalf("got %q %d, %v", name, start, err)
	}
	for _, bad := range []string{"77 (x) S 1", "77 x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20", ""} {
		if _, _, err := parseStat(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// A process passes for the pause process only with the recorded name, start
// time and namespaces. A sleep copied to the name tug-pause plays the pause.
// (The constructor's own check is tested end to end in test/system.)
func TestPauseInfoAlive(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	bin := filepath.Join(t.TempDir(), pauseName)
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid
	var p pauseInfo
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		// Until the exec is done the child still has the test's name.
		name, start, err := processIdentity(pid)
		if err == nil && name == pauseName {
			p = pauseInfo{PID: pid, StartTime: start}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child is still %q", name)
		}
	}
	p.UserNS, _ = nsInode(pid, "user")
	p.MntNS, _ = nsInode(pid, "mnt")
	if !p.alive() {
		t.Fatalf("%+v is not alive", p)
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
	self := pauseInfo{PID: os.Getpid(), StartTime: p.StartTime, UserNS: p.UserNS, MntNS: p.MntNS}
	if _, self.StartTime, _ = processIdentity(self.PID); self.alive() {
		t.Fatal("a process with another name passed for the pause process")
	}
}
