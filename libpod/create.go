package libpod

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"go.podman.io/storage"

	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/logs"
	"github.com/tug-project/tug/pkg/oci"
	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/specgen"
)

// ErrNameInUse is returned when a container name is taken.
var ErrNameInUse = errors.New("name in use")

// NoCommandError says neither the user nor the image gave a command.
var ErrNoCommand = errors.New("No command specified")

// CreateContainer creates a container from a validated spec on img: a
// state DB row (which reserves the name), then the storage container (its
// read-write layer). If a step fails, the earlier ones are undone; if tug is
// killed between them, the row is there for `ps -a` to show and `rm` to remove.
func (r *Runtime) CreateContainer(ctx context.Context, spec *specgen.Spec, img *image.Image) (*Container, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if err := logs.Check(spec.Log.Driver); err != nil {
		return nil, &specgen.ValidationError{Err: err}
	}
	if err := r.checkResources(spec.Resources); err != nil {
		return nil, err
	}
	if err := r.resolveNetworks(spec); err != nil {
		return nil, err
	}
	if other := spec.NetworkContainer(); other != "" {
		oc, err := r.lookupContainer(other)
		if err != nil {
			return nil, &specgen.ValidationError{Err: fmt.Errorf("joining the network of container %s: %w", other, err)}
		}
		// By ID, as Docker records it: a rename of the other must not break it.
		spec.Network = "container:" + oc.ID
	}
	r.TakeStartSlot()
	go warmJSON() // on the other core, before the row and the spec are encoded
	c := &Container{rt: r}
	c.ID = newID()
	c.Created = time.Now().UTC()
	c.Spec = *spec
	c.ImageID = img.ID
	c.ImageName = spec.Image
	if err := c.fillFromImage(img); err != nil {
		return nil, err
	}
	c.State = ContainerState{Status: StatusCreated, CreatorPid: os.Getpid(), CreatorStart: procStartTime(os.Getpid())}
	for _, s := range spec.Secrets {
		if _, err := r.LookupSecret(s.Name); err != nil {
			return nil, &specgen.ValidationError{Err: fmt.Errorf("--secret %s: %w", s.Name, err)}
		}
	}
	mounts, from, err := r.resolveMounts(spec, c.Volumes)
	if err != nil {
		return nil, err
	}
	c.Mounts = mounts

	trace("create: begin")
	var newVolumes []string
	err = r.insertContainer(c, func(tx *sql.Tx) (cleanup []string, err error) {
		newVolumes, cleanup, err = r.recordMountsTx(tx, c, from)
		return cleanup, err
	})
	if err != nil {
		return nil, err
	}
	for _, v := range newVolumes {
		r.volumeEvent(v, "create", nil)
	}
	trace("create: row inserted")
	store, err := r.Store()
	trace("create: store opened")
	if err == nil {
		_, err = store.CreateContainer(c.ID, nil, img.ID, "", `{"tug":true}`, &storage.ContainerOptions{Volatile: spec.AutoRemove})
	}
	if err != nil {
		if gone, err := r.deleteContainerRow(c.ID, true); err == nil {
			for _, v := range gone {
				r.volumeEvent(v, "destroy", nil)
			}
		}
		return nil, fmt.Errorf("creating the container's storage: %w", err)
	}
	trace("create: storage container")
	r.writeEvent(c, "create", nil)
	return c, nil
}

// fillFromImage computes the container's effective configuration: the
// user's values over the image's, as Docker merges them.
func (c *Container) fillFromImage(img *image.Image) error {
	spec := &c.Spec
	var ic struct {
		Entrypoint, Cmd, Env []string
		WorkingDir, User     string
		Labels               map[string]string
		StopSignal           string
		ExposedPorts         map[string]struct{}
		Volumes              map[string]struct{}
	}
	if img.Config != nil {
		cfg := img.Config.Config
		ic.Entrypoint, ic.Cmd, ic.Env = cfg.Entrypoint, cfg.Cmd, cfg.Env
		ic.WorkingDir, ic.User, ic.Labels, ic.StopSignal = cfg.WorkingDir, cfg.User, cfg.Labels, cfg.StopSignal
		ic.ExposedPorts, ic.Volumes = cfg.ExposedPorts, cfg.Volumes
	}
	c.Entrypoint = ic.Entrypoint
	if spec.EntrypointSet {
		c.Entrypoint = spec.Entrypoint
	}
	switch {
	case len(spec.Command) > 0:
		c.Cmd = spec.Command
	case spec.EntrypointSet:
		c.Cmd = nil
	default:
		c.Cmd = ic.Cmd
	}
	if len(c.Entrypoint)+len(c.Cmd) == 0 {
		return &specgen.ValidationError{Err: ErrNoCommand}
	}
	c.Env = mergeEnv(ic.Env, spec.Env)
	c.WorkingDir = spec.WorkDir
	if c.WorkingDir == "" {
		c.WorkingDir = ic.WorkingDir
	}
	c.User = spec.User
	if c.User == "" {
		c.User = ic.User
	}
	c.Hostname = spec.Hostname
	if c.Hostname == "" && spec.Network == specgen.NetworkHost {
		// As Docker: the host's network comes with the host's name.
		c.Hostname, _ = os.Hostname()
	}
	if c.Hostname == "" {
		c.Hostname = c.ID[:12]
	}
	c.Labels = map[string]string{}
	for k, v := range ic.Labels {
		c.Labels[k] = v
	}
	for k, v := range spec.Labels {
		c.Labels[k] = v
	}
	c.StopSignal = spec.StopSignal
	if c.StopSignal == "" && ic.StopSignal != "" {
		if sig, err := parse.Signal(ic.StopSignal); err == nil {
			c.StopSignal = parse.SignalName(sig)
		}
	}
	if c.StopSignal == "" {
		c.StopSignal = "SIGTERM"
	}
	c.StopTimeout = 10
	if spec.StopTimeout != nil {
		c.StopTimeout = *spec.StopTimeout
	}
	var imageHealth *specgen.HealthConfig
	if img.Config != nil && img.Config.Config.Healthcheck != nil {
		ih := img.Config.Config.Healthcheck
		imageHealth = &specgen.HealthConfig{Test: ih.Test, Interval: ih.Interval, Timeout: ih.Timeout, StartPeriod: ih.StartPeriod, Retries: ih.Retries}
	}
	c.Healthcheck = spec.Healthcheck.Merge(imageHealth)
	if err := c.Healthcheck.Validate(); err != nil {
		return &specgen.ValidationError{Err: err}
	}
	for p := range ic.ExposedPorts {
		c.ExposedPorts = append(c.ExposedPorts, p)
	}
	for v := range ic.Volumes {
		c.Volumes = append(c.Volumes, v)
	}
	return nil
}

// mergeEnv overlays KEY=VALUE entries on base, keeping base's order.
func mergeEnv(base, over []string) []string {
	out := append([]string(nil), base...)
	idx := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		idx[k] = i
	}
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
		} else {
			idx[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}

// insertContainer inserts c's row under a unique name; inTx, when given,
// runs in the same transaction after the insert (recording the volumes)
// and returns directories to remove if the transaction does not commit.
func (r *Runtime) insertContainer(c *Container, inTx func(tx *sql.Tx) ([]string, error)) error {
	db, err := r.DB()
	if err != nil {
		return err
	}
	named := c.Spec.Name != ""
	for attempt := 0; ; attempt++ {
		c.Name = c.Spec.Name
		if !named {
			c.Name = randomName(attempt)
		}
		cfg, _ := json.Marshal(c.ContainerConfig)
		st, _ := json.Marshal(c.State)
		var owner string
		var cleanup []string
		mounts := append([]parse.Mount(nil), c.Mounts...)
		err := db.Update(context.Background(), func(tx *sql.Tx) error {
			cleanup = nil
			c.Mounts = append(c.Mounts[:0:0], mounts...)
			if err := tx.QueryRow(`SELECT id FROM containers WHERE name = ?`, c.Name).Scan(&owner); err == nil {
				return ErrNameInUse
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			_, err := tx.Exec(`INSERT INTO containers(id, name, image_id, created, config, state) VALUES(?, ?, ?, ?, ?, ?)`,
				c.ID, c.Name, c.ImageID, c.Created.UnixNano(), string(cfg), string(st))
			if err != nil || inTx == nil {
				return err
			}
			cleanup, err = inTx(tx)
			return err
		})
		if err == nil {
			return nil
		}
		for _, dir := range cleanup {
			os.RemoveAll(dir)
		}
		if !errors.Is(err, ErrNameInUse) {
			return err
		}
		if named {
			return &specgen.ValidationError{Err: fmt.Errorf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", c.Name, owner)}
		}
		if attempt > 20 {
			return fmt.Errorf("could not find a free random container name")
		}
	}
}

// deleteContainerRow deletes a container's row and its use of volumes;
// with removeAnonymous, the anonymous volumes only it used go too (rm -v,
// --rm, a failed create). Named volumes always stay. It returns the
// volumes it removed, for their destroy events (after the container's).
func (r *Runtime) deleteContainerRow(id string, removeAnonymous bool) ([]string, error) {
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	var removed []detachedVolume
	err = db.Update(context.Background(), func(tx *sql.Tx) error {
		var err error
		if removed, err = r.releaseVolumesTx(tx, id, removeAnonymous); err != nil {
			return err
		}
		_, err = tx.Exec(`DELETE FROM containers WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, v := range removed {
		// Data left by a failure here is swept by the next volume prune.
		if err := removeTrash(v.Trash); err != nil {
			logrus.Warnf("volume %s: %v", v.Name, err)
		}
		names = append(names, v.Name)
	}
	return names, nil
}

// warmJSON builds encoding/json's tables of what a new container's row and
// start encode (see oci.WarmJSON): ~1 ms on first use in each tug call.
func warmJSON() {
	json.Marshal(&ContainerConfig{})
	json.Marshal(&ContainerState{})
	oci.WarmSpecJSON()
}
