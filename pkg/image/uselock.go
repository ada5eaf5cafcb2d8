package image

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The image use lock closes the window between looking an image up and
// creating a container on it: a creator holds it shared for that span
// (HoldImages), a removal (rmi, image prune) holds it exclusively while it
// decides what is unused and deletes it. So a prune racing `tug run` either
// sees the new container and keeps the image, or deletes the image before
// the run looks it up (and pulls it again).

func (r *Runtime) useLock(how int) (func(), error) {
	path := filepath.Join(r.store.RunRoot(), "tug-image-use.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// HoldImages keeps images from being removed until release is called:
// hold it from the lookup of a new container's image to the creation of
// its storage container.
func (r *Runtime) HoldImages() (release func(), err error) { return r.useLock(unix.LOCK_SH) }

// lockRemoval is held by removals while they check and delete.
func (r *Runtime) lockRemoval() (func(), error) { return r.useLock(unix.LOCK_EX) }
