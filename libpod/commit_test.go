package libpod

import (
	"archive/tar"
	"bytes"
	"reflect"
	"testing"

	"go.podman.io/storage/pkg/archive"
)

func TestFilterChangesDropsMountTargets(t *testing.T) {
	in := []archive.Change{
		{Path: "/etc", Kind: archive.ChangeModify},
		{Path: "/etc/hostname", Kind: archive.ChangeAdd},
		{Path: "/etc/hosts", Kind: archive.ChangeAdd},
		{Path: "/etc/resolv.conf", Kind: archive.ChangeAdd},
		{Path: "/new", Kind: archive.ChangeAdd},
		{Path: "/run", Kind: archive.ChangeAdd},
		{Path: "/run/secrets", Kind: archive.ChangeAdd},
		{Path: "/run/secrets/x", Kind: archive.ChangeAdd},
	}
	got := filterChanges(in, map[string]bool{"/run/secrets/x": true})
	// /etc, /run and /run/secrets are there only for the targets.
	want := []Change{{"A", "/new"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	in = append(in[:1], append([]archive.Change{{Path: "/etc/arch", Kind: archive.ChangeDelete}}, in[1:]...)...)
	got = filterChanges(in, nil)
	want = []Change{{"C", "/etc"}, {"D", "/etc/arch"}, {"A", "/new"}, {"A", "/run"}, {"A", "/run/secrets"}, {"A", "/run/secrets/x"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestCopyLayerTarLeavesOutEmptyMountTargets(t *testing.T) {
	var src bytes.Buffer
	tw := tar.NewWriter(&src)
	add := func(name string, typ byte, body string) {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: typ, Size: int64(len(body)), Mode: 0o644})
		tw.Write([]byte(body))
	}
	add("etc/", tar.TypeDir, "")
	add("etc/hosts", tar.TypeReg, "")
	add("etc/motd", tar.TypeReg, "hi")
	add("proc/", tar.TypeDir, "")
	add("run/", tar.TypeDir, "")
	add("run/x", tar.TypeReg, "")
	add("srv/", tar.TypeDir, "")
	add("srv/a/", tar.TypeDir, "")
	add("srv/a/f", tar.TypeReg, "data")
	add("srv/b/", tar.TypeDir, "")
	tw.Close()
	var dst bytes.Buffer
	if err := copyLayerTar(&dst, &src, map[string]bool{"/run": true, "/run/x": true, "/srv": true, "/srv/a": true, "/srv/b": true}); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&dst)
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	if want := []string{"etc/", "etc/motd", "srv/", "srv/a/", "srv/a/f"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("got %v, want %v", names, want)
	}
}
