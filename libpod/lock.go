package libpod

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// containerLock is a file lock of one container in the run root: two tug
// processes changing the same container queue on it, others never do.
type containerLock struct{ f *os.File }

func (r *Runtime) lockContainer(id string) (*containerLock, error) {
	dir := filepath.Join(r.RunRoot, "locks")
	path := filepath.Join(dir, id)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if os.IsNotExist(err) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("locking container %s: %w", id[:12], err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking container %s: %w", id[:12], err)
	}
	return &containerLock{f: f}, nil
}

func (l *containerLock) unlock() {
	if l != nil && l.f != nil {
		l.f.Close() // closing releases the flock
		l.f = nil
	}
}

// removeLock deletes a removed container's lock file.
func (r *Runtime) removeLock(id string) {
	os.Remove(filepath.Join(r.RunRoot, "locks", id))
}
