// Package libpod is tug's engine: the runtime that owns the storage store,
// the state database and the objects (containers, volumes, networks) in them.
package libpod

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/sirupsen/logrus"
	"go.podman.io/storage"
	_ "go.podman.io/storage/drivers/register" // overlay and vfs graph drivers
	"go.podman.io/storage/types"

	"github.com/tug-project/tug/pkg/config"
	"github.com/tug-project/tug/pkg/events"
	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/startslot"
	"github.com/tug-project/tug/rootless"
)

// Options are the global flags that shape a Runtime.
type Options struct {
	Root       string // data root (--root)
	RunRoot    string // runtime root (--runroot)
	ConfigPath string // --config; empty means the default path, which may be missing
}

// Runtime is one tug call's handle on the engine. Open it with NewRuntime,
// release it with Shutdown.
type Runtime struct {
	Config   *config.Config
	Root     string
	RunRoot  string
	Rootless bool

	configPath string // --config as given, passed on to the processes tug starts

	storeOnce sync.Once
	store     storage.Store
	storeErr  error
	driver    string // as shown by `tug info`

	dbOnce sync.Once
	db     *DB
	dbErr  error

	slot     *startslot.Slot // this call's turn to create/start (start_slot.go)
	slotHeld bool
}

// NewRuntime reads the config and prepares the directories. The store and the
// database open lazily on first use, so commands that need neither stay fast.
func NewRuntime(opts Options) (*Runtime, error) {
	rt := &Runtime{Root: opts.Root, RunRoot: opts.RunRoot, Rootless: rootless.IsRootless(), configPath: opts.ConfigPath}
	if rt.Root == "" {
		rt.Root = DefaultDataRoot()
	}
	if rt.RunRoot == "" {
		rt.RunRoot = DefaultRunRoot()
	}
	var err error
	if rt.Root, err = filepath.Abs(rt.Root); err != nil {
		return nil, err
	}
	if rt.RunRoot, err = filepath.Abs(rt.RunRoot); err != nil {
		return nil, err
	}
	cfgPath, mustExist := opts.ConfigPath, true
	if cfgPath == "" {
		cfgPath, mustExist = config.DefaultPath(rt.Rootless), false
	}
	if rt.Config, err = config.Load(cfgPath, mustExist); err != nil {
		return nil, err
	}
	for _, dir := range []string{rt.Root, rt.RunRoot} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	return rt, nil
}

// DB returns the state database, opening and migrating it on first use and
// resetting state that a reboot has made stale.
func (r *Runtime) DB() (*DB, error) {
	r.dbOnce.Do(func() {
		r.db, r.dbErr = OpenDB(filepath.Join(r.Root, "tug.db"))
		if r.dbErr == nil {
			r.dbErr = r.db.checkBoot()
		}
	})
	return r.db, r.dbErr
}

// Store returns the image and layer store, choosing the graph driver on first
// use: the configured one, else kernel overlay, else overlay through
// fuse-overlayfs, else vfs.
func (r *Runtime) Store() (storage.Store, error) {
	r.storeOnce.Do(func() { r.store, r.driver, r.storeErr = r.openStore() })
	return r.store, r.storeErr
}

// StorageDriver names the graph driver in use ("overlay", "overlay (fuse-overlayfs)", "vfs").
func (r *Runtime) StorageDriver() string {
	if _, err := r.Store(); err != nil {
		return "unknown"
	}
	return r.driver
}

type driverChoice struct {
	name, label string
	options     []string
}

func (r *Runtime) driverChoices() []driverChoice {
	cfg := r.Config.Storage
	extra := append([]string(nil), cfg.DriverOptions...)
	if rootless.SingleIDMapping() {
		// With one ID mapped, files owned by other IDs in a layer cannot be chowned.
		extra = append(extra, "overlay.ignore_chown_errors=true", "vfs.ignore_chown_errors=true")
	}
	if cfg.Driver != "" {
		opts := extra
		label := cfg.Driver
		if cfg.MountProgram != "" {
			opts = append(opts, "overlay.mount_program="+cfg.MountProgram)
			label += " (" + filepath.Base(cfg.MountProgram) + ")"
		}
		return []driverChoice{{cfg.Driver, label, opts}}
	}
	choices := []driverChoice{{"overlay", "overlay", extra}}
	if fuse, err := exec.LookPath("fuse-overlayfs"); err == nil {
		choices = append(choices, driverChoice{"overlay", "overlay (fuse-overlayfs)", append(append([]string(nil), extra...), "overlay.mount_program="+fuse)})
	}
	return append(choices, driverChoice{"vfs", "vfs", extra})
}

func (r *Runtime) openStore() (storage.Store, string, error) {
	var errs []error
	for _, c := range r.driverChoices() {
		opts := types.StoreOptions{
			GraphRoot:          filepath.Join(r.Root, "storage"),
			RunRoot:            filepath.Join(r.RunRoot, "storage"),
			GraphDriverName:    c.name,
			GraphDriverOptions: c.options,
		}
		store, err := storage.GetStore(opts)
		if err == nil {
			if _, err = store.GraphDriver(); err == nil {
				return store, c.label, nil
			}
			store.Shutdown(true)
		}
		logrus.Debugf("storage driver %s unusable: %v", c.label, err)
		errs = append(errs, fmt.Errorf("%s: %w", c.label, err))
	}
	return nil, "", fmt.Errorf("no usable storage driver: %w", errors.Join(errs...))
}

// Shutdown releases the store and the database.
func (r *Runtime) Shutdown() {
	r.ShutdownAtExit()
	if r.db != nil {
		r.db.Close()
	}
}

// ShutdownAtExit is Shutdown for a process about to exit: the database is
// left open. The last connection to close checkpoints the WAL into the
// database and deletes it (two fsyncs, and a WAL file and a directory
// fsync for the next call to make again): on every tug call. Exiting with
// it open is what a killed tug does, which SQLite is made for; the WAL is
// kept short by its checkpoints instead (dbConnect).
func (r *Runtime) ShutdownAtExit() {
	trace("shutdown")
	defer TraceMemory()
	defer trace("shutdown done")
	if r.store != nil {
		if _, err := r.store.Shutdown(false); err != nil {
			logrus.Debugf("storage shutdown: %v", err)
		}
	}
}

// Images returns the image side of the engine.
func (r *Runtime) Images() (*image.Runtime, error) {
	store, err := r.Store()
	if err != nil {
		return nil, err
	}
	ir := image.New(store, r.Config, filepath.Join(r.Root, "tmp"))
	ir.InUse = r.imageUsers
	ir.Events = func(action, id string, attrs map[string]string) { r.WriteEvent(events.TypeImage, action, id, attrs) }
	return ir, nil
}

// imageUsers lists the containers made from an image, with whether each runs:
// rmi refuses to remove an image they use, image prune keeps it.
func (r *Runtime) imageUsers(imageID string) ([]image.ContainerUse, error) {
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.Query(`SELECT `+containerColumns+` FROM containers WHERE image_id = ?`, imageID)
	if err != nil {
		return nil, err
	}
	var ctrs []*Container
	for rows.Next() {
		c, err := r.scanContainer(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		ctrs = append(ctrs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]image.ContainerUse, 0, len(ctrs))
	for _, c := range ctrs {
		c.sync()
		out = append(out, image.ContainerUse{ID: c.ID, Running: c.Running() || c.State.Status == StatusPaused})
	}
	return out, nil
}

// StorageDriverName is the graph driver's name ("overlay", "vfs") without
// opening the store when it is not open yet.
func (r *Runtime) StorageDriverName() string {
	if r.store != nil {
		return r.store.GraphDriverName()
	}
	if r.Config.Storage.Driver != "" {
		return r.Config.Storage.Driver
	}
	return "overlay"
}
