package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// dockerArchive writes images as go-containerregistry's tarball writer does
// (manifest.json with gzip layers), tags first.
func dockerArchive(t testing.TB, refs map[string]v1.Image) []byte {
	t.Helper()
	m := map[name.Reference]v1.Image{}
	for r, img := range refs {
		tag, err := name.NewTag(r)
		if err != nil {
			t.Fatal(err)
		}
		m[tag] = img
	}
	var buf bytes.Buffer
	if err := tarball.MultiRefWrite(m, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randomImage(t testing.TB, layers int) v1.Image {
	t.Helper()
	img, err := random.Image(512, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func storeIsEmpty(t *testing.T, rt *Runtime) {
	t.Helper()
	imgs, _ := rt.store.Images()
	layers, _ := rt.store.Layers()
	if len(imgs) != 0 || len(layers) != 0 {
		t.Fatalf("store not empty: %d images, %d layers", len(imgs), len(layers))
	}
}

func TestLoadDockerArchiveWithSeveralImagesAndTags(t *testing.T) {
	rt := newTestRuntime(t)
	a, b := randomImage(t, 2), randomImage(t, 1)
	data := dockerArchive(t, map[string]v1.Image{"example.com/a:1": a, "a-local:latest": a, "b:2": b})
	loaded, err := rt.Load(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 2 {
		t.Fatalf("loaded %d images, want 2: %+v", len(loaded), loaded)
	}
	for _, want := range []string{"example.com/a:1", "a-local", "b:2"} {
		img, err := rt.Lookup(want)
		if err != nil {
			t.Fatalf("%s not loaded: %v", want, err)
		}
		src := b
		if !strings.HasPrefix(want, "b") {
			src = a
		}
		if cn, _ := src.ConfigName(); cn.Hex != img.ID {
			t.Fatalf("%s has ID %s, want %s", want, img.ID, cn.Hex)
		}
	}
	// Loading again changes nothing and stores no layer twice.
	before, _ := rt.store.Layers()
	if _, err := rt.Load(context.Background(), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	after, _ := rt.store.Layers()
	if len(before) != len(after) || len(after) != 3 {
		t.Fatalf("layers %d then %d, want 3", len(before), len(after))
	}
}

func TestSaveLoadRoundTripBothFormats(t *testing.T) {
	for _, format := range []string{FormatDockerArchive, FormatOCIArchive} {
		t.Run(format, func(t *testing.T) {
			src := newTestRuntime(t)
			a, b := randomImage(t, 3), randomImage(t, 1)
			if _, err := src.Load(context.Background(), bytes.NewReader(dockerArchive(t, map[string]v1.Image{"a:1": a, "a:2": a, "localhost:5000/b:x": b}))); err != nil {
				t.Fatal(err)
			}
			items, err := src.SaveItems([]string{"a", "localhost:5000/b:x"})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 2 || len(items[0].Names) != 2 {
				t.Fatalf("save items: %+v", items)
			}
			var buf bytes.Buffer
			if err := src.Save(context.Background(), &buf, items, format); err != nil {
				t.Fatal(err)
			}
			dst := newTestRuntime(t)
			loaded, err := dst.Load(context.Background(), bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if len(loaded) != 2 {
				t.Fatalf("loaded %+v", loaded)
			}
			for _, n := range []string{"a:1", "a:2", "localhost:5000/b:x"} {
				got, err := dst.Lookup(n)
				if err != nil {
					t.Fatalf("%s: %v", n, err)
				}
				want, _ := src.Lookup(n)
				if got.ID != want.ID || got.Size != want.Size {
					t.Fatalf("%s: got %s/%d want %s/%d", n, got.ID, got.Size, want.ID, want.Size)
				}
			}
			// Byte-identical layers: a v1.Image over the loaded copy has the same digests.
			img, _ := dst.Lookup("a:1")
			v1img, err := dst.V1Image(img)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateLayers(v1img); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func validateLayers(img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			return err
		}
		rc.Close()
	}
	return nil
}

func TestSaveByIDHasNoTags(t *testing.T) {
	rt := newTestRuntime(t)
	a := randomImage(t, 1)
	rt.Load(context.Background(), bytes.NewReader(dockerArchive(t, map[string]v1.Image{"a:1": a})))
	img, _ := rt.Lookup("a:1")
	items, err := rt.SaveItems([]string{img.ID[:12]})
	if err != nil || len(items) != 1 || len(items[0].Names) != 0 {
		t.Fatalf("%v %+v", err, items)
	}
	var buf bytes.Buffer
	if err := rt.Save(context.Background(), &buf, items, FormatDockerArchive); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"RepoTags":null`)) {
		t.Fatal("manifest.json of an image saved by ID should have RepoTags null")
	}
}

func TestLoadOCILayoutArchive(t *testing.T) {
	rt := newTestRuntime(t)
	img := randomImage(t, 2)
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{annotationRefName: "registry.example/x/y:3"})); err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(randomImage(t, 1), layout.WithAnnotations(map[string]string{annotationRefName: "latest"})); err != nil {
		t.Fatal(err)
	}
	loaded, err := rt.Load(context.Background(), bytes.NewReader(tarDir(t, dir)))
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 2 || len(loaded[0].Names) != 1 || loaded[0].Names[0] != "registry.example/x/y:3" || len(loaded[1].Names) != 0 {
		t.Fatalf("loaded %+v", loaded)
	}
}

func tarDir(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, _ := os.ReadFile(p)
		tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
		return nil
	})
	tw.Close()
	return buf.Bytes()
}

func TestBadArchivesLeaveNothing(t *testing.T) {
	rt := newTestRuntime(t)
	a := randomImage(t, 3)
	good := dockerArchive(t, map[string]v1.Image{"a:1": a})
	corruptLayer := corruptLastLayer(t, good)
	cases := map[string][]byte{
		"truncated":      good[:len(good)*2/3],
		"truncated end":  good[:len(good)-1500],
		"empty":          {},
		"not a tar":      []byte("hello, this is not an archive at all, not even close...................................."),
		"corrupt layer":  corruptLayer,
		"no manifest":    tarOf(t, map[string]string{"foo": "bar"}),
		"bad manifest":   tarOf(t, map[string]string{"manifest.json": "{"}),
		"missing config": tarOf(t, map[string]string{"manifest.json": `[{"Config":"x.json","RepoTags":["a:1"],"Layers":[]}]`}),
		"bad tag":        tarOf(t, map[string]string{"manifest.json": `[{"Config":"x.json","RepoTags":["A B"],"Layers":[]}]`, "x.json": `{"rootfs":{"type":"layers","diff_ids":[]}}`}),
	}
	for name, data := range cases {
		_, err := rt.Load(context.Background(), bytes.NewReader(data))
		if err == nil {
			t.Errorf("%s: loaded", name)
			continue
		}
		if !errors.Is(err, ErrBadArchive) {
			t.Errorf("%s: error %v is not ErrBadArchive", name, err)
		}
		storeIsEmpty(t, rt)
	}
}

// corruptLastLayer rewrites the archive with one byte changed in the largest layer.
func corruptLastLayer(t *testing.T, archive []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if strings.HasSuffix(hdr.Name, ".tar.gz") && len(data) > 100 {
			// Decompress, flip a byte, recompress: still gzip, wrong digest.
			l, _ := tarball.LayerFromReader(bytes.NewReader(data))
			rc, _ := l.Uncompressed()
			raw, _ := io.ReadAll(rc)
			raw[len(raw)/2] ^= 0xff
			nl, _ := tarball.LayerFromReader(bytes.NewReader(raw))
			crc, _ := nl.Compressed()
			data, _ = io.ReadAll(crc)
			hdr.Size = int64(len(data))
		}
		tw.WriteHeader(hdr)
		tw.Write(data)
	}
	tw.Close()
	return out.Bytes()
}

func tarOf(t testing.TB, files map[string]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, body := range files {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}

// The archive reader never panics on mutated archives, and never accepts a
// layer whose bytes do not match the config.
func FuzzArchiveReader(f *testing.F) {
	img, _ := mutate.AppendLayers(empty.Image, mustLayer(f, "a"), mustLayer(f, "b"))
	f.Add(dockerArchive(f, map[string]v1.Image{"a:1": img}))
	f.Add(tarOf(f, map[string]string{"index.json": `{"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `"}]}`}))
	f.Add(tarOf(f, map[string]string{"manifest.json": `[{"Config":"c","Layers":["l"]}]`, "c": `{"rootfs":{"diff_ids":["sha256:` + strings.Repeat("0", 64) + `"]}}`, "l": "x"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		// An uncompressed archive is read in place, as spool leaves a file.
		idx, err := indexTar(bytes.NewReader(data))
		if err != nil {
			return
		}
		images, err := readArchive(idx)
		if err != nil {
			return
		}
		for _, img := range images {
			if len(img.layers) != len(img.config.RootFS.DiffIDs) {
				t.Fatal("layer count differs from the config's")
			}
			for _, l := range img.layers {
				if idx.verifyLayer(l) == nil {
					rc, _ := idx.openLayer(l.name)
					sum, _, _ := v1.SHA256(rc)
					rc.Close()
					if sum != l.diffID {
						t.Fatalf("verified a layer with digest %s as %s", sum, l.diffID)
					}
				}
			}
		}
	})
}

func mustLayer(t testing.TB, body string) v1.Layer {
	data := tarOf(t, map[string]string{"file": body})
	l, err := tarball.LayerFromReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return l
}
