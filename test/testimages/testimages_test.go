package testimages

import (
	"os"
	"testing"
)

func TestImagesBuildAndAreDeterministic(t *testing.T) {
	if _, err := os.Stat(BusyboxPath); err != nil {
		t.Skip("busybox-static is not installed")
	}
	a, err := MultiLayer()
	if err != nil {
		t.Fatal(err)
	}
	b, err := MultiLayer()
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("two builds differ: %s %s", da, db)
	}
	layers, _ := a.Layers()
	if len(layers) != 3 {
		t.Fatalf("multilayer has %d layers", len(layers))
	}
	idx, err := MultiArch()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 2 || m.Manifests[1].Platform.Architecture != "arm64" {
		t.Fatalf("index: %v %+v", err, m)
	}
	cfg, err := Config()
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := cfg.ConfigFile()
	if cf.Config.User != "tuguser" || len(cf.Config.Volumes) != 1 || cf.Config.WorkingDir != "/work" {
		t.Fatalf("config image: %+v", cf.Config)
	}
}
