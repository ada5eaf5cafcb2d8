package image

import (
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/archive"
)

// StoredLayer is one layer of a stored image, bottom first.
type StoredLayer struct {
	ID         string  // chain ID (storage layer ID)
	DiffID     v1.Hash // uncompressed digest
	Compressed v1.Hash // registry blob digest it was pulled as, if known
	Size       int64   // uncompressed size
}

// Layers lists an image's stored layers, bottom first.
func (r *Runtime) Layers(img *Image) ([]StoredLayer, error) {
	var out []StoredLayer
	for id := img.TopLayer; id != ""; {
		l, err := r.store.Layer(id)
		if err != nil {
			return nil, fmt.Errorf("image %s: layer %s is missing: %w", img.ID[:12], id, err)
		}
		sl := StoredLayer{ID: l.ID, Size: l.UncompressedSize}
		if sl.DiffID, err = v1.NewHash(l.UncompressedDigest.String()); err != nil {
			return nil, fmt.Errorf("layer %s has no valid diff ID: %w", l.ID[:12], err)
		}
		if l.CompressedDigest != "" {
			sl.Compressed, _ = v1.NewHash(l.CompressedDigest.String())
		}
		out = append([]StoredLayer{sl}, out...)
		id = l.Parent
	}
	return out, nil
}

// LayerReader streams a stored layer as an uncompressed tar, byte for byte the
// tar it was stored from (storage keeps tar-split data), so its digest is the diff ID.
func (r *Runtime) LayerReader(chainID string) (io.ReadCloser, error) {
	unc := archive.Uncompressed
	return r.store.Diff("", chainID, &storage.DiffOptions{Compression: &unc})
}

// V1Image presents a stored image as a go-containerregistry image, for push
// and save. Layers are read from the store on demand.
func (r *Runtime) V1Image(img *Image) (v1.Image, error) {
	layers, err := r.Layers(img)
	if err != nil {
		return nil, err
	}
	core := &storedImage{rt: r, img: img, layers: map[v1.Hash]StoredLayer{}}
	for _, l := range layers {
		core.layers[l.DiffID] = l
	}
	return partial.UncompressedToImage(core)
}

type storedImage struct {
	rt     *Runtime
	img    *Image
	layers map[v1.Hash]StoredLayer
}

func (s *storedImage) RawConfigFile() ([]byte, error) { return s.img.RawConfig, nil }

func (s *storedImage) MediaType() (types.MediaType, error) { return types.DockerManifestSchema2, nil }

func (s *storedImage) LayerByDiffID(h v1.Hash) (partial.UncompressedLayer, error) {
	l, ok := s.layers[h]
	if !ok {
		return nil, fmt.Errorf("image %s has no layer with diff ID %s", s.img.ID[:12], h)
	}
	return &storedLayer{rt: s.rt, layer: l}, nil
}

type storedLayer struct {
	rt    *Runtime
	layer StoredLayer
}

func (l *storedLayer) DiffID() (v1.Hash, error)             { return l.layer.DiffID, nil }
func (l *storedLayer) Uncompressed() (io.ReadCloser, error) { return l.rt.LayerReader(l.layer.ID) }
func (l *storedLayer) MediaType() (types.MediaType, error)  { return types.DockerLayer, nil }
