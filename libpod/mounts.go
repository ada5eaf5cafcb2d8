package libpod

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/tug-project/tug/pkg/oci"
	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/specgen"
)

// A container's mounts: resolved once at creation (ContainerConfig.Mounts,
// with the names of its anonymous volumes), mounted at each start,
// released at each stop (see volume_use.go for the volume side).

// resolveMounts computes what a new container mounts, as Docker does:
// the mounts of --volumes-from containers first, then the user's -v and
// --mount (which replace one at the same destination), then an anonymous
// volume for each of the image's VOLUMEs nothing else covers. It returns
// the IDs of the --volumes-from containers too.
func (r *Runtime) resolveMounts(spec *specgen.Spec, imageVolumes []string) ([]parse.Mount, []string, error) {
	var out []parse.Mount
	var from []string
	byDest := map[string]int{}
	add := func(m parse.Mount) {
		if i, ok := byDest[m.Destination]; ok {
			out[i] = m
			return
		}
		byDest[m.Destination] = len(out)
		out = append(out, m)
	}
	for _, vf := range spec.VolumesFrom {
		other, err := r.lookupContainer(vf.Container)
		if err != nil {
			return nil, nil, &specgen.ValidationError{Err: fmt.Errorf("--volumes-from %s: %w", vf.Container, err)}
		}
		from = append(from, other.ID)
		for _, m := range other.Mounts {
			if m.Type == parse.MountTmpfs {
				continue
			}
			switch vf.Mode {
			case "ro":
				m.ReadOnly = true
			case "rw":
				m.ReadOnly = false
			}
			m.Chown, m.CreateSource = false, false
			add(m)
		}
	}
	for _, m := range spec.Mounts {
		if m.Type == parse.MountBind && !m.CreateSource {
			if _, err := os.Stat(m.Source); err != nil {
				return nil, nil, &specgen.ValidationError{Err: bindSourceError(m.Source, err)}
			}
		}
		add(m)
	}
	covered := func(dest string) bool {
		if _, ok := byDest[dest]; ok {
			return true
		}
		for d := range spec.Tmpfs {
			if d == dest {
				return true
			}
		}
		return false
	}
	var vols []string
	for _, v := range imageVolumes {
		vols = append(vols, path.Clean("/"+v))
	}
	sort.Strings(vols)
	for _, dest := range vols {
		if dest != "/" && !covered(dest) {
			add(parse.Mount{Type: parse.MountVolume, Destination: dest})
		}
	}
	return out, from, nil
}

// bindSourceError words a bind source that cannot be used as Docker does.
func bindSourceError(src string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("invalid mount config for type \"bind\": bind source path does not exist: %s", src)
	}
	return fmt.Errorf("invalid mount config for type \"bind\": %w", err)
}

// recordMountsTx runs in the transaction that inserts c's row: it checks
// that the --volumes-from containers still exist, records (and creates)
// c's volumes, names its anonymous ones in c.Mounts and saves the config.
// It returns the volumes it created and the directories to remove if the
// transaction does not commit.
func (r *Runtime) recordMountsTx(tx *sql.Tx, c *Container, from []string) (created []string, cleanup []string, err error) {
	for _, id := range from {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM containers WHERE id = ?`, id).Scan(&n); err != nil {
			return nil, nil, err
		}
		if n == 0 {
			return nil, nil, &specgen.ValidationError{Err: fmt.Errorf("--volumes-from: %w: %s (removed meanwhile)", ErrNoSuchContainer, id)}
		}
	}
	var reqs []VolumeRequest
	var idx []int
	for i, m := range c.Mounts {
		if m.Type != parse.MountVolume {
			continue
		}
		reqs = append(reqs, VolumeRequest{Name: m.Source, Driver: m.VolumeDriver, Labels: m.VolumeLabels, Options: m.VolumeOptions})
		idx = append(idx, i)
	}
	if len(reqs) == 0 {
		return nil, nil, nil
	}
	existed := map[string]bool{}
	for _, req := range reqs {
		if req.Name != "" {
			var n int
			if err := tx.QueryRow(`SELECT COUNT(*) FROM volumes WHERE name = ?`, req.Name).Scan(&n); err != nil {
				return nil, nil, err
			}
			existed[req.Name] = n > 0
		}
	}
	vols, cleanup, err := r.useVolumesTx(tx, c.ID, reqs)
	if err != nil {
		return nil, cleanup, err
	}
	for j, v := range vols {
		c.Mounts[idx[j]].Source = v.Name
		if !existed[v.Name] {
			existed[v.Name] = true
			created = append(created, v.Name)
		}
	}
	return created, cleanup, r.updateConfigTx(tx, c)
}

// PopulateVolumes fills c's new, empty volumes with what its image has at
// their paths now, as Docker's create does, so that --volumes-from sees
// the image's content before c ever starts (a start does it too: run
// need not call this). Volumes with driver options are filled at start.
func (c *Container) PopulateVolumes() error {
	var vols []parse.Mount
	for _, m := range c.Mounts {
		if m.Type == parse.MountVolume && !m.NoCopy && m.Subpath == "" {
			vols = append(vols, m)
		}
	}
	if len(vols) == 0 {
		return nil
	}
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return err
	}
	defer lock.unlock()
	store, err := c.rt.Store()
	if err != nil {
		return err
	}
	rootfs, err := store.Mount(c.ID, "")
	if err != nil {
		return fmt.Errorf("mounting the container's root filesystem: %w", err)
	}
	defer store.Unmount(c.ID, false)
	for _, m := range vols {
		v, err := c.rt.LookupVolume(m.Source)
		if err != nil {
			return err
		}
		if v.LocalOptions().NeedsMount() {
			continue
		}
		if _, err := v.CopyUp(rootfs, m.Destination); err != nil {
			return err
		}
	}
	return nil
}

// preparedMounts are what a start mounts besides the root file system.
type preparedMounts struct {
	mounts []rspec.Mount
	tmpfs  map[string]string // --tmpfs and --mount type=tmpfs
	env    []string          // type=env secrets, for the process only
}

// prepareMounts mounts c's volumes and secrets for a start and returns the
// OCI mounts. A new empty volume is filled from the image's content at its
// destination (unless nocopy); :U gives the source to the container's
// user. On error, what it mounted is released.
func (c *Container) prepareMounts(rootfs string, user oci.ExecUser) (pm *preparedMounts, err error) {
	r := c.rt
	ctx := context.Background()
	pm = &preparedMounts{tmpfs: map[string]string{}}
	for d, o := range c.Spec.Tmpfs {
		pm.tmpfs[d] = o
	}
	defer func() {
		if err != nil {
			c.releaseMounts()
			pm = nil
		}
	}()
	for _, m := range c.Mounts {
		var src string
		switch m.Type {
		case parse.MountTmpfs:
			opts := []string{}
			if m.TmpfsSize > 0 {
				opts = append(opts, "size="+strconv.FormatInt(m.TmpfsSize, 10))
			}
			if m.TmpfsMode != 0 {
				opts = append(opts, "mode="+strconv.FormatUint(uint64(m.TmpfsMode), 8))
			}
			if m.ReadOnly {
				opts = append(opts, "ro")
			}
			pm.tmpfs[m.Destination] = strings.Join(append(opts, m.Options...), ",")
			continue
		case parse.MountVolume:
			v, err := r.LookupVolume(m.Source)
			if err != nil {
				return nil, &StartError{Code: 125, Err: err}
			}
			if src, err = v.Mount(ctx, c.ID); err != nil {
				return nil, &StartError{Code: 125, Err: err}
			}
			if !m.NoCopy && m.Subpath == "" {
				if _, err := v.CopyUp(rootfs, m.Destination); err != nil {
					return nil, &StartError{Code: 125, Err: err}
				}
			}
			if m.Subpath != "" {
				if src, err = securejoin.SecureJoin(src, m.Subpath); err != nil {
					return nil, &StartError{Code: 125, Err: err}
				}
				if _, err := os.Stat(src); err != nil {
					return nil, &StartError{Code: 125, Err: fmt.Errorf("cannot access path %s: the volume-subpath %s does not exist in volume %s", src, m.Subpath, v.Name)}
				}
			}
			r.volumeEvent(v.Name, "mount", map[string]string{"container": c.ID, "destination": m.Destination,
				"propagation": m.Propagation, "read/write": strconv.FormatBool(!m.ReadOnly)})
		case parse.MountBind:
			src = m.Source
			if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) && m.CreateSource {
				// -v creates a missing host directory, as Docker does.
				if err := os.MkdirAll(src, 0o755); err != nil {
					return nil, &StartError{Code: 125, Err: fmt.Errorf("creating the bind source %s: %w", src, err)}
				}
			} else if err != nil {
				return nil, &StartError{Code: 125, Err: bindSourceError(src, err)}
			}
		default:
			continue
		}
		if m.Chown {
			if err := ChownTree(src, int(user.UID), int(user.GID)); err != nil {
				return nil, &StartError{Code: 125, Err: fmt.Errorf("chowning %s to %d:%d for :U: %w", src, user.UID, user.GID, err)}
			}
		}
		pm.mounts = append(pm.mounts, bindMount(src, m))
	}
	if len(c.Spec.Secrets) > 0 {
		files, env, err := r.MountSecrets(c.ID, c.Spec.Secrets)
		if err != nil {
			return nil, &StartError{Code: 125, Err: err}
		}
		for _, f := range files {
			pm.mounts = append(pm.mounts, rspec.Mount{Destination: f.Target, Type: "bind", Source: f.Source,
				Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec", "rprivate"}})
		}
		pm.env = env
	}
	// Parents before children, as Docker sorts them: /a before /a/b.
	sort.SliceStable(pm.mounts, func(i, j int) bool {
		return strings.Count(pm.mounts[i].Destination, "/") < strings.Count(pm.mounts[j].Destination, "/")
	})
	return pm, nil
}

// bindMount is the OCI bind of src (a volume's data or a host path) for m.
func bindMount(src string, m parse.Mount) rspec.Mount {
	opts := []string{"rbind"}
	if m.NonRecursive {
		opts[0] = "bind"
	}
	if m.ReadOnly {
		opts = append(opts, "ro")
	} else {
		opts = append(opts, "rw")
	}
	prop := m.Propagation
	if prop == "" {
		prop = "rprivate"
	}
	opts = append(opts, prop)
	opts = append(opts, m.Options...)
	return rspec.Mount{Destination: m.Destination, Type: "bind", Source: src, Options: opts}
}

// releaseMounts undoes prepareMounts after the container stopped (or a
// start failed): volumes with driver options are unmounted when no other
// container holds them, the secrets' tmpfs goes. Repeating it is harmless.
func (c *Container) releaseMounts() {
	r := c.rt
	for _, m := range c.Mounts {
		if m.Type != parse.MountVolume || m.Source == "" {
			continue
		}
		v, err := r.LookupVolume(m.Source)
		if err != nil {
			continue
		}
		if err := v.Unmount(context.Background(), c.ID); err != nil {
			logrus.Warnf("releasing volume %s: %v", v.Name, err)
		}
		r.volumeEvent(v.Name, "unmount", map[string]string{"container": c.ID})
	}
	if len(c.Spec.Secrets) > 0 {
		r.UnmountSecrets(c.ID)
	}
}

// inspectMounts is inspect's Mounts, in Docker's shape, by destination.
func (c *Container) inspectMounts() []InspectMount {
	out := []InspectMount{}
	for _, m := range c.Mounts {
		im := InspectMount{Type: m.Type, Destination: m.Destination, Mode: m.Mode, RW: !m.ReadOnly}
		switch m.Type {
		case parse.MountVolume:
			im.Name, im.Driver = m.Source, DefaultVolumeDriver
			im.Source = filepath.Join(c.rt.volumesDir(), m.Source, "_data")
		case parse.MountBind:
			im.Source, im.Propagation = m.Source, m.Propagation
		}
		out = append(out, im)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Destination < out[j].Destination })
	return out
}

// updateConfigTx saves c's configuration inside tx.
func (r *Runtime) updateConfigTx(tx *sql.Tx, c *Container) error {
	cfg, err := json.Marshal(c.ContainerConfig)
	if err != nil {
		return err
	}
	_, err = tx.Exec(`UPDATE containers SET config = ? WHERE id = ?`, string(cfg), c.ID)
	return err
}
