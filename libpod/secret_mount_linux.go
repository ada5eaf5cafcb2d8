package libpod

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"go.podman.io/storage/pkg/mount"

	"github.com/tug-project/tug/pkg/parse"
)

// Delivering secrets to a container (run --secret). The values of
// type=mount secrets are written to a tmpfs of the container's own, so
// they are in RAM only, never on disk; the container side binds each file
// read-only at its target. type=env secrets come back as KEY=VALUE for the
// container's environment (which tug never logs nor puts in inspect's
// Config.Env: keep them apart there).

// secretsRunDir is the tmpfs holding a container's secret files.
func (r *Runtime) secretsRunDir(containerID string) string {
	return filepath.Join(r.RunRoot, "secrets", containerID)
}

// SecretFile is one secret file to bind read-only into a container.
type SecretFile struct {
	Source string // host path, on the container's secrets tmpfs
	Target string // absolute path in the container
}

// MountSecrets mounts a fresh tmpfs for containerID, writes the type=mount
// secrets into it with their uid, gid and mode, and returns them to bind,
// with the type=env ones as KEY=VALUE. A tmpfs left by an earlier start
// (or a crash) is replaced. Call UnmountSecrets when the container stops.
func (r *Runtime) MountSecrets(containerID string, reqs []parse.SecretRequest) (files []SecretFile, env []string, err error) {
	dir := r.secretsRunDir(containerID)
	if err := r.UnmountSecrets(containerID); err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			r.UnmountSecrets(containerID)
		}
	}()
	for i, req := range reqs {
		_, data, err := r.SecretData(req.Name)
		if err != nil {
			return nil, nil, err
		}
		if req.Type == parse.SecretEnv {
			env = append(env, req.Target+"="+string(data))
			continue
		}
		if files == nil {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, nil, err
			}
			if err := mount.Mount("tmpfs", dir, "tmpfs", "mode=0755,size=16m,nosuid,nodev,noexec"); err != nil {
				return nil, nil, fmt.Errorf("mounting the tmpfs for secrets: %w", err)
			}
		}
		// One file per request: two targets of one secret may differ in owner or mode.
		path := filepath.Join(dir, strconv.Itoa(i)+"-"+req.Name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, nil, err
		}
		if err := os.Chown(path, int(req.UID), int(req.GID)); err != nil {
			return nil, nil, fmt.Errorf("secret %s: uid %d, gid %d: %w", req.Name, req.UID, req.GID, err)
		}
		if err := os.Chmod(path, os.FileMode(req.Mode)); err != nil {
			return nil, nil, err
		}
		files = append(files, SecretFile{Source: path, Target: req.Target})
	}
	return files, env, nil
}

// UnmountSecrets removes a container's secrets tmpfs (nothing if there is none).
func (r *Runtime) UnmountSecrets(containerID string) error {
	dir := r.secretsRunDir(containerID)
	if _, err := os.Lstat(dir); os.IsNotExist(err) {
		return nil
	}
	if err := unmountAll(dir); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}
