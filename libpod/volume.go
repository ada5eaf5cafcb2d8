package libpod

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tug-project/tug/pkg/events"
	"github.com/tug-project/tug/pkg/parse"
)

// volumesSchema is the migration that adds volumes. A volume's row is the
// truth; its directory is <root>/volumes/NAME with the data in _data, as
// Docker lays it out. container_volumes records which containers use which
// volumes (see volume_use.go); volume_mounts which containers hold a
// mounted volume (see volume_mount_linux.go).
const volumesSchema = `CREATE TABLE volumes (
		name TEXT PRIMARY KEY,
		driver TEXT NOT NULL,
		created INTEGER NOT NULL,
		config TEXT NOT NULL
	 );
	 CREATE TABLE container_volumes (
		container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
		volume TEXT NOT NULL REFERENCES volumes(name),
		PRIMARY KEY (container_id, volume)
	 );
	 CREATE INDEX container_volumes_volume ON container_volumes(volume);
	 CREATE TABLE volume_mounts (
		volume TEXT NOT NULL REFERENCES volumes(name) ON DELETE CASCADE,
		holder TEXT NOT NULL,
		PRIMARY KEY (volume, holder)
	 );`

// DefaultVolumeDriver is the only driver tug has: directories (or mounts) on this host.
const DefaultVolumeDriver = "local"

// AnonymousVolumeLabel marks volumes made for a container without a name
// (-v /path, an image's VOLUME). Docker 23+ sets the same label, and its
// `volume prune` without --all removes only volumes that carry it.
const AnonymousVolumeLabel = "com.docker.volume.anonymous"

var (
	// ErrNoSuchVolume is returned (wrapped, with the name) when no volume has the name.
	ErrNoSuchVolume = errors.New("No such volume")
	// ErrVolumeInUse is returned when a container (even a stopped one) uses the volume.
	ErrVolumeInUse = errors.New("volume is in use")
)

// VolumeError is a failed volume operation, worded as Docker's:
// "remove NAME: volume is in use - [ID, ID]".
type VolumeError struct {
	Op, Name string
	Err      error
	Refs     []string // the containers in the way
}

func (e *VolumeError) Error() string {
	s := e.Op + " " + e.Name + ": " + e.Err.Error()
	if len(e.Refs) > 0 {
		s += " - [" + strings.Join(e.Refs, ", ") + "]"
	}
	return s
}

func (e *VolumeError) Unwrap() error { return e.Err }

func noSuchVolume(name string) error { return fmt.Errorf("%w: %s", ErrNoSuchVolume, name) }

// Volume is one volume as read from the state DB.
type Volume struct {
	Name      string
	Driver    string
	CreatedAt time.Time
	Labels    map[string]string
	Options   map[string]string // the driver options it was created with (-o)
	// Links is how many containers use the volume (filled by Volumes).
	Links int

	rt *Runtime
}

type volumeConfig struct {
	Labels  map[string]string `json:"labels,omitempty"`
	Options map[string]string `json:"options,omitempty"`
}

// Anonymous reports a volume made without a name.
func (v *Volume) Anonymous() bool {
	_, ok := v.Labels[AnonymousVolumeLabel]
	return ok
}

// Dir is the volume's own directory; Mountpoint the data in it.
func (v *Volume) Dir() string { return filepath.Join(v.rt.volumesDir(), v.Name) }

// Mountpoint is where the volume's data is on the host: <root>/volumes/NAME/_data.
func (v *Volume) Mountpoint() string { return filepath.Join(v.Dir(), "_data") }

// LocalOptions are the volume's driver options, read.
func (v *Volume) LocalOptions() parse.LocalVolumeOptions {
	o, _ := parse.ParseLocalVolumeOptions(v.Options) // checked at creation
	return o
}

func (r *Runtime) volumesDir() string { return filepath.Join(r.Root, "volumes") }

// VolumeCreateOptions are what `volume create` (or a container's first use) gives.
type VolumeCreateOptions struct {
	Name    string // "" makes an anonymous volume with a random 64-hex name
	Driver  string // "" is local
	Labels  map[string]string
	Options map[string]string
}

// CreateVolume creates a volume, or returns the existing one of that name
// as is (created false), as Docker does.
func (r *Runtime) CreateVolume(ctx context.Context, opts VolumeCreateOptions) (v *Volume, created bool, err error) {
	if err := r.checkVolumeOptions(&opts); err != nil {
		return nil, false, err
	}
	db, err := r.DB()
	if err != nil {
		return nil, false, err
	}
	var cleanup []string
	err = db.Update(ctx, func(tx *sql.Tx) error {
		v, created, cleanup, err = r.createVolumeTx(tx, opts)
		return err
	})
	if err != nil {
		for _, dir := range cleanup {
			os.RemoveAll(dir)
		}
		return nil, false, err
	}
	if created {
		r.volumeEvent(v.Name, "create", nil)
	}
	return v, created, nil
}

// checkVolumeOptions validates and normalizes a request before any change.
func (r *Runtime) checkVolumeOptions(opts *VolumeCreateOptions) error {
	name := opts.Name
	if name == "" {
		name = "(anonymous)"
	} else if err := parse.VolumeName(opts.Name); err != nil {
		return &VolumeError{Op: "create", Name: opts.Name, Err: err}
	}
	if opts.Driver == "" {
		opts.Driver = DefaultVolumeDriver
	}
	if opts.Driver != DefaultVolumeDriver {
		return &VolumeError{Op: "create", Name: name, Err: fmt.Errorf("error looking up volume plugin %s: plugin %q not found: tug has only the local driver", opts.Driver, opts.Driver)}
	}
	lo, err := parse.ParseLocalVolumeOptions(opts.Options)
	if err != nil {
		return &VolumeError{Op: "create", Name: name, Err: err}
	}
	if err := checkRootlessMount(r.Rootless, lo); err != nil {
		return &VolumeError{Op: "create", Name: name, Err: err}
	}
	for k := range opts.Labels {
		if k == "" {
			return &VolumeError{Op: "create", Name: name, Err: fmt.Errorf("invalid label: the key is empty")}
		}
	}
	return nil
}

// rootlessMountTypes are the filesystems the kernel lets a user namespace
// mount (FS_USERNS_MOUNT), plus bind mounts.
var rootlessMountTypes = map[string]bool{"tmpfs": true, "ramfs": true, "overlay": true}

// checkRootlessMount refuses at creation a volume that could never be
// mounted: an unprivileged user may mount only some filesystems.
func checkRootlessMount(rootless bool, o parse.LocalVolumeOptions) error {
	if !rootless || !o.NeedsMount() || o.IsBind() || rootlessMountTypes[o.Type] {
		return nil
	}
	return fmt.Errorf("a rootless tug cannot mount a volume of type %q: the kernel lets an unprivileged user mount only tmpfs, ramfs, overlay and bind mounts (-o type=none -o o=bind -o device=/path); create it as root, or mount it on the host and bind it", o.Type)
}

// createVolumeTx creates the volume inside tx (or returns the existing one).
// Its directory is made inside the transaction, so that no other tug sees
// the row without the directory; a directory left by a create that never
// committed is emptied first. On error, the caller removes cleanup.
func (r *Runtime) createVolumeTx(tx *sql.Tx, opts VolumeCreateOptions) (v *Volume, created bool, cleanup []string, err error) {
	if opts.Name != "" {
		v, err := r.scanVolume(tx.QueryRow(`SELECT `+volumeColumns+` FROM volumes WHERE name = ?`, opts.Name))
		if err == nil {
			return v, false, nil, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, false, nil, err
		}
	}
	v = &Volume{Name: opts.Name, Driver: opts.Driver, CreatedAt: time.Now(), Labels: map[string]string{}, Options: map[string]string{}, rt: r}
	for k, val := range opts.Labels {
		v.Labels[k] = val
	}
	for k, val := range opts.Options {
		v.Options[k] = val
	}
	if v.Name == "" {
		v.Name = randomHex(32)
		v.Labels[AnonymousVolumeLabel] = ""
	}
	cfg, _ := json.Marshal(volumeConfig{Labels: v.Labels, Options: v.Options})
	if _, err := tx.Exec(`INSERT INTO volumes(name, driver, created, config) VALUES(?, ?, ?, ?)`, v.Name, v.Driver, v.CreatedAt.UnixNano(), string(cfg)); err != nil {
		return nil, false, nil, err
	}
	if err := os.MkdirAll(r.volumesDir(), 0o701); err != nil {
		return nil, false, nil, err
	}
	if err := os.RemoveAll(v.Dir()); err != nil {
		return nil, false, nil, fmt.Errorf("removing the leftover directory of volume %s: %w", v.Name, err)
	}
	cleanup = []string{v.Dir()}
	if err := os.Mkdir(v.Dir(), 0o755); err != nil {
		return nil, false, cleanup, err
	}
	if err := os.Mkdir(v.Mountpoint(), 0o755); err != nil {
		return nil, false, cleanup, err
	}
	// Mkdir obeys the umask; Docker's volume directories are 0755.
	os.Chmod(v.Dir(), 0o755)
	os.Chmod(v.Mountpoint(), 0o755)
	return v, true, cleanup, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

const volumeColumns = `name, driver, created, config`

func (r *Runtime) scanVolume(row interface{ Scan(...any) error }, extra ...any) (*Volume, error) {
	var name, driver, cfg string
	var created int64
	if err := row.Scan(append([]any{&name, &driver, &created, &cfg}, extra...)...); err != nil {
		return nil, err
	}
	var c volumeConfig
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		return nil, fmt.Errorf("volume %s: corrupt configuration: %w", name, err)
	}
	v := &Volume{Name: name, Driver: driver, CreatedAt: time.Unix(0, created), Labels: c.Labels, Options: c.Options, rt: r}
	if v.Labels == nil {
		v.Labels = map[string]string{}
	}
	if v.Options == nil {
		v.Options = map[string]string{}
	}
	return v, nil
}

// LookupVolume finds a volume by its exact name.
func (r *Runtime) LookupVolume(name string) (*Volume, error) {
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	v, err := r.scanVolume(db.sql.QueryRow(`SELECT `+volumeColumns+` FROM volumes WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, noSuchVolume(name)
	}
	return v, err
}

// VolumeFilters are parsed --filter options (parse.ParseFilters) of volume ls and prune: name=
// (a regular expression), driver=, label=KEY[=VALUE] (all must match),
// label!=KEY[=VALUE] (key "label!": none may match), dangling=true|false.
// Values of one key other than label are alternatives.
type VolumeFilters map[string][]string

// VolumeListFilters and VolumePruneFilters are the keys each command takes.
var (
	VolumeListFilters  = []string{"dangling", "driver", "label", "name"}
	VolumePruneFilters = []string{"label", "label!", "all"}
)

// volumeMatcher is VolumeFilters compiled.
type volumeMatcher struct {
	f        VolumeFilters
	names    []*regexp.Regexp
	dangling *bool
}

func (f VolumeFilters) compile() (*volumeMatcher, error) {
	m := &volumeMatcher{f: f}
	for _, n := range f["name"] {
		re, err := regexp.Compile(n)
		if err != nil {
			return nil, fmt.Errorf("invalid filter 'name=%s': %v", n, err)
		}
		m.names = append(m.names, re)
	}
	if d, set, err := parse.Filters(f).Bool("dangling"); err != nil {
		return nil, err
	} else if set {
		m.dangling = &d
	}
	return m, nil
}

func (m *volumeMatcher) match(v *Volume) bool {
	if len(m.names) > 0 && !anyMatch(len(m.names), func(i int) bool { return m.names[i].MatchString(v.Name) }) {
		return false
	}
	if drivers := m.f["driver"]; len(drivers) > 0 && !anyMatch(len(drivers), func(i int) bool { return drivers[i] == v.Driver }) {
		return false
	}
	if m.dangling != nil && *m.dangling != (v.Links == 0) {
		return false
	}
	return parse.Filters(m.f).MatchLabels("label", v.Labels)
}

func anyMatch(n int, f func(int) bool) bool {
	for i := 0; i < n; i++ {
		if f(i) {
			return true
		}
	}
	return false
}

// Volumes lists the volumes that match filters, by name, with Links filled.
func (r *Runtime) Volumes(filters VolumeFilters) ([]*Volume, error) {
	m, err := filters.compile()
	if err != nil {
		return nil, err
	}
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	return r.queryVolumes(db.sql, m)
}

type queryer interface {
	Query(query string, args ...any) (*sql.Rows, error)
}

func (r *Runtime) queryVolumes(q queryer, m *volumeMatcher) ([]*Volume, error) {
	rows, err := q.Query(`SELECT v.name, v.driver, v.created, v.config,
		(SELECT COUNT(*) FROM container_volumes cv WHERE cv.volume = v.name)
		FROM volumes v ORDER BY v.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Volume
	for rows.Next() {
		var links int
		v, err := r.scanVolume(rows, &links)
		if err != nil {
			return nil, err
		}
		v.Links = links
		if m == nil || m.match(v) {
			out = append(out, v)
		}
	}
	return out, rows.Err()
}

// VolumeUsers lists the IDs of the containers that use the volume.
func (r *Runtime) VolumeUsers(name string) ([]string, error) {
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	return volumeUsers(db.sql, name)
}

func volumeUsers(q queryer, name string) ([]string, error) {
	rows, err := q.Query(`SELECT container_id FROM container_volumes WHERE volume = ? ORDER BY container_id`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// RemoveVolume removes a volume and its data. A volume that any container
// uses, even a stopped one, is refused with ErrVolumeInUse. The check and
// the delete are one transaction, so a container that starts using the
// volume at the same moment either comes first (and the removal is
// refused) or after (and creates the volume afresh).
func (r *Runtime) RemoveVolume(ctx context.Context, name string) error {
	db, err := r.DB()
	if err != nil {
		return err
	}
	var trash string
	err = db.Update(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM volumes WHERE name = ?`, name).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return noSuchVolume(name)
		}
		users, err := volumeUsers(tx, name)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return &VolumeError{Op: "remove", Name: name, Err: ErrVolumeInUse, Refs: users}
		}
		trash, err = r.detachVolumeTx(tx, name)
		return err
	})
	if err != nil {
		return err
	}
	r.volumeEvent(name, "destroy", nil)
	return removeTrash(trash)
}

// detachVolumeTx deletes an unused volume's row inside tx and moves its
// directory out of the way (to a name no volume can have), so that a
// volume created again under this name right after commit starts empty
// and is not hit by the removal of the old data. It returns the moved
// directory, for removeTrash after commit.
func (r *Runtime) detachVolumeTx(tx *sql.Tx, name string) (string, error) {
	v := &Volume{Name: name, rt: r}
	// Nobody uses the volume: a mount left on it (by a crashed tug) is stale.
	// It must go first, or removing the data would go into what it mounts.
	if err := unmountAll(v.Dir()); err != nil {
		return "", &VolumeError{Op: "remove", Name: name, Err: err}
	}
	if _, err := tx.Exec(`DELETE FROM volumes WHERE name = ?`, name); err != nil {
		return "", err
	}
	trash := filepath.Join(r.volumesDir(), ".removing-"+name+"-"+randomHex(4))
	if err := os.Rename(v.Dir(), trash); err != nil {
		if os.IsNotExist(err) {
			return "", nil
		}
		return "", &VolumeError{Op: "remove", Name: name, Err: err}
	}
	return trash, nil
}

// removeTrash removes a detached volume directory. One left by a crash is
// removed by the next prune.
func removeTrash(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the volume's data: %w", err)
	}
	return nil
}

// sweepVolumeTrash removes directories that removals interrupted by a
// crash left behind.
func (r *Runtime) sweepVolumeTrash() {
	entries, _ := os.ReadDir(r.volumesDir())
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".removing-") {
			dir := filepath.Join(r.volumesDir(), e.Name())
			if unmountAll(dir) == nil {
				os.RemoveAll(dir)
			}
		}
	}
}

// PrunedVolume is one volume prune removed.
type PrunedVolume struct {
	Name string
	Size int64 // bytes its data took
}

// PruneVolumes removes the unused volumes that match filters: anonymous
// ones only, unless all (or the filter all=true) asks for every unused
// volume, as Docker 23+ does. The choice and the removal are one
// transaction: a volume a container registers concurrently is never removed.
func (r *Runtime) PruneVolumes(ctx context.Context, filters VolumeFilters, all bool) ([]PrunedVolume, error) {
	for _, a := range filters["all"] {
		b, err := strconv.ParseBool(a)
		if err != nil {
			return nil, fmt.Errorf("invalid filter 'all=%s': use true or false", a)
		}
		all = all || b
	}
	labels := append([]string(nil), filters["label"]...)
	if !all {
		labels = append(labels, AnonymousVolumeLabel)
	}
	m, err := VolumeFilters{"label": labels, "label!": filters["label!"]}.compile()
	if err != nil {
		return nil, err
	}
	yes := true
	m.dangling = &yes
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	r.sweepVolumeTrash()
	type removed struct{ name, trash string }
	var gone []removed
	err = db.Update(ctx, func(tx *sql.Tx) error {
		gone = nil
		vols, err := r.queryVolumes(tx, m)
		if err != nil {
			return err
		}
		for _, v := range vols {
			trash, err := r.detachVolumeTx(tx, v.Name)
			if err != nil {
				return err
			}
			gone = append(gone, removed{v.Name, trash})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []PrunedVolume
	var errs []error
	var reclaimed int64
	for _, g := range gone {
		size := dirSize(g.trash)
		if err := removeTrash(g.trash); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", g.name, err))
		}
		out = append(out, PrunedVolume{Name: g.name, Size: size})
		reclaimed += size
		r.volumeEvent(g.name, "destroy", nil)
	}
	r.WriteEvent(events.TypeVolume, "prune", "", map[string]string{"reclaimed": strconv.FormatInt(reclaimed, 10)})
	return out, errors.Join(errs...)
}

// dirSize adds up the sizes of the files under dir, each hard-linked file once.
func dirSize(dir string) int64 {
	if dir == "" {
		return 0
	}
	var total int64
	seen := map[[2]uint64]bool{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if key, ok := inodeKey(info); ok {
			if seen[key] {
				return nil
			}
			seen[key] = true
		}
		total += info.Size()
		return nil
	})
	return total
}

// InspectVolume is `volume inspect` output, Docker's shape and key order.
type InspectVolume struct {
	CreatedAt  string            `json:"CreatedAt"`
	Driver     string            `json:"Driver"`
	Labels     map[string]string `json:"Labels"`
	Mountpoint string            `json:"Mountpoint"`
	Name       string            `json:"Name"`
	Options    map[string]string `json:"Options"`
	Scope      string            `json:"Scope"`
}

// Inspect describes the volume as Docker's `volume inspect` does.
func (v *Volume) Inspect() InspectVolume {
	return InspectVolume{
		CreatedAt:  v.CreatedAt.Truncate(time.Second).Format(time.RFC3339),
		Driver:     v.Driver,
		Labels:     v.Labels,
		Mountpoint: v.Mountpoint(),
		Name:       v.Name,
		Options:    v.Options,
		Scope:      "local",
	}
}
