package rootless

import (
	"strconv"
	"strings"
	"testing"
)

func TestConstructorPidFile(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	t.Setenv("TMPDIR", "")
	tests := []struct {
		args []string
		want string // "" means: no join
	}{
		{[]string{"tug", "images"}, "/run/user/1000/tug/pause.pid"},
		{[]string{"tug", "--runroot", "/r", "images"}, "/r/pause.pid"},
		{[]string{"tug", "--runroot=/r", "ps", "-a"}, "/r/pause.pid"},
		{[]string{"tug", "--root", "/x", "--log-level", "debug", "--runroot", "rel", "run", "img"}, "rel/pause.pid"},
		{[]string{"tug", "--root=/x", "--config", "/c", "pull", "x"}, "/run/user/1000/tug/pause.pid"},
		{[]string{"tug", "--root", "images", "ps"}, "/run/user/1000/tug/pause.pid"}, // "images" is --root's value
		{[]string{"tug", "run", "img", "--", "--runroot", "/r"}, "/run/user/1000/tug/pause.pid"},
		// Commands that need no namespace, and no command at all.
		{[]string{"tug"}, ""},
		{[]string{"tug", "--version"}, ""},
		{[]string{"tug", "-v"}, ""},
		{[]string{"tug", "--help"}, ""},
		{[]string{"tug", "--runroot", "/r", "version"}, ""},
		{[]string{"tug", "completion", "bash"}, ""},
		{[]string{"tug", "__complete", "images", ""}, ""},
		{[]string{"tug", "--runroot"}, ""},
		// --runroot after the command: left to Go, which parses it.
		{[]string{"tug", "images", "--runroot", "/r"}, ""},
		{[]string{"tug", "--runroot", "/a", "images", "--runroot=/r"}, ""},
		{[]string{"tug", "--runroot=", "images"}, ""},
	}
	for _, tt := range tests {
		got, ok := constructorPidFile(tt.args)
		if !ok {
			got = ""
		}
		if got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestConstructorDefaultRunRootWithoutXDG(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("TMPDIR", "/scratch")
	got, ok := constructorPidFile([]string{"tug", "images"})
	want := "/scratch/tug-run-" + strconv.Itoa(HostUID()) + "/pause.pid"
	if !ok || got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	t.Setenv("TMPDIR", "")
	got, _ = constructorPidFile([]string{"tug", "images"})
	if want := "/tmp/tug-run-" + strconv.Itoa(HostUID()) + "/pause.pid"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func FuzzConstructorPidFile(f *testing.F) {
	f.Add("--runroot\x00/r\x00images")
	f.Add("--root=x\x00run\x00--runroot")
	f.Add("--\x00-\x00")
	f.Fuzz(func(t *testing.T, joined string) {
		// Arguments as the kernel gives them: NUL-separated.
		args := append([]string{"tug"}, strings.Split(joined, "\x00")...)
		path, ok := constructorPidFile(args)
		if ok && !strings.HasSuffix(path, "/pause.pid") {
			t.Fatalf("%q: %q", args, path)
		}
	})
}
