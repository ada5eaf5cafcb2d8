package libpod

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/archive"
	"golang.org/x/sys/unix"

	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/specgen"
)

// The build cache is the images that build steps made (each marked with its
// step's cache key, see image.FindCached) and the directories of RUN
// --mount=type=cache. `system df` reports it, `builder prune` and `system
// prune` remove it.

// BuildCacheMountsDir holds the cache mounts of RUN --mount=type=cache.
func (r *Runtime) BuildCacheMountsDir() string { return filepath.Join(r.Root, "build-cache", "mounts") }

// KeepOptions describe the container a kept build step becomes.
type KeepOptions struct {
	Command  []string
	Env      []string
	WorkDir  string
	User     string
	ExitCode int
}

// Keep turns the step's container into an ordinary exited container, listed
// by `ps -a` and removed by `rm`, as Docker keeps a failed step's container.
func (bc *BuildContainer) Keep(o KeepOptions) error {
	r := bc.rt
	store, err := r.Store()
	if err != nil {
		return err
	}
	c := &Container{rt: r}
	c.ID = bc.ID
	c.Created = time.Now().UTC()
	if bc.Image != nil {
		c.ImageID, c.ImageName = bc.Image.ID, bc.Image.ID[:12]
	}
	c.Spec = specgen.Spec{Image: c.ImageName, Command: o.Command, Network: specgen.NetworkNone}
	c.Cmd, c.Env, c.WorkingDir, c.User = o.Command, o.Env, o.WorkDir, o.User
	c.Hostname, c.StopSignal, c.StopTimeout = bc.ID[:12], "SIGTERM", 10
	c.Labels = map[string]string{}
	now := time.Now().UTC()
	c.State = ContainerState{Status: StatusExited, ExitCode: o.ExitCode, StartedAt: now, FinishedAt: now}
	store.Unmount(bc.ID, true)
	if err := r.insertContainer(c, nil); err != nil {
		return err
	}
	// No longer a build's: CleanBuildContainers leaves it alone.
	if err := store.SetMetadata(bc.ID, `{"tug":true}`); err != nil {
		return err
	}
	dir := bc.dir
	unix.Unmount(filepath.Join(dir, "inline"), unix.MNT_DETACH)
	os.RemoveAll(dir)
	r.writeEvent(c, "create", nil)
	return nil
}

// SquashImage makes one image of top's layers above base's (base nil: all
// of them): base's layers plus one, top's config, and top's history with the
// squashed steps marked as empty but the last.
func (r *Runtime) SquashImage(base, top *image.Image) (*image.Image, error) {
	store, err := r.Store()
	if err != nil {
		return nil, err
	}
	ir, err := r.Images()
	if err != nil {
		return nil, err
	}
	baseTop := ""
	nBase := 0
	if base != nil {
		baseTop = base.TopLayer
		if base.Config != nil {
			nBase = len(base.Config.History)
		}
	}
	work, err := ir.NewWorkDir("squash-")
	if err != nil {
		return nil, err
	}
	defer work.Remove()
	f, err := os.Create(filepath.Join(work.Path, "layer.tar"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	uncompressed := archive.Uncompressed
	h := sha256.New()
	if baseTop == "" {
		// Everything: the top layer's whole file system.
		bc, err := r.NewBuildContainer(top)
		if err != nil {
			return nil, err
		}
		rc, err := archive.TarWithOptions(bc.Rootfs, &archive.TarOptions{Compression: archive.Uncompressed})
		if err == nil {
			_, err = io.Copy(io.MultiWriter(f, h), rc)
			rc.Close()
		}
		bc.Remove()
		if err != nil {
			return nil, err
		}
	} else {
		rc, err := store.Diff(baseTop, top.TopLayer, &storage.DiffOptions{Compression: &uncompressed})
		if err != nil {
			return nil, fmt.Errorf("squashing: %w", err)
		}
		_, err = io.Copy(io.MultiWriter(f, h), rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("squashing: %w", err)
		}
	}
	diffID := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if _, err := ir.PutLayer(baseTop, diffID, v1.Hash{}, f); err != nil {
		return nil, err
	}
	var steps []v1.History
	if top.Config != nil && len(top.Config.History) > nBase {
		steps = top.Config.History[nBase:]
	}
	last := v1.History{CreatedBy: "squashed"}
	if len(steps) > 0 {
		last = steps[len(steps)-1]
		steps = steps[:len(steps)-1]
	}
	var cfg v1.Config
	if top.Config != nil {
		cfg = top.Config.Config
	}
	return ir.CreateChild(base, image.ChildOptions{Config: cfg, Layer: &diffID, EmptyHistory: steps, History: last, Created: time.Now().UTC()})
}

func init() { RegisterBuildCache(builderCache{}) }

// builderCache shows the build cache to `system df` and prunes it for
// `system prune`.
type builderCache struct{}

// Usage lists the build cache: the step images no named image is made of
// (their size is what only the cache holds of them) and the cache mounts.
func (builderCache) Usage(r *Runtime) (BuildCacheUsage, error) {
	var u BuildCacheUsage
	ir, err := r.Images()
	if err != nil {
		return u, err
	}
	entries, err := ir.BuildCache()
	if err != nil {
		return u, err
	}
	only, err := r.cacheOnlyLayers(ir, entries)
	if err != nil {
		return u, err
	}
	for _, e := range entries {
		img := e.Image
		if len(img.Names) > 0 {
			continue
		}
		size := only[img.TopLayer]
		if img.Parent != "" {
			if p, err := ir.Lookup(img.Parent); err == nil && p.TopLayer == img.TopLayer {
				size = 0 // a config-only step: the layer is its parent's
			}
		}
		created := img.Created().Unix()
		u.Records = append(u.Records, BuildCacheRecord{ID: img.ID, Type: "regular", Size: size, Shared: size == 0, Created: created, LastUsed: created, UsageCount: 1})
		u.Size += size
		u.Reclaimable += size
	}
	mounts, _ := os.ReadDir(r.BuildCacheMountsDir())
	for _, m := range mounts {
		dir := filepath.Join(r.BuildCacheMountsDir(), m.Name())
		rec := BuildCacheRecord{ID: m.Name(), Type: "exec.cachemount", Size: dirSize(dir), InUse: mountInUse(dir), UsageCount: 1}
		if info, err := os.Stat(dir); err == nil {
			rec.Created, rec.LastUsed = info.ModTime().Unix(), info.ModTime().Unix()
		}
		u.Records = append(u.Records, rec)
		u.Size += rec.Size
		if !rec.InUse {
			u.Reclaimable += rec.Size
		}
	}
	return u, nil
}

// Prune removes the dangling build cache (all of it with all), with
// system prune's until and label filters.
func (builderCache) Prune(r *Runtime, all bool, filters parse.Filters) ([]string, int64, error) {
	o := BuildPruneOptions{All: all}
	for _, v := range filters["until"] {
		t, err := parse.ParseTimestamp(v, time.Now())
		if err != nil {
			return nil, 0, fmt.Errorf("invalid filter 'until=%s': %w", v, err)
		}
		if o.Until.IsZero() || t.Before(o.Until) {
			o.Until = t
		}
	}
	if filters.Has("label") || filters.Has("label!") {
		o.Labels = func(l map[string]string) bool { return filters.MatchLabels("label", l) }
	}
	pruned, total, err := r.PruneBuildCache(context.Background(), o)
	ids := make([]string, 0, len(pruned))
	for _, p := range pruned {
		ids = append(ids, p.ID)
	}
	return ids, total, err
}

// cacheOnlyLayers maps the layers that untagged cache images use and no
// other image or container does to their sizes.
func (r *Runtime) cacheOnlyLayers(ir *image.Runtime, entries []image.CacheEntry) (map[string]int64, error) {
	store, err := r.Store()
	if err != nil {
		return nil, err
	}
	cache := map[string]bool{}
	for _, e := range entries {
		if len(e.Image.Names) == 0 {
			cache[e.Image.ID] = true
		}
	}
	images, err := store.Images()
	if err != nil {
		return nil, err
	}
	layers, err := store.Layers()
	if err != nil {
		return nil, err
	}
	byID := map[string]storage.Layer{}
	for _, l := range layers {
		byID[l.ID] = l
	}
	chain := func(top string, mark map[string]bool) {
		for id := top; id != ""; id = byID[id].Parent {
			mark[id] = true
		}
	}
	other, cached := map[string]bool{}, map[string]bool{}
	for _, img := range images {
		if cache[img.ID] {
			chain(img.TopLayer, cached)
		} else {
			chain(img.TopLayer, other)
		}
	}
	if ctrs, err := store.Containers(); err == nil {
		for _, c := range ctrs {
			chain(c.LayerID, other)
		}
	}
	out := map[string]int64{}
	for id := range cached {
		if !other[id] {
			out[id] = max(byID[id].UncompressedSize, 0)
		}
	}
	return out, nil
}

// BuildPruneOptions select what `builder prune` removes.
type BuildPruneOptions struct {
	All   bool      // every cache image and mount, not only those no named image is made of
	Until time.Time // only what was made (or, for mounts, last used) before
	// Labels, when set, keeps the cache images whose labels it refuses, and
	// every cache mount (a mount has no labels).
	Labels func(map[string]string) bool
}

// PrunedCache is one removed cache object.
type PrunedCache struct {
	ID   string
	Size int64
}

// PruneBuildCache removes build cache: by default the cache images that no
// named image is made of (left by builds whose result was untagged or
// removed) and the cache mounts; with All, every cache image that no
// container uses (the images made of them keep their layers).
func (r *Runtime) PruneBuildCache(ctx context.Context, o BuildPruneOptions) ([]PrunedCache, int64, error) {
	if err := r.CleanBuildContainers(); err != nil {
		return nil, 0, err
	}
	ir, err := r.Images()
	if err != nil {
		return nil, 0, err
	}
	var out []PrunedCache
	var total int64
	for pass := 0; pass < 1000; pass++ {
		entries, err := ir.BuildCache()
		if err != nil {
			return out, total, err
		}
		needed := map[string]bool{} // ancestors of named images
		if !o.All {
			all, err := ir.List()
			if err != nil {
				return out, total, err
			}
			parents := map[string]string{}
			for _, img := range all {
				parents[img.ID] = img.Parent
			}
			for _, img := range all {
				if len(img.Names) > 0 {
					for p := img.Parent; p != "" && !needed[p]; p = parents[p] {
						needed[p] = true
					}
				}
			}
		}
		removed := false
		// Leaves first: an image with cache children waits for them.
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return out, total, err
			}
			img := e.Image
			if len(img.Names) > 0 || needed[img.ID] || (!o.All && e.Children > 0) {
				continue
			}
			if !o.Until.IsZero() && !img.Created().Before(o.Until) {
				continue
			}
			if o.Labels != nil && (img.Config == nil || !o.Labels(img.Config.Config.Labels)) {
				continue
			}
			freed, ok, err := ir.RemoveCacheImage(img.ID)
			if err != nil {
				return out, total, err
			}
			if ok {
				out = append(out, PrunedCache{ID: img.ID, Size: freed})
				total += freed
				removed = true
			}
		}
		if !removed {
			break
		}
	}
	mounts, _ := os.ReadDir(r.BuildCacheMountsDir())
	if o.Labels != nil {
		mounts = nil
	}
	for _, m := range mounts {
		dir := filepath.Join(r.BuildCacheMountsDir(), m.Name())
		if info, err := os.Stat(dir); err == nil && !o.Until.IsZero() && !info.ModTime().Before(o.Until) {
			continue
		}
		if mountInUse(dir) {
			continue
		}
		size := dirSize(dir)
		if err := os.RemoveAll(dir); err != nil {
			return out, total, err
		}
		out = append(out, PrunedCache{ID: m.Name(), Size: size})
		total += size
	}
	return out, total, nil
}

// mountInUse reports whether a build holds the cache mount's lock.
func mountInUse(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "lock"))
	if err != nil {
		return false
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return true
	}
	return false
}
