//go:build system

package system

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// withImages runs fn as root and as the test user, each with the busybox
// and config test images pulled into its store. Whatever containers the
// test leaves are removed at the end.
func withImages(t *testing.T, fn func(t *testing.T, e *Env)) {
	t.Helper()
	eachUser(t, func(t *testing.T, e *Env) {
		e.loadImages()
		t.Cleanup(func() { e.Sh(`ids=$($TUG ps -aq); [ -z "$ids" ] || $TUG rm -f $ids >/dev/null`) })
		fn(t, e)
	})
}

func (e *Env) loadImages() {
	e.T.Helper()
	for _, n := range []string{"busybox", "config"} {
		e.TugOK("pull", "-q", Img(n))
	}
}

// waitUntil polls cond every 50 ms for up to 20 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 400; i++ {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// storageMounts counts the mounts under the env's data root, in the mount
// namespace tug uses (the pause process's when rootless).
func (e *Env) storageMounts() int {
	e.T.Helper()
	var data string
	if e.Rootless {
		data = e.TugOK("unshare", "cat", "/proc/self/mountinfo").Out
	} else {
		b, _ := os.ReadFile("/proc/self/mountinfo")
		data = string(b)
	}
	dir := filepath.Join(e.Root, "storage", "overlay")
	n := 0
	for _, l := range strings.Split(data, "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			n++
		}
	}
	return n
}

// inspect returns one --format field of a container.
func (e *Env) inspect(name, format string) string {
	e.T.Helper()
	return strings.TrimSpace(e.TugOK("container", "inspect", "--format", format, name).Out)
}

func readDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, err
}

// startHTTPServer serves body on 127.0.0.1 and returns the port.
func startHTTPServer(t *testing.T, body string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// syncBuffer is a strings.Builder safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitReady waits until a container's script has logged "ready" (its traps
// are set: PID 1 ignores signals it has no handler for).
func (e *Env) waitReady(name string) {
	e.T.Helper()
	waitUntil(e.T, name+" to be ready", func() bool { return strings.Contains(e.Tug("logs", name).Out, "ready") })
}
