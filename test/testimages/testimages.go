// Package testimages builds the images tug's tests, demo and benchmarks use,
// offline, from the machine's static busybox (Debian's busybox-static):
//
//	busybox     one layer: busybox, its applet links, /etc/passwd and group, helper files
//	multilayer  three layers: busybox, then a file added, then a file changed and one deleted
//	config      busybox with a rich config (ENTRYPOINT, CMD, ENV, WORKDIR, EXPOSE, VOLUME, USER, labels)
//	multiarch   an index of linux/amd64 and linux/arm64 images that differ in /etc/arch
//
// Builds are deterministic: the same busybox gives the same digests.
package testimages

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BusyboxPath is the static busybox the images are made from.
var BusyboxPath = "/bin/busybox"

// created is the fixed creation time of every test image, for stable digests.
var created = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// File is one entry of a layer.
type File struct {
	Name     string // absolute path inside the image, without leading slash is fine too
	Mode     int64
	Body     []byte
	Linkname string // for symlinks
	Dir      bool
	UID, GID int
}

// Layer builds an uncompressed layer tarball from files (directories implied
// by paths are not added; list them when their mode matters).
func Layer(files []File) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		name := strings.TrimPrefix(f.Name, "/")
		hdr := &tar.Header{Name: name, Mode: f.Mode, ModTime: created, Uid: f.UID, Gid: f.GID, Format: tar.FormatPAX}
		switch {
		case f.Dir:
			hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		case f.Linkname != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.Linkname
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.Body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Body); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// BusyboxFiles are the files of the base layer: busybox with a link per
// applet in /bin, the usual directories, users root, nobody and tuguser
// (1000:1000), and /etc/tug-test with a known line.
func BusyboxFiles(arch string) ([]File, error) {
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("reading %s (install busybox-static): %w", BusyboxPath, err)
	}
	out, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("listing busybox applets: %w", err)
	}
	applets := strings.Fields(string(out))
	sort.Strings(applets)
	files := []File{}
	for _, d := range []string{"bin", "dev", "etc", "home", "proc", "root", "sys", "usr", "usr/bin", "var", "var/log", "var/www"} {
		files = append(files, File{Name: d, Dir: true, Mode: 0o755})
	}
	files = append(files,
		File{Name: "tmp", Dir: true, Mode: 0o1777},
		File{Name: "home/tuguser", Dir: true, Mode: 0o755, UID: 1000, GID: 1000},
		File{Name: "bin/busybox", Mode: 0o755, Body: bin},
		File{Name: "etc/passwd", Mode: 0o644, Body: []byte("root:x:0:0:root:/root:/bin/sh\ntuguser:x:1000:1000:tug test user:/home/tuguser:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")},
		File{Name: "etc/group", Mode: 0o644, Body: []byte("root:x:0:\ntuguser:x:1000:\nnogroup:x:65534:\n")},
		File{Name: "etc/tug-test", Mode: 0o644, Body: []byte("tug test image\n")},
		File{Name: "etc/arch", Mode: 0o644, Body: []byte(arch + "\n")},
		File{Name: "var/www/index.html", Mode: 0o644, Body: []byte("<h1>hello from tug</h1>\n")},
	)
	for _, a := range applets {
		if a == "busybox" {
			continue
		}
		files = append(files, File{Name: "bin/" + a, Linkname: "busybox", Mode: 0o777})
	}
	return files, nil
}

func baseConfig(arch string) v1.ConfigFile {
	return v1.ConfigFile{
		Architecture: arch,
		OS:           "linux",
		Created:      v1.Time{Time: created},
		Config: v1.Config{
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Cmd: []string{"sh"},
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
}

func withLayers(cfg v1.ConfigFile, history []string, layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.ConfigFile(empty.Image, &cfg)
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.DockerManifestSchema2)
	img = mutate.ConfigMediaType(img, types.DockerConfigJSON)
	for i, l := range layers {
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{Created: v1.Time{Time: created}, CreatedBy: history[i]}})
		if err != nil {
			return nil, err
		}
	}
	return img, nil
}

func busyboxImage(arch string) (v1.Image, error) {
	files, err := BusyboxFiles(arch)
	if err != nil {
		return nil, err
	}
	layer, err := Layer(files)
	if err != nil {
		return nil, err
	}
	return withLayers(baseConfig(arch), []string{"/bin/sh -c #(nop) ADD busybox-static /"}, layer)
}

// Busybox is the single-layer busybox image.
func Busybox() (v1.Image, error) { return busyboxImage("amd64") }

// MultiLayer has three layers; the third changes /etc/tug-test and deletes /etc/arch.
func MultiLayer() (v1.Image, error) {
	files, err := BusyboxFiles("amd64")
	if err != nil {
		return nil, err
	}
	base, err := Layer(files)
	if err != nil {
		return nil, err
	}
	second, err := Layer([]File{{Name: "opt", Dir: true, Mode: 0o755}, {Name: "opt/layer2.txt", Mode: 0o644, Body: []byte("second layer\n")}})
	if err != nil {
		return nil, err
	}
	third, err := Layer([]File{
		{Name: "etc/tug-test", Mode: 0o644, Body: []byte("changed by the third layer\n")},
		{Name: "etc/.wh.arch", Mode: 0o644},
		{Name: "opt/layer3.txt", Mode: 0o644, Body: []byte("third layer\n")},
	})
	if err != nil {
		return nil, err
	}
	cfg := baseConfig("amd64")
	return withLayers(cfg, []string{"/bin/sh -c #(nop) ADD busybox-static /", "/bin/sh -c echo second > /opt/layer2.txt", "/bin/sh -c echo third > /opt/layer3.txt && rm /etc/arch"}, base, second, third)
}

// Config is busybox with every config field a Dockerfile can set.
func Config() (v1.Image, error) {
	files, err := BusyboxFiles("amd64")
	if err != nil {
		return nil, err
	}
	layer, err := Layer(append(files, File{Name: "work", Dir: true, Mode: 0o755}, File{Name: "data", Dir: true, Mode: 0o777}, File{Name: "data/seed.txt", Mode: 0o644, Body: []byte("seeded from the image\n")}))
	if err != nil {
		return nil, err
	}
	cfg := baseConfig("amd64")
	cfg.Author = "tug tests"
	cfg.Config.Entrypoint = []string{"/bin/echo", "entrypoint"}
	cfg.Config.Cmd = []string{"default-cmd"}
	cfg.Config.Env = append(cfg.Config.Env, "TUG_TEST=config", "GREETING=hello world")
	cfg.Config.WorkingDir = "/work"
	cfg.Config.ExposedPorts = map[string]struct{}{"80/tcp": {}}
	cfg.Config.Volumes = map[string]struct{}{"/data": {}}
	cfg.Config.User = "tuguser"
	cfg.Config.Labels = map[string]string{"org.tug.test": "config", "maintainer": "tug"}
	cfg.Config.StopSignal = "SIGUSR1"
	return withLayers(cfg, []string{"/bin/sh -c #(nop) ADD busybox-static /"}, layer)
}

// Health is busybox with a HEALTHCHECK: healthy once /tmp/healthy exists,
// probed every 200 ms, unhealthy after 2 failures in a row. It runs
// `sleep 300` by default.
func Health() (v1.Image, error) {
	files, err := BusyboxFiles("amd64")
	if err != nil {
		return nil, err
	}
	layer, err := Layer(files)
	if err != nil {
		return nil, err
	}
	cfg := baseConfig("amd64")
	cfg.Config.Cmd = []string{"sleep", "300"}
	cfg.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD-SHELL", "test -f /tmp/healthy && echo ok"}, Interval: 200 * time.Millisecond, Timeout: 5 * time.Second, Retries: 2}
	return withLayers(cfg, []string{"/bin/sh -c #(nop) ADD busybox-static /"}, layer)
}

// MultiArch is an index of a linux/amd64 and a linux/arm64 image. Both carry
// the amd64 busybox (tests only read /etc/arch, which names the platform).
func MultiArch() (v1.ImageIndex, error) {
	amd, err := busyboxImage("amd64")
	if err != nil {
		return nil, err
	}
	arm, err := busyboxImage("arm64")
	if err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.DockerManifestList)
	return mutate.AppendManifests(idx,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	), nil
}

// Images returns the single-platform test images by name.
func Images() (map[string]v1.Image, error) {
	out := map[string]v1.Image{}
	for name, build := range map[string]func() (v1.Image, error){"busybox": Busybox, "multilayer": MultiLayer, "config": Config, "health": Health} {
		img, err := build()
		if err != nil {
			return nil, fmt.Errorf("building test image %s: %w", name, err)
		}
		out[name] = img
	}
	return out, nil
}
