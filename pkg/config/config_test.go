package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadMissingFileGivesDefaults(t *testing.T) {
	cfg, err := Load(filepath.Join(t.TempDir(), "none.conf"), false)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Containers.LogDriver != "json-file" || cfg.Registries.Search[0] != "docker.io" {
		t.Fatalf("unexpected defaults: %+v", cfg)
	}
}

func TestLoadMissingNamedFileFails(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none.conf"), true); err == nil {
		t.Fatal("expected an error for a missing --config file")
	}
}

func TestLoadReadsRegistriesAndRejectsUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.conf")
	os.WriteFile(good, []byte("[registries]\ninsecure = [\"reg.example:5000\"]\n[registries.mirrors]\n\"docker.io\" = [\"127.0.0.1:5000\"]\n"), 0o644)
	cfg, err := Load(good, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Registries.Insecure[0] != "reg.example:5000" || cfg.Registries.Mirrors["docker.io"][0] != "127.0.0.1:5000" {
		t.Fatalf("registries not read: %+v", cfg.Registries)
	}
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("[storage]\ndriverr = \"vfs\"\n"), 0o644)
	if _, err := Load(bad, true); err == nil || !strings.Contains(err.Error(), "driverr") {
		t.Fatalf("expected unknown key error, got %v", err)
	}
}

func TestLoadEventsMaxSize(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.conf")
	os.WriteFile(good, []byte("[events]\nmax_size = \"1MB\"\n"), 0o644)
	cfg, err := Load(good, true)
	if err != nil || cfg.Events.MaxSizeBytes() != 1<<20 {
		t.Fatalf("max_size: %v %v", cfg, err)
	}
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("[events]\nmax_size = \"lots\"\n"), 0o644)
	if _, err := Load(bad, true); err == nil || !strings.Contains(err.Error(), "events.max_size") {
		t.Fatalf("bad max_size: %v", err)
	}
}
