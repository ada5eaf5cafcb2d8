package libpod

import (
	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/parse"
)

// DiskUsage is what `system df` reports, Docker's way.
type DiskUsage struct {
	Images     []ImageUsage
	Containers []ContainerUsage
	Volumes    []VolumeUsage
	BuildCache BuildCacheUsage

	// ImagesSize is the size of every layer stored once (images share layers);
	// ImagesReclaimable what removing every image no container uses frees.
	ImagesSize, ImagesReclaimable int64
	ActiveImages                  int
}

// ImageUsage is one image of DiskUsage.
type ImageUsage struct {
	*image.Summary
	// Size is the sum of its layers; SharedSize the part other images use
	// too; UniqueSize the rest.
	Size, SharedSize, UniqueSize int64
	Containers                   int // how many containers use it
}

// ContainerUsage is one container of DiskUsage.
type ContainerUsage struct {
	*Container
	SizeRw       int64 // its writable layer
	LocalVolumes int   // how many volumes it mounts
}

// VolumeUsage is one volume of DiskUsage.
type VolumeUsage struct {
	*Volume
	Size int64 // its data
}

// BuildCacheRecord is one entry of the build cache.
type BuildCacheRecord struct {
	ID, Type   string
	Size       int64
	InUse      bool
	Shared     bool
	Created    int64 // Unix seconds
	LastUsed   int64
	UsageCount int
}

// BuildCacheUsage is the build cache as the builder reports it.
type BuildCacheUsage struct {
	Records     []BuildCacheRecord
	Size        int64
	Reclaimable int64
}

// BuildCache is how the builder shows its cache to `system df` and prunes
// it for `system prune` (and `builder prune`); it registers itself with
// RegisterBuildCache. Until it does, the cache is empty.
type BuildCache interface {
	Usage(r *Runtime) (BuildCacheUsage, error)
	// Prune removes the unused cache (all of it with all) that passes the
	// filters, and returns the IDs removed and the bytes freed.
	Prune(r *Runtime, all bool, filters parse.Filters) (ids []string, reclaimed int64, err error)
}

var buildCache BuildCache

// RegisterBuildCache sets the build cache (called by the builder's init).
func RegisterBuildCache(bc BuildCache) { buildCache = bc }

// DiskUsage measures images, containers, volumes and the build cache.
func (r *Runtime) DiskUsage() (*DiskUsage, error) {
	du := &DiskUsage{}
	ir, err := r.Images()
	if err != nil {
		return nil, err
	}
	store := ir.Store()
	summaries, err := ir.Summaries(image.ListOptions{})
	if err != nil {
		return nil, err
	}
	layers, err := store.Layers()
	if err != nil {
		return nil, err
	}
	type layerInfo struct {
		parent string
		size   int64
	}
	byID := make(map[string]layerInfo, len(layers))
	for _, l := range layers {
		byID[l.ID] = layerInfo{l.Parent, max(l.UncompressedSize, 0)}
	}
	chain := func(top string) []string {
		var ids []string
		for id := top; id != ""; id = byID[id].parent {
			if _, ok := byID[id]; !ok {
				break
			}
			ids = append(ids, id)
		}
		return ids
	}
	ctrs, err := r.Containers()
	if err != nil {
		return nil, err
	}
	users := map[string]int{}
	for _, c := range ctrs {
		users[c.ImageID]++
	}
	// How many images use each layer, for shared sizes.
	layerUsers := map[string]int{}
	chains := make([][]string, len(summaries))
	for i, s := range summaries {
		chains[i] = chain(s.TopLayer())
		for _, id := range chains[i] {
			layerUsers[id]++
		}
	}
	activeLayers := map[string]bool{}
	counted := map[string]bool{}
	for i, s := range summaries {
		u := ImageUsage{Summary: s, Containers: users[s.ID]}
		for _, id := range chains[i] {
			size := byID[id].size
			u.Size += size
			if layerUsers[id] > 1 {
				u.SharedSize += size
			}
			if !counted[id] {
				counted[id] = true
				du.ImagesSize += size
			}
			if u.Containers > 0 {
				activeLayers[id] = true
			}
		}
		u.UniqueSize = u.Size - u.SharedSize
		if u.Containers > 0 {
			du.ActiveImages++
		}
		du.Images = append(du.Images, u)
	}
	du.ImagesReclaimable = du.ImagesSize
	for id := range activeLayers {
		du.ImagesReclaimable -= byID[id].size
	}

	stored, err := store.Containers()
	if err != nil {
		return nil, err
	}
	layerOf := make(map[string]string, len(stored))
	for _, sc := range stored {
		layerOf[sc.ID] = sc.LayerID
	}
	for _, c := range ctrs {
		u := ContainerUsage{Container: c}
		if l := layerOf[c.ID]; l != "" {
			u.SizeRw, _ = store.DiffSize("", l)
		}
		for _, m := range c.Mounts {
			if m.Type == parse.MountVolume {
				u.LocalVolumes++
			}
		}
		du.Containers = append(du.Containers, u)
	}

	vols, err := r.Volumes(nil)
	if err != nil {
		return nil, err
	}
	for _, v := range vols {
		du.Volumes = append(du.Volumes, VolumeUsage{Volume: v, Size: dirSize(v.Mountpoint())})
	}
	if buildCache != nil {
		if du.BuildCache, err = buildCache.Usage(r); err != nil {
			return nil, err
		}
	}
	return du, nil
}
