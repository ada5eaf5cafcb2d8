package image

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.podman.io/storage"

	"github.com/tug-project/tug/pkg/parse"
)

// ContainerUse is a container that uses an image.
type ContainerUse struct {
	ID      string
	Running bool
}

// InUseFunc lists the containers that use an image. libpod provides it once
// containers exist; until then no image is in use.
type InUseFunc func(imageID string) ([]ContainerUse, error)

// Deletion is one line of rmi's or prune's report: an untagged name
// (familiar form) or a deleted image or layer ("sha256:...").
type Deletion struct {
	Untagged string
	Deleted  string
}

// ErrConflict marks a removal that Docker would refuse (a container uses the
// image, or it is referenced in several repositories and -f was not given).
var ErrConflict = errors.New("conflict")

type conflict struct {
	imageID string
	hard    bool // cannot be forced
	msg     string
}

func (c *conflict) Error() string {
	force := "must be forced"
	if c.hard {
		force = "cannot be forced"
	}
	return fmt.Sprintf("conflict: unable to delete %s (%s) - %s", shortID(c.imageID), force, c.msg)
}

func (c *conflict) Unwrap() error { return ErrConflict }

// Tag gives img the name target (a user's reference; ":latest" by default),
// taking it from any image that had it.
func (r *Runtime) Tag(img *Image, target string) error {
	ref, err := parse.ParseReference(target)
	if err != nil {
		return err
	}
	if ref.Digest() != "" {
		return fmt.Errorf("refusing to create a tag with a digest reference: %s", target)
	}
	if err := r.addNames(img.ID, []string{ref.String()}); err != nil {
		return err
	}
	r.event("tag", "sha256:"+img.ID, ref.Familiar(), img.ID)
	return nil
}

// references are an image's names (tags) and repo digests, as parsed references.
func references(img *Image) []parse.Reference {
	var refs []parse.Reference
	for _, n := range append(append([]string(nil), img.Names...), img.RepoDigests...) {
		if ref, err := parse.ParseReference(n); err == nil {
			refs = append(refs, ref)
		}
	}
	return refs
}

// untag removes one name or repo digest from an image.
func (r *Runtime) untag(id string, ref parse.Reference) error {
	if ref.Digest() != "" {
		want := ref.Name() + "@" + ref.Digest()
		return r.updateMetadata(id, func(m *metadata) {
			kept := m.RepoDigests[:0]
			for _, d := range m.RepoDigests {
				if d != want {
					kept = append(kept, d)
				}
			}
			m.RepoDigests = kept
		})
	}
	if err := r.store.RemoveNames(id, []string{ref.String()}); err != nil && !errors.Is(err, storage.ErrImageUnknown) {
		return fmt.Errorf("untagging %s: %w", ref.Familiar(), err)
	}
	r.idEvent("untag", id)
	return nil
}

// Remove is `tug rmi NAME|ID`, with Docker's rules: removing one of several
// names only untags; removing the last name, or the ID, deletes the image and
// the layers no other image uses; an ID whose image has names in several
// repositories needs force; a container using the image blocks it (a running
// one even with force). Unless noPrune, untagged parent images go too.
func (r *Runtime) Remove(nameOrID string, force, noPrune bool) ([]Deletion, error) {
	release, err := r.lockRemoval()
	if err != nil {
		return nil, err
	}
	defer release()
	img, err := r.Lookup(nameOrID)
	if err != nil {
		return nil, err
	}
	var out []Deletion
	if !isIDArg(nameOrID, img.ID) {
		ref, err := parse.ParseReference(nameOrID)
		if err != nil {
			return nil, err
		}
		refs := references(img)
		// As Docker: the last tag of its repository (digests of that
		// repository aside) is refused while a container uses the image.
		if !force && isSingleReference(refs) {
			if uses, err := r.uses(img.ID); err != nil {
				return nil, err
			} else if len(uses) > 0 {
				return nil, fmt.Errorf("%w: unable to remove repository reference %q (must force) - container %s is using its referenced image %s", ErrConflict, nameOrID, shortID(uses[0].ID), shortID(img.ID))
			}
		}
		if err := r.untag(img.ID, ref); err != nil {
			return nil, err
		}
		out = append(out, Deletion{Untagged: ref.Familiar()})
		if img, err = r.byID(img.ID); err != nil {
			return out, err
		}
		refs = references(img)
		// With the last tag of a repository gone, its digests go too.
		if ref.Digest() == "" && !hasTagIn(refs, ref.Name()) {
			var remaining []parse.Reference
			for _, other := range refs {
				if other.Digest() != "" && other.Name() == ref.Name() {
					if err := r.untag(img.ID, other); err != nil {
						return out, err
					}
					out = append(out, Deletion{Untagged: other.Familiar()})
				} else {
					remaining = append(remaining, other)
				}
			}
			refs = remaining
		}
		if len(refs) > 0 {
			return out, nil
		}
		// The last name is gone. As in Docker, an image that child images
		// or containers still need then simply stays, untagged.
		return r.deleteImage(img.ID, out, force, !noPrune, true)
	} else if refs := references(img); isSingleReference(refs) {
		if c, err := r.checkConflict(img.ID, !force, true); err != nil || c != nil {
			return nil, firstErr(c, err)
		}
		for _, ref := range refs {
			if err := r.untag(img.ID, ref); err != nil {
				return out, err
			}
			out = append(out, Deletion{Untagged: ref.Familiar()})
		}
	}
	return r.deleteImage(img.ID, out, force, !noPrune, false)
}

func firstErr(c *conflict, err error) error {
	if err != nil {
		return err
	}
	return c
}

func hasTagIn(refs []parse.Reference, repo string) bool {
	for _, r := range refs {
		if r.Digest() == "" && r.Name() == repo {
			return true
		}
	}
	return false
}

// isSingleReference: at most one tag, and every digest in the tag's repository.
func isSingleReference(refs []parse.Reference) bool {
	if len(refs) <= 1 {
		return len(refs) == 1
	}
	repos := map[string]bool{}
	tag := ""
	for _, r := range refs {
		if r.Digest() == "" {
			if tag != "" {
				return false
			}
			tag = r.Name()
		}
		repos[r.Name()] = true
	}
	if tag == "" {
		tag = refs[0].Name()
	}
	return len(repos) == 1 && repos[tag]
}

// uses lists the containers that use image id: those libpod reports (with
// their state), and any other storage container made from it (as stopped),
// so that no image a container needs is removed even before libpod says so.
func (r *Runtime) uses(id string) ([]ContainerUse, error) {
	var out []ContainerUse
	if r.InUse != nil {
		var err error
		if out, err = r.InUse(id); err != nil {
			return nil, err
		}
	}
	ctrs, err := r.store.Containers()
	if err != nil {
		return nil, err
	}
	for _, c := range ctrs {
		if c.ImageID != id {
			continue
		}
		known := false
		for _, u := range out {
			known = known || u.ID == c.ID
		}
		if !known {
			out = append(out, ContainerUse{ID: c.ID})
		}
	}
	return out, nil
}

// children lists the images whose parent is id.
func (r *Runtime) children(id string) ([]string, error) {
	stored, err := r.store.Images()
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range stored {
		if strings.Contains(stored[i].Metadata, id) && readMetadata(stored[i].Metadata).Parent == id {
			out = append(out, stored[i].ID)
		}
	}
	return out, nil
}

// checkConflict finds what stops id from being deleted: child images or a
// running container (hard), and — when soft — names left or a stopped container.
func (r *Runtime) checkConflict(id string, soft, ignoreRefs bool) (*conflict, error) {
	kids, err := r.children(id)
	if err != nil {
		return nil, err
	}
	if len(kids) > 0 {
		return &conflict{imageID: id, hard: true, msg: "image has dependent child images"}, nil
	}
	uses, err := r.uses(id)
	if err != nil {
		return nil, err
	}
	for _, u := range uses {
		if u.Running {
			return &conflict{imageID: id, hard: true, msg: "image is being used by running container " + shortID(u.ID)}, nil
		}
	}
	if !soft {
		return nil, nil
	}
	if !ignoreRefs {
		img, err := r.byID(id)
		if err != nil {
			return nil, err
		}
		if len(references(img)) > 0 {
			return &conflict{imageID: id, msg: "image is referenced in multiple repositories"}, nil
		}
	}
	for _, u := range uses {
		return &conflict{imageID: id, msg: "image is being used by stopped container " + shortID(u.ID)}, nil
	}
	return nil, nil
}

// deleteImage removes every remaining name of id, then the image and the
// layers only it used, then (prune) its parent if that is left untagged and
// unused. quiet stops silently at a conflict (for parents).
func (r *Runtime) deleteImage(id string, out []Deletion, force, prune, quiet bool) ([]Deletion, error) {
	c, err := r.checkConflict(id, !force, false)
	if err != nil {
		return out, err
	}
	if c != nil {
		if quiet {
			return out, nil
		}
		return out, c
	}
	img, err := r.byID(id)
	if err != nil {
		return out, err
	}
	for _, ref := range references(img) {
		if err := r.untag(id, ref); err != nil {
			return out, err
		}
		out = append(out, Deletion{Untagged: ref.Familiar()})
	}
	if uses, err := r.uses(id); err != nil {
		return out, err
	} else if len(uses) > 0 {
		// Forced while a stopped container uses it: the names are gone, the
		// image stays for the container, as a dangling image.
		return out, nil
	}
	layers, err := r.deleteStoredImage(id)
	if err != nil {
		if errors.Is(err, storage.ErrImageUsedByContainer) {
			return out, nil
		}
		if errors.Is(err, storage.ErrImageUnknown) || errors.Is(err, storage.ErrNotAnImage) {
			return out, nil // removed by a concurrent call meanwhile
		}
		return out, fmt.Errorf("deleting image %s: %w", shortID(id), err)
	}
	out = append(out, Deletion{Deleted: "sha256:" + id})
	r.idEvent("delete", id)
	for _, l := range layers {
		out = append(out, Deletion{Deleted: "sha256:" + l})
	}
	if prune && img.Parent != "" {
		if parent, err := r.byID(img.Parent); err == nil && len(references(parent)) == 0 {
			return r.deleteImage(parent.ID, out, false, true, true)
		}
	}
	return out, nil
}

// PruneFilters are the --filter keys of `tug image prune`.
var PruneFilters = []string{"label", "label!", "until"}

// PruneOptions select what `tug image prune` removes.
type PruneOptions struct {
	All     bool // every image no container uses, not only untagged ones
	Filters parse.Filters
	Now     time.Time
}

// orphanLayerAge is how old a layer that no image or container uses must be
// before prune removes it: younger ones may belong to a pull or load that is
// still running.
const orphanLayerAge = time.Hour

// Prune removes dangling images (or, with All, every unused image) that pass
// the filters, and layers left behind by interrupted pulls or loads. It
// returns what it removed and the bytes freed.
func (r *Runtime) Prune(opts PruneOptions) ([]Deletion, int64, error) {
	release, err := r.lockRemoval()
	if err != nil {
		return nil, 0, err
	}
	defer release()
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	var until time.Time
	for _, v := range opts.Filters["until"] {
		t, err := parse.ParseTimestamp(v, now)
		if err != nil {
			return nil, 0, fmt.Errorf("invalid filter 'until=%s': %w", v, err)
		}
		if until.IsZero() || t.Before(until) {
			until = t
		}
	}
	summaries, err := r.Summaries(ListOptions{Now: now})
	if err != nil {
		return nil, 0, err
	}
	sizes := map[string]int64{}
	if layers, err := r.store.Layers(); err == nil {
		for _, l := range layers {
			sizes[l.ID] = max(l.UncompressedSize, 0)
		}
	}
	var out []Deletion
	var reclaimed int64
	// Newest first, so that children go before their parents are considered.
	sort.SliceStable(summaries, func(a, b int) bool { return summaries[a].Created.After(summaries[b].Created) })
	for _, s := range summaries {
		if !opts.All && !s.Dangling() {
			continue
		}
		if _, err := r.store.Image(s.ID); err != nil {
			continue // removed above, as the untagged parent of a pruned image
		}
		if !until.IsZero() && !s.Created.Before(until) {
			continue
		}
		if (opts.Filters.Has("label") || opts.Filters.Has("label!")) && !opts.Filters.MatchLabels("label", s.Labels()) {
			continue
		}
		if uses, err := r.uses(s.ID); err != nil {
			return out, reclaimed, err
		} else if len(uses) > 0 {
			continue
		}
		if kids, err := r.children(s.ID); err != nil {
			return out, reclaimed, err
		} else if len(kids) > 0 {
			continue
		}
		dels, err := r.deleteImage(s.ID, nil, true, true, true)
		if err != nil {
			return out, reclaimed, err
		}
		for _, d := range dels {
			if d.Deleted != "" {
				reclaimed += sizes[strings.TrimPrefix(d.Deleted, "sha256:")]
			}
		}
		out = append(out, dels...)
	}
	dels, freed := r.pruneOrphanLayers(now)
	if r.Events != nil {
		r.Events("prune", "", map[string]string{"reclaimed": strconv.FormatInt(reclaimed+freed, 10)})
	}
	return append(out, dels...), reclaimed + freed, nil
}

// pruneOrphanLayers removes old layers that no image, container or other
// layer uses: what a killed pull or load left.
func (r *Runtime) pruneOrphanLayers(now time.Time) ([]Deletion, int64) {
	var out []Deletion
	var freed int64
	for pass := 0; pass < 128; pass++ {
		layers, err := r.store.Layers()
		if err != nil {
			return out, freed
		}
		used := map[string]bool{}
		for _, l := range layers {
			used[l.Parent] = true
		}
		if images, err := r.store.Images(); err == nil {
			for _, img := range images {
				used[img.TopLayer] = true
				for _, m := range img.MappedTopLayers {
					used[m] = true
				}
			}
		} else {
			return out, freed
		}
		if ctrs, err := r.store.Containers(); err == nil {
			for _, c := range ctrs {
				used[c.LayerID] = true
			}
		} else {
			return out, freed
		}
		removed := false
		for _, l := range layers {
			if used[l.ID] || now.Sub(l.Created) < orphanLayerAge {
				continue
			}
			if r.deleteLayer(l.ID) == nil {
				out = append(out, Deletion{Deleted: "sha256:" + l.ID})
				freed += max(l.UncompressedSize, 0)
				removed = true
			}
		}
		if !removed {
			break
		}
	}
	return out, freed
}
