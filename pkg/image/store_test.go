package image

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"go.podman.io/storage"
	_ "go.podman.io/storage/drivers/register"
	"go.podman.io/storage/types"

	"github.com/tug-project/tug/pkg/config"
)

// newTestRuntime gives an image runtime over a vfs store in a temp dir.
func newTestRuntime(t *testing.T) *Runtime {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the storage library needs root (or a user namespace) for its layer store")
	}
	dir := t.TempDir()
	store, err := storage.GetStore(types.StoreOptions{
		GraphRoot:       filepath.Join(dir, "graph"),
		RunRoot:         filepath.Join(dir, "run"),
		GraphDriverName: "vfs",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Shutdown(true) })
	return New(store, config.Default(), filepath.Join(dir, "tmp"))
}

func TestCommitAndReadBackKeepsDigests(t *testing.T) {
	rt := newTestRuntime(t)
	src, err := random.Image(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	img, err := rt.Commit(context.Background(), src, CreateOptions{Names: []string{"docker.io/library/rand:latest"}})
	if err != nil {
		t.Fatal(err)
	}
	wantCfg, _ := src.ConfigName()
	if img.ID != wantCfg.Hex {
		t.Fatalf("image ID %s is not the config digest %s", img.ID, wantCfg.Hex)
	}
	back, err := rt.V1Image(img)
	if err != nil {
		t.Fatal(err)
	}
	srcLayers, _ := src.Layers()
	backLayers, err := back.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(backLayers) != len(srcLayers) {
		t.Fatalf("got %d layers, want %d", len(backLayers), len(srcLayers))
	}
	for i := range srcLayers {
		a, _ := srcLayers[i].DiffID()
		b, err := backLayers[i].DiffID()
		if err != nil || a != b {
			t.Fatalf("layer %d: diff ID %s != %s (%v)", i, b, a, err)
		}
		rc, err := backLayers[i].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	found, err := rt.Lookup("rand")
	if err != nil || found.ID != img.ID {
		t.Fatalf("lookup by short name: %v", err)
	}
	if found, err = rt.Lookup(img.ID[:12]); err != nil || found.ID != img.ID {
		t.Fatalf("lookup by short ID: %v", err)
	}
	if _, err := rt.Lookup("nothere"); err == nil {
		t.Fatal("lookup of a missing image succeeded")
	}
	// Committing the same image again under another name reuses every layer.
	again, err := rt.Commit(context.Background(), src, CreateOptions{Names: []string{"docker.io/library/other:1"}})
	if err != nil || again.ID != img.ID || len(again.Names) != 2 {
		t.Fatalf("recommit: %v %+v", err, again)
	}
}
