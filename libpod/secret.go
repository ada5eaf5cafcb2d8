package libpod

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tug-project/tug/pkg/parse"
)

// secretsSchema is the migration that adds secrets. The row holds what
// `secret inspect` shows; the value is a file of its own, <root>/secrets/ID
// (mode 0600, directory 0700), named ID.VERSION so that a new value
// (--replace) never overwrites the one the row still points to; written
// atomically, never in the DB, a log, an image or any output.
const secretsSchema = `CREATE TABLE secrets (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		driver TEXT NOT NULL,
		created INTEGER NOT NULL,
		updated INTEGER NOT NULL,
		version INTEGER NOT NULL,
		config TEXT NOT NULL
	 );`

// SecretDriverFile is the only secret driver: the value is a file in the data root.
const SecretDriverFile = "file"

// MaxSecretSize is the largest secret value, Docker's and podman's limit.
const MaxSecretSize = 512000

var (
	// ErrNoSuchSecret is returned (wrapped, with the name) when no secret matches.
	ErrNoSuchSecret = errors.New("No such secret")
	// ErrSecretExists is returned when the name is taken.
	ErrSecretExists = errors.New("secret name in use")
)

// Secret is one secret's metadata (never its value).
type Secret struct {
	ID        string
	Name      string
	Driver    string
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int // 1 when created, one more at each --replace
	Labels    map[string]string

	rt *Runtime
}

type secretConfig struct {
	Labels map[string]string `json:"labels,omitempty"`
}

func (r *Runtime) secretsDir() string { return filepath.Join(r.Root, "secrets") }

func (s *Secret) dataPath() string { return filepath.Join(s.rt.secretsDir(), s.dataFile()) }

func (s *Secret) dataFile() string { return s.ID + "." + strconv.Itoa(s.Version) }

// SecretCreateOptions are what `secret create` gives besides the name and value.
type SecretCreateOptions struct {
	Driver  string // "" is file
	Labels  map[string]string
	Replace bool // replace the value of an existing secret of that name
}

// CreateSecret stores a new secret (or, with Replace, a new value for an
// existing one, keeping its ID). The value is written inside the
// transaction that records the row, so the two appear together; a value
// file orphaned by a crash is removed by the next create.
func (r *Runtime) CreateSecret(ctx context.Context, name string, data []byte, opts SecretCreateOptions) (*Secret, error) {
	if err := parse.SecretName(name); err != nil {
		return nil, err
	}
	if opts.Driver == "" {
		opts.Driver = SecretDriverFile
	}
	if opts.Driver != SecretDriverFile {
		return nil, fmt.Errorf("unknown secret driver %q: tug has only the file driver", opts.Driver)
	}
	if len(data) == 0 || len(data) >= MaxSecretSize {
		return nil, fmt.Errorf("secret data must be larger than 0 and less than %d bytes", MaxSecretSize)
	}
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.secretsDir(), 0o700); err != nil {
		return nil, err
	}
	os.Chmod(r.secretsDir(), 0o700)
	now := time.Now()
	var s *Secret
	var written, old string
	err = db.Update(ctx, func(tx *sql.Tx) error {
		written, old = "", ""
		r.sweepSecretFilesTx(tx)
		existing, err := r.scanSecret(tx.QueryRow(`SELECT `+secretColumns+` FROM secrets WHERE name = ?`, name))
		switch {
		case err == nil && !opts.Replace:
			return fmt.Errorf("%w: %q (ID %s): remove that secret first, or use --replace", ErrSecretExists, name, existing.ID)
		case err == nil:
			s, old = existing, existing.dataPath()
			s.UpdatedAt, s.Version, s.Labels = now, s.Version+1, copyLabels(opts.Labels)
		case errors.Is(err, sql.ErrNoRows):
			s = &Secret{ID: randomHex(13)[:25], Name: name, Driver: opts.Driver, CreatedAt: now, UpdatedAt: now, Version: 1, Labels: copyLabels(opts.Labels), rt: r}
		default:
			return err
		}
		cfg, _ := json.Marshal(secretConfig{Labels: s.Labels})
		if _, err := tx.Exec(`INSERT INTO secrets(id, name, driver, created, updated, version, config) VALUES(?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET updated = excluded.updated, version = excluded.version, config = excluded.config`,
			s.ID, s.Name, s.Driver, s.CreatedAt.UnixNano(), s.UpdatedAt.UnixNano(), s.Version, string(cfg)); err != nil {
			return err
		}
		written = s.dataPath()
		return writeFileAtomic(written, data, 0o600)
	})
	if err != nil {
		if written != "" {
			os.Remove(written)
		}
		return nil, err
	}
	if old != "" {
		os.Remove(old)
	}
	return s, nil
}

func copyLabels(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		out[k] = v
	}
	return out
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, synced and renamed over path: path holds the old value or the
// new one, never a part.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// sweepSecretFilesTx removes value files that no row owns (left by a crash
// between writing and committing) and temporary files; run under the write lock.
func (r *Runtime) sweepSecretFilesTx(tx *sql.Tx) {
	entries, err := os.ReadDir(r.secretsDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, ".tmp-") {
			id, version, _ := strings.Cut(name, ".")
			var n int
			if tx.QueryRow(`SELECT COUNT(*) FROM secrets WHERE id = ? AND version = ?`, id, version).Scan(&n) != nil || n > 0 {
				continue
			}
		}
		os.Remove(filepath.Join(r.secretsDir(), name))
	}
}

const secretColumns = `id, name, driver, created, updated, version, config`

func (r *Runtime) scanSecret(row interface{ Scan(...any) error }) (*Secret, error) {
	var s Secret
	var created, updated int64
	var cfg string
	if err := row.Scan(&s.ID, &s.Name, &s.Driver, &created, &updated, &s.Version, &cfg); err != nil {
		return nil, err
	}
	var c secretConfig
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		return nil, fmt.Errorf("secret %s: corrupt configuration: %w", s.Name, err)
	}
	s.CreatedAt, s.UpdatedAt, s.Labels, s.rt = time.Unix(0, created), time.Unix(0, updated), c.Labels, r
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	return &s, nil
}

// LookupSecret finds a secret by name, full ID or unique ID prefix.
func (r *Runtime) LookupSecret(nameOrID string) (*Secret, error) {
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	return r.lookupSecret(db.sql, nameOrID)
}

type rowQueryer interface {
	queryer
	QueryRow(query string, args ...any) *sql.Row
}

func (r *Runtime) lookupSecret(q rowQueryer, nameOrID string) (*Secret, error) {
	if nameOrID == "" {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchSecret, nameOrID)
	}
	s, err := r.scanSecret(q.QueryRow(`SELECT `+secretColumns+` FROM secrets WHERE name = ? OR id = ? ORDER BY name = ? DESC LIMIT 1`, nameOrID, nameOrID, nameOrID))
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return s, err
	}
	if isSecretIDPrefix(nameOrID) {
		rows, err := q.Query(`SELECT `+secretColumns+` FROM secrets WHERE id >= ? AND id < ? LIMIT 2`, nameOrID, nameOrID+"g")
		if err != nil {
			return nil, err
		}
		var found []*Secret
		for rows.Next() {
			s, err := r.scanSecret(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			found = append(found, s)
		}
		rows.Close()
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return nil, fmt.Errorf("multiple secrets match %q: give more characters of the ID", nameOrID)
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNoSuchSecret, nameOrID)
}

func isSecretIDPrefix(s string) bool {
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return s != "" && len(s) <= 25
}

// Secrets lists every secret, by name.
func (r *Runtime) Secrets() ([]*Secret, error) {
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.Query(`SELECT ` + secretColumns + ` FROM secrets ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Secret
	for rows.Next() {
		s, err := r.scanSecret(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// RemoveSecret deletes a secret and its value.
func (r *Runtime) RemoveSecret(ctx context.Context, nameOrID string) (*Secret, error) {
	db, err := r.DB()
	if err != nil {
		return nil, err
	}
	var s *Secret
	err = db.Update(ctx, func(tx *sql.Tx) error {
		if s, err = r.lookupSecret(tx, nameOrID); err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM secrets WHERE id = ?`, s.ID); err != nil {
			return err
		}
		// Inside the transaction: if the value cannot be removed, the secret stays.
		if err := os.Remove(s.dataPath()); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	})
	return s, err
}

// SecretData returns a secret's value, for the container side to deliver
// (on a tmpfs, or as an environment variable). Never print or log it.
func (r *Runtime) SecretData(nameOrID string) (*Secret, []byte, error) {
	s, err := r.LookupSecret(nameOrID)
	if err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(s.dataPath())
	if err != nil {
		return nil, nil, fmt.Errorf("reading the value of secret %s: %w (remove the secret and create it again)", s.Name, err)
	}
	return s, data, nil
}

// InspectSecret is `secret inspect` output, Docker's shape (never the value).
type InspectSecret struct {
	ID        string
	Version   struct{ Index int }
	CreatedAt time.Time
	UpdatedAt time.Time
	Spec      InspectSecretSpec
}

// InspectSecretSpec is the Spec of InspectSecret.
type InspectSecretSpec struct {
	Name   string
	Labels map[string]string
	Driver InspectSecretDriver
}

// InspectSecretDriver names the driver that holds the value.
type InspectSecretDriver struct {
	Name    string
	Options map[string]string
}

// Inspect describes the secret as Docker's `secret inspect` does.
func (s *Secret) Inspect() InspectSecret {
	out := InspectSecret{ID: s.ID, CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()}
	out.Version.Index = s.Version
	out.Spec = InspectSecretSpec{Name: s.Name, Labels: s.Labels, Driver: InspectSecretDriver{Name: s.Driver, Options: map[string]string{}}}
	return out
}
