package libpod

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/archive"

	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/parse"
)

// Making images from containers: diff, commit, export. A build step uses
// the same path (layerFromContainer, then image.CreateChild).

// Change is one line of `tug diff`: Kind is "A" (added), "C" (changed) or
// "D" (deleted).
type Change struct {
	Kind string `json:"Kind"`
	Path string `json:"Path"`
}

// mountTargets are the paths the runtime creates in a container's writable
// layer only as targets of its own mounts, when the image lacks them.
// Docker keeps them in an "init" layer under the container's, so neither
// diff nor commit shows them; tug leaves them out of both.
var mountTargets = map[string]bool{
	"/etc/hosts": true, "/etc/hostname": true, "/etc/resolv.conf": true,
	"/dev": true, "/proc": true, "/sys": true,
}

// filterChanges drops the mount targets (and extra ones) from changes, and
// the directories listed only because such a target was made in them.
func filterChanges(changes []archive.Change, extra map[string]bool) []Change {
	dropped := map[string]bool{}
	kept := make([]archive.Change, 0, len(changes))
	for _, ch := range changes {
		if ch.Kind == archive.ChangeAdd && (mountTargets[ch.Path] || extra[ch.Path]) {
			for d := path.Dir(ch.Path); d != "/"; d = path.Dir(d) {
				dropped[d] = true
			}
			continue
		}
		kept = append(kept, ch)
	}
	// A directory above a dropped target stays only if something kept is in
	// it: children come after their parents, so look from the end.
	needed := map[string]bool{}
	var out []Change
	for i := len(kept) - 1; i >= 0; i-- {
		ch := kept[i]
		if dropped[ch.Path] && !needed[ch.Path] && ch.Kind != archive.ChangeDelete {
			continue
		}
		for d := path.Dir(ch.Path); d != "/"; d = path.Dir(d) {
			needed[d] = true
		}
		out = append(out, Change{Kind: ch.Kind.String(), Path: ch.Path})
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// Changes lists what changed in the container's file system against its
// image, in Docker's order (each directory before what is in it).
func (c *Container) Changes() ([]Change, error) {
	store, err := c.rt.Store()
	if err != nil {
		return nil, err
	}
	sc, err := store.Container(c.ID)
	if err != nil {
		return nil, c.missingStorage(err)
	}
	changes, err := store.Changes("", sc.LayerID)
	if err != nil {
		return nil, fmt.Errorf("listing the changes of container %s: %w", c.ShortID(), err)
	}
	return filterChanges(changes, nil), nil
}

func (c *Container) missingStorage(err error) error {
	if errors.Is(err, storage.ErrContainerUnknown) {
		return fmt.Errorf("the storage of container %s is missing (its creation was interrupted): remove it with tug rm", c.Name)
	}
	return err
}

// Export writes a tar archive of the container's whole file system to w.
func (c *Container) Export(w io.Writer) error {
	store, err := c.rt.Store()
	if err != nil {
		return err
	}
	// Mount counts references: a running container's mount stays. A stopped
	// one's is all ours, and undone whole, with what a killed export left.
	rootfs, err := store.Mount(c.ID, "")
	if err != nil {
		if _, e := store.Container(c.ID); e != nil {
			return c.missingStorage(e)
		}
		return fmt.Errorf("mounting the file system of container %s: %w", c.ShortID(), err)
	}
	defer store.Unmount(c.ID, !c.State.Mounted)
	rc, err := archive.TarWithOptions(rootfs, &archive.TarOptions{Compression: archive.Uncompressed})
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("exporting container %s: %w", c.ShortID(), err)
	}
	c.rt.writeEvent(c, "export", nil)
	return nil
}

// layerFromContainer stores the changes of storage container id as a new
// layer on parentTop (the image's top layer, "" for none) and returns its
// diff ID. The mount targets (and extra paths, the targets of a build
// step's mounts) are left out. Nothing is stored twice: a layer with the
// same content on the same parent is the same layer.
func (r *Runtime) layerFromContainer(id, parentTop string, extra map[string]bool) (v1.Hash, error) {
	store, err := r.Store()
	if err != nil {
		return v1.Hash{}, err
	}
	ir, err := r.Images()
	if err != nil {
		return v1.Hash{}, err
	}
	sc, err := store.Container(id)
	if err != nil {
		return v1.Hash{}, err
	}
	work, err := ir.NewWorkDir("commit-")
	if err != nil {
		return v1.Hash{}, err
	}
	defer work.Remove()
	f, err := os.Create(work.Path + "/layer.tar")
	if err != nil {
		return v1.Hash{}, err
	}
	defer f.Close()
	uncompressed := archive.Uncompressed
	rc, err := store.Diff("", sc.LayerID, &storage.DiffOptions{Compression: &uncompressed})
	if err != nil {
		return v1.Hash{}, fmt.Errorf("reading the container's changes: %w", err)
	}
	h := sha256.New()
	err = copyLayerTar(io.MultiWriter(f, h), rc, extra)
	rc.Close()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("reading the container's changes: %w", err)
	}
	diffID := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return v1.Hash{}, err
	}
	if _, err := ir.PutLayer(parentTop, diffID, v1.Hash{}, f); err != nil {
		return v1.Hash{}, err
	}
	return diffID, nil
}

// copyLayerTar copies a layer tar from src to dst without the mount
// targets: their empty files, and their directories unless something kept
// is in them (a directory comes before its content, so it waits for it).
func copyLayerTar(dst io.Writer, src io.Reader, extra map[string]bool) error {
	tr := tar.NewReader(src)
	tw := tar.NewWriter(dst)
	type held struct {
		path string
		hdr  *tar.Header
	}
	var pending []held
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		p := path.Clean("/" + hdr.Name)
		// Held directories that p is not in are dropped; those it is in are written.
		keep := 0
		for keep < len(pending) && strings.HasPrefix(p, pending[keep].path+"/") {
			keep++
		}
		target := mountTargets[p] || extra[p]
		if target && hdr.Typeflag == tar.TypeReg && hdr.Size == 0 {
			pending = pending[:keep]
			continue
		}
		pending = pending[:keep]
		if target && hdr.Typeflag == tar.TypeDir {
			pending = append(pending, held{p, hdr})
			continue
		}
		for _, h := range pending {
			if err := tw.WriteHeader(h.hdr); err != nil {
				return err
			}
		}
		pending = pending[:0]
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	return tw.Close()
}

// CommitOptions shape `tug commit`.
type CommitOptions struct {
	Name    string   // full reference to tag the image with, "" for none
	Author  string   // -a
	Message string   // -m
	Changes []string // -c: Dockerfile instructions applied to the config
	Pause   bool     // pause the container while its changes are read
}

// CommitConfig is the configuration a commit of c gives its image: the
// container's (what the image said, with run's flags over it), then the
// --change instructions.
func (c *Container) CommitConfig(img *image.Image, changes []string) (v1.Config, error) {
	var cfg v1.Config
	if img != nil && img.Config != nil {
		cfg = img.Config.Config
	}
	cfg.Cmd = c.Cmd
	cfg.Entrypoint = c.Entrypoint
	cfg.Env = c.Env
	cfg.WorkingDir = c.WorkingDir
	cfg.User = c.User
	cfg.Labels = nil
	if len(c.Labels) > 0 {
		cfg.Labels = map[string]string{}
		for k, v := range c.Labels {
			cfg.Labels[k] = v
		}
	}
	if c.StopSignal != "" && c.StopSignal != "SIGTERM" || cfg.StopSignal != "" {
		cfg.StopSignal = c.StopSignal
	}
	cfg.ExposedPorts, cfg.Volumes = nil, nil
	for _, p := range c.ExposedPorts {
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		cfg.ExposedPorts[p] = struct{}{}
	}
	for _, v := range c.Volumes {
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		cfg.Volumes[v] = struct{}{}
	}
	cfg.Image = ""
	if err := parse.ApplyChanges(&cfg, changes); err != nil {
		return v1.Config{}, err
	}
	return cfg, nil
}

// Commit makes an image of the container: its image's layers plus one of
// its changes, its configuration, and a history entry with the message and
// the container's command. A killed commit leaves at most an untagged
// image or an unused layer, which `image prune` removes; the name comes last.
func (c *Container) Commit(ctx context.Context, opts CommitOptions) (*image.Image, error) {
	ir, err := c.rt.Images()
	if err != nil {
		return nil, err
	}
	var base *image.Image
	if c.ImageID != "" {
		if base, err = ir.Lookup(c.ImageID); err != nil && !errors.Is(err, image.ErrNotFound) {
			return nil, err
		}
	}
	cfg, err := c.CommitConfig(base, opts.Changes)
	if err != nil {
		return nil, err
	}
	if opts.Pause && c.Running() {
		resume, err := c.pauseForCommit()
		if err != nil {
			return nil, err
		}
		defer resume()
	}
	parentTop := ""
	if base != nil {
		parentTop = base.TopLayer
	}
	diffID, err := c.rt.layerFromContainer(c.ID, parentTop, nil)
	if err != nil {
		return nil, c.missingStorage(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cc := cfg
	cc.Image = "sha256:" + c.ImageID
	img, err := ir.CreateChild(base, image.ChildOptions{
		Config:          cfg,
		ContainerConfig: &cc,
		Layer:           &diffID,
		History:         v1.History{Author: opts.Author, CreatedBy: strings.Join(c.Command(), " "), Comment: opts.Message},
		Author:          opts.Author,
		Comment:         opts.Message,
		Container:       c.ID,
		Created:         time.Now().UTC(),
	})
	if err != nil {
		return nil, err
	}
	if opts.Name != "" {
		if err := ir.Tag(img, opts.Name); err != nil {
			return nil, err
		}
	}
	c.rt.writeEvent(c, "commit", nil)
	return img, nil
}
