//go:build system

package system

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tug-project/tug/test/testimages"
)

// Pushed, then Layer already exists, then Mounted from; the registry has
// the image as push said, skopeo reads it, and tug pulls it back identical.
func TestPushStatusesAndRoundTrip(t *testing.T) {
	img := randomImage(t, 2, 256<<10)
	ids := diffIDs(t, img)
	eachUser(t, func(t *testing.T, e *Env) {
		// From the other registry: none of its blobs is in Registry yet.
		src := pushTo(t, authReg(), repoName(t, "src")+":v1", img)
		e.TugOK("pull", "-q", "--creds", authUser+":"+authPassword, src)
		first := Registry + "/" + repoName(t, "first")
		r := e.TugOK("push", src, first+":v1")
		if !strings.HasPrefix(r.Out, "The push refers to repository ["+first+"]\n") {
			t.Fatalf("push output:\n%s", r.Out)
		}
		// Top layer first, as Docker lists them.
		mustContain(t, r.Out, ids[1]+": Pushed\n"+ids[0]+": Pushed\n")
		digest, size := pushDigest(t, r.Out, "v1")

		r = e.TugOK("image", "push", src, first+":v1")
		mustContain(t, r.Out, ids[1]+": Layer already exists\n", ids[0]+": Layer already exists\n", fmt.Sprintf("v1: digest: %s size: %d\n", digest, size))

		second := Registry + "/" + repoName(t, "second")
		r = e.TugOK("push", src, second+":v2")
		from := strings.TrimPrefix(first, Registry+"/")
		mustContain(t, r.Out, ids[1]+": Mounted from "+from+"\n", ids[0]+": Mounted from "+from+"\n")
		if d, _ := pushDigest(t, r.Out, "v2"); d != digest {
			t.Fatalf("the same image pushed twice has two digests: %s %s", digest, d)
		}

		var inspect struct {
			Digest string
			Layers []string
		}
		out := e.ShOK("skopeo inspect --tls-verify=false docker://" + second + ":v2").Out
		if err := json.Unmarshal([]byte(out), &inspect); err != nil {
			t.Fatalf("skopeo inspect: %v\n%s", err, out)
		}
		if inspect.Digest != digest || len(inspect.Layers) != 2 {
			t.Fatalf("skopeo sees %s with %d layers, push said %s", inspect.Digest, len(inspect.Layers), digest)
		}
		raw := e.ShOK("skopeo inspect --raw --tls-verify=false docker://" + second + ":v2").Out
		mustContain(t, raw, "application/vnd.docker.distribution.manifest.v2+json")

		// Push recorded the repo digest, as Docker does.
		mustContain(t, e.TugOK("image", "inspect", "--format", "{{json .RepoDigests}}", src).Out, second+"@"+digest)

		// Pulled back into a fresh store: the same digest, layers and image ID.
		fresh := newEnv(t, e.Rootless)
		r = fresh.TugOK("pull", second+":v2")
		mustContain(t, r.Out, "Digest: "+digest+"\n")
		id := e.TugOK("image", "inspect", "--format", "{{.Id}}", src).Out
		if got := fresh.TugOK("image", "inspect", "--format", "{{.Id}}", second+":v2").Out; got != id {
			t.Fatalf("pulled back as %s, pushed %s", got, id)
		}
		for _, l := range inspect.Layers {
			mustContain(t, r.Out, strings.TrimPrefix(l, "sha256:")[:12]+": Pull complete\n")
		}
		// And pushing what was pulled keeps the digest.
		r = fresh.TugOK("push", second+":v2")
		if d, _ := pushDigest(t, r.Out, "v2"); d != digest {
			t.Fatalf("re-push changed the digest: %s -> %s", digest, d)
		}
	})
}

func TestPushErrors(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		r := e.TugFail(125, "push", Registry+"/nothere/at-all")
		mustContain(t, r.Err, "An image does not exist locally with the tag: "+Registry+"/nothere/at-all")
		r = e.TugFail(125, "push", "not/Valid")
		mustContain(t, r.Err, `"not/Valid"`, "invalid reference format")
		r = e.TugFail(125, "push")
		mustContain(t, r.Err, `"tug push" requires at least 1 argument`)

		e.TugOK("pull", "-q", Img("busybox"))
		r = e.TugFail(125, "push", Img("busybox"), AuthRegistry+"/"+repoName(t, "x"))
		mustContain(t, r.Err, "unauthorized", AuthRegistry, "tug login")
		r = e.TugFail(125, "push", Img("busybox"), closedPort(t)+"/x/y")
		mustContain(t, r.Err, "cannot reach registry")
	})
}

// pushDigest reads "TAG: digest: sha256:... size: N" from push's output.
func pushDigest(t *testing.T, out, tag string) (string, int) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		var d string
		var n int
		if _, err := fmt.Sscanf(line, tag+": digest: %s size: %d", &d, &n); err == nil {
			return d, n
		}
	}
	t.Fatalf("no %q digest line in:\n%s", tag, out)
	return "", 0
}

// Docker's flow: tag a pulled image into another repository and push it;
// the registry links the layers instead of receiving them.
func TestTagThenPushMounts(t *testing.T) {
	bb, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	layer := diffIDs(t, bb)[0]
	eachUser(t, func(t *testing.T, e *Env) {
		e.TugOK("pull", "-q", Img("busybox"))
		dest := Registry + "/" + repoName(t, "tagged") + ":1.0"
		e.TugOK("tag", Img("busybox"), dest)
		r := e.TugOK("push", dest)
		want := fmt.Sprintf("The push refers to repository [%s]\n%s: Mounted from tug/busybox\n1.0: digest: %s size: ", strings.TrimSuffix(dest, ":1.0"), layer, digestOf(t, bb))
		if !strings.HasPrefix(r.Out, want) {
			t.Fatalf("push output:\n%s\nwant:\n%s", r.Out, want)
		}
		if out := e.TugOK("push", "-q", dest).Out; out != dest+"\n" {
			t.Fatalf("push -q: %q", out)
		}
	})
}
