package libpod

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/specgen"
)

// Container statuses, as Docker names them.
const (
	StatusCreated  = "created"
	StatusRunning  = "running"
	StatusExited   = "exited"
	StatusRemoving = "removing"
	StatusDead     = "dead"
	StatusPaused   = "paused"
	// StatusRestarting is a container that exited and that its restart
	// policy starts again after a delay (see restart.go).
	StatusRestarting = "restarting"
)

// ErrNoSuchContainer is returned (wrapped, with the name asked for) when no container matches.
var ErrNoSuchContainer = errors.New("No such container")

// ContainerConfig is what a container is, fixed at creation: the user's spec
// and what the image filled in.
type ContainerConfig struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Created   time.Time    `json:"created"`
	Spec      specgen.Spec `json:"spec"`
	ImageID   string       `json:"imageId"`
	ImageName string       `json:"imageName"` // what the user typed, as ps shows it

	Entrypoint   []string          `json:"entrypoint,omitempty"`
	Cmd          []string          `json:"cmd,omitempty"`
	Env          []string          `json:"env,omitempty"`
	WorkingDir   string            `json:"workingDir,omitempty"`
	User         string            `json:"user,omitempty"`
	Hostname     string            `json:"hostname"`
	Labels       map[string]string `json:"labels,omitempty"`
	StopSignal   string            `json:"stopSignal"`
	StopTimeout  int               `json:"stopTimeout"`
	ExposedPorts []string          `json:"exposedPorts,omitempty"`
	Volumes      []string          `json:"volumes,omitempty"`
	// Healthcheck is the user's health check over the image's.
	Healthcheck *specgen.HealthConfig `json:"healthcheck,omitempty"`
	// Mounts are the volumes, binds and tmpfs mounts, resolved at creation
	// (volumes-from copied, anonymous volumes named, image VOLUMEs added).
	Mounts []parse.Mount `json:"mounts,omitempty"`
}

// Command is the process a container runs: entrypoint then cmd.
func (c *ContainerConfig) Command() []string {
	return append(append([]string(nil), c.Entrypoint...), c.Cmd...)
}

// ContainerState is what a container is doing, changed by every start and exit.
type ContainerState struct {
	Status       string    `json:"status"`
	Pid          int       `json:"pid,omitempty"`
	MonitorPid   int       `json:"monitorPid,omitempty"`
	MonitorStart uint64    `json:"monitorStart,omitempty"` // start time in ticks, against PID reuse
	StartedAt    time.Time `json:"startedAt"`
	FinishedAt   time.Time `json:"finishedAt"`
	ExitCode     int       `json:"exitCode"`
	Error        string    `json:"error,omitempty"`
	OOMKilled    bool      `json:"oomKilled,omitempty"`
	RestartCount int       `json:"restartCount,omitempty"`
	// Run counts the starts; a cleanup for an older run does nothing.
	Run int `json:"run,omitempty"`
	// Mounted says the rootfs is mounted for Run.
	Mounted bool   `json:"mounted,omitempty"`
	Rootfs  string `json:"rootfs,omitempty"`
	// Stopping is set by stop, so that the exit is not mistaken for a crash.
	Stopping bool `json:"stopping,omitempty"`
	// StoppedByUser is set by stop and kill (Docker's HasBeenManuallyStopped):
	// the restart policy leaves such a container alone, and unless-stopped
	// keeps it stopped across a reboot. A start clears it.
	StoppedByUser bool `json:"stoppedByUser,omitempty"`
	// RestartDelay is the restart policy's current back-off.
	RestartDelay time.Duration `json:"restartDelay,omitempty"`
	// Health is the health check's state (nil: no health check).
	Health *HealthState `json:"health,omitempty"`
	// Networks are the container's endpoints while it runs (bridge
	// networks), Ports its published ports as bound.
	Networks []EndpointState `json:"networks,omitempty"`
	Ports    []PortBinding   `json:"ports,omitempty"`
	// CreatorPid (with its start time) is the tug process that created the
	// container and may be about to start it (run): while it lives, prune
	// leaves the created container alone. A start clears it.
	CreatorPid   int    `json:"creatorPid,omitempty"`
	CreatorStart uint64 `json:"creatorStart,omitempty"`
}

// Container is one container as read from the state DB.
type Container struct {
	ContainerConfig
	State ContainerState
	rt    *Runtime
	// orphaned says refresh found the container ended with its monitor
	// gone: no cleanup will come, what it attached must be released here.
	orphaned bool
}

// ShortID is the 12-character ID tables and the hostname use.
func (c *Container) ShortID() string { return c.ID[:12] }

// RunDir holds the container's per-boot files: monitor config, OCI spec,
// attach socket, exit file.
func (c *Container) RunDir() string { return filepath.Join(c.rt.RunRoot, "containers", c.ID) }

// DataDir holds the container's persistent files: log, hosts, resolv.conf.
// A --rm container keeps them in its run directory, as nothing of it is to
// outlive its run (Docker removes such a container even when the daemon
// restarts): a directory fewer made and removed per run, and no disk inode
// at all where the run root is a tmpfs, as on a normal machine.
func (c *Container) DataDir() string {
	if c.Spec.AutoRemove {
		return c.RunDir()
	}
	return c.persistentDir()
}

// persistentDir is the data directory in the storage root.
func (c *Container) persistentDir() string { return filepath.Join(c.rt.Root, "containers", c.ID) }

// LogPath is where a file log driver writes.
func (c *Container) LogPath() string {
	switch c.Spec.Log.Driver {
	case "json-file", "k8s-file", "":
		return filepath.Join(c.DataDir(), "ctr.log")
	}
	return ""
}

func (r *Runtime) ociStateRoot() string { return filepath.Join(r.RunRoot, "runtime") }

// containerColumns is the SELECT list of a container row.
const containerColumns = `id, config, state`

func (r *Runtime) scanContainer(row interface{ Scan(...any) error }) (*Container, error) {
	var id, cfg, st string
	if err := row.Scan(&id, &cfg, &st); err != nil {
		return nil, err
	}
	c := &Container{rt: r}
	if err := json.Unmarshal([]byte(cfg), &c.ContainerConfig); err != nil {
		return nil, fmt.Errorf("container %s: corrupt configuration: %w", id, err)
	}
	if err := json.Unmarshal([]byte(st), &c.State); err != nil {
		return nil, fmt.Errorf("container %s: corrupt state: %w", id, err)
	}
	return c, nil
}

// Containers lists every container, oldest first, with its state made true
// (see sync).
func (r *Runtime) Containers() ([]*Container, error) {
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.Query(`SELECT ` + containerColumns + ` FROM containers ORDER BY created, id`)
	if err != nil {
		return nil, err
	}
	var out []*Container
	for rows.Next() {
		c, err := r.scanContainer(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, c := range out {
		c.sync()
	}
	return out, nil
}

// LookupContainer finds a container by full ID, name, or unique ID prefix,
// as Docker does, with its state made true.
func (r *Runtime) LookupContainer(nameOrID string) (*Container, error) {
	c, err := r.lookupContainer(nameOrID)
	if err != nil {
		return nil, err
	}
	c.sync()
	return c, nil
}

func (r *Runtime) lookupContainer(nameOrID string) (*Container, error) {
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	name := strings.TrimPrefix(nameOrID, "/")
	if name == "" {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchContainer, nameOrID)
	}
	c, err := r.scanContainer(db.sql.QueryRow(`SELECT `+containerColumns+` FROM containers WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1`, name, name, name))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if isHex(name) {
		rows, err := db.sql.Query(`SELECT `+containerColumns+` FROM containers WHERE id >= ? AND id < ? LIMIT 2`, name, name+"g")
		if err != nil {
			return nil, err
		}
		var found []*Container
		for rows.Next() {
			c, err := r.scanContainer(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			found = append(found, c)
		}
		rows.Close()
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return nil, fmt.Errorf("multiple containers match %q: give more characters of the ID", nameOrID)
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNoSuchContainer, nameOrID)
}

func isHex(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// saveState writes c.State.
func (c *Container) saveState() error {
	db, err := c.rt.DB()
	if err != nil {
		return err
	}
	b, _ := json.Marshal(c.State)
	return db.Update(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE containers SET state = ? WHERE id = ?`, string(b), c.ID)
		return err
	})
}

// reload reads the container's row again (under its lock, before a change).
func (c *Container) reload() error {
	db, err := c.rt.DB()
	if err != nil {
		return err
	}
	n, err := c.rt.scanContainer(db.sql.QueryRow(`SELECT `+containerColumns+` FROM containers WHERE id = ?`, c.ID))
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrNoSuchContainer, c.ID)
		}
		return err
	}
	c.ContainerConfig, c.State = n.ContainerConfig, n.State
	return nil
}

// Running reports a running container (after sync). A paused container is
// running too, as Docker's State.Running says: its processes exist, frozen.
func (c *Container) Running() bool {
	return c.State.Status == StatusRunning || c.State.Status == StatusPaused
}

func init() {
	// After a reboot nothing runs: running containers read as exited, as
	// after an unclean stop (255), and nothing is mounted any more.
	rebootHooks = append(rebootHooks, func(tx *sql.Tx) error {
		rows, err := tx.Query(`SELECT id, state FROM containers`)
		if err != nil {
			return err
		}
		type upd struct{ id, state string }
		var ups []upd
		for rows.Next() {
			var id, st string
			if err := rows.Scan(&id, &st); err != nil {
				rows.Close()
				return err
			}
			var s ContainerState
			if json.Unmarshal([]byte(st), &s) != nil {
				continue
			}
			changed := s.Mounted || s.MonitorPid != 0
			if s.Status == StatusRunning || s.Status == StatusPaused {
				s.Status, s.ExitCode, s.FinishedAt = StatusExited, 255, time.Now().UTC()
				changed = true
			}
			if s.Status == StatusRestarting {
				s.Status = StatusExited
				changed = true
			}
			if s.Health != nil && changed {
				s.Health.Status = HealthUnhealthy
			}
			if changed {
				s.Mounted, s.Pid, s.MonitorPid, s.MonitorStart = false, 0, 0, 0
				b, _ := json.Marshal(s)
				ups = append(ups, upd{id, string(b)})
			}
		}
		rows.Close()
		for _, u := range ups {
			if _, err := tx.Exec(`UPDATE containers SET state = ? WHERE id = ?`, u.state, u.id); err != nil {
				return err
			}
		}
		return nil
	})
}

// Runtime is the engine the container belongs to.
func (c *Container) Runtime() *Runtime { return c.rt }

// ContainerSize is the size of the container's writable layer, and that
// plus its image's (Docker's "virtual" size).
func (r *Runtime) ContainerSize(c *Container) (rw, virtual int64, err error) {
	store, err := r.Store()
	if err != nil {
		return 0, 0, err
	}
	sc, err := store.Container(c.ID)
	if err != nil {
		return 0, 0, err
	}
	rw, err = store.DiffSize("", sc.LayerID)
	if err != nil {
		return 0, 0, err
	}
	virtual = rw
	if img, err := store.Image(c.ImageID); err == nil {
		for id := img.TopLayer; id != ""; {
			l, err := store.Layer(id)
			if err != nil {
				break
			}
			virtual += l.UncompressedSize
			id = l.Parent
		}
	}
	return rw, virtual, nil
}
