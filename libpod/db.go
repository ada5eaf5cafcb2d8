package libpod

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3" // the sql driver "sqlite3"
	"golang.org/x/sys/unix"
)

// DB is tug's state database: one SQLite file in the data root, shared by every
// tug process of a user. WAL mode lets readers run beside a writer; write
// transactions start IMMEDIATE so two writers queue on the busy timeout instead
// of failing with "database is locked" when one upgrades a read lock.
type DB struct {
	sql *sql.DB
	// writers queues this process's write transactions behind those of
	// other tug processes (see Update); nil if its file cannot be opened.
	writers   *os.File
	writersMu sync.Mutex
	// migratedFrom is the schema version this open found, when it migrated.
	migratedFrom int
	migrated     bool
}

// migrations[i] brings the schema from version i to i+1. Append only: a
// released migration never changes, a new one is added at the end.
var migrations = []string{
	`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
	 CREATE TABLE containers (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		image_id TEXT NOT NULL DEFAULT '',
		created INTEGER NOT NULL,
		config TEXT NOT NULL,
		state TEXT NOT NULL
	 );
	 CREATE INDEX containers_image ON containers(image_id);`,
	volumesSchema,  // volume.go
	secretsSchema,  // secret.go
	networksSchema, // network.go
}

// SchemaVersion is the schema this binary writes.
var SchemaVersion = len(migrations)

// OpenDB opens (creating if needed) the state DB at path and migrates it.
func OpenDB(path string) (*DB, error) {
	q := url.Values{}
	q.Set("_busy_timeout", "60000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	q.Set("_foreign_keys", "1")
	db, err := sql.Open(driverName, "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening state database %s: %w", path, err)
	}
	d := &DB{sql: db}
	if f, err := os.OpenFile(path+".writers", os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		d.writers = f
	}
	// The first connection switches a new file to WAL, which needs the
	// file to itself: two first calls at once can find each other in the
	// way, and SQLite then fails one at once (a deadlock it will not wait
	// out). It clears as soon as the other is done: try again.
	for attempt := 0; ; attempt++ {
		err = d.migrate()
		if err == nil {
			break
		}
		if !isBusy(err) || attempt >= 500 {
			d.Close()
			return nil, err
		}
		time.Sleep(time.Duration(5+attempt%20) * time.Millisecond)
	}
	if err := os.Chmod(path, 0o600); err != nil && !os.IsNotExist(err) {
		d.Close()
		return nil, err
	}
	return d, nil
}

// driverName is SQLite with tug's per-connection settings (dbConnect).
const driverName = "sqlite3-tug"

func init() { sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: dbConnect}) }

// dbConnect sets up each connection. tug calls exit without closing the
// database (Runtime.ShutdownAtExit), so the WAL outlives them and each
// first connection re-reads it: checkpoints every 100 pages (about ten
// run --rm) keep it under 400 KB, where SQLite's default lets it reach 4 MB.
func dbConnect(c *sqlite3.SQLiteConn) error {
	_, err := c.Exec("PRAGMA wal_autocheckpoint = 100", nil)
	return err
}

// isBusy reports SQLite's "database is locked".
func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// Migrated reports whether opening the database migrated its schema, and from which version.
func (d *DB) Migrated() (from int, ok bool) { return d.migratedFrom, d.migrated }

// Close releases the database.
func (d *DB) Close() error {
	if d.writers != nil {
		d.writers.Close()
	}
	return d.sql.Close()
}

// SQL exposes the handle to the rest of libpod.
func (d *DB) SQL() *sql.DB { return d.sql }

func (d *DB) version() (int, error) {
	var v int
	err := d.sql.QueryRow(`PRAGMA user_version`).Scan(&v)
	return v, err
}

func (d *DB) migrate() error {
	v, err := d.version()
	if err != nil {
		return fmt.Errorf("reading state database version: %w", err)
	}
	if v == SchemaVersion {
		return nil
	}
	if v > SchemaVersion {
		return fmt.Errorf("state database has schema version %d, newer than this tug understands (%d): upgrade tug", v, SchemaVersion)
	}
	return d.Update(context.Background(), func(tx *sql.Tx) error {
		// Re-read inside the write lock: another tug may have migrated meanwhile.
		var cur int
		if err := tx.QueryRow(`PRAGMA user_version`).Scan(&cur); err != nil {
			return err
		}
		for i := cur; i < SchemaVersion; i++ {
			if _, err := tx.Exec(migrations[i]); err != nil {
				return fmt.Errorf("migrating state database to version %d: %w", i+1, err)
			}
		}
		d.migratedFrom, d.migrated = cur, cur < SchemaVersion
		_, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, SchemaVersion))
		return err
	})
}

// Update runs fn in one short write transaction, committed if fn returns nil.
//
// Writers wait their turn on a file lock first: the kernel wakes the next
// one the moment the lock is free, where SQLite's busy handler would sleep
// and poll (up to 100 ms a try), which under many concurrent tug calls
// costs far more than the transactions. The busy timeout stays as the
// fallback; a killed holder's lock goes with it.
func (d *DB) Update(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if d.writers != nil {
		d.writersMu.Lock()
		defer d.writersMu.Unlock()
		for unix.Flock(int(d.writers.Fd()), unix.LOCK_EX) == unix.EINTR {
		}
		defer unix.Flock(int(d.writers.Fd()), unix.LOCK_UN)
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state database: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// GetMeta reads a key of the meta table; a missing key reads as "".
func (d *DB) GetMeta(key string) (string, error) {
	var v string
	err := d.sql.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return v, err
}

func setMeta(tx *sql.Tx, key, value string) error {
	_, err := tx.Exec(`INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// bootIDPath is a variable so tests can fake a reboot.
var bootIDPath = "/proc/sys/kernel/random/boot_id"

// bootIDEnv lets system tests fake a reboot with another boot ID file.
const bootIDEnv = "TUG_BOOT_ID_FILE"

func currentBootID() (string, error) {
	path := bootIDPath
	if p := os.Getenv(bootIDEnv); p != "" {
		path = p
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading boot ID: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// rebootHooks run, inside the transaction that records the new boot ID, when
// the kernel has rebooted since the last tug call: they turn state that cannot
// have survived (running containers, leases) into what it now is.
var rebootHooks []func(tx *sql.Tx) error

// checkBoot compares the recorded boot ID with the kernel's and runs the
// reboot hooks once per boot. Cheap when nothing changed: one read.
func (d *DB) checkBoot() error {
	boot, err := currentBootID()
	if err != nil {
		return err
	}
	if rec, err := d.GetMeta("boot_id"); err != nil {
		return err
	} else if rec == boot {
		return nil
	}
	return d.Update(context.Background(), func(tx *sql.Tx) error {
		var rec string
		err := tx.QueryRow(`SELECT value FROM meta WHERE key = 'boot_id'`).Scan(&rec)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		if rec == boot {
			return nil
		}
		if rec != "" {
			for _, hook := range rebootHooks {
				if err := hook(tx); err != nil {
					return err
				}
			}
		}
		return setMeta(tx, "boot_id", boot)
	})
}
