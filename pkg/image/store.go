// Package image moves images between registries, archives and the local
// store: pull, push, save, load, import, tag, remove, prune, and the lookups
// the other commands use.
//
// Store conventions (every writer follows them):
//   - an image's ID is the hex of its config digest, as Docker's;
//   - a layer's ID is the hex of its chain ID, so identical stacks are stored once;
//   - the image keeps its config under the big-data key "config" and its
//     manifest (when it has one) under "manifest";
//   - names are full references ("docker.io/library/alpine:latest"); repo
//     digests live in the image's Metadata as JSON.
package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/lockfile"

	"github.com/tug-project/tug/pkg/config"
	"github.com/tug-project/tug/pkg/parse"
)

const (
	bigDataConfig   = "config"
	bigDataManifest = "manifest"
)

// ErrNotFound is returned (wrapped, with the name asked for) when no image
// matches. Its text is Docker's: "No such image: alpine:latest".
var ErrNotFound = errors.New("No such image")

// errDigestMismatch: a layer's content is not what its diff ID says.
var errDigestMismatch = errors.New("layer content does not match its diff ID")

func notFound(name string) error { return fmt.Errorf("%w: %s", ErrNotFound, name) }

// Runtime is the image side of the engine.
type Runtime struct {
	store  storage.Store
	config *config.Config
	tmpDir string
	// InUse lists the containers using an image; libpod sets it. Nil means
	// no container uses any image.
	InUse InUseFunc
	// Events records image events; libpod sets it. Nil records nothing.
	Events EventFunc
}

// New returns an image runtime over store. tmpDir holds partial downloads; it
// is emptied of leftovers from interrupted calls as needed.
func New(store storage.Store, cfg *config.Config, tmpDir string) *Runtime {
	return &Runtime{store: store, config: cfg, tmpDir: tmpDir}
}

// Store is the underlying storage (for libpod, which creates containers on images).
func (r *Runtime) Store() storage.Store { return r.store }

// metadata is what tug keeps in storage's per-image Metadata string.
type metadata struct {
	RepoDigests []string `json:"repoDigests,omitempty"`
	// Pulled records, per repository, where the layers came from, so that a
	// push to another repository of the same registry can mount them.
	Source string `json:"source,omitempty"`
	// Size caches the sum of the layer sizes, so `tug images` reads no layers.
	Size int64 `json:"size,omitempty"`
	// LastTagTime is when a name was last added (inspect's Metadata.LastTagTime).
	LastTagTime *time.Time `json:"lastTagTime,omitempty"`
	// Parent is the image this one was built or committed from ("" if none).
	Parent string `json:"parent,omitempty"`
	// PushedTo lists repositories the image was pushed to: they have its
	// layers too, so later pushes can mount from them as well.
	PushedTo []string `json:"pushedTo,omitempty"`
	// Blobs maps a layer (chain ID) to the registry blob it was last pushed as.
	Blobs map[string]blobRecord `json:"blobs,omitempty"`
	// CacheKey marks the result of a build step (see FindCached).
	CacheKey string `json:"cacheKey,omitempty"`
}

type blobRecord struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

func readMetadata(s string) metadata {
	var m metadata
	if s != "" {
		json.Unmarshal([]byte(s), &m)
	}
	return m
}

// Image is one stored image as commands see it.
type Image struct {
	ID          string   // 64 hex, no "sha256:"
	Names       []string // full references with tags
	RepoDigests []string // repo@sha256:...
	Digest      string   // manifest digest, "" if unknown
	TopLayer    string
	Config      *v1.ConfigFile
	RawConfig   []byte
	Size        int64 // sum of the uncompressed layer sizes, as Docker reports
	Source      string
	Parent      string     // image ID this one was built from, "" if none
	CacheKey    string     // the build step it is the result of, "" if none
	LastTagTime *time.Time // when a name was last added, nil if never
	stored      *storage.Image
}

// Created is the image's creation time from its config.
func (i *Image) Created() time.Time {
	if i.Config == nil {
		return time.Time{}
	}
	return i.Config.Created.Time
}

// Dangling reports an image with no tag.
func (i *Image) Dangling() bool { return len(i.Names) == 0 }

// ChainIDs computes the layer IDs (chain IDs, hex) for a list of diff IDs.
func ChainIDs(diffIDs []v1.Hash) []string {
	ids := make([]string, len(diffIDs))
	parent := ""
	for i, d := range diffIDs {
		if parent == "" {
			parent = d.Hex
		} else {
			sum := sha256.Sum256([]byte("sha256:" + parent + " " + d.String()))
			parent = hex.EncodeToString(sum[:])
		}
		ids[i] = parent
	}
	return ids
}

// PutLayer stores one layer on top of parent (a chain ID, "" for the base)
// unless it is there already, and returns its chain ID. diff may be
// compressed; its uncompressed digest must equal diffID, or nothing is kept.
// compressed, when known, is the registry blob digest it came from.
func (r *Runtime) PutLayer(parent string, diffID, compressed v1.Hash, diff io.Reader) (string, error) {
	id := ChainIDs([]v1.Hash{diffID})[0]
	if parent != "" {
		sum := sha256.Sum256([]byte("sha256:" + parent + " " + diffID.String()))
		id = hex.EncodeToString(sum[:])
	}
	if l, err := r.store.Layer(id); err == nil && l != nil {
		return id, nil
	}
	opts := &storage.LayerOptions{}
	if compressed.Hex != "" {
		opts.OriginalDigest = digest.Digest(compressed.String())
	}
	var layer *storage.Layer
	err := r.WithLayerLock(func() (err error) {
		layer, _, err = r.store.PutLayer(id, parent, nil, "", false, opts, diff)
		return err
	})
	if err != nil {
		if errors.Is(err, storage.ErrDuplicateID) {
			return id, nil // another tug stored it meanwhile
		}
		return "", fmt.Errorf("storing layer %s: %w", diffID.Hex[:12], err)
	}
	if layer.UncompressedDigest.String() != diffID.String() {
		r.deleteLayer(id)
		return "", fmt.Errorf("%w: expected %s, got %s", errDigestMismatch, diffID, layer.UncompressedDigest)
	}
	return id, nil
}

// CreateOptions describe a new image record.
type CreateOptions struct {
	Names      []string // full references to give it (moved from other images)
	RepoDigest string   // repo@sha256:... when pulled by or pushed with a digest
	Manifest   []byte   // raw manifest, when the image came with one
	Source     string   // repository the layers were pulled from
	Parent     string   // image ID this one was built or committed from
	CacheKey   string   // the build step this image is the result of, "" for none
}

// CreateImage records an image whose layers are all stored (see PutLayer).
// If the image exists already, it gains the names and digest instead.
func (r *Runtime) CreateImage(rawConfig []byte, opts CreateOptions) (*Image, error) {
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, fmt.Errorf("parsing image config: %w", err)
	}
	sum := sha256.Sum256(rawConfig)
	id := hex.EncodeToString(sum[:])
	top := ""
	if ids := ChainIDs(cfg.RootFS.DiffIDs); len(ids) > 0 {
		top = ids[len(ids)-1]
	}
	meta := metadata{Source: opts.Source, Parent: opts.Parent, CacheKey: opts.CacheKey}
	if opts.RepoDigest != "" {
		meta.RepoDigests = []string{opts.RepoDigest}
	}
	if meta.Size, err = r.chainSize(top); err != nil {
		return nil, err
	}
	if len(opts.Names) > 0 {
		now := time.Now().UTC()
		meta.LastTagTime = &now
	}
	metaJSON, _ := json.Marshal(meta)
	iopts := &storage.ImageOptions{
		CreationDate: cfg.Created.Time,
		Metadata:     string(metaJSON),
		BigData:      []storage.ImageBigDataOption{{Key: bigDataConfig, Data: rawConfig}},
	}
	if len(opts.Manifest) > 0 {
		iopts.BigData = append(iopts.BigData, storage.ImageBigDataOption{Key: bigDataManifest, Data: opts.Manifest, Digest: digest.FromBytes(opts.Manifest)})
		iopts.Digest = digest.FromBytes(opts.Manifest)
	}
	_, err = r.store.CreateImage(id, nil, top, string(metaJSON), iopts)
	if err != nil && !errors.Is(err, storage.ErrDuplicateID) {
		return nil, fmt.Errorf("creating image record: %w", err)
	}
	if errors.Is(err, storage.ErrDuplicateID) {
		// A call killed inside storage's CreateImage leaves the record without
		// its big data; a concurrent call may be writing it now. Either way,
		// writing the same bytes again completes the image.
		if err := r.ensureBigData(id, iopts.BigData); err != nil {
			return nil, err
		}
		if err := r.addRepoDigest(id, opts.RepoDigest, opts.Manifest); err != nil {
			return nil, err
		}
	}
	if len(opts.Names) > 0 {
		if err := r.addNames(id, opts.Names); err != nil {
			return nil, err
		}
	}
	return r.byID(id)
}

func (r *Runtime) ensureBigData(id string, items []storage.ImageBigDataOption) error {
	for _, item := range items {
		if _, err := r.store.ImageBigDataDigest(id, item.Key); err == nil {
			continue
		}
		if err := r.store.SetImageBigData(id, item.Key, item.Data, func(b []byte) (digest.Digest, error) { return digest.FromBytes(b), nil }); err != nil {
			return fmt.Errorf("completing image %s: %w", shortID(id), err)
		}
	}
	return nil
}

// chainSize adds up the sizes of a layer and its parents.
func (r *Runtime) chainSize(top string) (int64, error) {
	var size int64
	for id := top; id != ""; {
		l, err := r.store.Layer(id)
		if err != nil {
			return 0, fmt.Errorf("layer %s is missing: %w", shortID(id), err)
		}
		if l.UncompressedSize > 0 {
			size += l.UncompressedSize
		}
		id = l.Parent
	}
	return size, nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// WithLayerLock runs fn while holding tug's layer-store write lock.
//
// Every tug call that writes the layer store (creating or deleting layers
// and images, creating containers) must hold it: the storage library extracts
// a new layer into a staging directory outside its own lock, and a concurrent
// writer that reloads the layer store can take that directory for a stale one
// and delete it mid-extraction (a lock-file race in its tempdir recovery),
// which fails the extraction or, worse, leaves a layer missing files whose
// digest still matched. Serializing tug's writers closes that window.
func (r *Runtime) WithLayerLock(fn func() error) error {
	lock, err := lockfile.GetLockFile(filepath.Join(r.store.GraphRoot(), "tug-layers.lock"))
	if err != nil {
		return err
	}
	lock.Lock()
	defer lock.Unlock()
	return fn()
}

func (r *Runtime) deleteLayer(id string) error {
	return r.WithLayerLock(func() error { return r.store.DeleteLayer(id) })
}

func (r *Runtime) deleteStoredImage(id string) (layers []string, err error) {
	err = r.WithLayerLock(func() (err error) {
		layers, err = r.store.DeleteImage(id, true)
		return err
	})
	return layers, err
}

// updateMetadata changes an image's metadata under tug's metadata lock, so
// concurrent tag, pull and load calls do not lose each other's updates.
func (r *Runtime) updateMetadata(id string, change func(*metadata)) error {
	lock, err := lockfile.GetLockFile(filepath.Join(r.store.GraphRoot(), "tug-image-metadata.lock"))
	if err != nil {
		return err
	}
	lock.Lock()
	defer lock.Unlock()
	img, err := r.store.Image(id)
	if err != nil {
		return notFound(id)
	}
	meta := readMetadata(img.Metadata)
	change(&meta)
	b, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	return r.store.SetMetadata(id, string(b))
}

// addNames gives image id the full references names (moving them from any
// other image, as a tag moves in Docker) and records the tag time.
func (r *Runtime) addNames(id string, names []string) error {
	if err := r.store.AddNames(id, names); err != nil {
		if errors.Is(err, storage.ErrImageUnknown) {
			return notFound(id)
		}
		return fmt.Errorf("naming image: %w", err)
	}
	return r.updateMetadata(id, func(m *metadata) {
		now := time.Now().UTC()
		m.LastTagTime = &now
	})
}

func (r *Runtime) addRepoDigest(id, repoDigest string, manifest []byte) error {
	if repoDigest == "" {
		return nil
	}
	repo := repoDigest[:strings.Index(repoDigest, "@")]
	err := r.updateMetadata(id, func(meta *metadata) {
		kept := meta.RepoDigests[:0]
		for _, d := range meta.RepoDigests {
			if !strings.HasPrefix(d, repo+"@") {
				kept = append(kept, d)
			}
		}
		meta.RepoDigests = append(kept, repoDigest)
	})
	if err != nil {
		return err
	}
	if len(manifest) > 0 {
		return r.store.SetImageBigData(id, bigDataManifest, manifest, func(b []byte) (digest.Digest, error) { return digest.FromBytes(b), nil })
	}
	return nil
}

// Commit stores a whole v1.Image (from an archive, a layout, a registry) layer
// by layer, then its record. Layers already present are not written again.
func (r *Runtime) Commit(ctx context.Context, img v1.Image, opts CreateOptions) (*Image, error) {
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading image layers: %w", err)
	}
	parent := ""
	for _, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		diffID, err := l.DiffID()
		if err != nil {
			return nil, fmt.Errorf("reading layer diff ID: %w", err)
		}
		id := parent
		if existing := r.chainID(parent, diffID); existing != "" {
			id = existing
		} else {
			rc, err := l.Uncompressed()
			if err != nil {
				return nil, fmt.Errorf("reading layer %s: %w", diffID.Hex[:12], err)
			}
			id, err = r.PutLayer(parent, diffID, v1.Hash{}, rc)
			rc.Close()
			if err != nil {
				return nil, err
			}
		}
		parent = id
	}
	return r.CreateImage(rawConfig, opts)
}

// chainID returns the stored layer ID for diffID on parent, or "" if absent.
func (r *Runtime) chainID(parent string, diffID v1.Hash) string {
	id := diffID.Hex
	if parent != "" {
		sum := sha256.Sum256([]byte("sha256:" + parent + " " + diffID.String()))
		id = hex.EncodeToString(sum[:])
	}
	if l, err := r.store.Layer(id); err == nil && l != nil {
		return id
	}
	return ""
}

// HasLayer reports whether the layer chainID is stored.
func (r *Runtime) HasLayer(chainID string) bool {
	l, err := r.store.Layer(chainID)
	return err == nil && l != nil
}

func (r *Runtime) byID(id string) (*Image, error) {
	si, err := r.store.Image(id)
	if err != nil {
		return nil, notFound(id)
	}
	return r.fromStored(si)
}

func (r *Runtime) fromStored(si *storage.Image) (*Image, error) {
	img := &Image{ID: si.ID, Names: append([]string(nil), si.Names...), TopLayer: si.TopLayer, Digest: si.Digest.String(), stored: si}
	meta := readMetadata(si.Metadata)
	img.RepoDigests, img.Source, img.Parent, img.LastTagTime = meta.RepoDigests, meta.Source, meta.Parent, meta.LastTagTime
	img.CacheKey = meta.CacheKey
	raw, err := r.store.ImageBigData(si.ID, bigDataConfig)
	if err != nil {
		return nil, fmt.Errorf("image %s has no config: %w", si.ID[:12], err)
	}
	img.RawConfig = raw
	if img.Config, err = v1.ParseConfigFile(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("image %s has a corrupt config: %w", si.ID[:12], err)
	}
	if img.Size, err = r.chainSize(si.TopLayer); err != nil {
		return nil, fmt.Errorf("image %s: %w", si.ID[:12], err)
	}
	sort.Strings(img.Names)
	return img, nil
}

// List returns every stored image, newest first.
func (r *Runtime) List() ([]*Image, error) {
	stored, err := r.store.Images()
	if err != nil {
		return nil, err
	}
	out := make([]*Image, 0, len(stored))
	for i := range stored {
		img, err := r.fromStored(&stored[i])
		if err != nil {
			continue // half-written by a concurrent call; not an image yet
		}
		out = append(out, img)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Created().After(out[b].Created()) })
	return out, nil
}

// Lookup finds an image by full or short ID (any unique prefix, with or
// without "sha256:"), by name ("alpine" means docker.io/library/alpine:latest),
// or by repo@digest. A name wins over an ID prefix that looks the same, as in
// Docker. A miss is ErrNotFound naming the image as Docker does ("alpine:latest").
func (r *Runtime) Lookup(nameOrID string) (*Image, error) {
	s := strings.TrimPrefix(nameOrID, "sha256:")
	if len(s) == 64 && isHexPrefix(s) {
		if si, err := r.store.Image(s); err == nil {
			return r.fromStored(si)
		}
		return nil, notFound(nameOrID)
	}
	if strings.HasPrefix(nameOrID, "sha256:") {
		if !isHexPrefix(s) {
			return nil, fmt.Errorf("invalid image ID %q: an ID is hex digits", nameOrID)
		}
		return r.byIDPrefix(s)
	}
	ref, err := parse.ParseReference(nameOrID)
	if err != nil {
		if isHexPrefix(s) {
			return r.byIDPrefix(s)
		}
		return nil, err
	}
	if d := ref.Digest(); d != "" {
		stored, err := r.store.Images()
		if err != nil {
			return nil, err
		}
		want := ref.Name() + "@" + d
		for i := range stored {
			if si := &stored[i]; strings.Contains(si.Metadata, want) {
				for _, rd := range readMetadata(si.Metadata).RepoDigests {
					if rd == want {
						return r.fromStored(si)
					}
				}
			}
		}
		return nil, notFound(ref.Familiar())
	}
	si, err := r.store.Image(ref.String())
	if err == nil {
		return r.fromStored(si)
	}
	if isHexPrefix(s) {
		if img, err := r.byIDPrefix(s); err == nil || !errors.Is(err, ErrNotFound) {
			return img, err
		}
	}
	return nil, notFound(ref.Familiar())
}

func isHexPrefix(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (r *Runtime) byIDPrefix(prefix string) (*Image, error) {
	stored, err := r.store.Images()
	if err != nil {
		return nil, err
	}
	var match *storage.Image
	for i := range stored {
		if strings.HasPrefix(stored[i].ID, prefix) {
			if match != nil {
				return nil, fmt.Errorf("image ID prefix %q is ambiguous: give more characters", prefix)
			}
			match = &stored[i]
		}
	}
	if match == nil {
		return nil, notFound(prefix)
	}
	return r.fromStored(match)
}

// TempDir makes a private directory for partial downloads or archive work.
// Leftovers of killed calls are found by their age and removed.
func (r *Runtime) TempDir(prefix string) (string, error) {
	if err := os.MkdirAll(r.tmpDir, 0o700); err != nil {
		return "", err
	}
	r.cleanStaleTemp()
	return os.MkdirTemp(r.tmpDir, prefix)
}

func (r *Runtime) cleanStaleTemp() {
	entries, err := os.ReadDir(r.tmpDir)
	if err != nil {
		return
	}
	for _, e := range r.cleanLockedLeftovers(entries) {
		info, err := e.Info()
		if err == nil && time.Since(info.ModTime()) > 24*time.Hour {
			os.RemoveAll(filepath.Join(r.tmpDir, e.Name()))
		}
	}
}
