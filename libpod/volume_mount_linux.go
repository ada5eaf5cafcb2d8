package libpod

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"syscall"

	"github.com/moby/sys/mountinfo"
	"go.podman.io/storage/pkg/mount"
)

// Mounting volumes that have driver options (-o type=tmpfs, type=none with
// o=bind, ...). A plain volume is a directory and needs nothing.
//
// The mount is shared by every container that uses the volume at the same
// time, and reference-counted in the DB: volume_mounts has one row per
// holder (a container ID). Mount adds the holder and mounts when the
// volume's directory is not mounted yet; Unmount removes it and unmounts
// when no holder is left. Both run inside one write transaction, so they are
// serialized across tug processes. Crash safety: the kernel's mount table,
// not the rows, says whether the volume is mounted, so a row left by a
// crash never stops a later Mount from mounting; a holder left by a
// container whose cleanup never ran is released when that cleanup is
// repaired (the container side calls Unmount then), and a reboot drops
// every row. Rootless, the mount lives in the mount namespace of the pause
// process, which every tug call joins.

// Mount makes the volume's data available for holder (a container ID) and
// returns the host path to bind into the container.
func (v *Volume) Mount(ctx context.Context, holder string) (string, error) {
	o := v.LocalOptions()
	if !o.NeedsMount() {
		// A directory deleted by hand comes back empty rather than failing the start.
		if err := os.MkdirAll(v.Mountpoint(), 0o755); err != nil {
			return "", err
		}
		return v.Mountpoint(), nil
	}
	db, err := v.rt.DB()
	if err != nil {
		return "", err
	}
	err = db.Update(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM volumes WHERE name = ?`, v.Name).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return noSuchVolume(v.Name)
		}
		if _, err := tx.Exec(`INSERT OR IGNORE INTO volume_mounts(volume, holder) VALUES(?, ?)`, v.Name, holder); err != nil {
			return err
		}
		if err := os.MkdirAll(v.Mountpoint(), 0o755); err != nil {
			return err
		}
		if mounted, err := mountinfo.Mounted(v.Mountpoint()); err != nil || mounted {
			return err
		}
		if err := mount.Mount(o.Device, v.Mountpoint(), o.Type, o.Options); err != nil {
			return fmt.Errorf("error while mounting volume '%s': failed to mount local volume: %s", v.Mountpoint(), redactPassword(err.Error()))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return v.Mountpoint(), nil
}

// Unmount releases holder's use of the volume's mount, unmounting it when
// no other container holds it. Releasing a holder that holds nothing is
// not an error, so cleanups may repeat.
func (v *Volume) Unmount(ctx context.Context, holder string) error {
	if !v.LocalOptions().NeedsMount() {
		return nil
	}
	db, err := v.rt.DB()
	if err != nil {
		return err
	}
	return db.Update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM volume_mounts WHERE volume = ? AND holder = ?`, v.Name, holder); err != nil {
			return err
		}
		var left int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM volume_mounts WHERE volume = ?`, v.Name).Scan(&left); err != nil {
			return err
		}
		if left > 0 {
			return nil
		}
		if err := mount.Unmount(v.Mountpoint()); err != nil {
			return fmt.Errorf("unmounting volume %s: %w", v.Name, err)
		}
		return nil
	})
}

var passwordOption = regexp.MustCompile(`password=[^,:]*`)

// redactPassword keeps a cifs password out of error messages, as Docker does.
func redactPassword(s string) string { return passwordOption.ReplaceAllString(s, "password=********") }

// unmountAll unmounts everything mounted at or under dir, deepest first,
// and fails if anything is still mounted there afterwards: the caller is
// about to delete dir, which must never reach into a mounted filesystem
// (a bind-mounted host directory above all).
func unmountAll(dir string) error {
	prefix := dir + "/"
	filter := func(info *mountinfo.Info) (skip, stop bool) {
		return info.Mountpoint != dir && !strings.HasPrefix(info.Mountpoint, prefix), false
	}
	mounts, err := mountinfo.GetMounts(filter)
	if err != nil {
		return err
	}
	if len(mounts) == 0 {
		return nil
	}
	sort.Slice(mounts, func(a, b int) bool { return len(mounts[a].Mountpoint) > len(mounts[b].Mountpoint) })
	for _, m := range mounts {
		mount.Unmount(m.Mountpoint)
	}
	if left, err := mountinfo.GetMounts(filter); err != nil || len(left) > 0 {
		if err == nil {
			err = fmt.Errorf("%s is still mounted", left[0].Mountpoint)
		}
		return fmt.Errorf("cannot remove the volume's data: %w", err)
	}
	return nil
}

// inodeKey identifies a file's inode, to count hard links once.
func inodeKey(info os.FileInfo) ([2]uint64, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || st.Nlink < 2 {
		return [2]uint64{}, false
	}
	return [2]uint64{uint64(st.Dev), st.Ino}, true
}

func init() {
	// A reboot unmounted everything: no volume is held any more.
	rebootHooks = append(rebootHooks, func(tx *sql.Tx) error {
		_, err := tx.Exec(`DELETE FROM volume_mounts`)
		return err
	})
}
