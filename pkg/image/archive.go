package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	goruntime "runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.podman.io/storage/pkg/archive"

	"github.com/tug-project/tug/pkg/parse"
)

// ErrBadArchive marks an archive that is not a valid docker-archive or
// oci-archive (truncated, corrupt, or of another kind).
var ErrBadArchive = errors.New("invalid image archive")

func badArchive(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadArchive, fmt.Sprintf(format, a...))
}

// tarIndex maps the regular files of an uncompressed tar on disk to where
// their bytes are, so that files can be read in any order without unpacking.
type tarIndex struct {
	file    io.ReaderAt
	entries map[string]tarEntry
}

type tarEntry struct {
	offset, size int64
	link         string // symlink or hard link target, resolved on open
}

// maxArchiveEntries bounds the index so a hostile archive cannot exhaust memory.
const maxArchiveEntries = 1 << 20

// indexTar reads the tar headers of r (a seekable uncompressed tar).
func indexTar(r io.ReadSeeker) (*tarIndex, error) {
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	idx := &tarIndex{entries: map[string]tarEntry{}}
	if ra, ok := r.(io.ReaderAt); ok {
		idx.file = ra
	} else {
		return nil, fmt.Errorf("internal error: archive is not random-access")
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, badArchive("the archive is truncated")
			}
			return nil, badArchive("not a tar archive or corrupt: %v", err)
		}
		if len(idx.entries) >= maxArchiveEntries {
			return nil, badArchive("too many entries")
		}
		name := cleanName(hdr.Name)
		switch hdr.Typeflag {
		case tar.TypeReg, '\x00': // the old TypeRegA is a regular file too
			if hdr.Size < 0 {
				return nil, badArchive("entry %q has a negative size", hdr.Name)
			}
			idx.entries[name] = tarEntry{offset: cr.pos, size: hdr.Size}
		case tar.TypeSymlink:
			target := hdr.Linkname
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(name), target)
			}
			idx.entries[name] = tarEntry{link: cleanName(target)}
		case tar.TypeLink:
			idx.entries[name] = tarEntry{link: cleanName(hdr.Linkname)}
		}
	}
	// The last entry's data must be complete: tar.Reader only notices a cut
	// inside an entry it skips, not in the final one's padding.
	if end, err := r.Seek(0, io.SeekEnd); err == nil {
		for name, e := range idx.entries {
			if e.link == "" && e.offset+e.size > end {
				return nil, badArchive("the archive is truncated inside %q", name)
			}
		}
	}
	return idx, nil
}

func cleanName(n string) string {
	n = path.Clean("/" + n)
	return strings.TrimPrefix(n, "/")
}

// countingReader tracks the position in the tar so each entry's data offset is known.
type countingReader struct {
	r   io.ReadSeeker
	pos int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.pos += int64(n)
	return n, err
}

func (c *countingReader) Seek(offset int64, whence int) (int64, error) {
	pos, err := c.r.Seek(offset, whence)
	if err == nil {
		c.pos = pos
	}
	return pos, err
}

func (t *tarIndex) lookup(name string) (tarEntry, bool) {
	name = cleanName(name)
	for hops := 0; hops < 16; hops++ {
		e, ok := t.entries[name]
		if !ok || e.link == "" {
			return e, ok
		}
		name = e.link
	}
	return tarEntry{}, false
}

func (t *tarIndex) has(name string) bool { _, ok := t.lookup(name); return ok }

// open returns a reader over one file of the archive.
func (t *tarIndex) open(name string) (*io.SectionReader, error) {
	e, ok := t.lookup(name)
	if !ok {
		return nil, badArchive("%q is missing from the archive", name)
	}
	return io.NewSectionReader(t.file, e.offset, e.size), nil
}

// maxMetadataFile bounds the JSON files an archive names (manifests, configs).
const maxMetadataFile = 16 << 20

func (t *tarIndex) readJSON(name string, v any) ([]byte, error) {
	sr, err := t.open(name)
	if err != nil {
		return nil, err
	}
	if sr.Size() > maxMetadataFile {
		return nil, badArchive("%q is too large for a metadata file", name)
	}
	data, err := io.ReadAll(sr)
	if err != nil {
		return nil, badArchive("reading %q: %v", name, err)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			return nil, badArchive("%q is not valid JSON: %v", name, err)
		}
	}
	return data, nil
}

// archiveImage is one image found in an archive, checked but not yet stored.
type archiveImage struct {
	rawConfig []byte
	config    *v1.ConfigFile
	names     []string // full references
	layers    []archiveLayer
}

type archiveLayer struct {
	diffID v1.Hash
	name   string // file in the archive; may be compressed
}

// readArchive finds the images of a docker-archive (manifest.json, as
// `docker save` writes) or an oci-archive (index.json of an OCI layout).
// A Docker 25+ archive has both; manifest.json wins as it carries the tags.
func readArchive(idx *tarIndex) ([]*archiveImage, error) {
	switch {
	case idx.has("manifest.json"):
		return readDockerArchive(idx)
	case idx.has("index.json"):
		return readOCIArchive(idx)
	}
	return nil, badArchive("neither manifest.json (docker-archive) nor index.json (oci-archive) found: is this an image archive from docker save, podman save or tug save?")
}

type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func readDockerArchive(idx *tarIndex) ([]*archiveImage, error) {
	var entries []dockerManifestEntry
	if _, err := idx.readJSON("manifest.json", &entries); err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, badArchive("manifest.json lists no images")
	}
	var out []*archiveImage
	for _, e := range entries {
		if e.Config == "" {
			return nil, badArchive("an image in manifest.json has no Config")
		}
		img, err := readConfig(idx, e.Config)
		if err != nil {
			return nil, err
		}
		if len(e.Layers) != len(img.config.RootFS.DiffIDs) {
			return nil, badArchive("image %s lists %d layers but its config has %d", e.Config, len(e.Layers), len(img.config.RootFS.DiffIDs))
		}
		for i, l := range e.Layers {
			if !idx.has(l) {
				return nil, badArchive("layer %q is missing from the archive", l)
			}
			img.layers = append(img.layers, archiveLayer{diffID: img.config.RootFS.DiffIDs[i], name: l})
		}
		for _, tag := range e.RepoTags {
			ref, err := parse.ParseReference(tag)
			if err != nil || ref.Tag() == "" {
				return nil, badArchive("image %s has an invalid tag %q in manifest.json", e.Config, tag)
			}
			img.names = appendUnique(img.names, ref.String())
		}
		out = append(out, img)
	}
	return out, nil
}

func readConfig(idx *tarIndex, name string) (*archiveImage, error) {
	raw, err := idx.readJSON(name, nil)
	if err != nil {
		return nil, err
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, badArchive("image config %q is not valid: %v", name, err)
	}
	return &archiveImage{rawConfig: raw, config: cfg}, nil
}

type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *v1.Platform      `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ociIndex struct {
	MediaType string          `json:"mediaType,omitempty"`
	Manifests []ociDescriptor `json:"manifests"`
}

type ociManifest struct {
	MediaType string          `json:"mediaType,omitempty"`
	Config    ociDescriptor   `json:"config"`
	Layers    []ociDescriptor `json:"layers"`
}

const (
	mediaOCIIndex     = "application/vnd.oci.image.index.v1+json"
	mediaOCIManifest  = "application/vnd.oci.image.manifest.v1+json"
	mediaDockerList   = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaDockerSchema = "application/vnd.docker.distribution.manifest.v2+json"
	annotationRefName = "org.opencontainers.image.ref.name"
	annotationImgName = "io.containerd.image.name"
)

func blobPath(d string) (string, error) {
	alg, hexPart, ok := strings.Cut(d, ":")
	if !ok || alg != "sha256" || len(hexPart) != 64 || !isHexPrefix(hexPart) {
		return "", badArchive("invalid digest %q", d)
	}
	return "blobs/sha256/" + hexPart, nil
}

func readOCIArchive(idx *tarIndex) ([]*archiveImage, error) {
	var index ociIndex
	if _, err := idx.readJSON("index.json", &index); err != nil {
		return nil, err
	}
	if len(index.Manifests) == 0 {
		return nil, badArchive("index.json lists no images")
	}
	byDigest := map[string]*archiveImage{}
	var out []*archiveImage
	for _, d := range index.Manifests {
		m, err := resolveOCIManifest(idx, d, 0)
		if err != nil {
			return nil, err
		}
		img := byDigest[m.Digest]
		if img == nil {
			if img, err = readOCIImage(idx, m); err != nil {
				return nil, err
			}
			byDigest[m.Digest] = img
			out = append(out, img)
		}
		if name := ociName(d.Annotations); name != "" {
			img.names = appendUnique(img.names, name)
		}
	}
	return out, nil
}

// ociName is the image name an index entry carries: containerd's full name,
// else the OCI ref.name when it is a full reference (a bare tag such as
// "latest" names no repository, so it is ignored).
func ociName(ann map[string]string) string {
	for _, key := range []string{annotationImgName, annotationRefName} {
		v := ann[key]
		if v == "" || key == annotationRefName && !strings.ContainsAny(v, ":/@") {
			continue
		}
		if ref, err := parse.ParseReference(v); err == nil && ref.Tag() != "" {
			return ref.String()
		}
	}
	return ""
}

// resolveOCIManifest follows nested indexes down to one image manifest,
// choosing this machine's platform (else the first) in a multi-platform index.
func resolveOCIManifest(idx *tarIndex, d ociDescriptor, depth int) (ociDescriptor, error) {
	if depth > 4 {
		return d, badArchive("image indexes nested too deep")
	}
	switch d.MediaType {
	case mediaOCIManifest, mediaDockerSchema, "":
		return d, nil
	case mediaOCIIndex, mediaDockerList:
	default:
		return d, badArchive("unsupported manifest media type %q", d.MediaType)
	}
	p, err := blobPath(d.Digest)
	if err != nil {
		return d, err
	}
	var nested ociIndex
	if _, err := idx.readJSON(p, &nested); err != nil {
		return d, err
	}
	if len(nested.Manifests) == 0 {
		return d, badArchive("image index %s is empty", d.Digest)
	}
	pick := nested.Manifests[0]
	for _, m := range nested.Manifests {
		if m.Platform != nil && m.Platform.OS == goruntime.GOOS && m.Platform.Architecture == goruntime.GOARCH {
			pick = m
			break
		}
	}
	if pick.Annotations == nil {
		pick.Annotations = d.Annotations
	}
	return resolveOCIManifest(idx, pick, depth+1)
}

func readOCIImage(idx *tarIndex, d ociDescriptor) (*archiveImage, error) {
	p, err := blobPath(d.Digest)
	if err != nil {
		return nil, err
	}
	var m ociManifest
	raw, err := idx.readJSON(p, &m)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(raw); "sha256:"+hex.EncodeToString(sum[:]) != d.Digest {
		return nil, badArchive("manifest %s does not match its digest", d.Digest)
	}
	cp, err := blobPath(m.Config.Digest)
	if err != nil {
		return nil, err
	}
	img, err := readConfig(idx, cp)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(img.rawConfig); "sha256:"+hex.EncodeToString(sum[:]) != m.Config.Digest {
		return nil, badArchive("config %s does not match its digest", m.Config.Digest)
	}
	if len(m.Layers) != len(img.config.RootFS.DiffIDs) {
		return nil, badArchive("manifest %s lists %d layers but its config has %d", d.Digest, len(m.Layers), len(img.config.RootFS.DiffIDs))
	}
	for i, l := range m.Layers {
		lp, err := blobPath(l.Digest)
		if err != nil {
			return nil, err
		}
		if !idx.has(lp) {
			return nil, badArchive("layer %s is missing from the archive", l.Digest)
		}
		img.layers = append(img.layers, archiveLayer{diffID: img.config.RootFS.DiffIDs[i], name: lp})
	}
	return img, nil
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// openLayer returns the uncompressed tar stream of an archive layer, whatever
// compression (none, gzip, zstd, xz, bzip2) it was stored with.
func (t *tarIndex) openLayer(name string) (io.ReadCloser, error) {
	sr, err := t.open(name)
	if err != nil {
		return nil, err
	}
	rc, err := archive.DecompressStream(sr)
	if err != nil {
		return nil, badArchive("layer %q: %v", name, err)
	}
	return rc, nil
}

// verifyLayer reads a layer through and checks its uncompressed digest, so
// that nothing unverified is ever stored under a layer ID that later calls
// would trust.
func (t *tarIndex) verifyLayer(l archiveLayer) error {
	rc, err := t.openLayer(l.name)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return badArchive("layer %q is corrupt: %v", l.name, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != l.diffID.String() {
		return badArchive("layer %q is corrupt: its content has digest %s, the image config says %s", l.name, got, l.diffID)
	}
	return nil
}

// spool makes src a random-access uncompressed tar: a regular uncompressed
// file is used in place, anything else (stdin, compressed) is copied into dir.
// The returned cleanup removes what spool made.
func spool(src io.Reader, dir string) (*os.File, func(), error) {
	if f, ok := src.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			head := make([]byte, 16)
			n, _ := io.ReadFull(f, head)
			if _, err := f.Seek(0, io.SeekStart); err == nil && archive.DetectCompression(head[:n]) == archive.Uncompressed {
				return f, func() {}, nil
			}
		}
	}
	rc, err := archive.DecompressStream(src)
	if err != nil {
		return nil, nil, badArchive("%v", err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(dir, "archive-*.tar")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	if _, err := io.Copy(tmp, rc); err != nil {
		cleanup()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, badArchive("the archive is truncated")
		}
		return nil, nil, fmt.Errorf("reading the archive: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, nil, err
	}
	return tmp, cleanup, nil
}
