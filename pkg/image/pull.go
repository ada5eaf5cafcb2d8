package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/progress"
)

// PullOptions are what a pull may be told.
type PullOptions struct {
	RegistryOptions
	Platform *parse.Platform   // nil: the host's
	Progress progress.Reporter // nil: nothing is reported
	Jobs     int               // layers fetched at once; 0 means defaultPullJobs
}

// defaultPullJobs is how many layers download at once (Docker's default is 3).
const defaultPullJobs = 4

// PullResult is what a pull did.
type PullResult struct {
	Ref        parse.Reference
	Image      *Image
	Digest     string // the digest the reference resolved to (an index's, for a multi-platform image)
	Downloaded bool   // whether any layer was fetched; false means "Image is up to date"
}

// ErrManifestUnknown is wrapped when the registry has no such tag or digest.
var ErrManifestUnknown = errors.New("manifest unknown")

// ErrRepositoryUnknown is wrapped when the registry denies the repository exists.
var ErrRepositoryUnknown = errors.New("repository does not exist or may require 'tug login'")

func (o *PullOptions) reporter() progress.Reporter {
	if o.Progress == nil {
		return progress.Discard
	}
	return o.Progress
}

// Pull fetches ref into the store, as `docker pull` does, and reports the
// lines Docker prints up to and including "Status: ...".
func (r *Runtime) Pull(ctx context.Context, ref parse.Reference, opts PullOptions) (*PullResult, error) {
	res, err := r.pullOne(ctx, ref, &opts)
	if err != nil {
		return nil, err
	}
	reportStatus(opts.reporter(), ref.Familiar(), res.Downloaded)
	r.refEvent("pull", ref, res.Image.ID)
	return res, nil
}

func reportStatus(rep progress.Reporter, familiar string, downloaded bool) {
	if downloaded {
		rep.Report(progress.Message("Status: Downloaded newer image for %s", familiar))
	} else {
		rep.Report(progress.Message("Status: Image is up to date for %s", familiar))
	}
}

// PullAllTags pulls every tag of repository repo (a full name without tag).
func (r *Runtime) PullAllTags(ctx context.Context, repo string, opts PullOptions) ([]*PullResult, error) {
	base, err := parse.ParseReference(repo)
	if err != nil {
		return nil, err
	}
	tags, err := r.listTags(ctx, base, &opts)
	if err != nil {
		return nil, err
	}
	var results []*PullResult
	downloaded := false
	for _, tag := range tags {
		ref, err := base.WithTag(tag)
		if err != nil {
			continue // a registry listing a tag Docker cannot name
		}
		res, err := r.pullOne(ctx, ref, &opts)
		if err != nil {
			return results, err
		}
		downloaded = downloaded || res.Downloaded
		results = append(results, res)
		r.refEvent("pull", ref, res.Image.ID)
	}
	reportStatus(opts.reporter(), base.FamiliarName(), downloaded)
	return results, nil
}

func (r *Runtime) listTags(ctx context.Context, ref parse.Reference, opts *PullOptions) ([]string, error) {
	var errs []error
	for _, src := range r.sources(ref) {
		c, err := r.client(ctx, src, opts.RegistryOptions, false)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		tags, err := remote.List(c.repo, c.options(ctx)...)
		if err != nil {
			errs = append(errs, pullError(ref, c, err))
			continue
		}
		if len(tags) == 0 {
			return nil, fmt.Errorf("repository %s has no tags", ref.Name())
		}
		sort.Strings(tags)
		return tags, nil
	}
	return nil, errs[len(errs)-1]
}

// sources are the repositories to try for ref, in order: the configured
// mirrors of its registry, then the registry itself.
func (r *Runtime) sources(ref parse.Reference) []string {
	var out []string
	for _, m := range r.config.Registries.Mirrors[ref.Domain()] {
		m = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(m, "https://"), "http://"), "/")
		if m != "" && m != ref.Domain() {
			out = append(out, m+"/"+ref.Path())
		}
	}
	return append(out, ref.Name())
}

// resolved is a manifest found for a reference.
type resolved struct {
	ref      parse.Reference
	client   *repoClient
	digest   string // what the reference points at (index or manifest)
	image    v1.Image
	manifest *v1.Manifest
	raw      []byte // the image manifest
}

func (r *Runtime) pullOne(ctx context.Context, ref parse.Reference, opts *PullOptions) (*PullResult, error) {
	// Everything below uses this context, so that a failed or stalled layer
	// download stops the others, and Ctrl-C stops all of them.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	rep := opts.reporter()
	var res *resolved
	var errs []error
	for _, src := range r.sources(ref) {
		var err error
		if res, err = r.resolve(ctx, src, ref, opts); err == nil {
			break
		}
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		errs = append(errs, err)
	}
	if res == nil {
		return nil, errs[len(errs)-1] // the registry's own answer, after its mirrors'
	}
	tagOrDigest := ref.Tag()
	if ref.Digest() != "" {
		tagOrDigest = ref.Digest()
	}
	rep.Report(progress.Message("%s: Pulling from %s", tagOrDigest, ref.Path()))

	createOpts := CreateOptions{
		RepoDigest: ref.Name() + "@" + res.digest,
		Manifest:   res.raw,
		Source:     res.client.sourceName(),
	}
	if ref.Digest() == "" {
		createOpts.Names = []string{ref.String()}
	}
	// Already stored: only the names and the repo digest change.
	if img, err := r.byID(res.manifest.Config.Digest.Hex); err == nil {
		if err := r.checkPlatform(ref, img.Config, opts); err != nil {
			return nil, err
		}
		if img, err = r.CreateImage(img.RawConfig, createOpts); err != nil {
			return nil, err
		}
		rep.Report(progress.Message("Digest: %s", res.digest))
		return &PullResult{Ref: ref, Image: img, Digest: res.digest}, nil
	}

	rawConfig, err := res.image.RawConfigFile()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, fmt.Errorf("fetching the config of %s: %w", ref.Familiar(), registryError(res.client.host, res.client.hasCreds, err))
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, fmt.Errorf("%s: the image config is not valid: %w", ref, err)
	}
	if err := r.checkPlatform(ref, cfg, opts); err != nil {
		return nil, err
	}
	if len(cfg.RootFS.DiffIDs) != len(res.manifest.Layers) {
		return nil, fmt.Errorf("%s: the manifest lists %d layers but the config %d", ref, len(res.manifest.Layers), len(cfg.RootFS.DiffIDs))
	}
	downloaded, err := r.fetchLayers(ctx, cancel, res, cfg.RootFS.DiffIDs, opts)
	if err != nil {
		return nil, err
	}
	img, err := r.CreateImage(rawConfig, createOpts)
	if err != nil {
		return nil, err
	}
	rep.Report(progress.Message("Digest: %s", res.digest))
	return &PullResult{Ref: ref, Image: img, Digest: res.digest, Downloaded: downloaded}, nil
}

// resolve finds the image manifest for ref in repository src, choosing the
// platform's image from an index.
func (r *Runtime) resolve(ctx context.Context, src string, ref parse.Reference, opts *PullOptions) (*resolved, error) {
	c, err := r.client(ctx, src, opts.RegistryOptions, false)
	if err != nil {
		return nil, err
	}
	var nref name.Reference = c.repo.Tag(ref.Tag())
	if ref.Digest() != "" {
		nref = c.repo.Digest(ref.Digest())
	}
	desc, err := remote.Get(nref, c.options(ctx)...)
	if err != nil {
		return nil, pullError(ref, c, err)
	}
	res := &resolved{ref: ref, client: c, digest: desc.Digest.String()}
	switch desc.MediaType {
	case types.DockerManifestList, types.OCIImageIndex:
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, pullError(ref, c, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, pullError(ref, c, err)
		}
		child, err := choosePlatform(im, opts.Platform)
		if err != nil {
			return nil, err
		}
		childDesc, err := remote.Get(c.repo.Digest(child.Digest.String()), c.options(ctx)...)
		if err != nil {
			return nil, pullError(ref, c, err)
		}
		desc = childDesc
	case types.DockerManifestSchema2, types.OCIManifestSchema1:
	case types.DockerManifestSchema1, types.DockerManifestSchema1Signed:
		return nil, fmt.Errorf("%s uses Docker's schema 1 manifest, which tug (like Docker since 2023) does not pull: push it again with a current tool", ref)
	default:
		return nil, fmt.Errorf("%s is not an image: its manifest has media type %q", ref, desc.MediaType)
	}
	if desc.MediaType != types.DockerManifestSchema2 && desc.MediaType != types.OCIManifestSchema1 {
		return nil, fmt.Errorf("%s: the platform's entry is not an image manifest (media type %q)", ref, desc.MediaType)
	}
	if res.image, err = desc.Image(); err != nil {
		return nil, pullError(ref, c, err)
	}
	if res.manifest, err = res.image.Manifest(); err != nil {
		return nil, pullError(ref, c, err)
	}
	res.raw = desc.Manifest
	return res, nil
}

// choosePlatform picks want (the host's when nil) from an index.
func choosePlatform(im *v1.IndexManifest, want *parse.Platform) (v1.Descriptor, error) {
	target := parse.HostPlatform()
	if want != nil {
		target = *want
	}
	var have []string
	seen := map[string]bool{}
	for _, m := range im.Manifests {
		if m.Platform == nil || m.Platform.OS == "unknown" {
			continue // attestations and other non-images
		}
		p := parse.NormalizePlatform(parse.Platform{OS: m.Platform.OS, Architecture: m.Platform.Architecture, Variant: m.Platform.Variant})
		if target.Matches(p) {
			return m, nil
		}
		if !seen[p.String()] {
			seen[p.String()] = true
			have = append(have, p.String())
		}
	}
	if len(have) == 0 {
		return v1.Descriptor{}, fmt.Errorf("no matching manifest for %s in the manifest list entries: the list names no platforms", target)
	}
	return v1.Descriptor{}, fmt.Errorf("no matching manifest for %s in the manifest list entries: it has %s (choose one with --platform)", target, strings.Join(have, ", "))
}

// checkPlatform refuses a single-platform image that is not the one asked for with --platform.
func (r *Runtime) checkPlatform(ref parse.Reference, cfg *v1.ConfigFile, opts *PullOptions) error {
	if opts.Platform == nil || cfg == nil || cfg.OS == "" {
		return nil
	}
	have := parse.NormalizePlatform(parse.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant})
	if !opts.Platform.Matches(have) {
		return fmt.Errorf("image with reference %s was found but does not match the specified platform: wanted %s, actual: %s", ref.Familiar(), opts.Platform, have)
	}
	return nil
}

// pullError words a registry's refusal as Docker does.
func pullError(ref parse.Reference, c *repoClient, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	code, status := errorCode(err)
	switch {
	case code == transport.ManifestUnknownErrorCode || status == http.StatusNotFound && code == "":
		return &kindError{kind: ErrManifestUnknown, msg: fmt.Sprintf("manifest for %s not found: %s", ref.Familiar(), registryMessage(err))}
	case code == transport.NameUnknownErrorCode || code == transport.DeniedErrorCode || status == http.StatusForbidden ||
		(status == http.StatusUnauthorized && !c.hasCreds):
		return &kindError{kind: ErrRepositoryUnknown, msg: fmt.Sprintf("pull access denied for %s, %v: %s", ref.FamiliarName(), ErrRepositoryUnknown, registryMessage(err))}
	}
	return registryError(c.host, c.hasCreds, err)
}

// kindError is an error with Docker's wording that errors.Is can classify.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// registryMessage is the registry's own words: "manifest unknown: manifest unknown".
func registryMessage(err error) string {
	var terr *transport.Error
	if errors.As(err, &terr) && len(terr.Errors) > 0 {
		parts := make([]string, 0, len(terr.Errors))
		for _, d := range terr.Errors {
			parts = append(parts, strings.ToLower(strings.ReplaceAll(string(d.Code), "_", " "))+": "+d.Message)
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}
