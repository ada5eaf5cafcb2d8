//go:build system

package system

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/tug-project/tug/test/testimages"
)

// Test archives, built once per run from package testimages with
// go-containerregistry's tarball writer (a docker-archive as `docker save`
// writes one, with gzip layers), readable by every test user.
var (
	archiveMu    sync.Mutex
	archives     = map[string]string{}
	testImagesMu sync.Once
	testImageSet map[string]v1.Image
)

func testImage(t *testing.T, n string) v1.Image {
	t.Helper()
	testImagesMu.Do(func() {
		var err error
		if testImageSet, err = testimages.Images(); err != nil {
			panic(err)
		}
	})
	img, ok := testImageSet[n]
	if !ok {
		t.Fatalf("no test image %q", n)
	}
	return img
}

// imageID is the ID tug must give a test image: its config digest, hex.
func imageID(t *testing.T, n string) string {
	t.Helper()
	h, err := testImage(t, n).ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h.Hex
}

// testArchive returns the path of a docker-archive holding the given
// images under the given names: "busybox=busybox:latest,tug/bb:1".
func testArchive(t *testing.T, spec ...string) string {
	t.Helper()
	key := strings.Join(spec, " ")
	archiveMu.Lock()
	defer archiveMu.Unlock()
	if p, ok := archives[key]; ok {
		return p
	}
	refs := map[name.Reference]v1.Image{}
	for _, s := range spec {
		img, names, _ := strings.Cut(s, "=")
		for _, n := range strings.Split(names, ",") {
			tag, err := name.NewTag(n)
			if err != nil {
				t.Fatal(err)
			}
			refs[tag] = testImage(t, img)
		}
	}
	p := filepath.Join(baseDir, fmt.Sprintf("archive-%d.tar", len(archives)))
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.MultiRefWrite(refs, f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.Chmod(p, 0o644)
	archives[key] = p
	return p
}

// loadTest loads test images into e's store.
func loadTest(e *Env, spec ...string) {
	e.T.Helper()
	e.TugOK("load", "-i", testArchive(e.T, spec...))
}

func TestLoadPrintsLoadedNames(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		p := testArchive(t, "busybox=busybox:latest,127.0.0.1:5000/tug/busybox:1", "multilayer=multi:3")
		r := e.TugOK("load", "-i", p)
		for _, want := range []string{"Loaded image: busybox:latest\n", "Loaded image: 127.0.0.1:5000/tug/busybox:1\n", "Loaded image: multi:3\n"} {
			mustContain(t, r.Out, want)
		}
		if n := strings.Count(r.Out, "\n"); n != 3 {
			t.Fatalf("load printed %d lines:\n%s", n, r.Out)
		}
		// From stdin, gzip-compressed, quiet: the same lines, no layer lines.
		r = e.Sh("gzip -c " + p + " | $TUG load -q")
		if r.Code != 0 || strings.Count(r.Out, "Loaded image: ") != 3 || strings.Contains(r.Out, "Loading layer") {
			t.Fatalf("gzip | load -q: %d\n%s%s", r.Code, r.Out, r.Err)
		}
		out := e.TugOK("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").Out
		mustContain(t, out, "busybox:latest "+imageID(t, "busybox")[:12], "127.0.0.1:5000/tug/busybox:1 "+imageID(t, "busybox")[:12], "multi:3 "+imageID(t, "multilayer")[:12])
		// Loading the same archive again changes nothing.
		e.TugOK("load", "-i", p)
		if n := len(strings.Fields(e.TugOK("images", "-q").Out)); n != 3 {
			t.Fatalf("%d rows after a second load", n)
		}
	})
}

func TestLoadOfUntaggedImagePrintsID(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		e.TugOK("load", "-i", testArchive(t, "config=config:latest"))
		out := e.TugOK("save", "-o", filepath.Join(e.TmpDir, "byid.tar"), imageID(t, "config")[:12]).Out
		if out != "" {
			t.Fatalf("save printed %q", out)
		}
		e.TugOK("rmi", "config")
		r := e.TugOK("load", "-i", filepath.Join(e.TmpDir, "byid.tar"))
		if r.Out != "Loaded image ID: sha256:"+imageID(t, "config")+"\n" {
			t.Fatalf("load of an untagged image: %q", r.Out)
		}
		if out := e.TugOK("images").Out; !regexp.MustCompile(`(?m)^<none>\s+<none>\s+` + imageID(t, "config")[:12] + `\s`).MatchString(out) {
			t.Fatalf("no <none> row:\n%s", out)
		}
	})
}

// storageEmpty fails unless e's store has no image and no layer.
func storageEmpty(t *testing.T, e *Env) {
	t.Helper()
	if out := e.TugOK("images", "-a", "-q").Out; out != "" {
		t.Fatalf("images left: %s", out)
	}
	data, err := os.ReadFile(filepath.Join(e.Root, "storage", "overlay-layers", "layers.json"))
	if err == nil && strings.TrimSpace(string(data)) != "[]" {
		t.Fatalf("layers left: %s", data)
	}
}

func TestLoadRefusesBadArchivesAndLeavesNothing(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		good, err := os.ReadFile(testArchive(t, "multilayer=multilayer:latest"))
		if err != nil {
			t.Fatal(err)
		}
		bad := map[string][]byte{
			"truncated":     good[:len(good)/2],
			"cut at end":    good[:len(good)-2000],
			"not a tar":     bytes.Repeat([]byte("not an archive "), 100),
			"corrupt layer": corruptLayerTar(t, good),
			"no manifest":   tarOf(t, map[string]string{"hello.txt": "hi"}),
			"bad json":      tarOf(t, map[string]string{"manifest.json": "[{"}),
		}
		for what, data := range bad {
			p := filepath.Join(e.TmpDir, "bad.tar")
			e.WriteFile(p, data)
			r := e.TugFail(125, "load", "-i", p)
			if !strings.HasPrefix(r.Err, "Error: ") || r.Out != "" {
				t.Fatalf("%s: stdout %q stderr %q", what, r.Out, r.Err)
			}
			mustContain(t, r.Err, "invalid image archive")
			storageEmpty(t, e)
		}
		r := e.TugFail(125, "load", "-i", filepath.Join(e.TmpDir, "missing.tar"))
		mustContain(t, r.Err, "no such file")
		// The good archive loads after all that: nothing half-stored was trusted.
		e.TugOK("load", "-i", testArchive(t, "multilayer=multilayer:latest"))
		e.TugOK("save", "-o", filepath.Join(e.TmpDir, "again.tar"), "multilayer")
	})
}

// corruptLayerTar flips one byte inside the largest layer of a docker-archive
// and writes it back uncompressed: a valid tar whose digest is wrong.
func corruptLayerTar(t *testing.T, archive []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if strings.HasSuffix(hdr.Name, ".tar.gz") && len(data) > 100000 {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(zr)
			raw[len(raw)/2] ^= 0x55
			data = raw
			hdr.Size = int64(len(data))
		}
		tw.WriteHeader(hdr)
		tw.Write(data)
	}
	tw.Close()
	return out.Bytes()
}

func tarOf(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, body := range files {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}

func TestSaveLoadRoundTripBothFormats(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		loadTest(e, "busybox=busybox:latest,busybox:2", "multilayer=127.0.0.1:5000/tug/multilayer:v1", "config=config:latest")
		for _, format := range []string{"docker-archive", "oci-archive"} {
			out := filepath.Join(e.TmpDir, format+".tar")
			e.TugOK("save", "--format", format, "-o", out, "busybox", "127.0.0.1:5000/tug/multilayer:v1", "config")
			dst := newEnv(t, e.Rootless)
			r := dst.TugOK("load", "-i", out)
			for _, n := range []string{"busybox:latest", "busybox:2", "127.0.0.1:5000/tug/multilayer:v1", "config:latest"} {
				mustContain(t, r.Out, "Loaded image: "+n+"\n")
			}
			for n, id := range map[string]string{"busybox:2": imageID(t, "busybox"), "127.0.0.1:5000/tug/multilayer:v1": imageID(t, "multilayer"), "config": imageID(t, "config")} {
				if got := strings.TrimSpace(dst.TugOK("image", "inspect", "-f", "{{.Id}}", n).Out); got != "sha256:"+id {
					t.Fatalf("%s: %s after %s round trip, want %s", n, got, format, id)
				}
			}
			// Stdout gives the same bytes as -o: saving is deterministic.
			e.ShOK("$TUG save --format " + format + " busybox > " + out + ".2 && $TUG save --format " + format + " -o " + out + ".3 busybox && cmp " + out + ".2 " + out + ".3")
		}
		// The docker-archive has Docker's classic layout.
		list := e.ShOK("tar tf " + filepath.Join(e.TmpDir, "docker-archive.tar")).Out
		mustContain(t, list, "manifest.json", "repositories", "/layer.tar", "/VERSION", "/json", imageID(t, "config")+".json")
		manifest := e.ShOK("tar xOf " + filepath.Join(e.TmpDir, "docker-archive.tar") + " manifest.json").Out
		mustContain(t, manifest, `"RepoTags":["docker.io/library/busybox:2","docker.io/library/busybox:latest"]`, `"Layers":[`)
		list = e.ShOK("tar tf " + filepath.Join(e.TmpDir, "oci-archive.tar")).Out
		mustContain(t, list, "oci-layout", "index.json", "blobs/sha256/"+imageID(t, "config"))
	})
}

func TestSaveErrors(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		loadTest(e, "busybox=busybox:latest")
		r := e.TugFail(1, "save", "-o", filepath.Join(e.TmpDir, "x.tar"), "busybox", "nothere")
		mustContain(t, r.Err, "No such image: nothere:latest")
		if _, err := os.Stat(filepath.Join(e.TmpDir, "x.tar")); err == nil {
			t.Fatal("a failed save left its output file")
		}
		e.TugFail(125, "save", "--format", "zip", "-o", filepath.Join(e.TmpDir, "x.tar"), "busybox")
		e.TugFail(125, "save")
		// A terminal on stdout is refused, as Docker does.
		r = e.Sh("script -qec '$TUG save busybox' /dev/null")
		if r.Code == 0 {
			t.Fatalf("save to a terminal succeeded")
		}
		mustContain(t, r.Out, "Cowardly refusing to save to a terminal. Use the -o flag or redirect.")
	})
}

// podmanEnv returns a podman command line with its own root, runroot and (as
// the user) runtime directory, and a cleanup that stops podman's pause process.
func podmanEnv(t *testing.T, e *Env) string {
	t.Helper()
	// Podman wants a short runroot (50 characters at most).
	dir, err := os.MkdirTemp("", "tugpd")
	if err != nil {
		t.Fatal(err)
	}
	os.Chown(dir, e.uid, e.gid)
	xdg := filepath.Join(dir, "xdg")
	e.ShOK("mkdir -p -m 0700 " + xdg)
	t.Cleanup(func() {
		if data, err := os.ReadFile(filepath.Join(xdg, "libpod", "tmp", "pause.pid")); err == nil {
			var pid int
			if _, err := fmt.Sscan(string(data), &pid); err == nil && pid > 1 {
				if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.HasPrefix(string(cmd), "podman") || strings.HasPrefix(string(cmd), "catatonit") {
					p, _ := os.FindProcess(pid)
					p.Kill()
				}
			}
		}
		os.RemoveAll(dir)
	})
	return fmt.Sprintf("XDG_RUNTIME_DIR=%s podman --root %s --runroot %s --storage-driver vfs", xdg, filepath.Join(dir, "root"), filepath.Join(dir, "run"))
}

// tug's archives load in podman, and podman's in tug, in both formats; the
// image IDs survive (podman's OCI conversion changes the config, so that one
// is compared by content).
func TestArchivesInteroperateWithPodman(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		podman := podmanEnv(t, e)
		loadTest(e, "busybox=busybox:latest", "multilayer=127.0.0.1:5000/tug/multilayer:v1")
		out := filepath.Join(e.TmpDir, "tug.tar")
		e.TugOK("save", "-o", out, "busybox", "127.0.0.1:5000/tug/multilayer:v1")
		r := e.ShOK(podman + " load -i " + out)
		mustContain(t, r.Out, "docker.io/library/busybox:latest", "127.0.0.1:5000/tug/multilayer:v1")
		ids := e.ShOK(podman + " images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}'").Out
		mustContain(t, ids, "docker.io/library/busybox:latest sha256:"+imageID(t, "busybox"), "127.0.0.1:5000/tug/multilayer:v1 sha256:"+imageID(t, "multilayer"))
		ociOut := filepath.Join(e.TmpDir, "tug-oci.tar")
		e.TugOK("save", "--format", "oci-archive", "-o", ociOut, "127.0.0.1:5000/tug/multilayer:v1")
		e.ShOK(podman + " rmi -a -f")
		mustContain(t, e.ShOK(podman+" load -i "+ociOut).Out, "127.0.0.1:5000/tug/multilayer:v1")

		// podman save -> tug load, docker-archive (several images) and oci-archive.
		e.ShOK(podman + " load -i " + out)
		dst := newEnv(t, e.Rootless)
		pd := filepath.Join(e.TmpDir, "podman.tar")
		e.ShOK(podman + " save -m -o " + pd + " docker.io/library/busybox:latest 127.0.0.1:5000/tug/multilayer:v1")
		r = dst.TugOK("load", "-i", pd)
		mustContain(t, r.Out, "Loaded image: busybox:latest", "Loaded image: 127.0.0.1:5000/tug/multilayer:v1")
		mustContain(t, dst.TugOK("images", "--no-trunc", "-q").Out, imageID(t, "busybox"), imageID(t, "multilayer"))
		po := filepath.Join(e.TmpDir, "podman-oci.tar")
		e.ShOK(podman + " save --format oci-archive -o " + po + " 127.0.0.1:5000/tug/multilayer:v1")
		dst2 := newEnv(t, e.Rootless)
		mustContain(t, dst2.TugOK("load", "-i", po).Out, "Loaded image: 127.0.0.1:5000/tug/multilayer:v1")
		hist := dst2.TugOK("history", "--format", "{{.Size}}", "127.0.0.1:5000/tug/multilayer:v1").Out
		if strings.Count(hist, "\n") != 3 {
			t.Fatalf("history of podman's OCI archive: %q", hist)
		}
	})
}

func TestImport(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		rootfs := filepath.Join(e.TmpDir, "rootfs")
		e.ShOK("mkdir -p " + rootfs + "/etc " + rootfs + "/bin && echo imported > " + rootfs + "/etc/hello && cp /bin/busybox " + rootfs + "/bin/")
		e.ShOK("tar -C " + rootfs + " -cf " + e.TmpDir + "/rootfs.tar . && gzip -k " + e.TmpDir + "/rootfs.tar && xz -k " + e.TmpDir + "/rootfs.tar && bzip2 -k " + e.TmpDir + "/rootfs.tar")
		idRe := regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`)
		r := e.TugOK("import", "-c", `CMD ["/bin/busybox","cat","/etc/hello"]`, "-c", "ENV GREETING=hi", "-c", "EXPOSE 8080/udp", "-c", "LABEL org.tug=imported", "-c", "WORKDIR /etc", "-c", "USER 1000", "-m", "from a tarball", e.TmpDir+"/rootfs.tar.gz", "imported:1")
		if !idRe.MatchString(r.Out) {
			t.Fatalf("import printed %q", r.Out)
		}
		cfg := e.TugOK("image", "inspect", "-f", "{{json .Config.Cmd}} {{json .Config.Env}} {{json .Config.ExposedPorts}} {{.Config.Labels}} {{.Config.WorkingDir}} {{.Config.User}} {{.Comment}} {{.Os}}/{{.Architecture}}", "imported:1").Out
		mustContain(t, cfg, `["/bin/busybox","cat","/etc/hello"] ["GREETING=hi"] {"8080/udp":{}} map[org.tug:imported] /etc 1000 from a tarball linux/amd64`)
		mustContain(t, e.TugOK("history", "imported:1").Out, "from a tarball")
		for _, f := range []string{"rootfs.tar", "rootfs.tar.xz", "rootfs.tar.bz2"} {
			r := e.TugOK("import", e.TmpDir+"/"+f)
			if !idRe.MatchString(r.Out) {
				t.Fatalf("import %s printed %q", f, r.Out)
			}
		}
		// stdin, with a platform; the default message names the source.
		r = e.Sh("$TUG import --platform linux/arm64 - piped:1 < " + e.TmpDir + "/rootfs.tar")
		if r.Code != 0 {
			t.Fatalf("import -: %s", r.Combined())
		}
		mustContain(t, e.TugOK("image", "inspect", "-f", "{{.Architecture}}", "piped:1").Out, "arm64")
		mustContain(t, e.TugOK("history", "piped:1").Out, "Imported from -")

		// A URL, served on 127.0.0.1.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.FileServer(http.Dir(e.TmpDir))}
		go srv.Serve(l)
		defer srv.Close()
		url := "http://" + l.Addr().String() + "/rootfs.tar.gz"
		e.TugOK("import", url, "fromurl")
		mustContain(t, e.TugOK("history", "--no-trunc", "fromurl").Out, "Imported from "+url)
		r = e.TugFail(125, "import", "http://"+l.Addr().String()+"/missing.tar")
		mustContain(t, r.Err, "404")

		// Bad input: a clear error, exit 125, no image.
		before := e.TugOK("images", "-q", "-a").Out
		for args, want := range map[string]string{
			"-c|RUN echo hi|ROOTFS":           "RUN is not a valid change command",
			"-c|EXPOSE 70000|ROOTFS":          "1 to 65535",
			"-c|ENV|ROOTFS":                   "needs an argument",
			"--platform|windows/amd64|ROOTFS": "tug runs linux images",
			"ROOTFS|Bad:Name":                 "invalid reference format",
			"/nonexistent.tar":                "no such file",
			"ETCHELLO":                        "not a tar archive",
		} {
			argv := strings.Split(strings.NewReplacer("ROOTFS", e.TmpDir+"/rootfs.tar", "ETCHELLO", rootfs+"/etc/hello").Replace(args), "|")
			r := e.TugFail(125, append([]string{"import"}, argv...)...)
			mustContain(t, r.Err, want)
		}
		if after := e.TugOK("images", "-q", "-a").Out; after != before {
			t.Fatalf("a failed import changed the images:\n%s\n%s", before, after)
		}
	})
}
