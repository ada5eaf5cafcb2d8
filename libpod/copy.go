package libpod

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"go.podman.io/storage/pkg/archive"
	"go.podman.io/storage/pkg/chrootarchive"
	"go.podman.io/storage/pkg/idtools"
)

// PathStat describes a path in a container (as Docker's ContainerPathStat).
type PathStat struct {
	Name       string
	Size       int64
	Mode       os.FileMode
	Mtime      time.Time
	LinkTarget string // a symlink's target, fully resolved in the container
}

// CopyOptions shape a cp.
type CopyOptions struct {
	FollowLink bool // -L: copy what a symlink source points to
	Archive    bool // -a: keep the source's owners (else: the destination's user)
	Stdin      io.Reader
	Stdout     io.Writer
}

// fsRoot returns the directory where the container's filesystem is seen
// from here, and what to call when done. A running container is seen
// through its root, /proc/PID/root, with every mount it has; a stopped one
// gets its storage mounted (under its lock, so that no start meanwhile
// unmounts it). Every copy in or out runs chrooted there: a symlink in the
// container cannot lead outside it.
func (c *Container) fsRoot() (string, func(), error) {
	if c.Running() && c.State.Pid > 0 {
		root := fmt.Sprintf("/proc/%d/root", c.State.Pid)
		if _, err := os.Stat(root); err == nil {
			return root, func() {}, nil
		}
	}
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return "", nil, err
	}
	if err := c.reload(); err != nil {
		lock.unlock()
		return "", nil, err
	}
	c.syncLocked()
	if c.Running() && c.State.Pid > 0 {
		// Started meanwhile.
		lock.unlock()
		return c.fsRoot()
	}
	store, err := c.rt.Store()
	if err != nil {
		lock.unlock()
		return "", nil, err
	}
	root, err := store.Mount(c.ID, "")
	if err != nil {
		lock.unlock()
		return "", nil, fmt.Errorf("mounting the filesystem of container %s: %w", c.Name, err)
	}
	return root, func() {
		store.Unmount(c.ID, false)
		lock.unlock()
	}, nil
}

func (c *Container) noSuchPath(path string) error {
	return &RefusedError{fmt.Sprintf("Could not find the file %s in container %s", path, c.Name)}
}

// resolvePath resolves a container path under root as Docker does: every
// symlink but the last element's is followed, inside root.
func resolvePath(root, path string) (resolved, abs string, err error) {
	abs = archive.PreserveTrailingDotOrSeparator(filepath.Join("/", path), path)
	dir, base := filepath.Split(abs)
	rdir, err := securejoin.SecureJoin(root, dir)
	if err != nil {
		return "", "", err
	}
	return rdir + "/" + base, abs, nil
}

func (c *Container) statIn(root, path string) (*PathStat, string, string, error) {
	resolved, abs, err := resolvePath(root, path)
	if err != nil {
		return nil, "", "", err
	}
	fi, err := os.Lstat(resolved)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, "", "", c.noSuchPath(path)
		}
		return nil, "", "", err
	}
	st := &PathStat{Name: filepath.Base(abs), Size: fi.Size(), Mode: fi.Mode(), Mtime: fi.ModTime()}
	if fi.Mode()&os.ModeSymlink != 0 {
		full, err := securejoin.SecureJoin(root, abs)
		if err != nil {
			return nil, "", "", err
		}
		rel, err := filepath.Rel(root, full)
		if err != nil {
			return nil, "", "", err
		}
		st.LinkTarget = filepath.Join("/", rel)
	}
	return st, resolved, abs, nil
}

// StatPath describes path in the container.
func (c *Container) StatPath(path string) (*PathStat, error) {
	root, release, err := c.fsRoot()
	if err != nil {
		return nil, err
	}
	defer release()
	st, _, _, err := c.statIn(root, path)
	return st, err
}

// archivePath is a tar stream of path in the container, its entries named
// after the path's last element (Docker's archive of a container path).
func (c *Container) archivePath(path string) (io.ReadCloser, *PathStat, error) {
	root, release, err := c.fsRoot()
	if err != nil {
		return nil, nil, err
	}
	st, resolved, abs, err := c.statIn(root, path)
	if err != nil {
		release()
		return nil, nil, err
	}
	resolved = filepath.Clean(resolved)
	sourceDir, sourceBase := resolved, "."
	if !st.Mode.IsDir() {
		sourceDir, sourceBase = filepath.Split(resolved)
	}
	opts := &archive.TarOptions{
		Compression:      archive.Uncompressed,
		IncludeFiles:     []string{sourceBase},
		IncludeSourceDir: true,
		RebaseNames:      map[string]string{sourceBase: filepath.Base(abs)},
	}
	data, err := chrootarchive.Tar(sourceDir, opts, root)
	if err != nil {
		release()
		return nil, nil, err
	}
	return &releasingReader{ReadCloser: data, release: release}, st, nil
}

type releasingReader struct {
	io.ReadCloser
	release func()
	done    bool
}

func (r *releasingReader) Close() error {
	err := r.ReadCloser.Close()
	if !r.done {
		r.done = true
		r.release()
	}
	return err
}

// extractToDir unpacks a tar stream into dir, a directory of the container
// (symlinks followed inside it), chrooted in the container's root.
func (c *Container) extractToDir(dir string, content io.Reader, keepOwners bool) error {
	root, release, err := c.fsRoot()
	if err != nil {
		return err
	}
	defer release()
	abs := archive.PreserveTrailingDotOrSeparator(filepath.Join("/", dir), dir)
	resolved, err := securejoin.SecureJoin(root, abs)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(resolved)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return c.noSuchPath(dir)
		}
		return err
	}
	if !fi.IsDir() {
		return &RefusedError{"extraction point is not a directory"}
	}
	if c.Spec.ReadOnly {
		return &RefusedError{"container rootfs is marked read-only"}
	}
	opts := &archive.TarOptions{NoOverwriteDirNonDir: true, InUserNS: c.rt.Rootless}
	if !keepOwners {
		opts.ChownOpts = &idtools.IDPair{UID: 0, GID: 0}
	}
	return chrootarchive.UntarWithRoot(content, resolved, opts, root)
}

// countingReader counts what was read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (cr *countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	cr.n += int64(n)
	return n, err
}

// resolveLocalPath makes a local path absolute, keeping a trailing / or /.
func resolveLocalPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return archive.PreserveTrailingDotOrSeparator(abs, p), nil
}

// CopyFromContainer copies srcPath of the container to dstPath on the host
// ("-": a tar stream on o.Stdout), with Docker's rules for trailing / and
// /. and for what exists at the destination. It returns the bytes copied.
func (c *Container) CopyFromContainer(srcPath, dstPath string, o CopyOptions) (int64, error) {
	if dstPath != "-" {
		var err error
		if dstPath, err = resolveLocalPath(dstPath); err != nil {
			return 0, err
		}
		if parent := filepath.Dir(filepath.Clean(dstPath)); parent != "" {
			if _, err := os.Stat(parent); os.IsNotExist(err) {
				return 0, fmt.Errorf("invalid output path: directory %q does not exist", parent)
			}
		}
	}
	var rebaseName string
	if o.FollowLink {
		if st, err := c.StatPath(srcPath); err == nil && st.Mode&os.ModeSymlink != 0 {
			target := st.LinkTarget
			if !filepath.IsAbs(target) {
				parent, _ := archive.SplitPathDirEntry(srcPath)
				target = filepath.Join(parent, target)
			}
			target, rebaseName = archive.GetRebaseName(srcPath, target)
			srcPath = target
		}
	}
	content, st, err := c.archivePath(srcPath)
	if err != nil {
		return 0, err
	}
	defer content.Close()
	counted := &countingReader{r: content}
	if dstPath == "-" {
		_, err := io.Copy(o.Stdout, counted)
		return counted.n, err
	}
	srcInfo := archive.CopyInfo{Path: srcPath, Exists: true, IsDir: st.Mode.IsDir(), RebaseName: rebaseName}
	var pre io.Reader = counted
	if rebaseName != "" {
		_, srcBase := archive.SplitPathDirEntry(srcInfo.Path)
		pre = archive.RebaseArchiveEntries(counted, srcBase, rebaseName)
	}
	dstInfo, err := archive.CopyInfoDestinationPath(dstPath)
	if err != nil {
		return 0, copyError(err, dstPath)
	}
	dstDir, prepared, err := archive.PrepareArchiveCopy(pre, srcInfo, dstInfo)
	if err != nil {
		return 0, copyError(err, dstPath)
	}
	defer prepared.Close()
	opts := &archive.TarOptions{NoLchown: !o.Archive, NoOverwriteDirNonDir: true, InUserNS: c.rt.Rootless}
	if err := archive.Untar(prepared, dstDir, opts); err != nil {
		return counted.n, err
	}
	return counted.n, nil
}

// CopyToContainer copies srcPath on the host ("-": a tar stream read from
// o.Stdin) to dstPath in the container, running or stopped.
func (c *Container) CopyToContainer(srcPath, dstPath string, o CopyOptions) (int64, error) {
	if srcPath != "-" {
		var err error
		if srcPath, err = resolveLocalPath(srcPath); err != nil {
			return 0, err
		}
	}
	dstInfo := archive.CopyInfo{Path: dstPath}
	st, err := c.StatPath(dstPath)
	var refused *RefusedError
	if err != nil && !errors.As(err, &refused) {
		return 0, err
	}
	if err == nil && st.Mode&os.ModeSymlink != 0 {
		target := st.LinkTarget
		if !filepath.IsAbs(target) {
			parent, _ := archive.SplitPathDirEntry(dstPath)
			target = filepath.Join(parent, target)
		}
		dstInfo.Path = target
		st, err = c.StatPath(target)
	}
	if err == nil {
		if !st.Mode.IsDir() && !st.Mode.IsRegular() {
			return 0, &RefusedError{fmt.Sprintf("destination \"%s:%s\" must be a directory or a regular file", c.Name, dstPath)}
		}
		dstInfo.Exists, dstInfo.IsDir = true, st.Mode.IsDir()
	}
	var content io.Reader
	var dstDir string
	if srcPath == "-" {
		if !dstInfo.IsDir {
			return 0, &RefusedError{fmt.Sprintf("destination \"%s:%s\" must be a directory", c.Name, dstPath)}
		}
		content, dstDir = o.Stdin, dstInfo.Path
	} else {
		srcInfo, err := archive.CopyInfoSourcePath(srcPath, o.FollowLink)
		if err != nil {
			return 0, err
		}
		src, err := archive.TarResource(srcInfo)
		if err != nil {
			return 0, err
		}
		defer src.Close()
		dir, prepared, err := archive.PrepareArchiveCopy(src, srcInfo, dstInfo)
		if err != nil {
			return 0, copyError(err, c.Name+":"+dstPath)
		}
		defer prepared.Close()
		content, dstDir = prepared, dir
	}
	counted := &countingReader{r: content}
	err = c.extractToDir(dstDir, counted, o.Archive)
	return counted.n, err
}

// copyError words the archive package's errors as Docker's CLI does.
func copyError(err error, dst string) error {
	switch {
	case errors.Is(err, archive.ErrCannotCopyDir):
		return &RefusedError{fmt.Sprintf("cannot copy directory: %s is not a directory", strings.TrimSuffix(dst, "/"))}
	case errors.Is(err, archive.ErrDirNotExists):
		return &RefusedError{fmt.Sprintf("destination directory %s does not exist: create it first, or drop the trailing /", dst)}
	case errors.Is(err, archive.ErrNotDirectory):
		return &RefusedError{fmt.Sprintf("the parent of %s is not a directory", dst)}
	}
	return err
}
