//go:build system

package system

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const secretValue = "sEcret-pasSw0rD"

// noValue fails the test if a command's output shows the secret's value.
func noValue(t *testing.T, r Result) {
	t.Helper()
	if strings.Contains(r.Out+r.Err, secretValue) {
		t.Fatalf("the secret's value was printed:\n%s", r.Combined())
	}
}

func TestSecretLifecycle(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		file := filepath.Join(e.TmpDir, "password.txt")
		e.WriteFile(file, []byte(secretValue))
		r := e.TugOK("secret", "create", "--label", "env=prod", "db-pass", file)
		noValue(t, r)
		id := strings.TrimSpace(r.Out)
		if !regexp.MustCompile(`^[0-9a-f]{25}$`).MatchString(id) {
			t.Fatalf("secret create printed %q", r.Out)
		}
		r = e.TugStdin(secretValue, "secret", "create", "from-stdin", "-")
		noValue(t, r)

		// Stored 0600 in a 0700 directory owned by the user, nowhere else.
		dir := filepath.Join(e.Root, "secrets")
		if uid, mode := ownerOf(t, dir); uid != e.uid || mode != 0o700 {
			t.Fatalf("secrets dir owner %d mode %v", uid, mode)
		}
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 2 {
			t.Fatalf("secret files: %v %v", entries, err)
		}
		for _, ent := range entries {
			if uid, mode := ownerOf(t, filepath.Join(dir, ent.Name())); uid != e.uid || mode != 0o600 {
				t.Fatalf("%s: owner %d mode %v", ent.Name(), uid, mode)
			}
		}
		grep := e.Sh("grep -rl '" + secretValue + "' " + e.Root).Out
		for _, f := range strings.Fields(grep) {
			if filepath.Dir(f) != dir {
				t.Fatalf("the value is stored outside the secrets directory: %s", f)
			}
		}

		ls := e.TugOK("secret", "ls")
		noValue(t, ls)
		lines := strings.Split(strings.TrimSpace(ls.Out), "\n")
		if len(lines) != 3 || !regexp.MustCompile(`^ID\s+NAME\s+DRIVER\s+CREATED\s+UPDATED$`).MatchString(lines[0]) ||
			!regexp.MustCompile(`^`+id+`\s+db-pass\s+file\s+\S.* ago\s+\S.* ago$`).MatchString(lines[1]) {
			t.Fatalf("secret ls:\n%s", ls.Out)
		}
		if q := e.TugOK("secret", "ls", "-q", "--filter", "name=db").Out; q != id+"\n" {
			t.Fatalf("ls -q --filter: %q", q)
		}
		if got := e.TugOK("secret", "ls", "--filter", "label=env=prod", "--format", "{{.Name}} {{.Label \"env\"}}").Out; got != "db-pass prod\n" {
			t.Fatalf("ls --format: %q", got)
		}

		for _, args := range [][]string{{"secret", "inspect", "db-pass"}, {"secret", "inspect", "--pretty", "db-pass"},
			{"secret", "inspect", "--format", "json", id[:8]}, {"secret", "ls", "--format", "json"}} {
			noValue(t, e.TugOK(args...))
		}
		var out []map[string]any
		if err := json.Unmarshal([]byte(e.TugOK("secret", "inspect", "db-pass").Out), &out); err != nil || len(out) != 1 {
			t.Fatalf("inspect: %v %v", out, err)
		}
		var keys []string
		for k := range out[0] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		spec, _ := out[0]["Spec"].(map[string]any)
		if strings.Join(keys, " ") != "CreatedAt ID Spec UpdatedAt Version" || out[0]["ID"] != id || spec["Name"] != "db-pass" ||
			spec["Labels"].(map[string]any)["env"] != "prod" || spec["Driver"].(map[string]any)["Name"] != "file" {
			t.Fatalf("inspect: %v", out[0])
		}
		mustContain(t, e.TugOK("secret", "inspect", "--pretty", "db-pass").Out, "ID:              "+id, "Name:            db-pass", " - env=prod", "Driver:          file")
		if got := e.TugOK("secret", "inspect", "-f", "{{.Spec.Name}} {{.Version.Index}}", id).Out; got != "db-pass 1\n" {
			t.Fatalf("inspect -f: %q", got)
		}

		// A name in use is refused; --replace gives a new value and version.
		r = e.TugFail(125, "secret", "create", "db-pass", file)
		mustContain(t, r.Err, `secret name in use: "db-pass"`, "--replace")
		r = e.TugStdin("other-value", "secret", "create", "--replace", "db-pass", "-")
		if strings.TrimSpace(r.Out) != id || r.Code != 0 {
			t.Fatalf("replace: %+v", r)
		}
		if got := e.TugOK("secret", "inspect", "-f", "{{.Version.Index}}", "db-pass").Out; got != "2\n" {
			t.Fatalf("version after replace: %q", got)
		}

		for _, c := range []struct {
			args  []string
			stdin string
			want  string
		}{
			{[]string{"bad/name", file}, "", "invalid secret name"},
			{[]string{"-x", file}, "", "unknown shorthand flag"},
			{[]string{"empty", "-"}, "", "larger than 0"},
			{[]string{"nofile", filepath.Join(e.TmpDir, "missing")}, "", "no such file"},
			{[]string{"--driver", "vault", "v", file}, "", `unknown secret driver "vault"`},
			{[]string{"onlyname"}, "", "requires exactly 2 argument"},
			{[]string{"--env", "fromenv", "TUG_NO_SUCH_VARIABLE"}, "", "TUG_NO_SUCH_VARIABLE is not set"},
		} {
			r := e.TugStdin(c.stdin, append([]string{"secret", "create"}, c.args...)...)
			if r.Code != 125 || !strings.Contains(r.Err, c.want) {
				t.Errorf("secret create %v: exit %d, %q; want 125 and %q", c.args, r.Code, r.Err, c.want)
			}
		}
		big := filepath.Join(e.TmpDir, "big")
		e.WriteFile(big, make([]byte, 600000))
		r = e.TugFail(125, "secret", "create", "big", big)
		mustContain(t, r.Err, "less than 512000 bytes")

		e.ExtraEnv = []string{"MY_TOKEN=" + secretValue}
		noValue(t, e.TugOK("secret", "create", "--env", "from-env", "MY_TOKEN"))
		e.ExtraEnv = nil

		if r := e.Tug("secret", "exists", "db-pass"); r.Code != 0 {
			t.Fatalf("exists: %+v", r)
		}
		r = e.TugFail(1, "secret", "rm", "db-pass", "nosuch", "from-stdin")
		if r.Out != "db-pass\nfrom-stdin\n" {
			t.Fatalf("rm printed %q", r.Out)
		}
		mustContain(t, r.Err, "No such secret: nosuch")
		if r := e.Tug("secret", "exists", "db-pass"); r.Code != 1 {
			t.Fatalf("exists after rm: %+v", r)
		}
		r = e.TugFail(1, "secret", "inspect", "db-pass")
		mustContain(t, r.Err, "No such secret: db-pass")
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("rm left values: %v", entries)
		}
	})
}
