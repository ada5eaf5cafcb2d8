package libpod

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// containerLock is the lock of one container: two tug processes changing
// the same container queue on it, others never do. It is one byte of the
// run root's containers.lock, at an offset taken from the container's ID,
// held with an open file description lock (F_OFD_SETLKW): like flock, it
// belongs to this open of the file, so two locks of one container in one
// process queue too, and a killed holder's lock goes with its process.
// One file for all containers, made once: a lock file per container was a
// file created and deleted by every run, and on ext4 without a journal each
// new inode costs more the more were deleted in the last half minute.
type containerLock struct{ f *os.File }

// containerLockFile is the run root's file of container locks.
const containerLockFile = "containers.lock"

func (r *Runtime) lockContainer(id string) (*containerLock, error) {
	f, err := os.OpenFile(filepath.Join(r.RunRoot, containerLockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if os.IsNotExist(err) {
		if err := os.MkdirAll(r.RunRoot, 0o700); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(filepath.Join(r.RunRoot, containerLockFile), os.O_RDWR|os.O_CREATE, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("locking container %s: %w", shortLockID(id), err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: lockOffset(id), Len: 1}
	for {
		err = unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLKW, &lk)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking container %s: %w", shortLockID(id), err)
	}
	return &containerLock{f: f}, nil
}

// lockOffset is the byte of containers.lock that locks container id: the
// first 60 bits of the ID (random hex), so two containers share a byte
// with odds of 2^-60.
func lockOffset(id string) int64 {
	if len(id) >= 15 {
		if n, err := strconv.ParseInt(id[:15], 16, 64); err == nil {
			return n
		}
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return int64(h.Sum64() >> 4)
}

func shortLockID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func (l *containerLock) unlock() {
	if l != nil && l.f != nil {
		l.f.Close() // closing the file's only descriptor releases the lock
		l.f = nil
	}
}
