// Package config reads tug.conf (TOML): storage, registries and log defaults.
// The file is optional; every field has a default that works out of the box.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"
	units "github.com/docker/go-units"
)

// Config is the whole of tug.conf.
type Config struct {
	Storage    Storage    `toml:"storage"`
	Registries Registries `toml:"registries"`
	Containers Containers `toml:"containers"`
	Network    Network    `toml:"network"`
	Events     Events     `toml:"events"`
}

// Network shapes container networking.
type Network struct {
	// AllowHostLoopback lets rootless containers on bridge networks reach
	// the host's loopback at 10.0.2.2 (slirp4netns's gateway); off by
	// default, as in Podman.
	AllowHostLoopback bool `toml:"allow_host_loopback"`
}

// Events bounds the event log.
type Events struct {
	// MaxSize is the size at which the log rotates ("4MB"); one previous
	// file is kept. Empty is the default (4 MiB).
	MaxSize string `toml:"max_size"`
	maxSize int64
}

// MaxSizeBytes is MaxSize read (0: the default).
func (e Events) MaxSizeBytes() int64 { return e.maxSize }

// Storage selects the graph driver; empty means: overlay, then fuse-overlayfs, then vfs.
type Storage struct {
	Driver        string   `toml:"driver"`
	MountProgram  string   `toml:"mount_program"`
	DriverOptions []string `toml:"options"`
}

// Registries says which registries may speak plain HTTP or skip TLS checks,
// and where to look first for docker.io images.
type Registries struct {
	Insecure []string `toml:"insecure"`
	// Mirrors maps a registry host to mirror hosts tried in order before it.
	Mirrors map[string][]string `toml:"mirrors"`
	// Search lists the registries shown in `tug info`; short names always mean docker.io.
	Search []string `toml:"search"`
}

// Containers holds defaults for new containers (log driver, log options).
type Containers struct {
	LogDriver string            `toml:"log_driver"`
	LogOpts   map[string]string `toml:"log_opts"`
}

// Default returns the configuration used when no file exists.
func Default() *Config {
	return &Config{
		Registries: Registries{Search: []string{"docker.io"}},
		Containers: Containers{LogDriver: "json-file"},
	}
}

// DefaultPath is where tug looks for its config when --config is not given.
func DefaultPath(rootless bool) string {
	if !rootless {
		return "/etc/tug/tug.conf"
	}
	if dir := os.Getenv("XDG_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, "tug", "tug.conf")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".config", "tug", "tug.conf")
}

// Load reads path over the defaults. A missing file is not an error unless
// mustExist is set (the user named it with --config).
func Load(path string, mustExist bool) (*Config, error) {
	cfg := Default()
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !mustExist {
			return cfg, nil
		}
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	md, err := toml.Decode(string(data), cfg)
	if err != nil {
		return nil, fmt.Errorf("parsing config file %s: %w", path, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		return nil, fmt.Errorf("config file %s: unknown key %q", path, undecoded[0].String())
	}
	if len(cfg.Registries.Search) == 0 {
		cfg.Registries.Search = []string{"docker.io"}
	}
	if cfg.Containers.LogDriver == "" {
		cfg.Containers.LogDriver = "json-file"
	}
	if cfg.Events.MaxSize != "" {
		n, err := units.RAMInBytes(cfg.Events.MaxSize)
		if err != nil || n < 4096 {
			return nil, fmt.Errorf("config file %s: invalid events.max_size %q: give a size of at least 4KB, such as \"4MB\"", path, cfg.Events.MaxSize)
		}
		cfg.Events.maxSize = n
	}
	return cfg, nil
}
