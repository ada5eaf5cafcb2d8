package monitor

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.podman.io/storage/pkg/reexec"

	"github.com/tug-project/tug/pkg/logs"
)

// idleTestParent starts `cat FILE` writing to the pipes it got as fds 3
// and 4 (stdout, stderr: the same file to both), then becomes the idle loop,
// the cat its child as a container's init is the monitor's.
const idleTestParent = "tug-idle-test-parent"

func init() {
	reexec.Register(idleTestParent, func() {
		outR, outW := os.NewFile(3, "outR"), os.NewFile(4, "outW")
		errR, errW := os.NewFile(5, "errR"), os.NewFile(6, "errW")
		cmd := exec.Command("sh", "-c", `cat "$1"; cat "$2" >&2`, "sh", os.Args[2], os.Args[3])
		cmd.Stdout, cmd.Stderr = outW, errW
		if err := cmd.Start(); err != nil {
			os.Exit(2)
		}
		outW.Close()
		errW.Close()
		args := append([]string{IdleName, os.Args[1], "pid=" + strconv.Itoa(cmd.Process.Pid),
			"out=" + strconv.Itoa(int(outR.Fd())), "err=" + strconv.Itoa(int(errR.Fd()))}, os.Args[4:]...)
		syscall.Exec("/proc/self/exe", args, os.Environ())
		os.Exit(3)
	})
}

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

// tricky is output that JSON has to escape: controls, quotes, invalid and
// valid UTF-8, U+2028/9, DEL, a U+FFFD of its own.
var tricky = [][]byte{
	[]byte("plain line\n"),
	[]byte("quote \" backslash \\ slash / tab \t cr \r bell \a esc \x1b nul \x00 del \x7f\n"),
	[]byte("<html>&amp;</html>\n"),
	[]byte("\xff\xfe invalid \xc3 truncated \xe2\x82 and \xed\xa0\x80 surrogate \xf4\x90\x80\x80 too big \xc0\xaf overlong\n"),
	[]byte("ünïcödé 日本語 🎉 \u2028 \u2029 \ufffd\n"),
	[]byte("\b\f\v\x01\x1f\n"),
	[]byte("no newline at the end"),
	[]byte("\n"),
}

var timeField = regexp.MustCompile(`"time":"[^"]*"`)

func TestIdleLogEntryIsGoBytes(t *testing.T) {
	for _, driver := range []string{logs.JSONFile, logs.K8sFile} {
		for _, line := range tricky {
			want := goEntry(t, driver, line)
			var ts time.Time
			if driver == logs.JSONFile {
				var e struct{ Time string }
				json.Unmarshal(want, &e)
				ts, _ = time.Parse(time.RFC3339Nano, e.Time)
			} else {
				ts, _ = time.Parse(time.RFC3339Nano, string(want[:bytes.IndexByte(want, ' ')]))
			}
			got := cLogEntry(driver, "stdout", line, !bytes.HasSuffix(line, []byte("\n")), ts)
			if !bytes.Equal(got, want) {
				t.Errorf("%s %q:\n C  %q\n Go %q", driver, line, got, want)
			}
		}
	}
}

func TestIdleTimeFormat(t *testing.T) {
	for _, ts := range []time.Time{
		time.Unix(0, 0), time.Unix(1700000000, 1), time.Unix(1700000000, 120000000), time.Unix(1700000000, 999999999),
		time.Date(2026, 12, 1, 23, 59, 59, 100, time.UTC), time.Unix(4102444800, 5000),
	} {
		want := `"time":"` + ts.UTC().Format(time.RFC3339Nano) + `"`
		if got := timeField.Find(cLogEntry(logs.JSONFile, "stdout", []byte("x\n"), false, ts)); string(got) != want {
			t.Errorf("%v: C %s, Go %s", ts, got, want)
		}
	}
}

// goEntry is what pkg/logs writes for line, alone.
func goEntry(t testing.TB, driver string, line []byte) []byte {
	path := filepath.Join(t.TempDir(), "log")
	w, err := logs.NewWriter(logs.Options{Driver: driver, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	w.Write("stdout", line)
	w.Close()
	data, _ := os.ReadFile(path)
	return data
}

func FuzzIdleLogEntry(f *testing.F) {
	for _, line := range tricky {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		line = append(bytes.ReplaceAll(line, []byte("\n"), nil), '\n')
		if len(line) > 16<<10 {
			return
		}
		want := goEntry(t, logs.JSONFile, line)
		got := cLogEntry(logs.JSONFile, "stdout", line, false, time.Now())
		if !bytes.Equal(timeField.ReplaceAll(got, nil), timeField.ReplaceAll(want, nil)) {
			t.Errorf("%q:\n C  %q\n Go %q", line, got, want)
		}
	})
}

// runIdle runs the idle loop on `cat out; cat err >&2` with the given log
// arguments, until it has finished (the exit file is written).
func runIdle(t *testing.T, out, errOut []byte, logArgs ...string) string {
	dir := t.TempDir()
	outFile, errFile := filepath.Join(dir, "out.data"), filepath.Join(dir, "err.data")
	os.WriteFile(outFile, out, 0o600)
	os.WriteFile(errFile, errOut, 0o600)
	cfg, _ := json.Marshal(Config{ID: "idle-test", StateRoot: filepath.Join(dir, "state")})
	os.WriteFile(filepath.Join(dir, ConfigFile), cfg, 0o600)
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	cmd := reexec.Command(append([]string{idleTestParent, dir, outFile, errFile}, logArgs...)...)
	cmd.Dir = dir
	cmd.ExtraFiles = []*os.File{outR, outW, errR, errW}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range cmd.ExtraFiles {
		f.Close() // the pipes end when the cat's ends go
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, ExitFile))
	if err != nil {
		t.Fatal("no exit file: ", err)
	}
	var e Exit
	if json.Unmarshal(data, &e) != nil || e.Code != 0 || time.Since(e.FinishedAt) > time.Minute {
		t.Fatalf("exit file: %s", data)
	}
	return dir
}

// The loop's log, written from pipes, is pkg/logs' for the same output.
func TestIdleLoopLog(t *testing.T) {
	var out []byte
	for i := 0; i < 200; i++ {
		out = append(out, tricky[i%len(tricky)]...)
		out = append(out, '\n')
	}
	out = append(out, "the end, partial"...)
	errOut := []byte("an error\nand its partial end")
	for _, driver := range []string{logs.JSONFile, logs.K8sFile} {
		dir := runIdle(t, out, errOut, "log="+driver, "logpath=ctr.log")
		got, _ := os.ReadFile(filepath.Join(dir, "ctr.log"))
		want := goLog(t, driver, 0, 0, out, errOut)
		if g, w := normalize(driver, got), normalize(driver, want); g != w {
			t.Errorf("%s: the idle loop's log differs from pkg/logs':\n%s\n---\n%s", driver, g, w)
		}
	}
}

// Rotation keeps max-file files of at most max-size, the newest lines.
func TestIdleLoopLogRotation(t *testing.T) {
	var out []byte
	for i := 0; i < 100; i++ {
		out = append(out, "line number "+strconv.Itoa(i)+"\n"...)
	}
	dir := runIdle(t, out, nil, "log=json-file", "logpath=ctr.log", "maxsize=1000", "maxfile=3")
	files, _ := filepath.Glob(filepath.Join(dir, "ctr.log*"))
	sort.Sort(sort.Reverse(sort.StringSlice(files))) // .2, .1, then the current one
	if len(files) != 3 || !strings.HasSuffix(files[2], "ctr.log") {
		t.Fatalf("files: %v", files)
	}
	var kept []byte
	for _, f := range files { // .2, .1, the current one: oldest first
		data, _ := os.ReadFile(f)
		if len(data) > 1000 {
			t.Errorf("%s: %d bytes", f, len(data))
		}
		kept = append(kept, data...)
	}
	all := normalize(logs.JSONFile, goLog(t, logs.JSONFile, 0, 0, out, nil))
	if k := normalize(logs.JSONFile, kept); !strings.HasSuffix(all, k) || !strings.Contains(k, "line number 99") || len(k) < 1000 {
		t.Errorf("kept %q", k)
	}
}

func goLog(t *testing.T, driver string, maxSize int64, maxFile int, out, errOut []byte) []byte {
	path := filepath.Join(t.TempDir(), "log")
	w, err := logs.NewWriter(logs.Options{Driver: driver, Path: path, MaxSize: maxSize, MaxFile: maxFile})
	if err != nil {
		t.Fatal(err)
	}
	w.Write("stdout", out)
	w.Write("stderr", errOut)
	w.Close()
	data, _ := os.ReadFile(path)
	return data
}

var k8sTime = regexp.MustCompile(`(?m)^\S+ `)

func normalize(driver string, b []byte) string {
	if driver == logs.K8sFile {
		return string(k8sTime.ReplaceAll(b, []byte("T ")))
	}
	return string(timeField.ReplaceAll(b, []byte(`"time":"T"`)))
}
