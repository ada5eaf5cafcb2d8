package libpod

import (
	"os"
	"path/filepath"
	"testing"
)

// Paths in a container resolve inside its root, whatever its symlinks say.
func TestResolvePathStaysInTheRoot(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"etc", "tmp", "data"} {
		os.Mkdir(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("container\n"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(root, "tmp/abs"))
	os.Symlink("../../../../../../etc", filepath.Join(root, "tmp/up"))
	os.Symlink("/", filepath.Join(root, "tmp/root"))
	os.Symlink("/data", filepath.Join(root, "tmp/data"))
	cases := map[string]string{
		"/tmp/up/passwd":   root + "/etc/passwd",
		"tmp/root/etc/x":   root + "/etc/x",
		"/tmp/data/":       root + "/data/",
		"/tmp/abs":         root + "/tmp/abs", // the last element is not followed
		"/../../etc":       root + "/etc",
		"/tmp/data/.":      root + "/data/.",
		"/tmp/up/../x":     root + "/tmp/x", // cleaned as text first, as Docker does
		"/":                root + "/",
		"/tmp/root/tmp/up": root + "/tmp/up",
	}
	for in, want := range cases {
		got, _, err := resolvePath(root, in)
		if err != nil || got != want {
			t.Errorf("resolvePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	c := &Container{}
	c.Name = "box"
	st, _, _, err := c.statIn(root, "/tmp/abs")
	if err != nil || st.LinkTarget != "/etc/passwd" || st.Mode&os.ModeSymlink == 0 {
		t.Fatalf("stat of a symlink: %+v %v", st, err)
	}
	st, _, _, err = c.statIn(root, "/tmp/up")
	if err != nil || st.LinkTarget != "/etc" {
		t.Fatalf("a link out of the root resolves inside: %+v %v", st, err)
	}
	if _, _, _, err := c.statIn(root, "/etc/passwd/x"); err == nil {
		t.Fatal("a path under a file must not exist")
	} else if _, ok := err.(*RefusedError); !ok {
		t.Fatalf("want Docker's not-found error, got %v", err)
	}
}
