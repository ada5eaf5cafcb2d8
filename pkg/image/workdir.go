package image

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// WorkDir is a private temporary directory under the runtime's tmp dir,
// held by a lock file beside it (NAME.lock) for as long as this process
// uses it. The lock dies with the process, so the next call can tell a
// killed pull's leftovers from a running pull's files and remove them at once.
type WorkDir struct {
	Path string
	lock *os.File
}

const lockSuffix = ".lock"

// NewWorkDir makes a locked work directory, first removing the ones whose
// owners are gone.
func (r *Runtime) NewWorkDir(prefix string) (*WorkDir, error) {
	if err := os.MkdirAll(r.tmpDir, 0o700); err != nil {
		return nil, err
	}
	r.cleanStaleTemp()
	// The lock exists and is held before the directory does, so a directory
	// whose lock can be taken is garbage.
	lock, err := os.CreateTemp(r.tmpDir, prefix+"*"+lockSuffix)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		lock.Close()
		os.Remove(lock.Name())
		return nil, err
	}
	dir := strings.TrimSuffix(lock.Name(), lockSuffix)
	if err := os.Mkdir(dir, 0o700); err != nil {
		lock.Close()
		os.Remove(lock.Name())
		return nil, err
	}
	return &WorkDir{Path: dir, lock: lock}, nil
}

// Remove deletes the directory and releases its lock.
func (w *WorkDir) Remove() error {
	err := os.RemoveAll(w.Path)
	os.Remove(w.lock.Name())
	w.lock.Close()
	return err
}

// removeIfAbandoned removes dir and its lock file when no live process holds
// the lock, and reports whether dir had one at all.
func removeIfAbandoned(dir string) (locked bool) {
	f, err := os.Open(dir + lockSuffix)
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return true // in use
	}
	os.RemoveAll(dir)
	os.Remove(dir + lockSuffix)
	return true
}

// cleanLockedLeftovers removes the abandoned locked work dirs among entries
// and returns the names it did not judge (dirs without a lock file).
func (r *Runtime) cleanLockedLeftovers(entries []os.DirEntry) []os.DirEntry {
	var rest []os.DirEntry
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, lockSuffix) {
			dir := strings.TrimSuffix(name, lockSuffix)
			if !names[dir] {
				// A lock without its directory: a creator died between the two
				// steps, or is between them now; only the lock decides.
				removeIfAbandoned(filepath.Join(r.tmpDir, dir))
			}
			continue
		}
		if names[name+lockSuffix] {
			removeIfAbandoned(filepath.Join(r.tmpDir, name))
			continue
		}
		rest = append(rest, e)
	}
	return rest
}
