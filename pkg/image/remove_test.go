package image

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/tug-project/tug/pkg/parse"
)

func loadRandom(t *testing.T, rt *Runtime, layers int, names ...string) *Image {
	t.Helper()
	img := randomImage(t, layers)
	refs := map[string]v1.Image{}
	for _, n := range names {
		refs[n] = img
	}
	if _, err := rt.Load(context.Background(), bytes.NewReader(dockerArchive(t, refs))); err != nil {
		t.Fatal(err)
	}
	got, err := rt.Lookup(names[0])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRemoveHonoursContainersUsingTheImage(t *testing.T) {
	rt := newTestRuntime(t)
	img := loadRandom(t, rt, 1, "a:1")
	running := false
	rt.InUse = func(id string) ([]ContainerUse, error) {
		if id == img.ID {
			return []ContainerUse{{ID: strings.Repeat("c", 64), Running: running}}, nil
		}
		return nil, nil
	}
	_, err := rt.Remove("a:1", false, false)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `unable to remove repository reference "a:1" (must force) - container cccccccccccc is using its referenced image`) {
		t.Fatalf("by name: %v", err)
	}
	_, err = rt.Remove(img.ID[:12], false, false)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "(must be forced) - image is being used by stopped container cccccccccccc") {
		t.Fatalf("by ID: %v", err)
	}
	running = true
	_, err = rt.Remove(img.ID[:12], true, false)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "(cannot be forced) - image is being used by running container") {
		t.Fatalf("forced, running: %v", err)
	}
	// Forced with a stopped container: the names go, the image stays for it.
	running = false
	dels, err := rt.Remove(img.ID[:12], true, false)
	if err != nil || len(dels) != 1 || dels[0].Untagged != "a:1" {
		t.Fatalf("forced, stopped: %v %+v", err, dels)
	}
	if left, err := rt.Lookup(img.ID); err != nil || len(left.Names) != 0 {
		t.Fatalf("image should stay, untagged: %v %+v", err, left)
	}
	// Prune leaves images that containers use.
	if dels, _, err := rt.Prune(PruneOptions{All: true}); err != nil || len(dels) != 0 {
		t.Fatalf("prune removed a used image: %v %+v", err, dels)
	}
	rt.InUse = nil
	dels, freed, err := rt.Prune(PruneOptions{})
	if err != nil || len(dels) != 2 || dels[0].Deleted != "sha256:"+img.ID || freed <= 0 {
		t.Fatalf("prune: %v %+v %d", err, dels, freed)
	}
}

func TestRemoveParentUnlessNoPrune(t *testing.T) {
	for _, noPrune := range []bool{false, true} {
		rt := newTestRuntime(t)
		parent := loadRandom(t, rt, 1, "parent:1")
		child := loadRandom(t, rt, 1, "child:1")
		if err := rt.updateMetadata(child.ID, func(m *metadata) { m.Parent = parent.ID }); err != nil {
			t.Fatal(err)
		}
		if _, err := rt.Remove("parent:1", false, false); err != nil {
			t.Fatal(err) // only the name: parent stays, untagged, for its child
		}
		if _, err := rt.Remove(parent.ID, false, false); err == nil || !strings.Contains(err.Error(), "image has dependent child images") {
			t.Fatalf("removing a parent: %v", err)
		}
		dels, err := rt.Remove("child:1", false, noPrune)
		if err != nil {
			t.Fatal(err)
		}
		_, err = rt.Lookup(parent.ID)
		if gone := errors.Is(err, ErrNotFound); gone == noPrune {
			t.Fatalf("noPrune=%v: parent gone=%v, %+v", noPrune, gone, dels)
		}
	}
}

func TestSummariesReferenceFilterShowsMatchingNamesOnly(t *testing.T) {
	rt := newTestRuntime(t)
	loadRandom(t, rt, 1, "alpine:3.1", "alpine:latest", "localhost:5000/alpine:x")
	f, _ := parse.ParseFilters([]string{"reference=alpine:3*"})
	list, err := rt.Summaries(ListOptions{Filters: f})
	if err != nil || len(list) != 1 || len(list[0].Names) != 1 || list[0].Names[0] != "docker.io/library/alpine:3.1" {
		t.Fatalf("%v %+v", err, list)
	}
	f, _ = parse.ParseFilters([]string{"reference=*/alpine"})
	if list, _ = rt.Summaries(ListOptions{Filters: f}); len(list) != 1 || len(list[0].Names) != 1 || list[0].Names[0] != "localhost:5000/alpine:x" {
		t.Fatalf("%+v", list)
	}
	f, _ = parse.ParseFilters([]string{"until=1h"})
	if list, _ = rt.Summaries(ListOptions{Filters: f, Now: time.Now()}); len(list) != 0 {
		t.Fatalf("random images are created now: %+v", list)
	}
}

func TestImportMakesOneLayerImage(t *testing.T) {
	rt := newTestRuntime(t)
	data := tarOf(t, map[string]string{"etc/hello": "hi"})
	img, err := rt.Import(context.Background(), bytes.NewReader(data), ImportOptions{Changes: []string{"CMD /bin/true"}, Source: "-", Name: "docker.io/library/imp:1", Platform: "linux/arm64/v8"})
	if err != nil {
		t.Fatal(err)
	}
	if img.Config.Architecture != "arm64" || img.Config.Variant != "v8" || len(img.Config.RootFS.DiffIDs) != 1 || img.Config.History[0].Comment != "Imported from -" || strings.Join(img.Config.Config.Cmd, " ") != "/bin/sh -c /bin/true" {
		t.Fatalf("%+v", img.Config)
	}
	d, err := rt.Inspect(img)
	if err != nil || d.Comment != "Imported from -" || d.RepoTags[0] != "imp:1" {
		t.Fatalf("%v %+v", err, d)
	}
	layers, _ := rt.store.Layers()
	if _, err := rt.Import(context.Background(), strings.NewReader("not a tarball at all"), ImportOptions{}); err == nil {
		t.Fatal("imported a non-tar")
	}
	if after, _ := rt.store.Layers(); len(after) != len(layers) {
		t.Fatal("a failed import left a layer")
	}
}

func TestTagMovesANameFromAnotherImage(t *testing.T) {
	rt := newTestRuntime(t)
	a := loadRandom(t, rt, 1, "a:1", "shared:x")
	b := loadRandom(t, rt, 1, "b:1")
	if err := rt.Tag(b, "shared:x"); err != nil {
		t.Fatal(err)
	}
	if got, _ := rt.Lookup("shared:x"); got.ID != b.ID {
		t.Fatal("the name did not move")
	}
	if got, _ := rt.Lookup(a.ID); len(got.Names) != 1 || got.Names[0] != "docker.io/library/a:1" || got.LastTagTime == nil {
		t.Fatalf("a kept %v", got.Names)
	}
	if err := rt.Tag(b, "x@sha256:"+strings.Repeat("0", 64)); err == nil {
		t.Fatal("tagged with a digest")
	}
}

func TestStorageContainersProtectTheirImage(t *testing.T) {
	rt := newTestRuntime(t)
	img := loadRandom(t, rt, 1, "a:1")
	ctr, err := rt.store.CreateContainer("", nil, img.ID, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Remove("a:1", false, false); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), ctr.ID[:12]) {
		t.Fatalf("rmi of an image a storage container uses: %v", err)
	}
	if dels, _, err := rt.Prune(PruneOptions{All: true}); err != nil || len(dels) != 0 {
		t.Fatalf("prune -a touched a used image: %v %+v", err, dels)
	}
}
