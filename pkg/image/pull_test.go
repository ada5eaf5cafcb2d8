package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/progress"
)

func mustRef(t *testing.T, s string) parse.Reference {
	t.Helper()
	r, err := parse.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func layerIDs(t *testing.T, img v1.Image) []string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range layers {
		d, _ := l.Digest()
		out = append(out, d.Hex[:12])
	}
	return out
}

func TestPullPrintsDockersLinesAndStoresTheImage(t *testing.T) {
	rt := newTestRuntime(t)
	reg := newTestRegistry(t)
	src := testImage(t, "amd64", 3, 4096, 1)
	reg.push("team/app:1.0", src)
	var out bytes.Buffer
	ref := mustRef(t, reg.Host+"/team/app:1.0")
	res, err := rt.Pull(context.Background(), ref, PullOptions{Progress: progress.Lines(&out)})
	if err != nil {
		t.Fatal(err)
	}
	ids := layerIDs(t, src)
	digest := reg.digest("team/app:1.0")
	want := fmt.Sprintf("1.0: Pulling from team/app\n%s: Pull complete\n%s: Pull complete\n%s: Pull complete\nDigest: %s\nStatus: Downloaded newer image for %s/team/app:1.0\n",
		ids[0], ids[1], ids[2], digest, reg.Host)
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	cfgName, _ := src.ConfigName()
	if res.Image.ID != cfgName.Hex || !res.Downloaded || res.Digest != digest {
		t.Fatalf("result: %+v", res)
	}
	if len(res.Image.Names) != 1 || res.Image.Names[0] != ref.String() {
		t.Fatalf("names: %v", res.Image.Names)
	}
	if len(res.Image.RepoDigests) != 1 || res.Image.RepoDigests[0] != ref.Name()+"@"+digest {
		t.Fatalf("repo digests: %v", res.Image.RepoDigests)
	}
	if res.Image.Source != ref.Name() {
		t.Fatalf("source: %q", res.Image.Source)
	}
	// The stored layers are the pulled ones, byte for byte (their diff IDs match).
	back, err := rt.V1Image(res.Image)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := back.ConfigName(); got != cfgName {
		t.Fatalf("config %s != %s", got, cfgName)
	}
	// A second pull checks the manifest only.
	gets := reg.gets()
	out.Reset()
	res, err = rt.Pull(context.Background(), ref, PullOptions{Progress: progress.Lines(&out)})
	if err != nil {
		t.Fatal(err)
	}
	want = fmt.Sprintf("1.0: Pulling from team/app\nDigest: %s\nStatus: Image is up to date for %s/team/app:1.0\n", digest, reg.Host)
	if out.String() != want || res.Downloaded {
		t.Fatalf("re-pull output:\n%s\nwant:\n%s", out.String(), want)
	}
	if reg.gets() != gets {
		t.Fatalf("re-pull fetched %d blobs", reg.gets()-gets)
	}
	if entries, _ := os.ReadDir(rt.tmpDir); len(entries) != 0 {
		t.Fatalf("pull left %d entries in the tmp dir", len(entries))
	}
}

func TestPullReusesStoredLayers(t *testing.T) {
	rt := newTestRuntime(t)
	reg := newTestRegistry(t)
	base := testImage(t, "amd64", 2, 2048, 2)
	top, err := mutate.AppendLayers(base, testLayer(t, "extra", []byte("extra layer")))
	if err != nil {
		t.Fatal(err)
	}
	reg.push("lib/base:latest", base)
	reg.push("lib/top:latest", top)
	if _, err := rt.Pull(context.Background(), mustRef(t, reg.Host+"/lib/base"), PullOptions{}); err != nil {
		t.Fatal(err)
	}
	gets := reg.gets()
	var out bytes.Buffer
	if _, err := rt.Pull(context.Background(), mustRef(t, reg.Host+"/lib/top"), PullOptions{Progress: progress.Lines(&out)}); err != nil {
		t.Fatal(err)
	}
	ids := layerIDs(t, top)
	for i, status := range []string{"Already exists", "Already exists", "Pull complete"} {
		if !strings.Contains(out.String(), ids[i]+": "+status+"\n") {
			t.Fatalf("layer %d is not %q:\n%s", i, status, out.String())
		}
	}
	// config + the one new layer
	if n := reg.gets() - gets; n != 2 {
		t.Fatalf("fetched %d blobs, want the config and one layer", n)
	}
}

func multiArch(t *testing.T) (v1.ImageIndex, v1.Image, v1.Image) {
	amd := testImage(t, "amd64", 1, 1024, 10)
	arm := testImage(t, "arm64", 1, 1024, 11)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.DockerManifestList),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
		mutate.IndexAddendum{Add: testImage(t, "amd64", 1, 16, 12), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}},
	)
	return idx, amd, arm
}

func TestPullChoosesThePlatformFromAnIndex(t *testing.T) {
	rt := newTestRuntime(t)
	reg := newTestRegistry(t)
	idx, amd, arm := multiArch(t)
	reg.pushIndex("multi:latest", idx)
	indexDigest := reg.digest("multi:latest")
	ref := mustRef(t, reg.Host+"/multi")

	host := parse.HostPlatform()
	if host.Architecture == "amd64" {
		res, err := rt.Pull(context.Background(), ref, PullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := amd.ConfigName(); res.Image.ID != want.Hex {
			t.Fatalf("the host pull did not pick amd64: %s", res.Image.Config.Architecture)
		}
		if res.Digest != indexDigest || res.Image.RepoDigests[0] != ref.Name()+"@"+indexDigest {
			t.Fatalf("the repo digest is not the index's: %+v", res.Image.RepoDigests)
		}
	}
	p, _ := parse.ParsePlatform("linux/arm64")
	res, err := rt.Pull(context.Background(), ref, PullOptions{Platform: &p})
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := arm.ConfigName(); res.Image.ID != want.Hex || res.Image.Config.Architecture != "arm64" {
		t.Fatalf("--platform linux/arm64 got %s", res.Image.Config.Architecture)
	}
	s390, _ := parse.ParsePlatform("linux/s390x")
	_, err = rt.Pull(context.Background(), ref, PullOptions{Platform: &s390})
	if err == nil || !strings.Contains(err.Error(), "no matching manifest for linux/s390x") || !strings.Contains(err.Error(), "linux/amd64, linux/arm64") || strings.Contains(err.Error(), "unknown") {
		t.Fatalf("missing platform: %v", err)
	}
	// A single-platform image that is not the one asked for is refused too.
	reg.push("single:latest", testImage(t, "amd64", 1, 64, 13))
	if _, err := rt.Pull(context.Background(), mustRef(t, reg.Host+"/single"), PullOptions{Platform: &p}); err == nil || !strings.Contains(err.Error(), "does not match the specified platform") {
		t.Fatalf("mismatched single image: %v", err)
	}
}

func TestChoosePlatformUnit(t *testing.T) {
	im := &v1.IndexManifest{Manifests: []v1.Descriptor{
		{Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}, Platform: &v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}},
		{Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b", 64)}, Platform: &v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
		{Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("c", 64)}, Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}},
	}}
	for want, hex := range map[string]string{"linux/arm": "b", "linux/arm/v6": "a", "linux/aarch64": "c", "linux/arm64/v8": "c"} {
		p, err := parse.ParsePlatform(want)
		if err != nil {
			t.Fatal(err)
		}
		d, err := choosePlatform(im, &p)
		if err != nil || d.Digest.Hex[:1] != hex {
			t.Errorf("%s: got %v %v", want, d.Digest, err)
		}
	}
}

func TestPullByDigestRecordsTheRepoDigest(t *testing.T) {
	rt := newTestRuntime(t)
	reg := newTestRegistry(t)
	reg.push("d/img:v1", testImage(t, "amd64", 1, 512, 20))
	digest := reg.digest("d/img:v1")
	ref := mustRef(t, reg.Host+"/d/img@"+digest)
	var out bytes.Buffer
	res, err := rt.Pull(context.Background(), ref, PullOptions{Progress: progress.Lines(&out)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), digest+": Pulling from d/img\n") {
		t.Fatalf("output: %s", out.String())
	}
	if len(res.Image.Names) != 0 || res.Image.RepoDigests[0] != ref.Name()+"@"+digest {
		t.Fatalf("names %v repo digests %v", res.Image.Names, res.Image.RepoDigests)
	}
	if found, err := rt.Lookup(ref.String()); err != nil || found.ID != res.Image.ID {
		t.Fatalf("lookup by digest: %v", err)
	}
}

func TestPullAllTags(t *testing.T) {
	rt := newTestRuntime(t)
	reg := newTestRegistry(t)
	reg.push("many:a", testImage(t, "amd64", 1, 256, 30))
	reg.push("many:b", testImage(t, "amd64", 1, 256, 31))
	var out bytes.Buffer
	results, err := rt.PullAllTags(context.Background(), reg.Host+"/many", PullOptions{Progress: progress.Lines(&out)})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].Ref.Tag() != "a" || results[1].Ref.Tag() != "b" {
		t.Fatalf("results: %+v", results)
	}
	s := out.String()
	if !strings.Contains(s, "a: Pulling from many\n") || !strings.Contains(s, "b: Pulling from many\n") || !strings.HasSuffix(s, "Status: Downloaded newer image for "+reg.Host+"/many\n") {
		t.Fatalf("output:\n%s", s)
	}
}

func TestPullErrorsAreDockers(t *testing.T) {
	rt := newTestRuntime(t)
	reg := newTestRegistry(t)
	reg.push("exists:latest", testImage(t, "amd64", 1, 64, 40))
	_, err := rt.Pull(context.Background(), mustRef(t, reg.Host+"/exists:nope"), PullOptions{})
	if !errors.Is(err, ErrManifestUnknown) || !strings.Contains(err.Error(), "manifest for "+reg.Host+"/exists:nope not found: manifest unknown") {
		t.Fatalf("unknown tag: %v", err)
	}
	// Closed port: fails at once, naming the registry.
	_, err = rt.Pull(context.Background(), mustRef(t, "127.0.0.1:1/x"), PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("unreachable: %v", err)
	}
	reg.requireAuth("u", "p")
	_, err = rt.Pull(context.Background(), mustRef(t, reg.Host+"/exists"), PullOptions{})
	if !errors.Is(err, ErrRepositoryUnknown) || !strings.Contains(err.Error(), "tug login") {
		t.Fatalf("no credentials: %v", err)
	}
	_, err = rt.Pull(context.Background(), mustRef(t, reg.Host+"/exists"), PullOptions{RegistryOptions: RegistryOptions{Creds: &Credentials{Username: "u", Password: "bad"}}})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), reg.Host) || !strings.Contains(err.Error(), "tug login") {
		t.Fatalf("wrong credentials: %v", err)
	}
	if _, err := rt.Pull(context.Background(), mustRef(t, reg.Host+"/exists"), PullOptions{RegistryOptions: RegistryOptions{Creds: &Credentials{Username: "u", Password: "p"}}}); err != nil {
		t.Fatalf("right credentials: %v", err)
	}
	images, _ := rt.List()
	if len(images) != 1 {
		t.Fatalf("failed pulls left images: %d", len(images))
	}
}

// A blob that does not match its digest, or a connection cut in the middle
// of one, fails the pull and stores nothing.
func TestBrokenDownloadsStoreNothing(t *testing.T) {
	for _, breakIt := range []func(*testRegistry){
		func(tr *testRegistry) { tr.corrupt = true },
		func(tr *testRegistry) { tr.cutAfter = 5000 },
	} {
		rt := newTestRuntime(t)
		reg := newTestRegistry(t)
		reg.push("broken:latest", testImage(t, "amd64", 2, 64<<10, 50))
		reg.set(breakIt)
		_, err := rt.Pull(context.Background(), mustRef(t, reg.Host+"/broken"), PullOptions{})
		if err == nil || !strings.Contains(err.Error(), "fetching layer ") {
			t.Fatalf("a broken download: %v", err)
		}
		layers, _ := rt.store.Layers()
		images, _ := rt.store.Images()
		if len(layers) != 0 || len(images) != 0 {
			t.Fatalf("a failed pull left %d layers and %d images (%v)", len(layers), len(images), err)
		}
		if entries, _ := os.ReadDir(rt.tmpDir); len(entries) != 0 {
			t.Fatalf("a failed pull left %d entries in the tmp dir", len(entries))
		}
		// Repaired registry: the next pull completes.
		reg.set(func(tr *testRegistry) { tr.corrupt, tr.cutAfter = false, 0 })
		if _, err := rt.Pull(context.Background(), mustRef(t, reg.Host+"/broken"), PullOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCancelledPullStoresNoImage(t *testing.T) {
	rt := newTestRuntime(t)
	reg := newTestRegistry(t)
	reg.push("slow:latest", testImage(t, "amd64", 2, 256<<10, 60))
	reg.set(func(tr *testRegistry) { tr.slowBlobs = time.Minute })
	ctx, cancel := context.WithCancel(context.Background())
	rep := reporterFunc(func(e progress.Event) {
		if e.Status == "Downloading" {
			cancel()
		}
	})
	_, err := rt.Pull(ctx, mustRef(t, reg.Host+"/slow"), PullOptions{Progress: rep})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled pull: %v", err)
	}
	if images, _ := rt.store.Images(); len(images) != 0 {
		t.Fatal("a cancelled pull recorded an image")
	}
	if entries, _ := os.ReadDir(rt.tmpDir); len(entries) != 0 {
		t.Fatalf("a cancelled pull left %d entries in the tmp dir", len(entries))
	}
}

type reporterFunc func(progress.Event)

func (f reporterFunc) Report(e progress.Event) { f(e) }

func TestConcurrentPullsOfOneImage(t *testing.T) {
	rt := newTestRuntime(t)
	reg := newTestRegistry(t)
	reg.push("same:latest", testImage(t, "amd64", 3, 128<<10, 70))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = rt.Pull(context.Background(), mustRef(t, reg.Host+"/same"), PullOptions{})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	images, _ := rt.List()
	layers, _ := rt.store.Layers()
	if len(images) != 1 || len(layers) != 3 {
		t.Fatalf("%d images and %d layers after 4 concurrent pulls", len(images), len(layers))
	}
}

func TestMirrorsAreTriedFirst(t *testing.T) {
	rt := newTestRuntime(t)
	origin := newTestRegistry(t)
	mirror := newTestRegistry(t)
	img := testImage(t, "amd64", 1, 1024, 80)
	origin.push("lib/app:latest", img)
	mirror.push("lib/app:latest", img)
	rt.config.Registries.Mirrors = map[string][]string{origin.Host: {"127.0.0.1:1", mirror.Host}}
	res, err := rt.Pull(context.Background(), mustRef(t, origin.Host+"/lib/app"), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if origin.gets() != 0 || mirror.gets() == 0 {
		t.Fatalf("blobs came from the origin (%d) rather than the mirror (%d)", origin.gets(), mirror.gets())
	}
	if res.Image.Names[0] != origin.Host+"/lib/app:latest" {
		t.Fatalf("the image is named after the mirror: %v", res.Image.Names)
	}
	// With no mirror holding the image, the registry itself answers.
	origin.push("lib/only:latest", testImage(t, "amd64", 1, 1024, 81))
	if _, err := rt.Pull(context.Background(), mustRef(t, origin.Host+"/lib/only"), PullOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestStaleWorkDirsAreRemoved(t *testing.T) {
	rt := newTestRuntime(t)
	live, err := rt.NewWorkDir("pull-")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Remove()
	// What a killed pull leaves: a directory and its lock file, nobody holding the lock.
	dead := rt.tmpDir + "/pull-dead"
	os.Mkdir(dead, 0o700)
	os.WriteFile(dead+"/partial", []byte("x"), 0o600)
	os.WriteFile(dead+lockSuffix, nil, 0o600)
	// A directory without a lock file (an older kind of temp dir) is left to the age rule.
	os.Mkdir(rt.tmpDir+"/other", 0o700)
	next, err := rt.NewWorkDir("pull-")
	if err != nil {
		t.Fatal(err)
	}
	defer next.Remove()
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatal("an abandoned work dir survived")
	}
	if _, err := os.Stat(live.Path); err != nil {
		t.Fatal("a work dir in use was removed")
	}
	if _, err := os.Stat(rt.tmpDir + "/other"); err != nil {
		t.Fatal("a young unlocked temp dir was removed")
	}
}
