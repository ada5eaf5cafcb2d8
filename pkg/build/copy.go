package build

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"go.podman.io/storage/pkg/archive"
	"go.podman.io/storage/pkg/idtools"
	"golang.org/x/sys/unix"
)

// copyOp is one COPY or ADD, resolved: what to copy where, and as whom.
type copyOp struct {
	sources  []Source
	dest     string // absolute in the container; a trailing / means a directory
	owner    *idPair
	preserve bool         // keep the sources' owners (COPY --from), unless owner is set
	chmod    *fs.FileMode // nil: keep the sources' modes
	extract  bool         // ADD: unpack local tar archives
}

type idPair struct{ uid, gid int }

// apply copies into the root file system at rootfs.
func (op *copyOp) apply(rootfs string) error {
	destDir := strings.HasSuffix(op.dest, "/") || len(op.sources) > 1
	dest := path.Clean(op.dest)
	host, err := securejoin.SecureJoin(rootfs, dest)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(host); err == nil && fi.IsDir() {
		destDir = true
	}
	for _, s := range op.sources {
		switch {
		case s.Dir:
			if err := op.mkdirAll(rootfs, dest, true); err != nil {
				return err
			}
			if err := op.copyTree(rootfs, dest, s.Entries); err != nil {
				return err
			}
		case op.extract && archive.IsArchivePath(s.Entries[0].Host):
			if err := op.mkdirAll(rootfs, dest, false); err != nil {
				return err
			}
			if err := op.untar(rootfs, dest, s.Entries[0].Host); err != nil {
				return err
			}
		default:
			target := dest
			if destDir {
				if err := op.mkdirAll(rootfs, dest, false); err != nil {
					return err
				}
				target = path.Join(dest, path.Base(s.Name))
			} else if err := op.mkdirAll(rootfs, path.Dir(dest), false); err != nil {
				return err
			}
			e := s.Entries[0]
			if err := op.copyEntry(rootfs, target, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// mkdirAll makes dir (absolute in the container) and its missing parents,
// root-owned 0755; own says the last one takes the copy's owner.
func (op *copyOp) mkdirAll(rootfs, dir string, own bool) error {
	dir = path.Clean(dir)
	if dir == "/" {
		return nil
	}
	host, err := securejoin.SecureJoin(rootfs, dir)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(host); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("cannot copy to %s: it is not a directory", dir)
		}
		return nil
	}
	if err := op.mkdirAll(rootfs, path.Dir(dir), false); err != nil {
		return err
	}
	if err := os.Mkdir(host, 0o755); err != nil && !os.IsExist(err) {
		return err
	}
	if own && op.owner != nil {
		return os.Lchown(host, op.owner.uid, op.owner.gid)
	}
	return nil
}

// copyTree copies a directory source's entries into dir.
func (op *copyOp) copyTree(rootfs, dir string, entries []Entry) error {
	for _, e := range entries {
		if e.Rel == "" {
			// The source directory itself: its contents go in, its mode
			// does not change an existing destination.
			continue
		}
		if err := op.copyEntry(rootfs, path.Join(dir, e.Rel), e); err != nil {
			return err
		}
	}
	return nil
}

// copyEntry writes one file, directory or link at target (absolute in the
// container), with its mode, time and owner.
func (op *copyOp) copyEntry(rootfs, target string, e Entry) error {
	parent, err := securejoin.SecureJoin(rootfs, path.Dir(target))
	if err != nil {
		return err
	}
	if _, err := os.Lstat(parent); os.IsNotExist(err) {
		// Its directory was excluded by .dockerignore, not the entry.
		if err := op.mkdirAll(rootfs, path.Dir(target), false); err != nil {
			return err
		}
	}
	host := filepath.Join(parent, path.Base(target))
	mode := e.Info.Mode()
	perm := mode.Perm() | mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
	if op.chmod != nil {
		perm = *op.chmod
	}
	switch {
	case mode.IsDir():
		if fi, err := os.Lstat(host); err == nil && fi.IsDir() {
			break
		}
		os.Remove(host)
		if err := os.Mkdir(host, 0o700); err != nil {
			return err
		}
	case mode&fs.ModeSymlink != 0:
		link, err := os.Readlink(e.Host)
		if err != nil {
			return err
		}
		removeNonDir(host)
		if err := os.Symlink(link, host); err != nil {
			return err
		}
	case mode.IsRegular():
		removeNonDir(host)
		if err := copyFile(e.Host, host); err != nil {
			return err
		}
	default:
		return nil // sockets, devices and pipes are not copied
	}
	if err := op.chown(host, e.Info); err != nil {
		return err
	}
	if mode&fs.ModeSymlink == 0 {
		if err := os.Chmod(host, perm); err != nil {
			return err
		}
	}
	mt := e.Info.ModTime()
	return lutimes(host, mt)
}

func (op *copyOp) chown(host string, info fs.FileInfo) error {
	uid, gid := 0, 0
	switch {
	case op.owner != nil:
		uid, gid = op.owner.uid, op.owner.gid
	case op.preserve:
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	return os.Lchown(host, uid, gid)
}

// untar unpacks a local archive into dir, as ADD does.
func (op *copyOp) untar(rootfs, dir, archivePath string) error {
	host, err := securejoin.SecureJoin(rootfs, dir)
	if err != nil {
		return err
	}
	f, err := os.Open(archivePath)
	if err != nil {
		return err
	}
	defer f.Close()
	opts := &archive.TarOptions{}
	if op.owner != nil {
		opts.ChownOpts = &idtools.IDPair{UID: op.owner.uid, GID: op.owner.gid}
	}
	if err := archive.Untar(f, host, opts); err != nil {
		return fmt.Errorf("extracting %s: %w", filepath.Base(archivePath), err)
	}
	return nil
}

func removeNonDir(p string) {
	if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
		os.Remove(p)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// lutimes sets the times of p, not of what a link points to.
func lutimes(p string, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}
