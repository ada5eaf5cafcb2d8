package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"go.podman.io/storage/pkg/archive"

	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/progress"
)

// PushOptions are what a push may be told.
type PushOptions struct {
	RegistryOptions
	Progress progress.Reporter // nil: nothing is reported
	Jobs     int               // layers sent at once; 0 means defaultPushJobs
}

// defaultPushJobs is how many layers upload at once (Docker's default is 5).
const defaultPushJobs = 4

// PushResult is what a push wrote.
type PushResult struct {
	Ref    parse.Reference
	Digest string // manifest digest
	Size   int    // manifest size in bytes
}

func (o *PushOptions) reporter() progress.Reporter {
	if o.Progress == nil {
		return progress.Discard
	}
	return o.Progress
}

// PushTarget is one image to push and the tag to push it as.
type PushTarget struct {
	Image *Image
	Dest  parse.Reference
}

// Push sends images to one repository, as `docker push` does: it reports
// "The push refers to repository [...]" once, then each layer's fate and
// each tag's "TAG: digest: sha256:... size: N".
func (r *Runtime) Push(ctx context.Context, targets []PushTarget, opts PushOptions) ([]*PushResult, error) {
	if len(targets) == 0 {
		return nil, errors.New("nothing to push")
	}
	rep := opts.reporter()
	repo := targets[0].Dest.Name()
	rep.Report(progress.Message("The push refers to repository [%s]", repo))
	history, err := r.layerHistory()
	if err != nil {
		return nil, err
	}
	var from []string
	for _, t := range targets {
		for _, l := range t.imageLayerIDs(r) {
			if h := history[l]; h != nil {
				from = append(from, h.repos...)
			}
		}
	}
	c, err := r.client(ctx, repo, opts.RegistryOptions, true, dedupe(from)...)
	if err != nil {
		return nil, err
	}
	var out []*PushResult
	for _, t := range targets {
		res, err := r.pushOne(ctx, c, t, history, &opts)
		if err != nil {
			return out, err
		}
		out = append(out, res)
		r.refEvent("push", t.Dest, t.Image.ID)
	}
	return out, nil
}

func (t PushTarget) imageLayerIDs(r *Runtime) []string {
	layers, err := r.Layers(t.Image)
	if err != nil {
		return nil
	}
	ids := make([]string, len(layers))
	for i, l := range layers {
		ids[i] = l.ID
	}
	return ids
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// layerPast is what tug knows of where a stored layer has been.
type layerPast struct {
	repos []string     // repositories it was pulled from or pushed to (mount sources)
	blobs []pushedBlob // registry blobs it was pushed as
}

// layerHistory gathers, for each stored layer, the repositories that have
// it (the Source and PushedTo of every image with it) and the blobs it was
// pushed as, for cross-repository mounts and for pushes that need not
// compress it again.
func (r *Runtime) layerHistory() (map[string]*layerPast, error) {
	images, err := r.store.Images()
	if err != nil {
		return nil, err
	}
	out := map[string]*layerPast{}
	for _, si := range images {
		meta := readMetadata(si.Metadata)
		repos := meta.PushedTo
		if meta.Source != "" {
			repos = append([]string{meta.Source}, repos...)
		}
		for id := si.TopLayer; id != ""; {
			h := out[id]
			if h == nil {
				h = &layerPast{}
				out[id] = h
			}
			h.repos = append(h.repos, repos...)
			if b, ok := meta.Blobs[id]; ok {
				if d, err := v1.NewHash(b.Digest); err == nil {
					h.blobs = append(h.blobs, pushedBlob{digest: d, size: b.Size})
				}
			}
			l, err := r.store.Layer(id)
			if err != nil {
				break
			}
			id = l.Parent
		}
	}
	for _, h := range out {
		h.repos = dedupe(h.repos)
	}
	return out, nil
}

// pushedBlob is the registry blob a layer ended up as.
type pushedBlob struct {
	digest v1.Hash
	size   int64
}

func (r *Runtime) pushOne(ctx context.Context, c *repoClient, t PushTarget, history map[string]*layerPast, opts *PushOptions) (*PushResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	rep := opts.reporter()
	layers, err := r.Layers(t.Image)
	if err != nil {
		return nil, err
	}
	wd, err := r.NewWorkDir("push-")
	if err != nil {
		return nil, fmt.Errorf("creating a work directory for the push: %w", err)
	}
	defer wd.Remove()

	// Docker lists the top layer first.
	order := make([]int, len(layers))
	for i := range layers {
		order[i] = len(layers) - 1 - i
	}
	for _, i := range order {
		rep.Report(progress.Event{ID: shortDigest(layers[i].DiffID), Status: "Preparing"})
	}
	blobs := make([]pushedBlob, len(layers))
	results := make([]chan string, len(layers)) // each layer's final status
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = defaultPushJobs
	}
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for _, i := range order {
		results[i] = make(chan string, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] <- ""
				return
			}
			defer func() { <-sem }()
			past := history[layers[i].ID]
			if past == nil {
				past = &layerPast{}
			}
			status, blob, err := r.pushLayer(ctx, c, layers[i], past, wd.Path, rep)
			if err != nil {
				errOnce.Do(func() { firstErr = err })
				cancel(err)
				results[i] <- ""
				return
			}
			blobs[i] = blob
			results[i] <- status
		}()
	}
	// Final lines in a steady order (top layer first), each as soon as it is known.
	for _, i := range order {
		if status := <-results[i]; status != "" {
			rep.Report(progress.Event{ID: shortDigest(layers[i].DiffID), Status: status, Final: true})
		}
	}
	wg.Wait()
	if firstErr != nil {
		return nil, pushError(c, firstErr)
	}

	configDigest, configSize, err := v1.SHA256(bytes.NewReader(t.Image.RawConfig))
	if err != nil {
		return nil, err
	}
	cfgLayer := &blobLayer{digest: configDigest, size: configSize, mediaType: types.DockerConfigJSON, open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(t.Image.RawConfig)), nil
	}}
	if err := remote.WriteLayer(c.repo, cfgLayer, c.options(ctx)...); err != nil {
		return nil, pushError(c, err)
	}
	raw, mediaType := r.manifestFor(t.Image, configDigest, configSize, blobs)
	tag := t.Dest.Tag()
	if tag == "" {
		tag = "latest"
	}
	if err := remote.Put(c.repo.Tag(tag), rawManifest{raw: raw, mediaType: mediaType}, c.options(ctx)...); err != nil {
		return nil, pushError(c, err)
	}
	sum := sha256.Sum256(raw)
	res := &PushResult{Ref: t.Dest, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: len(raw)}
	rep.Report(progress.Message("%s: digest: %s size: %d", tag, res.Digest, res.Size))
	// As Docker does, the image now knows its digest in that repository.
	if err := r.addRepoDigest(t.Image.ID, t.Dest.Name()+"@"+res.Digest, nil); err != nil {
		return nil, err
	}
	pushed := map[string]blobRecord{}
	for i, l := range layers {
		pushed[l.ID] = blobRecord{Digest: blobs[i].digest.String(), Size: blobs[i].size}
	}
	if err := r.recordPush(t.Image.ID, c.sourceName(), pushed); err != nil {
		return nil, err
	}
	return res, nil
}

// maxPushedTo bounds the repositories an image remembers being pushed to.
const maxPushedTo = 16

// recordPush notes that repo has the image's layers, as blobs, for later
// mounts and pushes.
func (r *Runtime) recordPush(id, repo string, blobs map[string]blobRecord) error {
	return r.updateMetadata(id, func(meta *metadata) {
		if meta.Source != repo {
			kept := []string{repo}
			for _, p := range meta.PushedTo {
				if p != repo && len(kept) < maxPushedTo {
					kept = append(kept, p)
				}
			}
			meta.PushedTo = kept
		}
		if meta.Blobs == nil {
			meta.Blobs = map[string]blobRecord{}
		}
		for id, b := range blobs {
			meta.Blobs[id] = b
		}
	})
}

// sourceName is the repository as image metadata records it ("host/path",
// with the registry as the user names it).
func (c *repoClient) sourceName() string { return c.host + "/" + c.repo.RepositoryStr() }

// manifestFor is the manifest to push: the one the image was pulled with
// when every blob it names is the one pushed (so the digest stays the
// same), else a new Docker schema 2 manifest.
func (r *Runtime) manifestFor(img *Image, configDigest v1.Hash, configSize int64, blobs []pushedBlob) ([]byte, types.MediaType) {
	if raw, err := r.store.ImageBigData(img.ID, bigDataManifest); err == nil {
		if m, err := v1.ParseManifest(bytes.NewReader(raw)); err == nil && m.Config.Digest == configDigest && len(m.Layers) == len(blobs) &&
			(m.MediaType == types.DockerManifestSchema2 || m.MediaType == types.OCIManifestSchema1) {
			same := true
			for i, l := range m.Layers {
				if l.Digest != blobs[i].digest || l.Size != blobs[i].size {
					same = false
				}
			}
			if same {
				return raw, m.MediaType
			}
		}
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: configSize, Digest: configDigest},
	}
	for _, b := range blobs {
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.DockerLayer, Size: b.size, Digest: b.digest})
	}
	raw, _ := json.MarshalIndent(m, "", "   ") // Docker's own indentation
	return raw, types.DockerManifestSchema2
}

// maxMountTries bounds the mount requests made for one layer.
const maxMountTries = 6

// pushLayer makes sure the repository has layer l, returning Docker's word
// for what happened and the blob it is.
func (r *Runtime) pushLayer(ctx context.Context, c *repoClient, l StoredLayer, past *layerPast, dir string, rep progress.Reporter) (string, pushedBlob, error) {
	id := shortDigest(l.DiffID)
	// A blob the layer already is (the one it was pulled as, or pushed as)
	// is the cheapest: nothing to compress if the registry has it or can
	// mount it from a repository that has the layer.
	known := append([]pushedBlob(nil), past.blobs...)
	if stored, err := r.store.Layer(l.ID); err == nil && l.Compressed.Hex != "" && stored.CompressedSize > 0 && stored.CompressionType == archive.Gzip {
		known = append([]pushedBlob{{digest: l.Compressed, size: stored.CompressedSize}}, known...)
	}
	tries := 0
	for _, b := range known {
		if ok, err := c.blobExists(ctx, b.digest); err != nil {
			return "", pushedBlob{}, err
		} else if ok {
			return "Layer already exists", b, nil
		}
		for _, src := range past.repos {
			from, ok := c.sameRegistryPath(src)
			if !ok || tries >= maxMountTries {
				continue
			}
			tries++
			if mounted, err := c.mountBlob(ctx, b.digest, from); err != nil {
				return "", pushedBlob{}, err
			} else if mounted {
				return "Mounted from " + from, b, nil
			}
		}
	}
	blob, err := r.compressLayer(ctx, l, filepath.Join(dir, l.DiffID.Hex+".gz"))
	if err != nil {
		return "", pushedBlob{}, err
	}
	defer os.Remove(blob.path)
	if !containsBlob(known, blob.digest) {
		if ok, err := c.blobExists(ctx, blob.digest); err != nil {
			return "", pushedBlob{}, err
		} else if ok {
			return "Layer already exists", pushedBlob{blob.digest, blob.size}, nil
		}
	}
	var last time.Time
	layer := &blobLayer{digest: blob.digest, size: blob.size, mediaType: types.DockerLayer, open: func() (io.ReadCloser, error) {
		f, err := os.Open(blob.path)
		if err != nil {
			return nil, err
		}
		return &progressReader{ReadCloser: f, onRead: func(n int64) {
			if now := time.Now(); now.Sub(last) > 100*time.Millisecond || n == blob.size {
				last = now
				rep.Report(progress.Event{ID: id, Status: "Pushing", Current: n, Total: blob.size})
			}
		}}, nil
	}}
	if err := remote.WriteLayer(c.repo, layer, c.options(ctx)...); err != nil {
		return "", pushedBlob{}, err
	}
	return "Pushed", pushedBlob{blob.digest, blob.size}, nil
}

func containsBlob(list []pushedBlob, d v1.Hash) bool {
	for _, b := range list {
		if b.digest == d {
			return true
		}
	}
	return false
}

type compressedFile struct {
	path   string
	digest v1.Hash
	size   int64
}

// compressLayer gzips a stored layer into path at gzip's fastest level,
// which is go-containerregistry's default: a layer that was made by it (or
// by tug) compresses to the same bytes and digest it had.
func (r *Runtime) compressLayer(ctx context.Context, l StoredLayer, path string) (*compressedFile, error) {
	rc, err := r.LayerReader(l.ID)
	if err != nil {
		return nil, fmt.Errorf("reading layer %s: %w", shortDigest(l.DiffID), err)
	}
	defer rc.Close()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	counter := &countingWriter{}
	zw, err := gzip.NewWriterLevel(io.MultiWriter(f, h, counter), gzip.BestSpeed)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	if _, err := io.Copy(zw, ctxReader{ctx, rc}); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("compressing layer %s: %w", shortDigest(l.DiffID), err)
	}
	if err := zw.Close(); err != nil {
		os.Remove(path)
		return nil, err
	}
	return &compressedFile{path: path, digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}, size: counter.n}, nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

type progressReader struct {
	io.ReadCloser
	n      int64
	onRead func(total int64)
}

func (c *progressReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	c.onRead(c.n)
	return n, err
}

// ctxReader stops a long copy when the context ends (Ctrl-C).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// blobLayer is a blob with known digest and size, for remote.WriteLayer.
type blobLayer struct {
	digest    v1.Hash
	size      int64
	mediaType types.MediaType
	open      func() (io.ReadCloser, error)
}

func (b *blobLayer) Digest() (v1.Hash, error)             { return b.digest, nil }
func (b *blobLayer) DiffID() (v1.Hash, error)             { return b.digest, nil }
func (b *blobLayer) Size() (int64, error)                 { return b.size, nil }
func (b *blobLayer) MediaType() (types.MediaType, error)  { return b.mediaType, nil }
func (b *blobLayer) Compressed() (io.ReadCloser, error)   { return b.open() }
func (b *blobLayer) Uncompressed() (io.ReadCloser, error) { return nil, errors.New("not available") }

// rawManifest is a manifest to PUT as it is.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

// sameRegistryPath returns the path of repository src ("host/path") when it
// is another repository of c's registry.
func (c *repoClient) sameRegistryPath(src string) (string, bool) {
	host, path, ok := strings.Cut(src, "/")
	if !ok || path == c.repo.RepositoryStr() {
		return "", false
	}
	if host != c.host && host != c.repo.RegistryStr() {
		return "", false
	}
	return path, true
}

func (c *repoClient) url(path string, query url.Values) string {
	u := url.URL{Scheme: "https", Host: c.repo.RegistryStr(), Path: path, RawQuery: query.Encode()}
	return u.String()
}

// blobExists asks the repository whether it has a blob.
func (c *repoClient) blobExists(ctx context.Context, d v1.Hash) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, c.url("/v2/"+c.repo.RepositoryStr()+"/blobs/"+d.String(), nil), nil)
	if err != nil {
		return false, err
	}
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK, http.StatusNotFound); err != nil {
		return false, err
	}
	return resp.StatusCode == http.StatusOK, nil
}

// mountBlob asks the registry to link blob d from repository path from;
// false means it would not (and the caller uploads instead).
func (c *repoClient) mountBlob(ctx context.Context, d v1.Hash, from string) (bool, error) {
	q := url.Values{"mount": {d.String()}, "from": {from}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/v2/"+c.repo.RepositoryStr()+"/blobs/uploads/", q), nil)
	if err != nil {
		return false, err
	}
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated:
		return true, nil
	case http.StatusAccepted:
		// The registry opened an upload instead; close it, the upload makes its own.
		if loc := resp.Header.Get("Location"); loc != "" {
			if u, err := req.URL.Parse(loc); err == nil {
				if del, err := http.NewRequestWithContext(ctx, http.MethodDelete, u.String(), nil); err == nil {
					if r, err := c.rt.RoundTrip(del); err == nil {
						r.Body.Close()
					}
				}
			}
		}
		return false, nil
	}
	return false, nil
}

// pushError words a registry's refusal of a push.
func pushError(c *repoClient, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	code, status := errorCode(err)
	if code == transport.DeniedErrorCode || status == http.StatusForbidden {
		return fmt.Errorf("denied: requested access to the resource is denied: %s refused the push to %s (%v)", c.host, c.repo.RepositoryStr(), registryMessage(err))
	}
	return registryError(c.host, c.hasCreds, err)
}

// TagsInRepository lists the stored images with a tag in repository repo
// (a full name), sorted by tag, for push --all-tags.
func (r *Runtime) TagsInRepository(repo string) ([]PushTarget, error) {
	images, err := r.List()
	if err != nil {
		return nil, err
	}
	var out []PushTarget
	for _, img := range images {
		for _, n := range img.Names {
			if !strings.HasPrefix(n, repo+":") {
				continue
			}
			ref, err := parse.ParseReference(n)
			if err != nil || ref.Name() != repo {
				continue
			}
			out = append(out, PushTarget{Image: img, Dest: ref})
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Dest.Tag() < out[b].Dest.Tag() })
	return out, nil
}
