package libpod

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/moby/sys/mountinfo"
)

func newTestRuntime(t *testing.T, root string) *Runtime {
	t.Helper()
	rt, err := NewRuntime(Options{Root: root, RunRoot: filepath.Join(root, "run"), ConfigPath: ""})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Shutdown)
	return rt
}

// insertTestContainer inserts a bare container row and records its volumes,
// in one transaction, as the container code does.
func insertTestContainer(t *testing.T, rt *Runtime, id string, reqs ...VolumeRequest) []*Volume {
	t.Helper()
	vols, err := tryInsertTestContainer(rt, id, reqs...)
	if err != nil {
		t.Fatal(err)
	}
	return vols
}

func tryInsertTestContainer(rt *Runtime, id string, reqs ...VolumeRequest) ([]*Volume, error) {
	db, err := rt.DB()
	if err != nil {
		return nil, err
	}
	var vols []*Volume
	var cleanup []string
	err = db.Update(context.Background(), func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO containers(id, name, created, config, state) VALUES(?, ?, 0, '{}', '{}')`, id, "n-"+id); err != nil {
			return err
		}
		vols, cleanup, err = rt.useVolumesTx(tx, id, reqs)
		return err
	})
	if err != nil {
		for _, d := range cleanup {
			os.RemoveAll(d)
		}
	}
	return vols, err
}

func deleteTestContainer(t *testing.T, rt *Runtime, id string, removeAnonymous bool) {
	t.Helper()
	db, _ := rt.DB()
	var trash []detachedVolume
	err := db.Update(context.Background(), func(tx *sql.Tx) error {
		var err error
		if trash, err = rt.releaseVolumesTx(tx, id, removeAnonymous); err != nil {
			return err
		}
		_, err = tx.Exec(`DELETE FROM containers WHERE id = ?`, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range trash {
		removeTrash(d.Trash)
	}
}

// The volumes migration applies to a DB made by the first schema, with
// containers in it, and leaves them alone.
func TestVolumeMigrationOnExistingDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tug.db")
	saved := migrations
	migrations = saved[:1]
	SchemaVersion = 1
	db, err := OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.Exec(`INSERT INTO containers(id, name, created, config, state) VALUES('c1', 'web', 0, '{}', '{}')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	migrations, SchemaVersion = saved, len(saved)
	db, err = OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, _ := db.version(); v != SchemaVersion {
		t.Fatalf("version %d, want %d", v, SchemaVersion)
	}
	var n int
	db.sql.QueryRow(`SELECT COUNT(*) FROM containers`).Scan(&n)
	if n != 1 {
		t.Fatalf("containers lost in the migration: %d", n)
	}
	for _, table := range []string{"volumes", "container_volumes", "volume_mounts", "secrets"} {
		if _, err := db.sql.Exec(`SELECT COUNT(*) FROM ` + table); err != nil {
			t.Fatalf("table %s: %v", table, err)
		}
	}
}

func TestCreateVolumeLayoutAndIdempotence(t *testing.T) {
	root := t.TempDir()
	rt := newTestRuntime(t, root)
	ctx := context.Background()
	v, created, err := rt.CreateVolume(ctx, VolumeCreateOptions{Name: "my-data", Labels: map[string]string{"a": "b"}})
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if want := filepath.Join(root, "volumes", "my-data", "_data"); v.Mountpoint() != want {
		t.Fatalf("mountpoint %s, want %s", v.Mountpoint(), want)
	}
	for _, d := range []string{v.Dir(), v.Mountpoint()} {
		if info, err := os.Stat(d); err != nil || info.Mode().Perm() != 0o755 {
			t.Fatalf("%s: %v %v", d, info, err)
		}
	}
	again, created, err := rt.CreateVolume(ctx, VolumeCreateOptions{Name: "my-data"})
	if err != nil || created || again.Labels["a"] != "b" {
		t.Fatalf("second create: created=%v labels=%v err=%v", created, again.Labels, err)
	}
	in := v.Inspect()
	if in.Driver != "local" || in.Scope != "local" || in.Options == nil || in.Name != "my-data" || !strings.Contains(in.CreatedAt, "T") {
		t.Fatalf("inspect: %+v", in)
	}

	anon, _, err := rt.CreateVolume(ctx, VolumeCreateOptions{})
	if err != nil || len(anon.Name) != 64 || !anon.Anonymous() {
		t.Fatalf("anonymous: %+v %v", anon, err)
	}
	for _, bad := range []VolumeCreateOptions{
		{Name: "a/b"}, {Name: "x"}, {Name: "ok", Driver: "nfs"},
		{Name: "ok", Options: map[string]string{"type": "tmpfs"}},
		{Name: "ok", Options: map[string]string{"bogus": "1"}},
	} {
		if _, _, err := rt.CreateVolume(ctx, bad); err == nil || !strings.HasPrefix(err.Error(), "create ") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if _, err := rt.LookupVolume("ok"); !errors.Is(err, ErrNoSuchVolume) {
		t.Fatalf("a refused create left a volume: %v", err)
	}
}

// A directory left by a create that never committed does not leak its
// content into a new volume of that name.
func TestCreateVolumeEmptiesLeftoverDirectory(t *testing.T) {
	root := t.TempDir()
	rt := newTestRuntime(t, root)
	stale := filepath.Join(root, "volumes", "again", "_data")
	os.MkdirAll(stale, 0o755)
	os.WriteFile(filepath.Join(stale, "old.txt"), []byte("x"), 0o644)
	v, _, err := rt.CreateVolume(context.Background(), VolumeCreateOptions{Name: "again"})
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(v.Mountpoint()); len(entries) != 0 {
		t.Fatalf("new volume holds %v", entries)
	}
}

func TestRootlessRefusesUnmountableVolumeTypes(t *testing.T) {
	rt := newTestRuntime(t, t.TempDir())
	rt.Rootless = true
	ctx := context.Background()
	_, _, err := rt.CreateVolume(ctx, VolumeCreateOptions{Name: "disk", Options: map[string]string{"type": "ext4", "device": "/dev/sdz1"}})
	if err == nil || !strings.Contains(err.Error(), "rootless") {
		t.Fatalf("ext4 rootless: %v", err)
	}
	for _, ok := range []map[string]string{
		{"type": "tmpfs", "device": "tmpfs", "o": "size=1m"},
		{"type": "none", "device": "/srv", "o": "bind"},
	} {
		if _, _, err := rt.CreateVolume(ctx, VolumeCreateOptions{Name: "v" + ok["type"], Options: ok}); err != nil {
			t.Fatalf("%v: %v", ok, err)
		}
	}
}

func TestListFilters(t *testing.T) {
	rt := newTestRuntime(t, t.TempDir())
	ctx := context.Background()
	rt.CreateVolume(ctx, VolumeCreateOptions{Name: "alpha", Labels: map[string]string{"env": "prod", "team": "a"}})
	rt.CreateVolume(ctx, VolumeCreateOptions{Name: "beta", Labels: map[string]string{"env": "dev"}})
	rt.CreateVolume(ctx, VolumeCreateOptions{Name: "gamma"})
	insertTestContainer(t, rt, "c1", VolumeRequest{Name: "beta"})
	names := func(f VolumeFilters) string {
		t.Helper()
		vols, err := rt.Volumes(f)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, v := range vols {
			n = append(n, v.Name)
		}
		return strings.Join(n, ",")
	}
	for _, c := range []struct {
		f    VolumeFilters
		want string
	}{
		{nil, "alpha,beta,gamma"},
		{VolumeFilters{"name": {"a$"}}, "alpha,beta,gamma"},
		{VolumeFilters{"name": {"^al"}}, "alpha"},
		{VolumeFilters{"name": {"alp", "gam"}}, "alpha,gamma"},
		{VolumeFilters{"label": {"env"}}, "alpha,beta"},
		{VolumeFilters{"label": {"env=prod"}}, "alpha"},
		{VolumeFilters{"label": {"env", "team=a"}}, "alpha"},
		{VolumeFilters{"dangling": {"true"}}, "alpha,gamma"},
		{VolumeFilters{"dangling": {"false"}}, "beta"},
		{VolumeFilters{"driver": {"local"}}, "alpha,beta,gamma"},
		{VolumeFilters{"driver": {"nfs"}}, ""},
	} {
		if got := names(c.f); got != c.want {
			t.Errorf("%v: %q, want %q", c.f, got, c.want)
		}
	}
	for _, bad := range []VolumeFilters{{"name": {"("}}, {"dangling": {"maybe"}}, {"dangling": {"true", "false"}}} {
		if _, err := rt.Volumes(bad); err == nil {
			t.Errorf("%v: expected an error", bad)
		}
	}
	vols, _ := rt.Volumes(VolumeFilters{"name": {"beta"}})
	if vols[0].Links != 1 {
		t.Fatalf("links %d", vols[0].Links)
	}
}

func TestRemoveRefusesVolumeInUseEvenByStoppedContainer(t *testing.T) {
	rt := newTestRuntime(t, t.TempDir())
	ctx := context.Background()
	vols := insertTestContainer(t, rt, "c1", VolumeRequest{Name: "shared"})
	insertTestContainer(t, rt, "c2", VolumeRequest{Name: "shared"})
	err := rt.RemoveVolume(ctx, "shared")
	if !errors.Is(err, ErrVolumeInUse) || err.Error() != "remove shared: volume is in use - [c1, c2]" {
		t.Fatalf("in use: %v", err)
	}
	if _, err := os.Stat(vols[0].Mountpoint()); err != nil {
		t.Fatalf("a refused removal touched the data: %v", err)
	}
	deleteTestContainer(t, rt, "c1", true)
	deleteTestContainer(t, rt, "c2", true)
	if _, err := rt.LookupVolume("shared"); err != nil {
		t.Fatalf("rm -v removed a named volume: %v", err)
	}
	if err := rt.RemoveVolume(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(vols[0].Dir()); !os.IsNotExist(err) {
		t.Fatalf("data left after rm: %v", err)
	}
	if err := rt.RemoveVolume(ctx, "shared"); !errors.Is(err, ErrNoSuchVolume) {
		t.Fatalf("second rm: %v", err)
	}
}

func TestReleaseRemovesAnonymousVolumesOnlyWhenAsked(t *testing.T) {
	rt := newTestRuntime(t, t.TempDir())
	vols := insertTestContainer(t, rt, "c1", VolumeRequest{}, VolumeRequest{Name: "named"})
	anon := vols[0]
	if !anon.Anonymous() || len(anon.Name) != 64 {
		t.Fatalf("anonymous volume %+v", anon)
	}
	insertTestContainer(t, rt, "c2", VolumeRequest{Name: anon.Name}) // --volumes-from
	deleteTestContainer(t, rt, "c1", true)
	if _, err := rt.LookupVolume(anon.Name); err != nil {
		t.Fatalf("an anonymous volume still used by c2 was removed: %v", err)
	}
	deleteTestContainer(t, rt, "c2", false)
	if _, err := rt.LookupVolume(anon.Name); err != nil {
		t.Fatalf("rm without -v removed the anonymous volume: %v", err)
	}
	insertTestContainer(t, rt, "c3", VolumeRequest{Name: anon.Name})
	deleteTestContainer(t, rt, "c3", true)
	if _, err := rt.LookupVolume(anon.Name); !errors.Is(err, ErrNoSuchVolume) {
		t.Fatalf("rm -v kept the anonymous volume: %v", err)
	}
	if _, err := os.Stat(anon.Dir()); !os.IsNotExist(err) {
		t.Fatalf("its data is left: %v", err)
	}
}

func TestPruneAnonymousByDefaultAllWithFlag(t *testing.T) {
	rt := newTestRuntime(t, t.TempDir())
	ctx := context.Background()
	named, _, _ := rt.CreateVolume(ctx, VolumeCreateOptions{Name: "named", Labels: map[string]string{"demo": ""}})
	os.WriteFile(filepath.Join(named.Mountpoint(), "f"), make([]byte, 1000), 0o644)
	rt.CreateVolume(ctx, VolumeCreateOptions{Name: "kept", Labels: map[string]string{"demo": "", "keep": "yes"}})
	anon, _, _ := rt.CreateVolume(ctx, VolumeCreateOptions{})
	used := insertTestContainer(t, rt, "c1", VolumeRequest{})[0]

	gone, err := rt.PruneVolumes(ctx, nil, false)
	if err != nil || len(gone) != 1 || gone[0].Name != anon.Name {
		t.Fatalf("prune: %+v %v", gone, err)
	}
	gone, err = rt.PruneVolumes(ctx, VolumeFilters{"label": {"demo"}, "label!": {"keep=yes"}}, true)
	if err != nil || len(gone) != 1 || gone[0].Name != "named" || gone[0].Size != 1000 {
		t.Fatalf("prune -a label: %+v %v", gone, err)
	}
	gone, err = rt.PruneVolumes(ctx, VolumeFilters{"all": {"true"}}, false)
	if err != nil || len(gone) != 1 || gone[0].Name != "kept" {
		t.Fatalf("prune all=true: %+v %v", gone, err)
	}
	if _, err := rt.LookupVolume(used.Name); err != nil {
		t.Fatalf("prune removed a volume in use: %v", err)
	}
	if _, err := rt.PruneVolumes(ctx, VolumeFilters{"all": {"perhaps"}}, false); err == nil {
		t.Fatal("all=perhaps accepted")
	}
}

// Prune never removes a volume that a container is registering at the same
// moment, and never removes the data of a volume created again right after
// its removal. Two runtimes on one root stand for two tug processes.
func TestPruneAndConcurrentUseNeverLoseAVolumeInUse(t *testing.T) {
	root := t.TempDir()
	user, pruner := newTestRuntime(t, root), newTestRuntime(t, root)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var pruned int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			gone, err := pruner.PruneVolumes(ctx, nil, true)
			if err != nil {
				t.Error(err)
				return
			}
			pruned += len(gone)
		}
	}()
	for i := 0; i < 300; i++ {
		id := fmt.Sprintf("c%03d", i)
		vols, err := tryInsertTestContainer(user, id, VolumeRequest{Name: "hot"})
		if err != nil {
			t.Fatal(err)
		}
		// Registered: the volume and its data must stay until the container goes.
		marker := filepath.Join(vols[0].Mountpoint(), id)
		if err := os.WriteFile(marker, []byte(id), 0o644); err != nil {
			t.Fatalf("volume data gone while in use: %v", err)
		}
		if _, err := user.LookupVolume("hot"); err != nil {
			t.Fatalf("volume gone while in use: %v", err)
		}
		if _, err := os.Stat(marker); err != nil {
			t.Fatalf("volume data removed while in use: %v", err)
		}
		deleteTestContainer(t, user, id, false)
	}
	close(stop)
	wg.Wait()
	if pruned == 0 {
		t.Log("the pruner never won a race; the test still checked the invariant")
	}
}

func TestMountTmpfsVolumeIsSharedAndReleased(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	rt := newTestRuntime(t, t.TempDir())
	ctx := context.Background()
	v, _, err := rt.CreateVolume(ctx, VolumeCreateOptions{Name: "mem", Options: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m,mode=0750"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unmountAll(v.Dir()) })
	isMounted := func() bool {
		ok, err := mountinfo.Mounted(v.Mountpoint())
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return ok
	}
	for _, holder := range []string{"c1", "c2", "c2"} {
		if p, err := v.Mount(ctx, holder); err != nil || p != v.Mountpoint() {
			t.Fatalf("mount for %s: %s %v", holder, p, err)
		}
	}
	if !isMounted() {
		t.Fatal("not mounted")
	}
	if info, _ := os.Stat(v.Mountpoint()); info.Mode().Perm() != 0o750 {
		t.Fatalf("tmpfs options not applied: %v", info.Mode())
	}
	os.WriteFile(filepath.Join(v.Mountpoint(), "x"), []byte("in memory"), 0o644)
	v.Unmount(ctx, "c1")
	if !isMounted() {
		t.Fatal("unmounted while c2 holds it")
	}
	if err := rt.RemoveVolume(ctx, "mem"); err != nil {
		// Not in container_volumes in this test, so removal goes ahead and
		// must take the stale mount down first.
		t.Fatal(err)
	}
	if isMounted() {
		t.Fatal("removal left the tmpfs mounted")
	}
}

func TestMountBindVolumeAndRemovalKeepsHostData(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "precious"), []byte("keep me"), 0o644)
	rt := newTestRuntime(t, t.TempDir())
	ctx := context.Background()
	v, _, err := rt.CreateVolume(ctx, VolumeCreateOptions{Name: "hostdir", Options: map[string]string{"type": "none", "device": host, "o": "bind"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unmountAll(v.Dir()) })
	if _, err := v.Mount(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(v.Mountpoint(), "precious")); err != nil || string(data) != "keep me" {
		t.Fatalf("bind not mounted: %q %v", data, err)
	}
	// A crash left it mounted with nobody using it: removal unmounts first.
	if err := rt.RemoveVolume(ctx, "hostdir"); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(host, "precious")); err != nil || string(data) != "keep me" {
		t.Fatalf("removing the volume touched the host directory: %q %v", data, err)
	}
	bad, _, _ := rt.CreateVolume(ctx, VolumeCreateOptions{Name: "missing", Options: map[string]string{"type": "none", "device": "/nonexistent/dir", "o": "bind"}})
	if _, err := bad.Mount(ctx, "c1"); err == nil || !strings.Contains(err.Error(), "error while mounting volume") {
		t.Fatalf("mount of a missing device: %v", err)
	}
	var n int
	db, _ := rt.DB()
	db.sql.QueryRow(`SELECT COUNT(*) FROM volume_mounts WHERE volume = 'missing'`).Scan(&n)
	if n != 0 {
		t.Fatal("a failed mount left a holder")
	}
}

func TestRedactPassword(t *testing.T) {
	if got := redactPassword("mount //h/s, data: username=u,password=hunter2,vers=3: permission denied"); strings.Contains(got, "hunter2") {
		t.Fatal(got)
	}
}

func TestCopyUpFillsAnEmptyVolumeOnce(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("keeping owners needs root")
	}
	rt := newTestRuntime(t, t.TempDir())
	rootfs := t.TempDir()
	data := filepath.Join(rootfs, "data")
	os.MkdirAll(filepath.Join(data, "sub"), 0o750)
	os.Chown(data, 1000, 1001)
	os.Chmod(data, 0o770)
	os.WriteFile(filepath.Join(data, "seed.txt"), []byte("seed"), 0o640)
	os.Chown(filepath.Join(data, "seed.txt"), 1000, 1001)
	os.Symlink("/etc/passwd", filepath.Join(data, "link"))
	// A symlink in the image is resolved inside the rootfs, never on the host.
	os.Symlink("/data", filepath.Join(rootfs, "alias"))
	os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755)

	v, _, _ := rt.CreateVolume(context.Background(), VolumeCreateOptions{Name: "seeded"})
	copied, err := v.CopyUp(rootfs, "/alias")
	if err != nil || !copied {
		t.Fatalf("copy-up: %v %v", copied, err)
	}
	info, err := os.Stat(filepath.Join(v.Mountpoint(), "seed.txt"))
	if err != nil || info.Mode().Perm() != 0o640 || info.Sys().(*syscall.Stat_t).Uid != 1000 || info.Sys().(*syscall.Stat_t).Gid != 1001 {
		t.Fatalf("seed.txt: %v %v", info, err)
	}
	root, _ := os.Stat(v.Mountpoint())
	if root.Mode().Perm() != 0o770 || root.Sys().(*syscall.Stat_t).Uid != 1000 {
		t.Fatalf("the volume's root did not take the image directory's owner and mode: %v", root.Mode())
	}
	if target, err := os.Readlink(filepath.Join(v.Mountpoint(), "link")); err != nil || target != "/etc/passwd" {
		t.Fatalf("symlink: %q %v", target, err)
	}
	// Not empty any more: a second container's copy-up leaves it alone.
	os.WriteFile(filepath.Join(v.Mountpoint(), "seed.txt"), []byte("changed"), 0o640)
	if copied, err := v.CopyUp(rootfs, "/data"); copied || err != nil {
		t.Fatalf("second copy-up: %v %v", copied, err)
	}
	if b, _ := os.ReadFile(filepath.Join(v.Mountpoint(), "seed.txt")); string(b) != "changed" {
		t.Fatalf("second copy-up overwrote data: %q", b)
	}
	other, _, _ := rt.CreateVolume(context.Background(), VolumeCreateOptions{Name: "nothing"})
	if copied, err := other.CopyUp(rootfs, "/missing"); copied || err != nil {
		t.Fatalf("copy-up of nothing: %v %v", copied, err)
	}
	if err := ChownTree(v.Mountpoint(), 2000, 2000); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat(filepath.Join(v.Mountpoint(), "link")); st.Sys().(*syscall.Stat_t).Uid != 2000 {
		t.Fatal("ChownTree missed the symlink")
	}
	if st, _ := os.Stat("/etc/passwd"); st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Fatal("ChownTree followed a symlink")
	}
}
