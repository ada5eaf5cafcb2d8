//go:build system

package system

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	seedOnce sync.Once
	seedBin  string
	seedErr  error
	pullOnce sync.Once
	canPull  bool
)

// withImages runs fn as root and as the test user, each with the test
// images in its store: pulled from the test registry when tug can pull,
// else stored directly (test/system/seedimage). Either way they are named
// Img("busybox"), Img("config"), ... Whatever containers the test leaves
// are removed at the end.
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
	pullOnce.Do(func() {
		help, _ := exec.Command(TugBin, "--help").Output()
		canPull = strings.Contains(string(help), "\n  pull ")
	})
	if canPull {
		for _, n := range []string{"busybox", "config"} {
			e.TugOK("pull", "-q", Img(n))
		}
		return
	}
	seedOnce.Do(func() {
		seedBin = filepath.Join(baseDir, "seedimage")
		out, err := exec.Command("go", "build", "-tags", "exclude_graphdriver_btrfs,seccomp", "-o", seedBin, "./seedimage").CombinedOutput()
		if err != nil {
			seedErr = fmt.Errorf("building seedimage: %v: %s", err, out)
		}
	})
	if seedErr != nil {
		e.T.Fatal(seedErr)
	}
	var r Result
	if e.Rootless {
		r = e.run(nil, append(e.TugArgs("unshare"), seedBin, e.Root, e.RunRoot, Registry)...)
	} else {
		r = e.run(nil, seedBin, e.Root, e.RunRoot, Registry)
	}
	if r.Code != 0 {
		e.T.Fatalf("seeding images: %s", r.Combined())
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
