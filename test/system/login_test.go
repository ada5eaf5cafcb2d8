//go:build system

package system

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func authFile(e *Env) string { return filepath.Join(e.Home, ".config", "tug", "auth.json") }

func TestLoginWrongPasswordSavesNothing(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		r := e.TugFail(125, "login", "-u", authUser, "-p", "wrong", AuthRegistry)
		mustContain(t, r.Err, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.", "unauthorized", "incorrect username or password", AuthRegistry)
		if _, err := os.Stat(authFile(e)); !os.IsNotExist(err) {
			t.Fatalf("a failed login wrote %s", authFile(e))
		}
		r = e.TugStdin("x", "login", "-u", authUser, "--password-stdin", closedPort(t))
		if r.Code != 125 {
			t.Fatalf("login to a closed port: exit %d", r.Code)
		}
		mustContain(t, r.Err, "cannot reach registry")
	})
}

func TestLoginThenPushAndPull(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		r := e.TugStdin(authPassword+"\n", "login", "--username", authUser, "--password-stdin", AuthRegistry)
		if r.Code != 0 || r.Out != "Login Succeeded\n" {
			t.Fatalf("login: exit %d\n%s%s", r.Code, r.Out, r.Err)
		}
		if strings.Contains(r.Combined(), authPassword) {
			t.Fatal("login printed the password")
		}
		st, err := os.Stat(authFile(e))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("auth file mode %v, want 0600", st.Mode().Perm())
		}
		data, _ := os.ReadFile(authFile(e))
		mustContain(t, string(data), `"`+AuthRegistry+`"`, base64.StdEncoding.EncodeToString([]byte(authUser+":"+authPassword)))
		// Without flags and a terminal, the stored credentials are checked, as Docker does.
		r = e.TugOK("login", AuthRegistry)
		if r.Out != "Authenticating with existing credentials...\nLogin Succeeded\n" {
			t.Fatalf("login with stored credentials:\n%s", r.Out)
		}

		e.TugOK("pull", "-q", AuthRegistry+"/tug/busybox")
		r = e.TugOK("push", AuthRegistry+"/tug/busybox", AuthRegistry+"/"+repoName(t, "pushed")+":1")
		mustContain(t, r.Out, "1: digest: sha256:")

		r = e.TugOK("logout", AuthRegistry)
		if r.Out != "Removing login credentials for "+AuthRegistry+"\n" {
			t.Fatalf("logout: %q", r.Out)
		}
		r = e.TugOK("logout", AuthRegistry)
		if r.Out != "Not logged in to "+AuthRegistry+"\n" {
			t.Fatalf("second logout: %q", r.Out)
		}
		r = e.TugFail(125, "login", AuthRegistry)
		mustContain(t, r.Err, "non TTY")
		r = e.TugFail(125, "pull", AuthRegistry+"/tug/config")
		mustContain(t, r.Err, "tug login")
	})
}

func TestLoginFlagErrors(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		r := e.TugFail(125, "login", "--password-stdin", AuthRegistry)
		mustContain(t, r.Err, "Must provide --username with --password-stdin")
		r = e.TugFail(125, "login", "-u", "a", "-p", "b", "--password-stdin", AuthRegistry)
		mustContain(t, r.Err, "mutually exclusive")
		r = e.TugFail(125, "login", "a", "b")
		mustContain(t, r.Err, `"tug login" accepts at most 1 argument`)
	})
}

func TestAuthFileOverridesAndDockerConfig(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		// --authfile and $REGISTRY_AUTH_FILE name where login writes.
		custom := filepath.Join(e.TmpDir, "custom-auth.json")
		r := e.TugStdin(authPassword, "login", "-u", authUser, "--password-stdin", "--authfile", custom, AuthRegistry)
		if r.Code != 0 {
			t.Fatalf("login --authfile: %s", r.Err)
		}
		if _, err := os.Stat(custom); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(authFile(e)); !os.IsNotExist(err) {
			t.Fatal("login --authfile wrote the default file too")
		}
		r = e.Sh("REGISTRY_AUTH_FILE=" + custom + " $TUG logout " + AuthRegistry)
		if r.Code != 0 || !strings.Contains(r.Out, "Removing login credentials for "+AuthRegistry) {
			t.Fatalf("logout with REGISTRY_AUTH_FILE: %s%s", r.Out, r.Err)
		}

		// Docker's config.json is read: no tug login needed.
		dockerDir := filepath.Join(e.Home, ".docker")
		os.MkdirAll(dockerDir, 0o700)
		os.Chown(dockerDir, e.uid, e.gid)
		e.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(`{"auths":{"`+AuthRegistry+`":{"auth":"`+base64.StdEncoding.EncodeToString([]byte(authUser+":"+authPassword))+`"}}}`))
		r = e.TugOK("login", AuthRegistry)
		mustContain(t, r.Out, "Login Succeeded")
		r = e.TugFail(125, "logout", AuthRegistry)
		mustContain(t, r.Err, "docker logout")
		r = e.TugOK("pull", AuthRegistry+"/tug/config")
		mustContain(t, r.Out, "Status: Downloaded newer image for "+AuthRegistry+"/tug/config:latest")
	})
}
