//go:build system

package system

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tug-project/tug/test/testimages"
	"github.com/tug-project/tug/test/testregistry"
)

// repoName is a repository path unique to the running (sub)test.
func repoName(t *testing.T, suffix string) string {
	n := strings.ToLower(t.Name())
	n = strings.NewReplacer("/", "-", "_", "-", " ", "-").Replace(n)
	return "systest/" + strings.Trim(n, "-") + "-" + suffix
}

var (
	plainReg = func() *testregistry.Registry { return &testregistry.Registry{Addr: Registry, Auth: authn.Anonymous} }
	authReg  = func() *testregistry.Registry {
		return &testregistry.Registry{Addr: AuthRegistry, Auth: &authn.Basic{Username: authUser, Password: authPassword}}
	}
)

// randomImage is an image of n incompressible layers of size bytes each.
func randomImage(t *testing.T, n, size int) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.DockerManifestSchema2)
	img = mutate.ConfigMediaType(img, types.DockerConfigJSON)
	img, err := mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers"}, Config: v1.Config{Cmd: []string{"sh"}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		body := make([]byte, size)
		rand.Read(body)
		l, err := testimages.Layer([]testimages.File{{Name: fmt.Sprintf("blob%d", i), Mode: 0o644, Body: body}})
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// pushTo puts img in reg as repo:tag and returns its reference.
func pushTo(t *testing.T, reg *testregistry.Registry, repoTag string, img v1.Image) string {
	t.Helper()
	if err := reg.Push(repoTag, img); err != nil {
		t.Fatal(err)
	}
	return reg.Addr + "/" + repoTag
}

func short(h v1.Hash) string { return h.Hex[:12] }

// layerDigests are the short registry digests of img's layers, bottom first.
func layerDigests(t *testing.T, img v1.Image) []string {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range m.Layers {
		out = append(out, short(l.Digest))
	}
	return out
}

// diffIDs are the short diff IDs of img's layers, bottom first: what push prints.
func diffIDs(t *testing.T, img v1.Image) []string {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range cfg.RootFS.DiffIDs {
		out = append(out, short(d))
	}
	return out
}

func digestOf(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// storedImages counts the image records in e's store (any graph driver).
func storedImages(t *testing.T, e *Env) int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.Root, "storage", "*-images", "images.json"))
	if len(files) == 0 {
		return 0
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(data, []byte(`"id":`))
}

// tmpLeftovers lists what is left in tug's tmp dir.
func tmpLeftovers(e *Env) []string {
	entries, _ := os.ReadDir(filepath.Join(e.Root, "tmp"))
	var out []string
	for _, en := range entries {
		out = append(out, en.Name())
	}
	return out
}

// closedPort is a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Proc is a tug started in the background.
type Proc struct {
	Cmd      *exec.Cmd
	mu       sync.Mutex
	out, err bytes.Buffer
	done     chan struct{}
	code     int
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// Start runs tug in the background as the env's user.
func (e *Env) Start(args ...string) *Proc {
	e.T.Helper()
	argv := e.TugArgs(args...)
	p := &Proc{Cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	p.Cmd.Env = e.environ()
	p.Cmd.Dir = e.TmpDir
	p.Cmd.Stdout = lockedWriter{&p.mu, &p.out}
	p.Cmd.Stderr = lockedWriter{&p.mu, &p.err}
	if e.Rootless {
		p.Cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(e.uid), Gid: uint32(e.gid), Groups: []uint32{}}}
	}
	if err := p.Cmd.Start(); err != nil {
		e.T.Fatal(err)
	}
	go func() {
		err := p.Cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
			if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
				p.code = 128 + int(st.Signal())
			}
		}
		close(p.done)
	}()
	return p
}

// Output is what the process wrote so far.
func (p *Proc) Output() (string, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String(), p.err.String()
}

// Wait waits for the process and returns its result.
func (p *Proc) Wait() Result {
	<-p.done
	out, errs := p.Output()
	return Result{Out: out, Err: errs, Code: p.code}
}
