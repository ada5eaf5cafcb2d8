package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"go.podman.io/storage"

	"github.com/tug-project/tug/pkg/parse"
)

// Summary is what listing an image needs, read from storage's image records
// alone (plus the config only when a label filter asks for it): `tug images`
// stays one file read however many images there are.
type Summary struct {
	ID          string // 64 hex
	Names       []string
	RepoDigests []string
	Created     time.Time
	Size        int64
	Parent      string
	rt          *Runtime
	stored      *storage.Image
	labels      map[string]string
	labelsRead  bool
}

// TopLayer is the ID of the image's top layer ("" for an image without layers).
func (s *Summary) TopLayer() string { return s.stored.TopLayer }

// Dangling reports an image with no tag.
func (s *Summary) Dangling() bool { return len(s.Names) == 0 }

// Labels reads the image's labels from its config (on first use).
func (s *Summary) Labels() map[string]string {
	if !s.labelsRead {
		s.labelsRead = true
		if raw, err := s.rt.store.ImageBigData(s.ID, bigDataConfig); err == nil {
			var cfg struct {
				Config struct{ Labels map[string]string } `json:"config"`
			}
			if json.NewDecoder(bytes.NewReader(raw)).Decode(&cfg) == nil {
				s.labels = cfg.Config.Labels
			}
		}
	}
	return s.labels
}

// ImageFilters are the --filter keys of `tug images`.
var ImageFilters = []string{"before", "dangling", "label", "reference", "since", "until"}

// ListOptions select images for `tug images`.
type ListOptions struct {
	Filters parse.Filters
	Now     time.Time // for until=DURATION; zero means time.Now()
}

// Summaries lists the stored images, newest first, that pass the filters.
// With a reference filter, Names holds only the names that match it.
func (r *Runtime) Summaries(opts ListOptions) ([]*Summary, error) {
	f := opts.Filters
	dangling, danglingSet, err := f.Bool("dangling")
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	var before, since, until time.Time
	for _, v := range f["before"] {
		img, err := r.Lookup(v)
		if err != nil {
			return nil, err
		}
		if before.IsZero() || img.Created().Before(before) {
			before = img.Created()
		}
	}
	for _, v := range f["since"] {
		img, err := r.Lookup(v)
		if err != nil {
			return nil, err
		}
		if img.Created().After(since) {
			since = img.Created()
		}
	}
	for _, v := range f["until"] {
		t, err := parse.ParseTimestamp(v, now)
		if err != nil {
			return nil, fmt.Errorf("invalid filter 'until=%s': %w", v, err)
		}
		if until.IsZero() || t.Before(until) {
			until = t
		}
	}
	for _, p := range f["reference"] {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("invalid filter 'reference=%s': %w", p, err)
		}
	}
	stored, err := r.store.Images()
	if err != nil {
		return nil, err
	}
	out := make([]*Summary, 0, len(stored))
	for i := range stored {
		si := &stored[i]
		if !hasConfig(si) {
			continue // half-written by a concurrent call; not an image yet
		}
		meta := readMetadata(si.Metadata)
		s := &Summary{ID: si.ID, Names: append([]string(nil), si.Names...), RepoDigests: meta.RepoDigests, Created: si.Created, Size: meta.Size, Parent: meta.Parent, rt: r, stored: si}
		if meta.Size == 0 && si.TopLayer != "" {
			s.Size, _ = r.chainSize(si.TopLayer) // written before tug cached sizes
		}
		if danglingSet && s.Dangling() != dangling {
			continue
		}
		if !before.IsZero() && !s.Created.Before(before) || !since.IsZero() && !s.Created.After(since) || !until.IsZero() && !s.Created.Before(until) {
			continue
		}
		if f.Has("label") && !f.MatchLabels("label", s.Labels()) {
			continue
		}
		if f.Has("reference") {
			s.Names = matchingNames(s.Names, f["reference"])
			s.RepoDigests = matchingNames(s.RepoDigests, f["reference"])
			if len(s.Names) == 0 && len(s.RepoDigests) == 0 {
				continue
			}
		}
		sort.Strings(s.Names)
		out = append(out, s)
	}
	sort.SliceStable(out, func(a, b int) bool {
		if !out[a].Created.Equal(out[b].Created) {
			return out[a].Created.After(out[b].Created)
		}
		return out[a].ID < out[b].ID
	})
	return out, nil
}

func hasConfig(si *storage.Image) bool {
	for _, k := range si.BigDataNames {
		if k == bigDataConfig {
			return true
		}
	}
	return false
}

// matchingNames keeps the names that one of the patterns matches, as Docker's
// reference filter does: a shell pattern against the familiar name with its
// tag ("alpine:3.*") or without it ("alpine", "myorg/*").
func matchingNames(names, patterns []string) []string {
	var kept []string
	for _, n := range names {
		if MatchReference(patterns, n) {
			kept = append(kept, n)
		}
	}
	return kept
}

// MatchReference reports whether a stored full name (repo:tag or repo@digest)
// matches one of the patterns.
func MatchReference(patterns []string, name string) bool {
	ref, err := parse.ParseReference(name)
	if err != nil {
		return false
	}
	familiar, familiarName := ref.Familiar(), ref.FamiliarName()
	for _, p := range patterns {
		if ok, _ := path.Match(p, familiar); ok {
			return true
		}
		if ok, _ := path.Match(p, familiarName); ok {
			return true
		}
		// A full name pattern (docker.io/library/alpine) matches too.
		if strings.Contains(p, "/") {
			if ok, _ := path.Match(p, ref.String()); ok {
				return true
			}
			if ok, _ := path.Match(p, ref.Name()); ok {
				return true
			}
		}
	}
	return false
}
