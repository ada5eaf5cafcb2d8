package libpod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/rootless"
)

// Networks is how the networking code takes part in `system prune` and
// `system reset`; it registers itself with RegisterNetworks. Until it
// does, tug has no networks to prune.
type Networks interface {
	// Prune removes the networks no container uses that pass the filters
	// (until, label, label!) and returns their names.
	Prune(ctx context.Context, r *Runtime, filters parse.Filters) ([]string, error)
	// Reset tears down the host state of every network (bridges, the
	// network namespace), before system reset removes the data root.
	Reset(ctx context.Context, r *Runtime) error
}

var networks Networks

// RegisterNetworks sets the networking side (called by its init).
func RegisterNetworks(n Networks) { networks = n }

// SystemPruneFilters are the --filter keys of system prune.
var SystemPruneFilters = []string{"label", "label!", "until"}

// SystemPruneOptions select what `system prune` removes.
type SystemPruneOptions struct {
	All     bool // every unused image (not only dangling ones) and all build cache
	Volumes bool // anonymous volumes no container uses too
	Filters parse.Filters
}

// SystemPruneReport is what a system prune removed, by kind.
type SystemPruneReport struct {
	Containers []PrunedContainer
	Networks   []string
	Volumes    []PrunedVolume
	Images     []image.Deletion
	BuildCache []string
	Reclaimed  int64 // bytes, all kinds together
}

// SystemPrune removes what nothing uses, in the order that frees the most:
// stopped containers first (they hold images, volumes and networks), then
// networks, volumes (with Volumes), images, and the build cache. Each kind
// is decided and removed with the same guards as its own prune command, so
// nothing a concurrent `tug run` is using goes.
func (r *Runtime) SystemPrune(ctx context.Context, opts SystemPruneOptions) (*SystemPruneReport, error) {
	if opts.Volumes && opts.Filters.Has("until") {
		return nil, fmt.Errorf(`the "until" filter is not supported with "--volumes"`)
	}
	if _, err := newPruneMatcher(opts.Filters, time.Now()); err != nil {
		return nil, err
	}
	rep := &SystemPruneReport{}
	var errs []error
	ctrs, err := r.PruneContainers(opts.Filters)
	if err != nil {
		errs = append(errs, err)
	}
	rep.Containers = ctrs
	for _, c := range ctrs {
		rep.Reclaimed += c.Size
	}
	if networks != nil {
		nets, err := networks.Prune(ctx, r, opts.Filters)
		if err != nil {
			errs = append(errs, err)
		}
		rep.Networks = nets
	}
	if opts.Volumes {
		vf := VolumeFilters{"label": opts.Filters["label"], "label!": opts.Filters["label!"]}
		vols, err := r.PruneVolumes(ctx, vf, false)
		if err != nil {
			errs = append(errs, err)
		}
		rep.Volumes = vols
		for _, v := range vols {
			rep.Reclaimed += v.Size
		}
	}
	ir, err := r.Images()
	if err != nil {
		return rep, errors.Join(append(errs, err)...)
	}
	dels, freed, err := ir.Prune(image.PruneOptions{All: opts.All, Filters: opts.Filters})
	if err != nil {
		errs = append(errs, err)
	}
	rep.Images, rep.Reclaimed = dels, rep.Reclaimed+freed
	if buildCache != nil {
		ids, freed, err := buildCache.Prune(r, opts.All, opts.Filters)
		if err != nil {
			errs = append(errs, err)
		}
		rep.BuildCache, rep.Reclaimed = ids, rep.Reclaimed+freed
	}
	return rep, errors.Join(errs...)
}

// Reset removes everything tug keeps for this root: it removes every
// container (killing running ones), tears the networks down, then deletes
// the data root's and the run root's contents (images, volumes, secrets,
// the state database, the event log, the build cache) once nothing is
// mounted under them any more, and stops the pause process. The Runtime
// is unusable afterwards.
func (r *Runtime) Reset(ctx context.Context) error {
	var errs []error
	if ctrs, err := r.Containers(); err == nil {
		for _, c := range ctrs {
			pid, start := c.State.MonitorPid, c.State.MonitorStart
			if err := c.RemoveWith(RemoveOptions{Force: true, Volumes: true}); err != nil && !errors.Is(err, ErrNoSuchContainer) {
				errs = append(errs, fmt.Errorf("container %s: %w", c.ShortID(), err))
			}
			// Its monitor (become its cleanup) must be gone before the
			// state it would write to is.
			for i := 0; i < 1000 && alive(pid, start); i++ {
				time.Sleep(10 * time.Millisecond)
			}
		}
	} else {
		errs = append(errs, err)
	}
	if networks != nil {
		if err := networks.Reset(ctx, r); err != nil {
			errs = append(errs, fmt.Errorf("networks: %w", err))
		}
	}
	if r.store != nil {
		if _, err := r.store.Shutdown(true); err != nil {
			logrus.Debugf("storage shutdown: %v", err)
		}
		r.store = nil
	}
	if r.db != nil {
		r.db.Close()
		r.db = nil
	}
	// Never delete into a mount: a volume may bind a host directory.
	for _, dir := range []string{r.Root, r.RunRoot} {
		if err := unmountAll(dir); err != nil {
			return errors.Join(append(errs, fmt.Errorf("%s: %w: nothing was deleted there", dir, err))...)
		}
	}
	pausePid := 0
	if r.Rootless {
		pid, err := rootless.StopPause(r.RunRoot)
		if err != nil {
			errs = append(errs, fmt.Errorf("stopping the pause process: %w", err))
		}
		pausePid = pid
	}
	for _, dir := range []string{r.Root, r.RunRoot} {
		if err := removeContents(dir); err != nil {
			errs = append(errs, err)
		}
	}
	logrus.Debugf("reset: pause process %d stopped", pausePid)
	return errors.Join(errs...)
}

// removeContents deletes what dir holds, keeping dir itself (a --root
// given by the user stays, with its owner and mode).
func removeContents(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	var errs []error
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MigrateReport is what `system migrate` did.
type MigrateReport struct {
	SchemaFrom, SchemaTo int
	Migrated             bool
	Stopped              []string // names of the containers stopped (rootless)
	PausePid             int      // the pause process stopped (rootless), 0 if none
}

// Migrate brings the state database to this tug's schema (opening it does
// that; Migrate says what it found) and, rootless, stops the running
// containers and the pause process, so that the next call makes a new
// user namespace with the sub-ID ranges configured now, as podman's
// `system migrate` does.
func (r *Runtime) Migrate(ctx context.Context) (*MigrateReport, error) {
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	rep := &MigrateReport{SchemaTo: SchemaVersion}
	rep.SchemaFrom, rep.Migrated = db.Migrated()
	if !rep.Migrated {
		rep.SchemaFrom = SchemaVersion
	}
	if !r.Rootless {
		return rep, nil
	}
	ctrs, err := r.Containers()
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, c := range ctrs {
		if !c.Running() {
			continue
		}
		timeout := time.Duration(c.StopTimeout) * time.Second
		if c.StopTimeout < 0 {
			timeout = -1
		}
		if err := c.Stop(timeout); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", c.Name, err))
			continue
		}
		rep.Stopped = append(rep.Stopped, c.Name)
	}
	sort.Strings(rep.Stopped)
	if len(errs) == 0 {
		if rep.PausePid, err = rootless.StopPause(r.RunRoot); err != nil {
			errs = append(errs, fmt.Errorf("stopping the pause process: %w", err))
		}
	}
	return rep, errors.Join(errs...)
}
