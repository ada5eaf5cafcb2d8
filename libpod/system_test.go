package libpod

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/specgen"
)

func TestOpenDBSaysWhatItMigrated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tug.db")
	// A database as an older tug left it: the first schema only.
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(migrations[0] + "; PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err := OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if from, ok := db.Migrated(); !ok || from != 1 {
		t.Fatalf("Migrated() = %d, %v; want 1, true", from, ok)
	}
	db.Close()
	db, err = OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, ok := db.Migrated(); ok {
		t.Fatal("a current database was migrated again")
	}
}

func TestResolveMountsOrderAndImageVolumes(t *testing.T) {
	rt := newTestRuntime(t, t.TempDir())
	spec := &specgen.Spec{Image: "x", Tmpfs: map[string]string{"/tmp": ""}, Mounts: []parse.Mount{
		{Type: parse.MountVolume, Source: "named", Destination: "/data"},
		{Type: parse.MountBind, Source: t.TempDir(), Destination: "/src", CreateSource: true},
	}}
	mounts, from, err := rt.resolveMounts(spec, []string{"/data", "/var/lib/db", "/tmp", "cache/"})
	if err != nil || len(from) != 0 {
		t.Fatal(err, from)
	}
	var got []string
	for _, m := range mounts {
		got = append(got, m.Type+":"+m.Source+":"+m.Destination)
	}
	// The user's /data wins over the image's; /tmp is --tmpfs; a relative VOLUME is rooted.
	if strings.Join(got, " ") != "volume:named:/data bind:"+spec.Mounts[1].Source+":/src volume::/cache volume::/var/lib/db" {
		t.Fatalf("mounts: %v", got)
	}
	spec.Mounts = []parse.Mount{{Type: parse.MountBind, Source: "/no/such/dir", Destination: "/x"}}
	if _, _, err := rt.resolveMounts(spec, nil); !specgen.IsValidationError(err) || !strings.Contains(err.Error(), "bind source path does not exist: /no/such/dir") {
		t.Fatalf("missing --mount bind source: %v", err)
	}
	spec.Mounts, spec.VolumesFrom = nil, []parse.VolumesFrom{{Container: "nosuch"}}
	if _, _, err := rt.resolveMounts(spec, nil); !specgen.IsValidationError(err) {
		t.Fatalf("--volumes-from a missing container: %v", err)
	}
}

func TestPruneMatcher(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	m, err := newPruneMatcher(parse.Filters{"until": {"1h"}, "label": {"a=b"}, "label!": {"keep"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	old := now.Add(-2 * time.Hour)
	if !m.match(old, map[string]string{"a": "b"}) {
		t.Fatal("an old labelled container does not match")
	}
	if m.match(now, map[string]string{"a": "b"}) || m.match(old, map[string]string{"a": "c"}) || m.match(old, map[string]string{"a": "b", "keep": ""}) {
		t.Fatal("until, label or label! ignored")
	}
	if _, err := newPruneMatcher(parse.Filters{"until": {"soon"}}, now); err == nil {
		t.Fatal("until=soon accepted")
	}
}
