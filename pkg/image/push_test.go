package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tug-project/tug/pkg/progress"
)

func diffIDs(t *testing.T, img v1.Image) []string {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range cfg.RootFS.DiffIDs {
		out = append(out, d.Hex[:12])
	}
	return out
}

func TestPushMountsThenFindsLayersAndKeepsTheDigest(t *testing.T) {
	rt := newTestRuntime(t)
	reg := newTestRegistry(t)
	src := testImage(t, "amd64", 2, 4096, 100)
	reg.push("lib/src:latest", src)
	srcDigest := reg.digest("lib/src:latest")
	pulled, err := rt.Pull(context.Background(), mustRef(t, reg.Host+"/lib/src"), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dest := mustRef(t, reg.Host+"/team/copy:v2")
	ids := diffIDs(t, src)
	var out bytes.Buffer
	res, err := rt.Push(context.Background(), []PushTarget{{Image: pulled.Image, Dest: dest}}, PushOptions{Progress: progress.Lines(&out)})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := src.RawManifest()
	want := fmt.Sprintf("The push refers to repository [%s/team/copy]\n%s: Mounted from lib/src\n%s: Mounted from lib/src\nv2: digest: %s size: %d\n", reg.Host, ids[1], ids[0], srcDigest, len(raw))
	if out.String() != want {
		t.Fatalf("push output:\n%s\nwant:\n%s", out.String(), want)
	}
	if res[0].Digest != srcDigest || reg.digest("team/copy:v2") != srcDigest {
		t.Fatalf("the pushed digest %s is not the pulled one %s", res[0].Digest, srcDigest)
	}
	img, _ := rt.Lookup(pulled.Image.ID)
	if !contains(img.RepoDigests, dest.Name()+"@"+srcDigest) {
		t.Fatalf("push did not record the repo digest: %v", img.RepoDigests)
	}
	out.Reset()
	if _, err := rt.Push(context.Background(), []PushTarget{{Image: pulled.Image, Dest: dest}}, PushOptions{Progress: progress.Lines(&out)}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), ": Layer already exists\n") != 2 {
		t.Fatalf("second push:\n%s", out.String())
	}
	// A repository pushed to is a mount source for the next push, as with Docker.
	made, err := rt.Commit(context.Background(), testImage(t, "amd64", 1, 4096, 103), CreateOptions{Names: []string{reg.Host + "/made/here:1"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, repo := range []string{"made/here:1", "made/there:1"} {
		out.Reset()
		if _, err := rt.Push(context.Background(), []PushTarget{{Image: made, Dest: mustRef(t, reg.Host+"/"+repo)}}, PushOptions{Progress: progress.Lines(&out)}); err != nil {
			t.Fatal(err)
		}
		if want := []string{": Pushed\n", ": Mounted from made/here\n"}[i]; !strings.Contains(out.String(), want) {
			t.Fatalf("push %d to %s:\n%s", i, repo, out.String())
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A layer the registry has never seen is compressed again, to the bytes
// go-containerregistry made (so its digest is the one the image had), and
// the image pulls back identical.
func TestPushUploadsLayersWithStableDigests(t *testing.T) {
	rt := newTestRuntime(t)
	reg := newTestRegistry(t)
	src := testImage(t, "amd64", 3, 64<<10, 101)
	img, err := rt.Commit(context.Background(), src, CreateOptions{Names: []string{reg.Host + "/local/made:1"}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := rt.Push(context.Background(), []PushTarget{{Image: img, Dest: mustRef(t, reg.Host+"/local/made:1")}}, PushOptions{Progress: progress.Lines(&out)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), ": Pushed\n") != 3 {
		t.Fatalf("push output:\n%s", out.String())
	}
	desc, err := remote.Get(reg.ref("local/made:1"))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != res[0].Digest || desc.MediaType != "application/vnd.docker.distribution.manifest.v2+json" {
		t.Fatalf("registry has %s %s, push said %s", desc.Digest, desc.MediaType, res[0].Digest)
	}
	pushed, _ := desc.Image()
	want, _ := src.Manifest()
	got, _ := pushed.Manifest()
	for i := range want.Layers {
		if got.Layers[i].Digest != want.Layers[i].Digest || got.Layers[i].Size != want.Layers[i].Size {
			t.Fatalf("layer %d was pushed as %s, not %s", i, got.Layers[i].Digest, want.Layers[i].Digest)
		}
	}
	// Pulled back into another store: the same image.
	rt2 := newTestRuntime(t)
	back, err := rt2.Pull(context.Background(), mustRef(t, reg.Host+"/local/made:1"), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if back.Image.ID != img.ID || back.Digest != res[0].Digest {
		t.Fatalf("pulled back %s@%s, pushed %s@%s", back.Image.ID, back.Digest, img.ID, res[0].Digest)
	}
}

func TestPushNeedsCredentials(t *testing.T) {
	rt := newTestRuntime(t)
	reg := newTestRegistry(t)
	img, err := rt.Commit(context.Background(), testImage(t, "amd64", 1, 1024, 102), CreateOptions{Names: []string{reg.Host + "/private/x:latest"}})
	if err != nil {
		t.Fatal(err)
	}
	reg.requireAuth("u", "p")
	target := []PushTarget{{Image: img, Dest: mustRef(t, reg.Host+"/private/x")}}
	_, err = rt.Push(context.Background(), target, PushOptions{RegistryOptions: RegistryOptions{AuthFile: t.TempDir() + "/none.json"}})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "tug login "+reg.Host) {
		t.Fatalf("push without credentials: %v", err)
	}
	file := t.TempDir() + "/auth.json"
	if err := UpdateAuthFile(file, func(f *AuthFile) error { f.Set(reg.Host, Credentials{Username: "u", Password: "p"}); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Push(context.Background(), target, PushOptions{RegistryOptions: RegistryOptions{AuthFile: file}}); err != nil {
		t.Fatalf("push with the auth file: %v", err)
	}
}

func TestTagsInRepository(t *testing.T) {
	rt := newTestRuntime(t)
	names := []string{"localhost:5000/app:b", "localhost:5000/app:a", "localhost:5000/app-other:c", "localhost:5000/app/sub:d"}
	for i, n := range names {
		if _, err := rt.Commit(context.Background(), testImage(t, "amd64", 1, 64, int64(200+i)), CreateOptions{Names: []string{n}}); err != nil {
			t.Fatal(err)
		}
	}
	targets, err := rt.TagsInRepository("localhost:5000/app")
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 2 || targets[0].Dest.Tag() != "a" || targets[1].Dest.Tag() != "b" {
		t.Fatalf("targets: %+v", targets)
	}
}
