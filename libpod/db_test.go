package libpod

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestOpenDBMigratesOnceAndRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tug.db")
	db, err := OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := db.version(); v != SchemaVersion {
		t.Fatalf("schema version %d, want %d", v, SchemaVersion)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Fatalf("state DB mode %v, want 0600", info.Mode().Perm())
	}
	db.sql.Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion+1))
	db.Close()
	if _, err := OpenDB(path); err == nil || !strings.Contains(err.Error(), "upgrade tug") {
		t.Fatalf("expected a refusal of a newer schema, got %v", err)
	}
}

func TestBootIDChangeRunsRebootHooksOnce(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "boot_id")
	old := bootIDPath
	bootIDPath = fake
	t.Cleanup(func() { bootIDPath = old; rebootHooks = nil })
	calls := 0
	rebootHooks = []func(*sql.Tx) error{func(*sql.Tx) error { calls++; return nil }}

	os.WriteFile(fake, []byte("boot-1\n"), 0o644)
	db, err := OpenDB(filepath.Join(dir, "tug.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.checkBoot(); err != nil || calls != 0 {
		t.Fatalf("first boot ran hooks (%d) or failed: %v", calls, err)
	}
	os.WriteFile(fake, []byte("boot-2\n"), 0o644)
	db.checkBoot()
	db.checkBoot()
	if calls != 1 {
		t.Fatalf("reboot hooks ran %d times, want once", calls)
	}
}

// Many writers from separate connections (as separate tug processes would
// be) never see "database is locked".
func TestConcurrentWritersDoNotFail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tug.db")
	first, err := OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			db, err := OpenDB(path)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			for i := 0; i < 50; i++ {
				err := db.Update(context.Background(), func(tx *sql.Tx) error {
					var n int
					if err := tx.QueryRow(`SELECT COUNT(*) FROM meta`).Scan(&n); err != nil {
						return err
					}
					return setMeta(tx, fmt.Sprintf("k-%d-%d", w, i), fmt.Sprint(n))
				})
				if err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var n int
	first.sql.QueryRow(`SELECT COUNT(*) FROM meta`).Scan(&n)
	if n != 400 {
		t.Fatalf("%d rows, want 400", n)
	}
}
