package image

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tug-project/tug/pkg/config"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestAuthFileReadsDockerConfig(t *testing.T) {
	data := `{
		"auths": {
			"https://index.docker.io/v1/": {"auth": "` + b64("hubuser:hubpass") + `"},
			"localhost:5000": {"auth": "` + b64("u:p:with:colons") + `"},
			"https://registry.example.com/v2/": {"username": "plain", "password": "text"},
			"registry.example.com/team": {"auth": "` + b64("team:secret") + `"}
		},
		"credsStore": "desktop",
		"psFormat": "table {{.ID}}"
	}`
	f, err := ParseAuthFile([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]Credentials{
		"docker.io/library/alpine":         {Username: "hubuser", Password: "hubpass"},
		"index.docker.io/library/alpine":   {Username: "hubuser", Password: "hubpass"},
		"localhost:5000/x":                 {Username: "u", Password: "p:with:colons"},
		"registry.example.com/other/app":   {Username: "plain", Password: "text"},
		"registry.example.com/team/app":    {Username: "team", Password: "secret"},
		"registry.example.com/team/a/b":    {Username: "team", Password: "secret"},
		"registry.example.com/teamster/ap": {Username: "plain", Password: "text"},
	}
	for repo, want := range cases {
		got, ok := f.Lookup(repo)
		if !ok || got != want {
			t.Errorf("%s: got %+v %v, want %+v", repo, got, ok, want)
		}
	}
	if _, ok := f.Lookup("elsewhere.io/x"); ok {
		t.Error("credentials for a server not in the file")
	}
	// Writing it back keeps the keys tug does not know.
	f.Set("localhost:5000", Credentials{Username: "new", Password: "pw"})
	out, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"credsStore": "desktop"`) || !strings.Contains(string(out), "psFormat") {
		t.Fatalf("unknown keys were dropped:\n%s", out)
	}
	again, err := ParseAuthFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := again.Lookup("localhost:5000/x"); c.Username != "new" {
		t.Fatalf("round trip: %+v", c)
	}
}

func TestAuthFileRejectsBadEntries(t *testing.T) {
	for _, bad := range []string{`{`, `[]`, `{"auths": []}`, `{"auths": {"x": {"auth": "!!!"}}}`, `{"auths": {"x": {"auth": "` + b64("nocolon") + `"}}}`} {
		if _, err := ParseAuthFile([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	for _, ok := range []string{``, `{}`, `{"auths": null}`, `{"auths": {}}`} {
		if _, err := ParseAuthFile([]byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestAuthKeys(t *testing.T) {
	for in, want := range map[string]string{
		"docker.io": DockerHubAuthKey, "": DockerHubAuthKey, "index.docker.io": DockerHubAuthKey, "https://index.docker.io/v1/": DockerHubAuthKey,
		"registry-1.docker.io": DockerHubAuthKey, "localhost:5000": "localhost:5000", "https://Quay.IO/v2/": "quay.io", "http://127.0.0.1:5000": "127.0.0.1:5000",
	} {
		if got := AuthKey(in); got != want {
			t.Errorf("AuthKey(%q) = %q, want %q", in, got, want)
		}
	}
	if got := DisplayServer("registry.example.com/team"); got != "registry.example.com/team" {
		t.Errorf("a namespace login is filed as %q", got)
	}
}

func TestUpdateAuthFileIsPrivateAndAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "auth.json")
	var wg sync.WaitGroup
	for _, host := range []string{"a.example", "b.example", "c.example", "d.example"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := UpdateAuthFile(path, func(f *AuthFile) error { f.Set(host, Credentials{Username: host, Password: "pw"}); return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	f, err := ReadAuthFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Servers()) != 4 {
		t.Fatalf("concurrent logins lost entries: %v", f.Servers())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temp files left beside the auth file: %v", entries)
	}
	if !f.Remove("https://a.example/") || f.Remove("a.example") {
		t.Fatal("Remove does not match spellings")
	}
}

func TestKeychainOrder(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv(AuthFileEnv, "")
	os.MkdirAll(filepath.Join(home, ".docker"), 0o700)
	os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(`{"auths":{"reg.example":{"auth":"`+b64("docker:d")+`"},"only.docker":{"auth":"`+b64("od:x")+`"}}}`), 0o600)
	if err := UpdateAuthFile(DefaultAuthFile(), func(f *AuthFile) error { f.Set("reg.example", Credentials{Username: "tug", Password: "t"}); return nil }); err != nil {
		t.Fatal(err)
	}
	if DefaultAuthFile() != filepath.Join(home, ".config", "tug", "auth.json") {
		t.Fatalf("default auth file %s", DefaultAuthFile())
	}
	k, err := newKeychain("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.forRepo("reg.example/x"); !ok {
		t.Fatal("no credentials")
	}
	if c, _ := k.files[0].Lookup("reg.example/x"); c.Username != "tug" {
		t.Fatal("tug's file does not come first")
	}
	if _, ok := k.forRepo("only.docker/x"); !ok {
		t.Fatal("Docker's config is not read")
	}
	// --creds overrides the files; --authfile replaces them.
	k, _ = newKeychain("", &Credentials{Username: "flag", Password: "f"})
	if a, _ := k.forRepo("reg.example/x"); a == nil {
		t.Fatal("no authenticator for --creds")
	}
	k, _ = newKeychain(filepath.Join(home, "missing.json"), nil)
	if _, ok := k.forRepo("only.docker/x"); ok {
		t.Fatal("--authfile should be the only file read")
	}
	t.Setenv(AuthFileEnv, filepath.Join(home, "env.json"))
	if DefaultAuthFile() != filepath.Join(home, "env.json") {
		t.Fatal("REGISTRY_AUTH_FILE is not honoured")
	}
}

func TestLoginChecksCredentialsBeforeSaving(t *testing.T) {
	reg := newTestRegistry(t)
	reg.requireAuth("tuguser", "tugpass")
	file := filepath.Join(t.TempDir(), "auth.json")
	ro := RegistryOptions{AuthFile: file}
	cfg := config.Default()
	_, err := Login(context.Background(), cfg, reg.Host, Credentials{Username: "tuguser", Password: "wrong"}, ro)
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), reg.Host) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatal("a failed login wrote the auth file")
	}
	if _, err := Login(context.Background(), cfg, reg.Host, Credentials{Username: "tuguser", Password: "tugpass"}, ro); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("auth file: %v %v", err, st)
	}
	c, ok, err := StoredCredentials(reg.Host, ro)
	if err != nil || !ok || c.Password != "tugpass" {
		t.Fatalf("stored: %+v %v %v", c, ok, err)
	}
	data, _ := os.ReadFile(file)
	if strings.Contains(string(data), "tugpass") {
		t.Fatal("the password is stored in clear")
	}
	res, err := Logout(reg.Host, file)
	if err != nil || !res.Removed {
		t.Fatalf("logout: %+v %v", res, err)
	}
	if res, _ = Logout(reg.Host, file); res.Removed {
		t.Fatal("second logout removed something")
	}
	if _, err := Login(context.Background(), cfg, "127.0.0.1:1", Credentials{Username: "a", Password: "b"}, ro); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("unreachable: %v", err)
	}
}

// FuzzParseAuthFile: any bytes either fail cleanly or give a file that
// writes back to one that reads the same.
func FuzzParseAuthFile(f *testing.F) {
	f.Add([]byte(`{"auths":{"localhost:5000":{"auth":"` + b64("u:p") + `"}}}`))
	f.Add([]byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"` + b64("a:b") + `","identitytoken":"tok"}},"credHelpers":{"x":"y"}}`))
	f.Add([]byte(`{"auths":{"r.example/ns":{"username":"u","password":"p"}}}`))
	f.Add([]byte(`{"auths":null}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		af, err := ParseAuthFile(data)
		if err != nil {
			return
		}
		out, err := af.Marshal()
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := ParseAuthFile(out)
		if err != nil {
			t.Fatalf("written file does not read back: %v\n%s", err, out)
		}
		for _, k := range af.Servers() {
			a, okA := af.entry(k)
			b, okB := again.entry(k)
			if okA != okB || a != b {
				t.Fatalf("entry %q changed: %+v -> %+v", k, a, b)
			}
			af.Lookup(k + "/repo")
		}
	})
}
