package libpod

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/sys/mountinfo"

	"github.com/tug-project/tug/pkg/parse"
)

func TestSecretLifecycle(t *testing.T) {
	root := t.TempDir()
	rt := newTestRuntime(t, root)
	ctx := context.Background()
	s, err := rt.CreateSecret(ctx, "db-pass", []byte("sEcret-pasSw0rD"), SecretCreateOptions{Labels: map[string]string{"env": "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ID) != 25 || s.Version != 1 || s.Driver != "file" {
		t.Fatalf("secret %+v", s)
	}
	dir := filepath.Join(root, "secrets")
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("secrets dir: %v %v", info, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("secret files: %v", entries)
	}
	if info, _ := entries[0].Info(); info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %v", info.Mode())
	}
	// The value is nowhere in the DB.
	for _, f := range []string{"tug.db", "tug.db-wal"} {
		if data, err := os.ReadFile(filepath.Join(root, f)); err == nil && bytes.Contains(data, []byte("sEcret-pasSw0rD")) {
			t.Fatalf("the secret's value is in %s", f)
		}
	}

	if _, err := rt.CreateSecret(ctx, "db-pass", []byte("x"), SecretCreateOptions{}); !errors.Is(err, ErrSecretExists) {
		t.Fatalf("duplicate: %v", err)
	}
	for _, bad := range []struct {
		name string
		data []byte
		opts SecretCreateOptions
	}{
		{"bad name", []byte("x"), SecretCreateOptions{}},
		{"empty", nil, SecretCreateOptions{}},
		{"big", make([]byte, MaxSecretSize), SecretCreateOptions{}},
		{"drv", []byte("x"), SecretCreateOptions{Driver: "vault"}},
	} {
		if _, err := rt.CreateSecret(ctx, bad.name, bad.data, bad.opts); err == nil {
			t.Errorf("%s: accepted", bad.name)
		}
	}

	for _, key := range []string{"db-pass", s.ID, s.ID[:6]} {
		got, data, err := rt.SecretData(key)
		if err != nil || got.ID != s.ID || string(data) != "sEcret-pasSw0rD" {
			t.Fatalf("lookup %q: %v %q %v", key, got, data, err)
		}
	}
	r, err := rt.CreateSecret(ctx, "db-pass", []byte("new value"), SecretCreateOptions{Replace: true})
	if err != nil || r.ID != s.ID || r.Version != 2 || !r.UpdatedAt.After(s.CreatedAt) {
		t.Fatalf("replace: %+v %v", r, err)
	}
	if _, data, _ := rt.SecretData("db-pass"); string(data) != "new value" {
		t.Fatalf("after replace: %q", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("replace left old values: %v", entries)
	}
	in := r.Inspect()
	if in.Spec.Name != "db-pass" || in.Spec.Driver.Name != "file" || in.Version.Index != 2 || in.Spec.Labels == nil {
		t.Fatalf("inspect %+v", in)
	}

	rt.CreateSecret(ctx, "other", []byte("y"), SecretCreateOptions{})
	list, err := rt.Secrets()
	if err != nil || len(list) != 2 || list[0].Name != "db-pass" {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, err := rt.RemoveSecret(ctx, "db-pass"); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.LookupSecret("db-pass"); !errors.Is(err, ErrNoSuchSecret) {
		t.Fatalf("after rm: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("rm left the value: %v", entries)
	}
	if _, err := rt.RemoveSecret(ctx, "db-pass"); !errors.Is(err, ErrNoSuchSecret) || !strings.Contains(err.Error(), "db-pass") {
		t.Fatalf("second rm: %v", err)
	}
}

// A value file that a crash left without its row is removed by the next create.
func TestSecretOrphanFilesAreSwept(t *testing.T) {
	root := t.TempDir()
	rt := newTestRuntime(t, root)
	dir := filepath.Join(root, "secrets")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "0123456789abcdef012345678.1"), []byte("orphan"), 0o600)
	os.WriteFile(filepath.Join(dir, ".tmp-x-1"), []byte("half"), 0o600)
	if _, err := rt.CreateSecret(context.Background(), "s1", []byte("v"), SecretCreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("orphans left: %v", entries)
	}
}

func TestMountSecretsOnTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	rt := newTestRuntime(t, t.TempDir())
	ctx := context.Background()
	rt.CreateSecret(ctx, "pw", []byte("hunter2"), SecretCreateOptions{})
	reqs := []parse.SecretRequest{
		{Name: "pw", Type: parse.SecretMount, Target: "/run/secrets/pw", Mode: 0o444},
		{Name: "pw", Type: parse.SecretMount, Target: "/etc/app/pw", UID: 1000, GID: 1000, Mode: 0o400},
		{Name: "pw", Type: parse.SecretEnv, Target: "DB_PASSWORD"},
	}
	files, env, err := rt.MountSecrets("c1", reqs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.UnmountSecrets("c1") })
	if len(files) != 2 || len(env) != 1 || env[0] != "DB_PASSWORD=hunter2" {
		t.Fatalf("files %v env %v", files, env)
	}
	if mounted, _ := mountinfo.Mounted(rt.secretsRunDir("c1")); !mounted {
		t.Fatal("secrets are not on a tmpfs")
	}
	for i, f := range files {
		info, err := os.Stat(f.Source)
		if err != nil || info.Mode().Perm() != os.FileMode(reqs[i].Mode) || f.Target != reqs[i].Target {
			t.Fatalf("%+v: %v %v", f, info, err)
		}
		if st := info.Sys().(*syscall.Stat_t); st.Uid != reqs[i].UID || st.Gid != reqs[i].GID {
			t.Fatalf("%s owned by %d:%d", f.Source, st.Uid, st.Gid)
		}
		if data, _ := os.ReadFile(f.Source); string(data) != "hunter2" {
			t.Fatalf("%s holds %q", f.Source, data)
		}
	}
	// A second start replaces the tmpfs; a missing secret fails with its name.
	if _, _, err := rt.MountSecrets("c1", []parse.SecretRequest{{Name: "gone", Type: parse.SecretMount, Target: "/run/secrets/gone", Mode: 0o444}}); err == nil || !strings.Contains(err.Error(), "No such secret: gone") {
		t.Fatalf("missing secret: %v", err)
	}
	if err := rt.UnmountSecrets("c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rt.secretsRunDir("c1")); !os.IsNotExist(err) {
		t.Fatalf("secrets dir left: %v", err)
	}
}
