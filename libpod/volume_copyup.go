package libpod

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"go.podman.io/storage/pkg/archive"
	"golang.org/x/sys/unix"
)

// CopyUp fills an empty volume with what the container's image has at
// dest (Docker's behaviour for a new named or anonymous volume, unless the
// mount says nocopy): files, directories, symlinks, hard links, owners,
// modes, times and extended attributes, and the owner and mode of dest
// itself. rootfs is the container's mounted root file system; dest is
// resolved inside it, so a symlink in the image cannot point the copy
// elsewhere on the host. A volume that holds anything is left alone, as is
// one when the image has nothing at dest. Call it after Mount, before the
// container starts. It reports whether it copied.
func (v *Volume) CopyUp(rootfs, dest string) (bool, error) {
	src, err := securejoin.SecureJoin(rootfs, dest)
	if err != nil {
		return false, err
	}
	info, err := os.Lstat(src)
	if err != nil || !info.IsDir() {
		return false, nil // nothing (or a file) there: the volume starts empty
	}
	// Two containers starting on one new volume copy once.
	dir, err := os.Open(v.Dir())
	if err != nil {
		return false, err
	}
	defer dir.Close()
	if err := unix.Flock(int(dir.Fd()), unix.LOCK_EX); err != nil {
		return false, err
	}
	defer unix.Flock(int(dir.Fd()), unix.LOCK_UN)
	data := v.Mountpoint()
	if entries, err := os.ReadDir(data); err != nil || len(entries) > 0 {
		return false, err
	}
	if empty, err := isEmptyDir(src); err != nil || empty {
		return false, err
	}
	if err := archive.NewDefaultArchiver().CopyWithTar(src, data); err != nil {
		return false, fmt.Errorf("copying the image's %s into volume %s: %w", dest, v.Name, err)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(data, int(st.Uid), int(st.Gid)); err != nil {
			return true, err
		}
	}
	return true, os.Chmod(data, info.Mode()&(fs.ModePerm|fs.ModeSticky|fs.ModeSetuid|fs.ModeSetgid))
}

func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return len(names) == 0, err
}

// ChownTree gives path and everything under it to uid:gid (the :U mount
// option: the container's user owns the volume or bind mount). Symlinks
// are changed themselves, never followed.
func ChownTree(path string, uid, gid int) error {
	return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
