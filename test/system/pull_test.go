//go:build system

package system

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tug-project/tug/test/testimages"
)

func TestPullOutputThenUpToDate(t *testing.T) {
	src, err := testimages.MultiLayer()
	if err != nil {
		t.Fatal(err)
	}
	ids := layerDigests(t, src)
	digest := digestOf(t, src)
	ref := Img("multilayer")
	eachUser(t, func(t *testing.T, e *Env) {
		r := e.TugOK("pull", ref)
		want := fmt.Sprintf("latest: Pulling from tug/multilayer\n%s: Pull complete\n%s: Pull complete\n%s: Pull complete\nDigest: %s\nStatus: Downloaded newer image for %s\n%s\n",
			ids[0], ids[1], ids[2], digest, ref, ref)
		if r.Out != want {
			t.Fatalf("pull output:\n%s\nwant:\n%s", r.Out, want)
		}
		// Again: only the manifest is checked, no layer line.
		r = e.TugOK("image", "pull", ref)
		want = fmt.Sprintf("latest: Pulling from tug/multilayer\nDigest: %s\nStatus: Image is up to date for %s\n%s\n", digest, ref, ref)
		if r.Out != want {
			t.Fatalf("re-pull output:\n%s\nwant:\n%s", r.Out, want)
		}
		// busybox is multilayer's base layer: stored once, not fetched again,
		// so Docker calls the new image up to date.
		bb := strings.TrimSuffix(Img("busybox"), ":latest")
		r = e.TugOK("pull", bb)
		if !strings.HasPrefix(r.Out, "Using default tag: latest\nlatest: Pulling from tug/busybox\n") || !strings.Contains(r.Out, ids[0]+": Already exists\n") {
			t.Fatalf("busybox after multilayer:\n%s", r.Out)
		}
		if !strings.HasSuffix(r.Out, "Status: Image is up to date for "+bb+":latest\n"+bb+":latest\n") {
			t.Fatalf("busybox status:\n%s", r.Out)
		}
		if out := e.TugOK("pull", "-q", ref).Out; out != ref+"\n" {
			t.Fatalf("pull -q: %q", out)
		}
		if n := storedImages(t, e); n != 2 {
			t.Fatalf("%d images stored, want 2", n)
		}
		// The image is what the registry has: its ID is the config digest, its
		// repo digest the manifest's.
		cfgName, _ := src.ConfigName()
		out := e.TugOK("image", "inspect", "--format", "{{.Id}} {{json .RepoDigests}}", ref).Out
		if want := cfgName.String() + ` ["` + strings.TrimSuffix(ref, ":latest") + "@" + digest + `"]` + "\n"; out != want {
			t.Fatalf("inspect: %q, want %q", out, want)
		}
	})
}

func TestPullMultiArchPicksThePlatform(t *testing.T) {
	idx, err := testimages.MultiArch()
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	layerOf := map[string]string{}
	for _, m := range im.Manifests {
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		layerOf[m.Platform.Architecture] = layerDigests(t, img)[0]
	}
	indexDigest, _ := idx.Digest()
	ref := Img("multiarch")
	eachUser(t, func(t *testing.T, e *Env) {
		r := e.TugOK("pull", ref)
		mustContain(t, r.Out, layerOf["amd64"]+": Pull complete\n", "Digest: "+indexDigest.String()+"\n")
		if arch := e.TugOK("image", "inspect", "--format", "{{.Architecture}}", ref).Out; arch != "amd64\n" {
			t.Fatalf("the host pull gave %q", arch)
		}
		r = e.TugOK("pull", "--platform", "linux/arm64", ref)
		mustContain(t, r.Out, layerOf["arm64"]+": Pull complete\n")
		if arch := e.TugOK("image", "inspect", "--format", "{{.Architecture}} {{.Variant}}", ref).Out; !strings.HasPrefix(arch, "arm64") {
			t.Fatalf("--platform linux/arm64 gave %q", arch)
		}
		// The image now under the name is the arm64 one: its config says so.
		dest := Registry + "/" + repoName(t, "arm") + ":latest"
		e.TugOK("push", ref, dest)
		out := e.ShOK("skopeo inspect --tls-verify=false docker://" + dest).Out
		mustContain(t, out, `"Architecture": "arm64"`)
		r = e.TugFail(125, "pull", "--platform", "linux/s390x", ref)
		mustContain(t, r.Err, "no matching manifest for linux/s390x", "linux/amd64, linux/arm64")
		r = e.TugFail(125, "pull", "--platform", "bogus/x/y/z", ref)
		mustContain(t, r.Err, "invalid platform")
	})
}

func TestPullByDigestAndAllTags(t *testing.T) {
	bb, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	digest := digestOf(t, bb)
	eachUser(t, func(t *testing.T, e *Env) {
		byDigest := Registry + "/tug/busybox@" + digest
		r := e.TugOK("pull", byDigest)
		if !strings.HasPrefix(r.Out, digest+": Pulling from tug/busybox\n") || !strings.HasSuffix(r.Out, "\n"+byDigest+"\n") {
			t.Fatalf("pull by digest:\n%s", r.Out)
		}
		mustContain(t, e.TugOK("pull", byDigest).Out, "Status: Image is up to date for "+byDigest+"\n")
		// Pulled by digest: no tag, the repo digest recorded.
		out := e.TugOK("images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}").Out
		if want := Registry + "/tug/busybox <none> " + digest + "\n"; out != want {
			t.Fatalf("images after a pull by digest: %q, want %q", out, want)
		}

		repo := repoName(t, "tags")
		cfg, _ := testimages.Config()
		pushTo(t, plainReg(), repo+":one", bb)
		pushTo(t, plainReg(), repo+":two", cfg)
		full := Registry + "/" + repo
		r = e.TugOK("pull", "--all-tags", full)
		mustContain(t, r.Out, "one: Pulling from "+repo+"\n", "two: Pulling from "+repo+"\n")
		if !strings.HasSuffix(r.Out, "Status: Downloaded newer image for "+full+"\n"+full+"\n") {
			t.Fatalf("pull -a:\n%s", r.Out)
		}
		if strings.Count(r.Out, "Digest: ") != 2 {
			t.Fatalf("pull -a prints one Digest line per tag:\n%s", r.Out)
		}
		r = e.TugFail(125, "pull", "-a", full+":one")
		mustContain(t, r.Err, "tag can't be used with --all-tags/-a")
		// Both tags are local now: pushing them all is -a too.
		r = e.TugOK("push", "-a", full)
		mustContain(t, r.Out, "one: digest: ", "two: digest: ")
	})
}

func TestPullErrors(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		r := e.TugFail(125, "pull", "Bad/Name")
		mustContain(t, r.Err, `"Bad/Name"`, "invalid reference format")
		r = e.TugFail(125, "pull")
		mustContain(t, r.Err, `"tug pull" requires exactly 1 argument`)

		dead := closedPort(t)
		start := time.Now()
		r = e.TugFail(125, "pull", dead+"/x/y")
		t.Logf("an unreachable registry failed in %s", time.Since(start))
		mustContain(t, r.Err, "cannot reach registry "+dead)

		r = e.TugFail(125, "pull", Registry+"/tug/busybox:no-such-tag")
		mustContain(t, r.Err, "manifest for "+Registry+"/tug/busybox:no-such-tag not found: manifest unknown")
		r = e.TugFail(125, "pull", AuthRegistry+"/tug/busybox")
		mustContain(t, r.Err, "pull access denied for "+AuthRegistry+"/tug/busybox", "may require 'tug login'")
		r = e.TugFail(125, "pull", "--creds", authUser+":wrong", AuthRegistry+"/tug/busybox")
		mustContain(t, r.Err, "unauthorized", AuthRegistry, "tug login")
		if n := storedImages(t, e); n != 0 {
			t.Fatalf("failed pulls left %d images", n)
		}
		if out := e.TugOK("images", "-q").Out; out != "" {
			t.Fatalf("failed pulls left images: %q", out)
		}
		e.TugOK("pull", "--creds", authUser+":"+authPassword, AuthRegistry+"/tug/busybox")
	})
}

// A pull killed at any point leaves a store the next pull completes.
func TestPullKilledThenCompleted(t *testing.T) {
	big := randomImage(t, 4, 24<<20)
	ref := pushTo(t, plainReg(), repoName(t, "big")+":latest", big)
	eachUser(t, func(t *testing.T, e *Env) {
		// Kill after the manifest, then after the first stored layer.
		for _, stage := range []string{"Pulling from", "Pull complete"} {
			p := e.Start("pull", ref)
			if !waitFor(p, stage) {
				t.Logf("the pull ended before %q: %+v", stage, p.Wait())
				continue
			}
			p.Cmd.Process.Signal(syscall.SIGKILL)
			r := p.Wait()
			t.Logf("killed at %q: exit %d\n%s", stage, r.Code, r.Out)
		}
		r := e.TugOK("pull", ref)
		mustContain(t, r.Out, "Status: Downloaded newer image for "+ref)
		if left := tmpLeftovers(e); len(left) != 0 {
			t.Fatalf("the killed pulls' temp files are still there: %v", left)
		}
		mustContain(t, e.TugOK("pull", ref).Out, "Status: Image is up to date")
	})
}

// Ctrl-C stops a pull with a clear message and no image.
func TestPullInterrupted(t *testing.T) {
	big := randomImage(t, 4, 24<<20)
	ref := pushTo(t, plainReg(), repoName(t, "big")+":latest", big)
	eachUser(t, func(t *testing.T, e *Env) {
		p := e.Start("pull", ref)
		if !waitFor(p, "Pulling from") {
			t.Fatalf("the pull ended early: %+v", p.Wait())
		}
		p.Cmd.Process.Signal(syscall.SIGINT)
		r := p.Wait()
		if r.Code == 0 {
			t.Log("the pull finished before the signal")
		} else {
			if r.Code != 130 {
				t.Fatalf("interrupted pull exited %d, want 130\n%s", r.Code, r.Err)
			}
			mustContain(t, r.Err, "interrupted", "no image was recorded")
			if n := storedImages(t, e); n != 0 {
				t.Fatalf("an interrupted pull recorded %d images", n)
			}
			if left := tmpLeftovers(e); len(left) != 0 {
				t.Fatalf("an interrupted pull left %v", left)
			}
		}
		e.TugOK("pull", ref)
	})
}

func TestParallelPullsOfOneImage(t *testing.T) {
	img := randomImage(t, 3, 8<<20)
	ref := pushTo(t, plainReg(), repoName(t, "par")+":latest", img)
	eachUser(t, func(t *testing.T, e *Env) {
		var procs []*Proc
		for i := 0; i < 4; i++ {
			procs = append(procs, e.Start("pull", ref))
		}
		for i, p := range procs {
			if r := p.Wait(); r.Code != 0 {
				t.Fatalf("parallel pull %d: exit %d\n%s%s", i, r.Code, r.Out, r.Err)
			}
		}
		if n := storedImages(t, e); n != 1 {
			t.Fatalf("%d images after 4 parallel pulls", n)
		}
		if ids := strings.Fields(e.TugOK("images", "-q").Out); len(ids) != 1 {
			t.Fatalf("tug images -q after 4 parallel pulls: %v", ids)
		}
		mustContain(t, e.TugOK("pull", ref).Out, "Status: Image is up to date")
	})
}

// waitFor waits until p has printed s, or ended.
func waitFor(p *Proc, s string) bool {
	for {
		out, _ := p.Output()
		if strings.Contains(out, s) {
			return true
		}
		select {
		case <-p.done:
			out, _ := p.Output()
			return strings.Contains(out, s)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
