package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sirupsen/logrus"

	"github.com/tug-project/tug/pkg/parse"
)

// Loaded is one image that Load stored.
type Loaded struct {
	ID    string   // 64 hex
	Names []string // full references it was given
}

// Load stores the images of a docker-archive or oci-archive read from src
// (compressed or not). It checks everything — the archive's structure, each
// config, every layer's digest — before storing anything, and undoes what it
// stored if storing fails, so a bad archive leaves no image and no layer.
func (r *Runtime) Load(ctx context.Context, src io.Reader) ([]Loaded, error) {
	return r.LoadWith(ctx, src, LoadOptions{})
}

// LoadOptions tune Load.
type LoadOptions struct {
	// Progress, when set, is told of each layer as it is stored.
	Progress func(diffID string, size int64)
}

// LoadWith is Load with options.
func (r *Runtime) LoadWith(ctx context.Context, src io.Reader, opts LoadOptions) ([]Loaded, error) {
	dir, err := r.TempDir("load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	f, cleanup, err := spool(src, dir)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		return nil, badArchive("the archive is empty (nothing on stdin? give a file with -i)")
	}
	idx, err := indexTar(f)
	if err != nil {
		return nil, err
	}
	images, err := readArchive(idx)
	if err != nil {
		return nil, err
	}
	verified := map[archiveLayer]bool{}
	for _, img := range images {
		for i, id := range ChainIDs(img.config.RootFS.DiffIDs) {
			l := img.layers[i]
			if verified[l] || r.HasLayer(id) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := idx.verifyLayer(l); err != nil {
				return nil, err
			}
			verified[l] = true
		}
	}
	tx := &storeTx{r: r, progress: opts.Progress}
	var out []Loaded
	for _, img := range images {
		stored, err := tx.commitArchiveImage(ctx, idx, img)
		if err != nil {
			tx.rollback()
			return nil, err
		}
		out = append(out, Loaded{ID: stored.ID, Names: img.names})
		r.idEvent("load", stored.ID)
		for _, n := range img.names {
			if ref, err := parse.ParseReference(n); err == nil {
				r.event("tag", "sha256:"+stored.ID, ref.Familiar(), stored.ID)
			}
		}
	}
	return out, nil
}

// storeTx remembers the layers and images one call created, so that a
// failure part way removes them again (unless another image uses them by then).
type storeTx struct {
	r        *Runtime
	layers   []string
	images   []string
	progress func(diffID string, size int64)
}

func (tx *storeTx) putLayer(parent string, diffID v1.Hash, open func() (io.ReadCloser, error)) (string, error) {
	id := ChainIDs([]v1.Hash{diffID})[0]
	if parent != "" {
		id = childChainID(parent, diffID)
	}
	if tx.r.HasLayer(id) {
		return id, nil
	}
	// A concurrent tug can make the storage library delete a staging
	// directory mid-extraction (see WithLayerLock); the content is verified,
	// so trying again from the archive is safe.
	for attempt := 1; ; attempt++ {
		rc, err := open()
		if err != nil {
			return "", err
		}
		id, err = tx.r.PutLayer(parent, diffID, v1.Hash{}, rc)
		rc.Close()
		if err == nil {
			break
		}
		if attempt == 3 || errors.Is(err, errDigestMismatch) {
			return "", err
		}
		logrus.Debugf("storing layer %s failed, trying again: %v", shortID(diffID.Hex), err)
	}
	tx.layers = append(tx.layers, id)
	if tx.progress != nil {
		size := int64(0)
		if l, err := tx.r.store.Layer(id); err == nil {
			size = l.UncompressedSize
		}
		tx.progress(diffID.String(), size)
	}
	return id, nil
}

func (tx *storeTx) createImage(rawConfig []byte, opts CreateOptions) (*Image, error) {
	id := configID(rawConfig)
	_, lookupErr := tx.r.store.Image(id)
	isNew := lookupErr != nil
	img, err := tx.r.CreateImage(rawConfig, opts)
	if err != nil {
		return nil, err
	}
	if isNew {
		tx.images = append(tx.images, img.ID)
	}
	return img, nil
}

func (tx *storeTx) commitArchiveImage(ctx context.Context, idx *tarIndex, img *archiveImage) (*Image, error) {
	parent := ""
	for _, l := range img.layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id, err := tx.putLayer(parent, l.diffID, func() (io.ReadCloser, error) { return idx.openLayer(l.name) })
		if err != nil {
			return nil, err
		}
		parent = id
	}
	return tx.createImage(img.rawConfig, CreateOptions{Names: img.names})
}

func (tx *storeTx) rollback() {
	for i := len(tx.images) - 1; i >= 0; i-- {
		tx.r.deleteStoredImage(tx.images[i])
	}
	for i := len(tx.layers) - 1; i >= 0; i-- {
		// Refused (and so kept) when an image or a child layer uses it by now.
		tx.r.deleteLayer(tx.layers[i])
	}
}

func configID(raw []byte) string { return digestHex(raw) }

func childChainID(parent string, diffID v1.Hash) string {
	return digestHex([]byte("sha256:" + parent + " " + diffID.String()))
}

func digestHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
