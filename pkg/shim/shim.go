// Package shim runs tug's per-container processes (the monitor, the exec
// monitor, and through them the container's init) from the small tug-shim
// binary (cmd/tug-shim) instead of the whole of tug: each of them then
// starts in about half the time and page faults. The shim is embedded in
// tug at build time (cmd/tug/shim_embed.go, build tag tugshim) and written
// out on first use into a directory of the data root, named by its
// checksum. Without an embedded shim, or when it cannot be written or
// executed (a read-only or noexec file system), tug runs itself
// (/proc/self/exe) as it always did.
package shim

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// DisableEnv set to 0 runs the per-container processes from tug itself.
const DisableEnv = "TUG_SHIM"

// Self is what runs a per-container process without the shim.
const Self = "/proc/self/exe"

// self is Self but in tests.
var self = Self

// The embedded shim: set once, before main, by cmd/tug's shim_embed.go.
var (
	binary   []byte
	checksum string
)

// Register records the shim tug embeds and its checksum (a hex digest
// computed at build time: hashing the binary at run time would cost more
// than the shim saves).
func Register(b []byte, sum string) {
	binary, checksum = b, strings.TrimSpace(sum)
}

// Embedded reports whether this tug carries a shim.
func Embedded() bool { return len(binary) > 0 && checksum != "" }

// fileName is the shim's name in its directory: one per checksum, so that
// an upgraded tug never runs an older shim, nor overwrites one in use.
func fileName() string { return "tug-shim-" + checksum }

// tempPrefix starts the name of a shim being written.
const tempPrefix = ".tug-shim-"

// staleTemp is how old a temporary file of the current shim must be to be
// taken for a crashed writer's and removed (a live writer takes milliseconds).
const staleTemp = 10 * time.Minute

// Path is the shim in dir, written there first if it is not yet; "" when
// there is none to run (none embedded, TUG_SHIM=0, or it cannot be
// written). dir is made 0700; the shim itself is 0755, owned by the caller
// and written by nobody else.
func Path(dir string) string {
	if !Embedded() || os.Getenv(DisableEnv) == "0" {
		return ""
	}
	p, err := ensure(dir)
	if err != nil {
		return ""
	}
	return p
}

func ensure(dir string) (string, error) {
	if err := ownDir(dir); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fileName())
	if fi, err := os.Lstat(path); err == nil && usable(fi) {
		return path, nil
	}
	// No fsync: what a crash leaves is a file of the wrong size, which
	// usable rejects, or one the kernel cannot execute, which Start removes.
	tmp, err := writeTemp(dir)
	if err != nil {
		return "", err
	}
	// Atomic: a concurrent caller sees no file or a whole one, never a
	// half-written one (two writers of one checksum write the same bytes).
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", err
	}
	removeStale(dir)
	return path, nil
}

// writeTemp writes the shim into a new temporary file of dir. No process
// is forked meanwhile (syscall.ForkLock): a child would inherit the file
// open for writing, until its exec, and executing the shim then fails
// with ETXTBSY.
func writeTemp(dir string) (string, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	f, err := os.CreateTemp(dir, tempPrefix+checksum+"-*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(binary)
	if err == nil {
		err = f.Chmod(0o755)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// ownDir makes dir (0700) or checks that it is the caller's and written by
// no one else: whoever could write there could replace what tug executes.
func ownDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is not a directory of this user", dir)
	}
	if fi.Mode().Perm() != 0o700 {
		return os.Chmod(dir, 0o700)
	}
	return nil
}

// usable reports whether fi is a whole shim: a regular file of the
// embedded size, executable, owned by the caller and not writable by others.
func usable(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode().IsRegular() && fi.Size() == int64(len(binary)) &&
		int(st.Uid) == os.Geteuid() && fi.Mode().Perm()&0o022 == 0 && fi.Mode().Perm()&0o100 != 0
}

// removeStale removes the shims of other checksums (older tug versions;
// their running monitors keep their binary) and temporary files of other
// checksums or of writers that crashed.
func removeStale(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "tug-shim-") && name != fileName():
		case strings.HasPrefix(name, tempPrefix+checksum+"-"):
			fi, err := e.Info()
			if err != nil || time.Since(fi.ModTime()) < staleTemp {
				continue
			}
		case strings.HasPrefix(name, tempPrefix):
		default:
			continue
		}
		os.Remove(filepath.Join(dir, name))
	}
}

// Start starts cmd, a process of the shim (cmd.Path is Self, cmd.Args[0]
// the name the shim dispatches on), from the shim in dir when there is
// one, else (or when executing it fails) from tug itself. It reports
// whether the shim runs it.
func Start(dir string, cmd *exec.Cmd) (shim bool, err error) {
	if p := Path(dir); p != "" {
		cmd.Path = p
		if err := cmd.Start(); err == nil {
			return true, nil
		} else if !execFailed(err) {
			return false, err
		} else if errors.Is(err, syscall.ENOEXEC) {
			os.Remove(p) // not a whole binary: the next call writes it again
		}
		// The shim's file system is noexec, or another tug removed it. A
		// Cmd starts once: the same again, afresh.
		*cmd = exec.Cmd{Args: cmd.Args, Env: cmd.Env, Dir: cmd.Dir, Stdin: cmd.Stdin, Stdout: cmd.Stdout,
			Stderr: cmd.Stderr, ExtraFiles: cmd.ExtraFiles, SysProcAttr: cmd.SysProcAttr}
	}
	cmd.Path = self
	return false, cmd.Start()
}

// execFailed reports whether err is the kernel's refusal to execute the
// file (so that executing another one may work), not a failure to fork.
func execFailed(err error) bool {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return false
	}
	var errno syscall.Errno
	if !errors.As(pe.Err, &errno) {
		return false
	}
	switch errno {
	case syscall.EACCES, syscall.EPERM, syscall.ENOENT, syscall.ENOEXEC, syscall.ETXTBSY, syscall.ENOTDIR, syscall.ELOOP:
		return true
	}
	return false
}
