// Package testregistry runs Debian's docker-registry on a free 127.0.0.1
// port for tests and benchmarks, optionally with htpasswd auth.
package testregistry

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"
)

// Registry is a running docker-registry.
type Registry struct {
	Addr string // 127.0.0.1:PORT
	Auth authn.Authenticator
	cmd  *exec.Cmd
	log  *os.File
}

// Start runs a registry storing its data under dir. With user set, clients
// must log in as user/password.
func Start(dir, user, password string) (*Registry, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s/data\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", dir, addr)
	r := &Registry{Addr: addr, Auth: authn.Anonymous}
	if user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(user+":"+string(hash)+"\n"), 0o644); err != nil {
			return nil, err
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: tug-test\n    path: %s/htpasswd\n", dir)
		r.Auth = &authn.Basic{Username: user, Password: password}
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	if r.log, err = os.Create(filepath.Join(dir, "registry.log")); err != nil {
		return nil, err
	}
	r.cmd = exec.Command("docker-registry", "serve", cfgPath)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting docker-registry (install the docker-registry package): %w", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			return r, nil
		}
		if time.Now().After(deadline) {
			r.Stop()
			log, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			return nil, fmt.Errorf("docker-registry did not answer on %s: %v\n%s", addr, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the registry.
func (r *Registry) Stop() {
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.log.Close()
}

// Push writes an image as REGISTRY/repo:tag.
func (r *Registry) Push(repoTag string, img v1.Image) error {
	ref, err := name.ParseReference(r.Addr+"/"+repoTag, name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.Write(ref, img, remote.WithAuth(r.Auth)); err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	return nil
}

// PushIndex writes an image index as REGISTRY/repo:tag.
func (r *Registry) PushIndex(repoTag string, idx v1.ImageIndex) error {
	ref, err := name.ParseReference(r.Addr+"/"+repoTag, name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.WriteIndex(ref, idx, remote.WithAuth(r.Auth)); err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	return nil
}
