package image

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/tug-project/tug/pkg/parse"
)

// Archive formats of save (and podman's --format names for them).
const (
	FormatDockerArchive = "docker-archive"
	FormatOCIArchive    = "oci-archive"
)

// SaveItem is one image to save and the names it carries in the archive.
type SaveItem struct {
	Image *Image
	Names []string // full references (repo:tag); none when saved by ID
}

// SaveItems resolves save's arguments as Docker does: a name with a tag (or
// the default :latest) saves that tag, a repository named without a tag saves
// every tag of it, an ID saves the image with no names. Images named twice
// are saved once with all their names.
func (r *Runtime) SaveItems(args []string) ([]SaveItem, error) {
	var items []SaveItem
	add := func(img *Image, names ...string) {
		for i := range items {
			if items[i].Image.ID == img.ID {
				for _, n := range names {
					items[i].Names = appendUnique(items[i].Names, n)
				}
				return
			}
		}
		items = append(items, SaveItem{Image: img, Names: names})
	}
	for _, arg := range args {
		if repo, ok := parse.RepositoryOnly(arg); ok {
			found := false
			if all, err := r.List(); err == nil {
				for _, img := range all {
					var names []string
					for _, n := range img.Names {
						if ref, err := parse.ParseReference(n); err == nil && ref.Name() == repo && ref.Tag() != "" {
							names = append(names, n)
						}
					}
					if len(names) > 0 {
						add(img, names...)
						found = true
					}
				}
			}
			if found {
				continue
			}
		}
		img, err := r.Lookup(arg)
		if err != nil {
			return nil, err
		}
		if ref, err := parse.ParseReference(arg); err == nil && ref.Digest() == "" && !isIDArg(arg, img.ID) {
			add(img, ref.String())
		} else {
			add(img)
		}
	}
	return items, nil
}

// isIDArg reports whether arg named the image by (a prefix of) its ID.
func isIDArg(arg, id string) bool {
	s := arg
	if len(s) > 7 && s[:7] == "sha256:" {
		s = s[7:]
	}
	return len(s) <= len(id) && id[:len(s)] == s
}

// Save writes items to w as a docker-archive (Docker's classic `docker save`
// layout: manifest.json, repositories, one directory per layer with its
// layer.tar; loads in docker, podman and tug) or an oci-archive (an OCI image
// layout, one index entry per name).
func (r *Runtime) Save(ctx context.Context, w io.Writer, items []SaveItem, format string) error {
	tw := tar.NewWriter(w)
	var err error
	switch format {
	case FormatDockerArchive, "":
		err = r.writeDockerArchive(ctx, tw, items)
	case FormatOCIArchive:
		err = r.writeOCIArchive(ctx, tw, items)
	default:
		return fmt.Errorf("unknown archive format %q: use %s or %s", format, FormatDockerArchive, FormatOCIArchive)
	}
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	for _, it := range items {
		r.idEvent("save", it.Image.ID)
	}
	return nil
}

// archiveTime is the modification time of every archive entry, so that
// saving the same images twice gives the same bytes.
var archiveTime = time.Unix(0, 0)

func writeFile(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: archiveTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

func writeDir(tw *tar.Writer, name string) error {
	return tw.WriteHeader(&tar.Header{Name: name + "/", Mode: 0o755, ModTime: archiveTime, Typeflag: tar.TypeDir, Format: tar.FormatPAX})
}

// writeLayer streams a stored layer into the archive as name, checking on
// the way that its bytes still hash to its diff ID.
func (r *Runtime) writeLayer(ctx context.Context, tw *tar.Writer, name string, l StoredLayer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	size := l.Size
	var src io.Reader
	rc, err := r.LayerReader(l.ID)
	if err != nil {
		return fmt.Errorf("reading layer %s: %w", shortID(l.ID), err)
	}
	defer rc.Close()
	src = rc
	if size <= 0 {
		// Size unknown (an old record): measure it through a temporary file.
		tmp, err := os.CreateTemp(r.tmpDir, "layer-*.tar")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		if size, err = io.Copy(tmp, rc); err != nil {
			return fmt.Errorf("reading layer %s: %w", shortID(l.ID), err)
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		src = tmp
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: archiveTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h), src)
	if err != nil {
		return fmt.Errorf("writing layer %s: %w", shortID(l.ID), err)
	}
	if n != size || "sha256:"+hex.EncodeToString(h.Sum(nil)) != l.DiffID.String() {
		return fmt.Errorf("stored layer %s is damaged: its content no longer matches its digest %s; remove the image and load or pull it again", shortID(l.ID), l.DiffID)
	}
	return nil
}

func (r *Runtime) writeDockerArchive(ctx context.Context, tw *tar.Writer, items []SaveItem) error {
	type manifestEntry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	manifest := []manifestEntry{}
	repositories := map[string]map[string]string{}
	written := map[string]string{} // v1 layer ID -> its layer.tar path
	byDiff := map[string]string{}  // diff ID -> first layer.tar written with it
	for _, item := range items {
		layers, err := r.Layers(item.Image)
		if err != nil {
			return err
		}
		entry := manifestEntry{Config: item.Image.ID + ".json", RepoTags: []string{}}
		parent := ""
		for i, l := range layers {
			top := i == len(layers)-1
			v1ID := legacyLayerID(l.ID, parent, top, item.Image.ID)
			layerPath := v1ID + "/layer.tar"
			if _, done := written[v1ID]; !done {
				if err := writeDir(tw, v1ID); err != nil {
					return err
				}
				if err := writeFile(tw, v1ID+"/VERSION", []byte("1.0")); err != nil {
					return err
				}
				js, err := legacyLayerJSON(v1ID, parent, top, item.Image.RawConfig)
				if err != nil {
					return err
				}
				if err := writeFile(tw, v1ID+"/json", js); err != nil {
					return err
				}
				if first, ok := byDiff[l.DiffID.String()]; ok {
					// The same bytes again: a link, as docker save writes it.
					if err := tw.WriteHeader(&tar.Header{Name: layerPath, Linkname: "../" + first, Mode: 0o644, ModTime: archiveTime, Typeflag: tar.TypeSymlink, Format: tar.FormatPAX}); err != nil {
						return err
					}
				} else {
					if err := r.writeLayer(ctx, tw, layerPath, l); err != nil {
						return err
					}
					byDiff[l.DiffID.String()] = layerPath
				}
				written[v1ID] = layerPath
			}
			entry.Layers = append(entry.Layers, layerPath)
			parent = v1ID
		}
		if err := writeFile(tw, entry.Config, item.Image.RawConfig); err != nil {
			return err
		}
		for _, n := range item.Names {
			ref, err := parse.ParseReference(n)
			if err != nil || ref.Tag() == "" {
				continue
			}
			// Full names, as podman writes them: docker loads them the same,
			// and podman does not mistake "busybox" for localhost/busybox.
			entry.RepoTags = append(entry.RepoTags, ref.String())
			repo := ref.Name()
			if repositories[repo] == nil {
				repositories[repo] = map[string]string{}
			}
			repositories[repo][ref.Tag()] = parent
		}
		if len(entry.RepoTags) == 0 {
			entry.RepoTags = nil // Docker writes null for an image saved by ID
		}
		manifest = append(manifest, entry)
	}
	mj, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	if err := writeFile(tw, "manifest.json", mj); err != nil {
		return err
	}
	if len(repositories) > 0 {
		rj, err := json.Marshal(repositories)
		if err != nil {
			return err
		}
		return writeFile(tw, "repositories", rj)
	}
	return nil
}

// legacyLayerID names a layer directory of a docker-archive. Docker derives
// these "v1 IDs" from the layer chain and, for the top layer, the image; any
// stable unique name loads the same, so tug hashes the same inputs.
func legacyLayerID(chainID, parentV1 string, top bool, imageID string) string {
	s := "tug-v1 " + chainID + " " + parentV1
	if top {
		s += " " + imageID
	}
	return digestHex([]byte(s))
}

// legacyLayerJSON is the v1 "json" file of a layer directory: the top layer
// carries the image config (less rootfs and history), as Docker writes it.
func legacyLayerJSON(id, parent string, top bool, rawConfig []byte) ([]byte, error) {
	m := map[string]any{}
	if top {
		if err := json.Unmarshal(rawConfig, &m); err != nil {
			return nil, err
		}
		delete(m, "rootfs")
		delete(m, "history")
	} else {
		m["created"] = "1970-01-01T00:00:00Z"
		m["container_config"] = map[string]any{"Cmd": nil}
	}
	m["id"] = id
	if parent != "" {
		m["parent"] = parent
	} else {
		delete(m, "parent")
	}
	return json.Marshal(m)
}

func (r *Runtime) writeOCIArchive(ctx context.Context, tw *tar.Writer, items []SaveItem) error {
	if err := writeFile(tw, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := writeDir(tw, "blobs"); err != nil {
		return err
	}
	if err := writeDir(tw, "blobs/sha256"); err != nil {
		return err
	}
	written := map[string]bool{}
	blob := func(hexDigest string, data []byte) error {
		if written[hexDigest] {
			return nil
		}
		written[hexDigest] = true
		return writeFile(tw, "blobs/sha256/"+hexDigest, data)
	}
	index := ociIndex{Manifests: []ociDescriptor{}}
	for _, item := range items {
		layers, err := r.Layers(item.Image)
		if err != nil {
			return err
		}
		m := ociManifest{
			MediaType: mediaOCIManifest,
			Config:    ociDescriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: "sha256:" + item.Image.ID, Size: int64(len(item.Image.RawConfig))},
			Layers:    []ociDescriptor{},
		}
		for _, l := range layers {
			size := l.Size
			if !written[l.DiffID.Hex] {
				if size <= 0 {
					return fmt.Errorf("layer %s has no recorded size; save it as %s", shortID(l.ID), FormatDockerArchive)
				}
				if err := r.writeLayer(ctx, tw, "blobs/sha256/"+l.DiffID.Hex, l); err != nil {
					return err
				}
				written[l.DiffID.Hex] = true
			}
			m.Layers = append(m.Layers, ociDescriptor{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: l.DiffID.String(), Size: size})
		}
		if err := blob(item.Image.ID, item.Image.RawConfig); err != nil {
			return err
		}
		mj, err := json.Marshal(struct {
			SchemaVersion int `json:"schemaVersion"`
			ociManifest
		}{2, m})
		if err != nil {
			return err
		}
		mHex := digestHex(mj)
		if err := blob(mHex, mj); err != nil {
			return err
		}
		desc := ociDescriptor{MediaType: mediaOCIManifest, Digest: "sha256:" + mHex, Size: int64(len(mj))}
		names := append([]string(nil), item.Names...)
		sort.Strings(names)
		if len(names) == 0 {
			index.Manifests = append(index.Manifests, desc)
		}
		for _, n := range names {
			d := desc
			d.Annotations = map[string]string{annotationRefName: n, annotationImgName: n}
			index.Manifests = append(index.Manifests, d)
		}
	}
	ij, err := json.Marshal(struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		ociIndex
	}{2, mediaOCIIndex, index})
	if err != nil {
		return err
	}
	return writeFile(tw, "index.json", ij)
}
