package image

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.podman.io/storage/pkg/archive"

	"github.com/tug-project/tug/pkg/parse"
)

// ImportOptions describe `tug import`.
type ImportOptions struct {
	Changes  []string // Dockerfile instructions (--change)
	Message  string   // recorded as the image's comment and in its history
	Platform string   // os[/arch[/variant]]; empty means this machine's
	Source   string   // what the input was ("-" or a URL), for the default message
	Name     string   // full reference to tag the image with, "" for none
}

// ParsePlatform reads os[/arch[/variant]], filling in this machine's
// architecture when only the OS is given, with Docker's aliases (x86_64, aarch64).
func ParsePlatform(s string) (v1.Platform, error) {
	p := v1.Platform{OS: goruntime.GOOS, Architecture: goruntime.GOARCH}
	if s == "" {
		return p, nil
	}
	parts := strings.Split(strings.ToLower(s), "/")
	if len(parts) > 3 {
		return p, fmt.Errorf("invalid platform %q: use os[/arch[/variant]], e.g. linux/amd64", s)
	}
	for _, part := range parts {
		if part == "" || strings.ContainsAny(part, " \t:") {
			return p, fmt.Errorf("invalid platform %q: use os[/arch[/variant]], e.g. linux/amd64", s)
		}
	}
	p.OS = parts[0]
	if len(parts) > 1 {
		p.Architecture = parts[1]
	}
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	switch p.Architecture {
	case "x86_64", "x86-64":
		p.Architecture = "amd64"
	case "aarch64":
		p.Architecture = "arm64"
	case "armhf":
		p.Architecture, p.Variant = "arm", "v7"
	case "i386", "i686":
		p.Architecture = "386"
	}
	if p.OS != "linux" {
		return p, fmt.Errorf("unsupported platform %q: tug runs linux images", s)
	}
	return p, nil
}

// Check validates the options (the --change instructions, the platform)
// without reading anything, so a command can refuse them up front.
func (o ImportOptions) Check() error {
	var cfg v1.Config
	if err := parse.ApplyChanges(&cfg, o.Changes); err != nil {
		return err
	}
	_, err := ParsePlatform(o.Platform)
	return err
}

// Import makes a one-layer image from a root file system tarball (plain, or
// compressed with gzip, bzip2, xz or zstd).
func (r *Runtime) Import(ctx context.Context, src io.Reader, opts ImportOptions) (*Image, error) {
	var cfg v1.Config
	if err := parse.ApplyChanges(&cfg, opts.Changes); err != nil {
		return nil, err
	}
	platform, err := ParsePlatform(opts.Platform)
	if err != nil {
		return nil, err
	}
	dir, err := r.TempDir("import-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	layerFile, diffID, err := spoolLayer(src, dir)
	if err != nil {
		return nil, err
	}
	defer layerFile.Close()

	tx := &storeTx{r: r}
	openLayer := func() (io.ReadCloser, error) {
		_, err := layerFile.Seek(0, io.SeekStart)
		return io.NopCloser(layerFile), err
	}
	if _, err := tx.putLayer("", diffID, openLayer); err != nil {
		tx.rollback()
		return nil, err
	}
	msg := opts.Message
	if msg == "" {
		msg = "Imported from " + opts.Source
	}
	created := time.Now().UTC()
	raw, err := importConfig(cfg, platform, diffID, created, msg)
	if err != nil {
		tx.rollback()
		return nil, err
	}
	var names []string
	if opts.Name != "" {
		names = []string{opts.Name}
	}
	img, err := tx.createImage(raw, CreateOptions{Names: names})
	if err != nil {
		tx.rollback()
		return nil, err
	}
	r.idEvent("import", img.ID)
	return img, nil
}

// importConfig is the config Docker writes for an imported image: the
// --change settings, the platform, one layer, and the message as comment.
func importConfig(cfg v1.Config, p v1.Platform, diffID v1.Hash, created time.Time, msg string) ([]byte, error) {
	file := v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		Variant:      p.Variant,
		Created:      v1.Time{Time: created},
		Config:       cfg,
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{diffID}},
		History:      []v1.History{{Created: v1.Time{Time: created}, Comment: msg}},
	}
	b, err := json.Marshal(file)
	if err != nil {
		return nil, err
	}
	// go-containerregistry's ConfigFile has no top-level comment; Docker's has.
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["comment"] = msg
	return json.Marshal(m)
}

// spoolLayer decompresses src into a file in dir, hashing it on the way, and
// checks that it is a tar archive.
func spoolLayer(src io.Reader, dir string) (*os.File, v1.Hash, error) {
	rc, err := archive.DecompressStream(src)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("reading the tarball: %w", err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(dir, "layer-*.tar")
	if err != nil {
		return nil, v1.Hash{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), rc)
	if err != nil {
		f.Close()
		return nil, v1.Hash{}, fmt.Errorf("reading the tarball: %w", err)
	}
	if n == 0 {
		f.Close()
		return nil, v1.Hash{}, fmt.Errorf("the tarball is empty: give a tar archive of a root file system")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, v1.Hash{}, err
	}
	if err := checkTar(f); err != nil {
		f.Close()
		return nil, v1.Hash{}, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, v1.Hash{}, err
	}
	return f, v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}, nil
}

func checkTar(f io.Reader) error {
	tr := tar.NewReader(f)
	for n := 0; ; n++ {
		_, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if n > 0 && errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("the tarball is truncated")
			}
			return fmt.Errorf("the input is not a tar archive (nor a compressed one): %v", err)
		}
	}
	return nil
}
