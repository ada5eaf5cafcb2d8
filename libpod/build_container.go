package libpod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"go.podman.io/storage"
	"golang.org/x/sys/unix"

	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/monitor"
	"github.com/tug-project/tug/pkg/oci"
	"github.com/tug-project/tug/pkg/specgen"
)

// Build containers: the working container of one Dockerfile step. It is a
// storage container (a writable layer on the step's parent image, or on
// nothing for FROM scratch) mounted for the step; a RUN step runs its command
// in it with the build as the process's parent (no monitor, no DB row: it
// lives only as long as the step), with the same OCI spec and security
// defaults as `tug run`; a COPY step writes its files into it. Its changes
// then become the step's image, through the same path as `tug commit`.
//
// A build killed mid-step leaves its container; the storage metadata names
// the build's process, and CleanBuildContainers (called by every build and
// by `builder prune`) removes those whose process is gone.

// BuildContainer is one step's working container.
type BuildContainer struct {
	ID     string
	Rootfs string
	Image  *image.Image // the parent; nil for scratch
	rt     *Runtime
	dir    string          // RUNROOT/build/ID: hosts, resolv.conf, secrets, netns
	made   map[string]bool // paths created only as mount targets (left out of the layer)
	ran    bool
}

type buildMetadata struct {
	TugBuild struct {
		Pid   int    `json:"pid"`
		Start uint64 `json:"start"`
	} `json:"tugBuild"`
}

func (r *Runtime) buildDir(id string) string { return filepath.Join(r.RunRoot, "build", id) }

// NewBuildContainer makes and mounts a working container on img (nil: an
// empty root file system).
func (r *Runtime) NewBuildContainer(img *image.Image) (*BuildContainer, error) {
	store, err := r.Store()
	if err != nil {
		return nil, err
	}
	var meta buildMetadata
	meta.TugBuild.Pid = os.Getpid()
	meta.TugBuild.Start = procStartTime(os.Getpid())
	mb, _ := json.Marshal(meta)
	id := newID()
	imageID := ""
	if img != nil {
		imageID = img.ID
	}
	if _, err := store.CreateContainer(id, nil, imageID, "", string(mb), &storage.ContainerOptions{Volatile: true}); err != nil {
		return nil, fmt.Errorf("creating a build container: %w", err)
	}
	bc := &BuildContainer{ID: id, Image: img, rt: r, dir: r.buildDir(id), made: map[string]bool{}}
	if err := os.MkdirAll(bc.dir, 0o700); err != nil {
		bc.Remove()
		return nil, err
	}
	if bc.Rootfs, err = store.Mount(id, ""); err != nil {
		bc.Remove()
		return nil, fmt.Errorf("mounting a build container: %w", err)
	}
	return bc, nil
}

// Path is p (absolute, in the container) on the host, resolved inside the
// root file system (symbolic links cannot lead out of it).
func (bc *BuildContainer) Path(p string) (string, error) { return oci.InRootfs(bc.Rootfs, p) }

// BuildRunOptions is one RUN step's process.
type BuildRunOptions struct {
	Args    []string
	Env     []string
	WorkDir string
	User    string
	Network string // "default" (the user-mode network), "none" or "host"
	Mounts  []rspec.Mount
	// Output receives the process's stdout and stderr (Docker's build
	// stream has both).
	Output *os.File
}

// Run runs a process in the container and returns its exit code. A process
// that cannot start is a *StartError.
func (bc *BuildContainer) Run(ctx context.Context, o BuildRunOptions) (int, error) {
	r := bc.rt
	user, err := oci.ResolveUser(bc.Rootfs, o.User, nil)
	if err != nil {
		return 0, &StartError{Code: 125, Err: err}
	}
	cwd := o.WorkDir
	if cwd == "" {
		cwd = "/"
	}
	if p, err := bc.Path(cwd); err == nil {
		if _, err := os.Stat(p); os.IsNotExist(err) {
			os.MkdirAll(p, 0o755)
			if user.UID != 0 || user.GID != 0 {
				os.Lchown(p, int(user.UID), int(user.GID))
			}
		}
	}
	for _, m := range o.Mounts {
		bc.noteMountTarget(m.Destination)
	}
	for _, t := range []string{"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"} {
		bc.noteMountTarget(t)
	}
	netMode := oci.NetPrivate
	switch o.Network {
	case "host":
		netMode = oci.NetHost
	case "none", "default", "":
	default:
		return 0, fmt.Errorf("unknown network %q for RUN: use default, none or host", o.Network)
	}
	slirp := o.Network == "default" || o.Network == ""
	hostname := bc.ID[:12]
	eo := oci.EtcOptions{Hostname: hostname, NetMode: netMode, Slirp: slirp}
	if slirp {
		eo.ContainerIP, eo.HostGateway = slirpIP, slirpGateway
	}
	if netMode == oci.NetHost {
		hostname, _ = os.Hostname()
		eo.Hostname = hostname
	}
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	files := map[string][]byte{"hosts": oci.Hosts(eo), "hostname": []byte(hostname + "\n"), "resolv.conf": oci.Resolv(hostResolv, eo)}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(bc.dir, name), data, 0o644); err != nil {
			return 0, err
		}
	}
	env := append([]string(nil), o.Env...)
	if !hasEnv(env, "PATH") {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	env = append([]string{"HOSTNAME=" + hostname}, env...)
	if !hasEnv(env, "HOME") {
		env = append(env, "HOME="+user.Home)
	}
	var defaults specgen.Spec
	opts := oci.SpecOptions{
		Rootfs: bc.Rootfs, Args: o.Args, Env: env, Cwd: cwd,
		UID: user.UID, GID: user.GID, Groups: user.Groups, Hostname: hostname,
		Caps: defaults.Capabilities(), NetMode: netMode,
		HostsFile: filepath.Join(bc.dir, "hosts"), HostnameFile: filepath.Join(bc.dir, "hostname"), ResolvFile: filepath.Join(bc.dir, "resolv.conf"),
		Rootless: r.Rootless,
	}
	if !r.Rootless {
		opts.CgroupsPath = "/tug/" + bc.ID
	}
	spec, err := oci.Spec(opts)
	if err != nil {
		return 0, err
	}
	spec.Mounts = append(spec.Mounts, o.Mounts...)

	var net *monitor.UserNetwork
	if slirp {
		bin, err := exec.LookPath("slirp4netns")
		if err != nil {
			return 0, fmt.Errorf("RUN's default network needs slirp4netns, which is not installed: install it, or build with --network none or host")
		}
		if net, err = monitor.StartUserNetwork(monitor.Slirp{Binary: bin, MTU: 65520}, filepath.Join(bc.dir, monitor.NetNSFile)); err != nil {
			return 0, fmt.Errorf("starting RUN's network: %w", err)
		}
		defer net.Stop()
		for i, ns := range spec.Linux.Namespaces {
			if ns.Type == rspec.NetworkNamespace {
				spec.Linux.Namespaces[i].Path = net.NSPath
			}
		}
	}
	rt := oci.Runtime{Root: r.ociStateRoot(), Rootless: r.Rootless}
	bc.ran = true
	proc, err := rt.Create(bc.ID, spec, oci.Stdio{Stdout: o.Output, Stderr: o.Output})
	if err != nil {
		var se *oci.StartError
		if errors.As(err, &se) {
			return 0, &StartError{Code: se.Code, Err: se.Err}
		}
		return 0, err
	}
	defer proc.Destroy()
	if net != nil {
		if err := net.Ready(); err != nil {
			return 0, err
		}
	}
	if err := proc.Exec(); err != nil {
		var se *oci.StartError
		if errors.As(err, &se) {
			return 0, &StartError{Code: se.Code, Err: se.Err}
		}
		return 0, err
	}
	done := make(chan int, 1)
	go func() { done <- proc.Wait() }()
	select {
	case code := <-done:
		return code, nil
	case <-ctx.Done():
		rt.Destroy(bc.ID) // kills every process of the step
		<-done
		return 0, ctx.Err()
	}
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

// noteMountTarget records the components of target that the runtime will
// create only to mount on, so that the step's layer leaves them out.
func (bc *BuildContainer) noteMountTarget(target string) {
	target = path.Clean("/" + target)
	var missing []string
	for p := target; p != "/"; p = path.Dir(p) {
		host, err := bc.Path(p)
		if err != nil {
			return
		}
		if _, err := os.Lstat(host); err == nil {
			break
		}
		missing = append(missing, p)
	}
	for _, p := range missing {
		bc.made[p] = true
	}
}

// MountTmpfs mounts a fresh tmpfs in the container's private directory (for
// a RUN step's secrets: never on disk) and returns its path.
func (bc *BuildContainer) MountTmpfs(name string) (string, error) {
	dir := filepath.Join(bc.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700,size=16m"); err != nil {
		return "", fmt.Errorf("mounting a tmpfs for the step's secrets: %w", err)
	}
	return dir, nil
}

// CommitStep describes the image a step makes of its container.
type CommitStep struct {
	Config          v1.Config
	ContainerConfig *v1.Config
	History         v1.History
	CacheKey        string
}

// Commit stores the container's changes as a layer on its image and
// records the step's image.
func (bc *BuildContainer) Commit(s CommitStep) (*image.Image, error) {
	ir, err := bc.rt.Images()
	if err != nil {
		return nil, err
	}
	top := ""
	if bc.Image != nil {
		top = bc.Image.TopLayer
	}
	diffID, err := bc.rt.layerFromContainer(bc.ID, top, bc.made)
	if err != nil {
		return nil, err
	}
	return ir.CreateChild(bc.Image, image.ChildOptions{
		Config: s.Config, ContainerConfig: s.ContainerConfig, Layer: &diffID,
		History: s.History, CacheKey: s.CacheKey, Container: bc.ID, Created: time.Now().UTC(),
	})
}

// Remove deletes the container, its mounts and its files.
func (bc *BuildContainer) Remove() error {
	return bc.rt.removeBuildContainer(bc.ID, bc.ran)
}

func (r *Runtime) removeBuildContainer(id string, ran bool) error {
	if ran {
		oci.Runtime{Root: r.ociStateRoot(), Rootless: r.Rootless}.Destroy(id)
	}
	dir := r.buildDir(id)
	monitor.RemoveNetNS(filepath.Join(dir, monitor.NetNSFile))
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				unix.Unmount(filepath.Join(dir, e.Name()), unix.MNT_DETACH)
			}
		}
	}
	os.RemoveAll(dir)
	store, err := r.Store()
	if err != nil {
		return err
	}
	if err := store.DeleteContainer(id); err != nil && !errors.Is(err, storage.ErrContainerUnknown) && !errors.Is(err, storage.ErrNotAContainer) {
		return fmt.Errorf("removing build container %s: %w", id[:12], err)
	}
	return nil
}

// CleanBuildContainers removes the working containers of builds that are
// gone (killed mid-step).
func (r *Runtime) CleanBuildContainers() error {
	store, err := r.Store()
	if err != nil {
		return err
	}
	ctrs, err := store.Containers()
	if err != nil {
		return err
	}
	for _, c := range ctrs {
		if !strings.Contains(c.Metadata, `"tugBuild"`) {
			continue
		}
		var meta buildMetadata
		if json.Unmarshal([]byte(c.Metadata), &meta) != nil {
			continue
		}
		if alive(meta.TugBuild.Pid, meta.TugBuild.Start) {
			continue
		}
		if err := r.removeBuildContainer(c.ID, true); err != nil {
			return err
		}
	}
	return nil
}
