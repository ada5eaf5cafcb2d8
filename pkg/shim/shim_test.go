package shim

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A shell script stands in for the shim, another for tug itself (each
// prints its path: a script's $0).
const script = "#!/bin/sh\necho shim \"$0\"\n"

func setup(t *testing.T, content, sum string) string {
	t.Helper()
	oldBin, oldSum, oldSelf := binary, checksum, self
	t.Cleanup(func() { binary, checksum, self = oldBin, oldSum, oldSelf })
	Register([]byte(content), sum+"\n")
	tmp := t.TempDir()
	self = filepath.Join(tmp, "tug")
	if err := os.WriteFile(self, []byte("#!/bin/sh\necho tug \"$0\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(tmp, "data", "shim")
}

// newCmd is a command as pkg/monitor makes them (reexec.Command).
func newCmd(args ...string) *exec.Cmd { return &exec.Cmd{Path: Self, Args: args} }

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestFirstWriteThenReuse(t *testing.T) {
	dir := setup(t, script, "0123abcd")
	p := Path(dir)
	if p != filepath.Join(dir, "tug-shim-0123abcd") {
		t.Fatalf("path %q", p)
	}
	if b, _ := os.ReadFile(p); string(b) != script {
		t.Fatalf("content %q", b)
	}
	if m := mode(t, p); m != 0o755 {
		t.Fatalf("shim mode %o", m)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Fatalf("dir mode %o", m)
	}
	ino := inode(t, p)
	if again := Path(dir); again != p || inode(t, p) != ino {
		t.Fatalf("not reused: %q, inode %d then %d", again, ino, inode(t, p))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left in the directory: %v", entries)
	}
}

func TestRewritesWhatIsNotAWholeOwnShim(t *testing.T) {
	dir := setup(t, script, "feed")
	p := filepath.Join(dir, "tug-shim-feed")
	for _, c := range []struct {
		what    string
		content string
		mode    os.FileMode
	}{
		{"torn", script[:5], 0o755},
		{"writable by the group", script, 0o775},
		{"not executable", script, 0o644},
	} {
		os.MkdirAll(dir, 0o700)
		os.Remove(p)
		if err := os.WriteFile(p, []byte(c.content), c.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, c.mode)
		if got := Path(dir); got != p {
			t.Fatalf("%s: path %q", c.what, got)
		}
		if b, _ := os.ReadFile(p); string(b) != script || mode(t, p) != 0o755 {
			t.Fatalf("%s: not rewritten: %q %o", c.what, b, mode(t, p))
		}
	}
}

func TestDirModeIsFixed(t *testing.T) {
	dir := setup(t, script, "aa")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	if Path(dir) == "" {
		t.Fatal("no shim")
	}
	if m := mode(t, dir); m != 0o700 {
		t.Fatalf("dir mode %o", m)
	}
}

func TestStaleFilesRemoved(t *testing.T) {
	dir := setup(t, script, "new")
	os.MkdirAll(dir, 0o700)
	write := func(name string, age time.Duration) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(-age)
		os.Chtimes(p, when, when)
	}
	write("tug-shim-old", time.Hour)            // an older tug's
	write(".tug-shim-old-123", 0)               // an older tug's, being written or not
	write(".tug-shim-new-crashed", time.Hour)   // a crashed writer's
	write(".tug-shim-new-writing", time.Second) // a live writer's: kept
	write("unrelated", time.Hour)               // not ours: kept
	if Path(dir) == "" {
		t.Fatal("no shim")
	}
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != ".tug-shim-new-writing tug-shim-new unrelated" {
		t.Fatalf("left: %s", got)
	}
}

// Concurrent first calls each get a whole shim and can run it at once.
func TestConcurrentFirstCalls(t *testing.T) {
	// Big enough that a half-written file would be seen.
	big := script + "exit 0\n" + strings.Repeat("#", 4<<20) + "\n"
	dir := setup(t, big, "c0ffee")
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := newCmd("tug-monitor")
			var out bytes.Buffer
			cmd.Stdout = &out
			viaShim, err := Start(dir, cmd)
			if err == nil {
				err = cmd.Wait()
			}
			if err != nil || !viaShim || !strings.HasPrefix(out.String(), "shim ") {
				errs <- out.String()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a call did not run a whole shim: %q", e)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left in the directory: %v", entries)
	}
}

func TestStartRunsTheShim(t *testing.T) {
	dir := setup(t, script, "a1")
	cmd := newCmd("tug-monitor", "x")
	out, viaShim := run(t, dir, cmd)
	if !viaShim || !strings.HasPrefix(out, "shim "+dir+"/tug-shim-a1") {
		t.Fatalf("via shim %v: %q", viaShim, out)
	}
}

func run(t *testing.T, dir string, cmd *exec.Cmd) (string, bool) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout = &out
	r, w, _ := os.Pipe()
	defer r.Close()
	cmd.ExtraFiles = []*os.File{w} // survives a failed first try
	viaShim, err := Start(dir, cmd)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return out.String(), viaShim
}

func TestFallsBackToTug(t *testing.T) {
	t.Run("none embedded", func(t *testing.T) {
		dir := setup(t, "", "")
		if out, viaShim := run(t, dir, newCmd("tug-monitor")); viaShim || !strings.HasPrefix(out, "tug ") {
			t.Fatalf("via shim %v: %q", viaShim, out)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Fatal("made the directory")
		}
	})
	t.Run("TUG_SHIM=0", func(t *testing.T) {
		dir := setup(t, script, "b2")
		t.Setenv(DisableEnv, "0")
		if out, viaShim := run(t, dir, newCmd("tug-monitor")); viaShim || !strings.HasPrefix(out, "tug ") {
			t.Fatalf("via shim %v: %q", viaShim, out)
		}
	})
	t.Run("not executable", func(t *testing.T) {
		// Written, but the kernel refuses it (ENOEXEC; a noexec mount's EACCES takes the same way).
		dir := setup(t, "\x7fELF but not really", "c3")
		if out, viaShim := run(t, dir, newCmd("tug-monitor")); viaShim || !strings.HasPrefix(out, "tug ") {
			t.Fatalf("via shim %v: %q", viaShim, out)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("kept what cannot be executed: %v", entries)
		}
	})
	t.Run("noexec file system", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to mount")
		}
		dir := setup(t, script, "ab")
		os.MkdirAll(dir, 0o700)
		// In a mount namespace of a thread of its own (fork and exec run
		// on the calling thread), which dies with its goroutine.
		type result struct {
			out     string
			viaShim bool
			err     error
		}
		done := make(chan result)
		go func() {
			runtime.LockOSThread()
			if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
				done <- result{err: err}
				return
			}
			unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
			if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOEXEC, "mode=0700"); err != nil {
				done <- result{err: err}
				return
			}
			var out bytes.Buffer
			cmd := newCmd("tug-monitor")
			cmd.Stdout = &out
			viaShim, err := Start(dir, cmd)
			if err == nil {
				err = cmd.Wait()
			}
			done <- result{out.String(), viaShim, err}
		}()
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.viaShim || !strings.HasPrefix(r.out, "tug ") {
			t.Fatalf("via shim %v: %q", r.viaShim, r.out)
		}
	})
	t.Run("directory cannot be made", func(t *testing.T) {
		dir := setup(t, script, "d4")
		os.MkdirAll(filepath.Dir(dir), 0o700)
		os.WriteFile(dir, nil, 0o600) // a file where the directory should be
		if out, viaShim := run(t, dir, newCmd("tug-monitor")); viaShim || !strings.HasPrefix(out, "tug ") {
			t.Fatalf("via shim %v: %q", viaShim, out)
		}
	})
	t.Run("read-only directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes into a read-only directory")
		}
		dir := setup(t, script, "e5")
		os.MkdirAll(filepath.Dir(dir), 0o700)
		os.Chmod(filepath.Dir(dir), 0o500)
		defer os.Chmod(filepath.Dir(dir), 0o700)
		if out, viaShim := run(t, dir, newCmd("tug-monitor")); viaShim || !strings.HasPrefix(out, "tug ") {
			t.Fatalf("via shim %v: %q", viaShim, out)
		}
	})
	t.Run("directory of another user", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to give it away")
		}
		dir := setup(t, script, "f6")
		os.MkdirAll(dir, 0o700)
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if out, viaShim := run(t, dir, newCmd("tug-monitor")); viaShim || !strings.HasPrefix(out, "tug ") {
			t.Fatalf("via shim %v: %q", viaShim, out)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("wrote into it: %v", entries)
		}
	})
}
