//go:build system

package system

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// setState rewrites a container's recorded state as a tug killed at the
// wrong moment would have left it.
func setState(t *testing.T, e *Env, name string, change func(st map[string]any)) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(e.Root, "tug.db")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id, raw string
	if err := db.QueryRow(`SELECT id, state FROM containers WHERE name = ?`, name).Scan(&id, &raw); err != nil {
		t.Fatal(err)
	}
	st := map[string]any{}
	json.Unmarshal([]byte(raw), &st)
	change(st)
	b, _ := json.Marshal(st)
	if _, err := db.Exec(`UPDATE containers SET state = ? WHERE id = ?`, string(b), id); err != nil {
		t.Fatal(err)
	}
}

// A removal interrupted half-way reads as such and is finished by rm.
func TestContainersInterruptedRemoval(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		e.TugOK("run", "--name", "half", Img("busybox"), "true")
		setState(t, e, "half", func(st map[string]any) { st["status"] = "removing" })
		mustContain(t, e.TugOK("ps", "-a", "--filter", "name=half").Out, "Removal In Progress")
		e.TugOK("rm", "half")
		e.TugFail(1, "container", "exists", "half")
		if n := e.storageMounts(); n != 0 {
			t.Fatalf("%d mounts left", n)
		}
	})
}

// A start whose CLI was killed before it recorded it: the monitor runs the
// container, and the next call sees it running.
func TestContainersUnrecordedStartIsSeen(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		e.TugOK("run", "-d", "--name", "unrecorded", Img("busybox"), "sleep", "300")
		setState(t, e, "unrecorded", func(st map[string]any) {
			run, _ := st["run"].(float64)
			for k := range st {
				delete(st, k)
			}
			st["status"], st["run"] = "created", run-1
			st["startedAt"], st["finishedAt"] = "0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"
		})
		if st := e.inspect("unrecorded", "{{.State.Status}}"); st != "running" {
			t.Fatalf("a running container reads as %q", st)
		}
		if out := e.TugOK("ps", "--format", "{{.Names}} {{.Status}}").Out; !strings.HasPrefix(out, "unrecorded Up ") {
			t.Fatalf("ps: %q", out)
		}
		e.TugOK("stop", "-t", "0", "unrecorded")
		waitUntil(t, "the monitor's cleanup", func() bool { return e.storageMounts() == 0 })
		if st := e.inspect("unrecorded", "{{.State.Status}} {{.State.ExitCode}}"); st != "exited 137" {
			t.Fatalf("after stop: %q", st)
		}
	})
}

// A removal cut short while the container still ran (a CLI killed in `run
// --rm` or `rm -f`) is finished by the container's own cleanup at its exit.
func TestContainersInterruptedRemovalFinishedAtExit(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		e.TugOK("run", "-d", "--rm", "--name", "cut", "--network", "none", Img("busybox"), "sleep", "2")
		setState(t, e, "cut", func(st map[string]any) { st["status"] = "removing" })
		for i := 0; i < 100 && e.Tug("container", "exists", "cut").Code == 0; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if e.Tug("container", "exists", "cut").Code == 0 {
			t.Fatalf("the interrupted removal was not finished: %s", e.TugOK("ps", "-a").Out)
		}
		if n := e.storageMounts(); n != 0 {
			t.Fatalf("%d mounts left", n)
		}
	})
}
