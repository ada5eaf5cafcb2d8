package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testRegistry is go-containerregistry's in-process registry behind a
// front that makes it behave like a real one where tests need it: blobs are
// visible only in the repositories they were pushed to or mounted into,
// cross-repository mounts work, and basic auth can be required. It counts
// blob downloads and can corrupt or cut them.
type testRegistry struct {
	t    *testing.T
	srv  *httptest.Server
	Host string

	mu        sync.Mutex
	linked    map[string]bool // repo@digest
	blobGets  int
	mounts    int
	user      string
	password  string
	corrupt   bool          // flip a byte in every blob download
	cutAfter  int           // end blob downloads after this many bytes (0: never)
	slowBlobs time.Duration // pause in the middle of every layer download
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	tr := &testRegistry{t: t, linked: map[string]bool{}}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	tr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		tr.serve(inner, w, req)
	}))
	t.Cleanup(tr.srv.Close)
	tr.Host = strings.TrimPrefix(tr.srv.URL, "http://")
	return tr
}

func (tr *testRegistry) requireAuth(user, password string) {
	tr.mu.Lock()
	tr.user, tr.password = user, password
	tr.mu.Unlock()
}

// splitBlobPath reads /v2/<repo>/blobs/<rest>.
func splitBlobPath(p string) (repo, rest string, ok bool) {
	p = strings.TrimPrefix(p, "/v2/")
	i := strings.Index(p, "/blobs/")
	if i < 0 {
		return "", "", false
	}
	return p[:i], p[i+len("/blobs/"):], true
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

func (tr *testRegistry) serve(inner http.Handler, w http.ResponseWriter, req *http.Request) {
	tr.mu.Lock()
	user, password := tr.user, tr.password
	tr.mu.Unlock()
	if user != "" {
		u, p, ok := req.BasicAuth()
		if !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
	}
	repo, rest, isBlob := splitBlobPath(req.URL.Path)
	switch {
	case isBlob && (req.Method == http.MethodGet || req.Method == http.MethodHead) && !strings.HasPrefix(rest, "uploads"):
		tr.mu.Lock()
		visible := tr.linked[repo+"@"+rest]
		if req.Method == http.MethodGet && visible {
			tr.blobGets++
		}
		corrupt, cut, slow := tr.corrupt, tr.cutAfter, tr.slowBlobs
		tr.mu.Unlock()
		if !visible {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}`)
			return
		}
		if req.Method == http.MethodGet && (corrupt || cut > 0 || slow > 0) {
			rec := httptest.NewRecorder()
			inner.ServeHTTP(rec, req)
			body := rec.Body.Bytes()
			if corrupt && len(body) > 4096 { // layers, not configs
				body = append([]byte(nil), body...)
				body[len(body)/2] ^= 0xff
			}
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.WriteHeader(rec.Code)
			if cut > 0 && cut < len(body) {
				w.Write(body[:cut])
				w.(http.Flusher).Flush()
				if hj, ok := w.(http.Hijacker); ok {
					if conn, _, err := hj.Hijack(); err == nil {
						conn.Close()
					}
				}
				return
			}
			if slow > 0 && len(body) > 64<<10 { // layers, not configs
				half := len(body) / 2
				w.Write(body[:half])
				w.(http.Flusher).Flush()
				select {
				case <-time.After(slow):
				case <-req.Context().Done():
					return
				}
				w.Write(body[half:])
				return
			}
			w.Write(body)
			return
		}
	case isBlob && req.Method == http.MethodPost && req.URL.Query().Get("mount") != "":
		d, from := req.URL.Query().Get("mount"), req.URL.Query().Get("from")
		tr.mu.Lock()
		ok := from != "" && tr.linked[from+"@"+d]
		if ok {
			tr.linked[repo+"@"+d] = true
			tr.mounts++
		}
		tr.mu.Unlock()
		if ok {
			w.Header().Set("Location", "/v2/"+repo+"/blobs/"+d)
			w.Header().Set("Docker-Content-Digest", d)
			w.WriteHeader(http.StatusCreated)
			return
		}
		q := req.URL.Query()
		q.Del("mount")
		q.Del("from")
		req.URL.RawQuery = q.Encode()
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	inner.ServeHTTP(rec, req)
	if isBlob && req.Method == http.MethodPut && rec.status == http.StatusCreated {
		if d := req.URL.Query().Get("digest"); d != "" {
			tr.mu.Lock()
			tr.linked[repo+"@"+d] = true
			tr.mu.Unlock()
		}
	}
}

func (tr *testRegistry) gets() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.blobGets
}

func (tr *testRegistry) set(f func(tr *testRegistry)) {
	tr.mu.Lock()
	f(tr)
	tr.mu.Unlock()
}

func (tr *testRegistry) ref(s string) name.Reference {
	tr.t.Helper()
	r, err := name.ParseReference(tr.Host+"/"+s, name.Insecure)
	if err != nil {
		tr.t.Fatal(err)
	}
	return r
}

func (tr *testRegistry) auth() remote.Option {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.user == "" {
		return remote.WithAuth(authn.Anonymous)
	}
	return remote.WithAuth(&authn.Basic{Username: tr.user, Password: tr.password})
}

func (tr *testRegistry) push(s string, img v1.Image) {
	tr.t.Helper()
	if err := remote.Write(tr.ref(s), img, tr.auth()); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *testRegistry) pushIndex(s string, idx v1.ImageIndex) {
	tr.t.Helper()
	if err := remote.WriteIndex(tr.ref(s), idx, tr.auth()); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *testRegistry) digest(s string) string {
	tr.t.Helper()
	d, err := remote.Head(tr.ref(s), tr.auth())
	if err != nil {
		tr.t.Fatal(err)
	}
	return d.Digest.String()
}

// testLayer is a gzip layer (go-containerregistry's compression) of one file.
func testLayer(t *testing.T, fileName string, body []byte) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: fileName, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)})
	tw.Write(body)
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testImage is a Docker schema 2 image of n layers with random content, for arch.
func testImage(t *testing.T, arch string, n, size int, seed int64) v1.Image {
	t.Helper()
	rnd := rand.New(rand.NewSource(seed))
	cfg := &v1.ConfigFile{OS: "linux", Architecture: arch, RootFS: v1.RootFS{Type: "layers"}, Config: v1.Config{Cmd: []string{"sh"}}}
	img, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.DockerManifestSchema2)
	img = mutate.ConfigMediaType(img, types.DockerConfigJSON)
	for i := 0; i < n; i++ {
		body := make([]byte, size)
		rnd.Read(body)
		if img, err = mutate.AppendLayers(img, testLayer(t, fmt.Sprintf("file%d", i), body)); err != nil {
			t.Fatal(err)
		}
	}
	return img
}
