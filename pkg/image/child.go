package image

import (
	"encoding/json"
	"errors"
	"fmt"
	goruntime "runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.podman.io/storage"
)

// ChildOptions describe an image made on top of another one (or of nothing):
// `tug commit` and every step of a Dockerfile build make one.
type ChildOptions struct {
	// Config is the new image's runtime configuration.
	Config v1.Config
	// ContainerConfig is Docker's "container_config": the configuration of
	// the container the image was committed from (a build step's shows the
	// instruction as its Cmd). Nil leaves it out.
	ContainerConfig *v1.Config
	// Layer is the diff ID of the one layer the child adds, nil for none
	// (a metadata-only step: its history entry says empty_layer).
	Layer *v1.Hash
	// History is the new history entry; its Created is set when zero.
	History v1.History
	// EmptyHistory are entries before History, all without a layer (the
	// steps a squash folded into its one layer).
	EmptyHistory []v1.History
	Author       string
	Comment      string
	Container    string // the ID of the container committed from, "" for none
	Created      time.Time
	Names        []string // full references to give it
	// CacheKey marks a build step's result, so that a later build finds it
	// (see FindCached).
	CacheKey string
}

// childConfig is an image config in Docker's key order, with the keys that
// go-containerregistry's ConfigFile lacks (comment, container_config).
type childConfig struct {
	Architecture    string           `json:"architecture"`
	Author          string           `json:"author,omitempty"`
	Comment         string           `json:"comment,omitempty"`
	Config          *ContainerConfig `json:"config"`
	Container       string           `json:"container,omitempty"`
	ContainerConfig *ContainerConfig `json:"container_config,omitempty"`
	Created         time.Time        `json:"created"`
	History         []v1.History     `json:"history,omitempty"`
	OS              string           `json:"os"`
	RootFS          v1.RootFS        `json:"rootfs"`
	Variant         string           `json:"variant,omitempty"`
}

// CreateChild records a new image on parent (nil: on nothing, as FROM
// scratch) whose layers are parent's plus opts.Layer, which must be stored
// already (PutLayer on parent's top layer). The child's Parent is parent.
func (r *Runtime) CreateChild(parent *Image, opts ChildOptions) (*Image, error) {
	created := opts.Created
	if created.IsZero() {
		created = time.Now().UTC()
	}
	cfg := childConfig{
		Architecture: goruntime.GOARCH,
		OS:           "linux",
		Author:       opts.Author,
		Comment:      opts.Comment,
		Config:       dockerConfig(&opts.Config),
		Container:    opts.Container,
		Created:      created,
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{}},
	}
	if opts.ContainerConfig != nil {
		cfg.ContainerConfig = dockerConfig(opts.ContainerConfig)
	}
	parentID := ""
	if parent != nil {
		parentID = parent.ID
		if pc := parent.Config; pc != nil {
			if pc.Architecture != "" {
				cfg.Architecture, cfg.Variant = pc.Architecture, pc.Variant
			}
			if pc.OS != "" {
				cfg.OS = pc.OS
			}
			cfg.History = append(cfg.History, pc.History...)
			cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, pc.RootFS.DiffIDs...)
		}
	}
	for _, e := range opts.EmptyHistory {
		e.EmptyLayer = true
		cfg.History = append(cfg.History, e)
	}
	h := opts.History
	if h.Created.IsZero() {
		h.Created = v1.Time{Time: created}
	}
	if opts.Layer != nil {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, *opts.Layer)
		h.EmptyLayer = false
	} else {
		h.EmptyLayer = true
	}
	cfg.History = append(cfg.History, h)
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	top := ""
	if ids := ChainIDs(cfg.RootFS.DiffIDs); len(ids) > 0 {
		top = ids[len(ids)-1]
		if !r.HasLayer(top) {
			return nil, fmt.Errorf("the new image's layer %s is not stored", shortID(top))
		}
	}
	return r.CreateImage(raw, CreateOptions{Names: opts.Names, Parent: parentID, CacheKey: opts.CacheKey})
}

// dockerConfig is c in Docker's shape (every key present, in Docker's order).
func dockerConfig(c *v1.Config) *ContainerConfig {
	out := &ContainerConfig{
		Hostname: c.Hostname, Domainname: c.Domainname, User: c.User,
		AttachStdin: c.AttachStdin, AttachStdout: c.AttachStdout, AttachStderr: c.AttachStderr,
		ExposedPorts: c.ExposedPorts, Tty: c.Tty, OpenStdin: c.OpenStdin, StdinOnce: c.StdinOnce,
		Env: c.Env, Cmd: c.Cmd, ArgsEscaped: c.ArgsEscaped, Image: c.Image, Volumes: c.Volumes,
		WorkingDir: c.WorkingDir, Entrypoint: c.Entrypoint, NetworkDisabled: c.NetworkDisabled,
		MacAddress: c.MacAddress, OnBuild: c.OnBuild, Labels: c.Labels, StopSignal: c.StopSignal, Shell: c.Shell,
	}
	if h := c.Healthcheck; h != nil {
		out.Healthcheck = &HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	return out
}

// FindCached returns the newest image made on parent ("" for none) with
// the build cache key key, or nil when there is none.
func (r *Runtime) FindCached(parent, key string) (*Image, error) {
	stored, err := r.store.Images()
	if err != nil {
		return nil, err
	}
	var best *Image
	for i := range stored {
		si := &stored[i]
		meta := readMetadata(si.Metadata)
		if meta.CacheKey != key || meta.Parent != parent {
			continue
		}
		img, err := r.fromStored(si)
		if err != nil {
			continue // half-written: not an image yet
		}
		if best == nil || img.Created().After(best.Created()) {
			best = img
		}
	}
	return best, nil
}

// CacheEntry is one image a build made for its cache.
type CacheEntry struct {
	Image    *Image
	Children int // images made on it
}

// BuildCache lists the images that builds recorded in their cache.
func (r *Runtime) BuildCache() ([]CacheEntry, error) {
	stored, err := r.store.Images()
	if err != nil {
		return nil, err
	}
	kids := map[string]int{}
	for i := range stored {
		if p := readMetadata(stored[i].Metadata).Parent; p != "" {
			kids[p]++
		}
	}
	var out []CacheEntry
	for i := range stored {
		si := &stored[i]
		if readMetadata(si.Metadata).CacheKey == "" {
			continue
		}
		img, err := r.fromStored(si)
		if err != nil {
			continue
		}
		out = append(out, CacheEntry{Image: img, Children: kids[si.ID]})
	}
	return out, nil
}

// RemoveCacheImage deletes a build cache image that no container uses (ok
// false when one does) and the layers only it had, and returns their size.
// Images made on it lose it as parent and their own cache key: a step on a
// different parent is not the same step.
func (r *Runtime) RemoveCacheImage(id string) (freed int64, ok bool, err error) {
	if uses, err := r.uses(id); err != nil || len(uses) > 0 {
		return 0, false, err
	}
	sizes := map[string]int64{}
	if layers, err := r.store.Layers(); err == nil {
		for _, l := range layers {
			sizes[l.ID] = max(l.UncompressedSize, 0)
		}
	}
	kids, err := r.children(id)
	if err != nil {
		return 0, false, err
	}
	for _, k := range kids {
		if err := r.updateMetadata(k, func(m *metadata) { m.Parent, m.CacheKey = "", "" }); err != nil {
			return 0, false, err
		}
	}
	layers, err := r.deleteStoredImage(id)
	if err != nil {
		if errors.Is(err, storage.ErrImageUsedByContainer) || errors.Is(err, storage.ErrImageUnknown) {
			return 0, false, nil
		}
		return 0, false, err
	}
	for _, l := range layers {
		freed += sizes[l]
	}
	return freed, true, nil
}
