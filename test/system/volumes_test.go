//go:build system

package system

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// inspectVolumes runs volume inspect and decodes its JSON array.
func inspectVolumes(t *testing.T, e *Env, names ...string) []map[string]any {
	t.Helper()
	r := e.TugOK(append([]string{"volume", "inspect"}, names...)...)
	var out []map[string]any
	if err := json.Unmarshal([]byte(r.Out), &out); err != nil {
		t.Fatalf("volume inspect is not a JSON array: %v\n%s", err, r.Out)
	}
	return out
}

func ownerOf(t *testing.T, path string) (uid int, mode os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(info.Sys().(*syscall.Stat_t).Uid), info.Mode().Perm()
}

func TestVolumeCreateInspectLsRm(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		if out := e.TugOK("volume", "create", "my-data").Out; out != "my-data\n" {
			t.Fatalf("create printed %q", out)
		}
		// An existing name is returned as is.
		if out := e.TugOK("volume", "create", "my-data").Out; out != "my-data\n" {
			t.Fatalf("second create printed %q", out)
		}
		vols := inspectVolumes(t, e, "my-data")
		if len(vols) != 1 {
			t.Fatalf("inspect: %v", vols)
		}
		v := vols[0]
		var keys []string
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if got := strings.Join(keys, " "); got != "CreatedAt Driver Labels Mountpoint Name Options Scope" {
			t.Fatalf("inspect keys: %s", got)
		}
		mountpoint := filepath.Join(e.Root, "volumes", "my-data", "_data")
		if v["Mountpoint"] != mountpoint || v["Driver"] != "local" || v["Scope"] != "local" || v["Name"] != "my-data" {
			t.Fatalf("inspect: %v", v)
		}
		if l, ok := v["Labels"].(map[string]any); !ok || len(l) != 0 {
			t.Fatalf("Labels %v, want {}", v["Labels"])
		}
		if o, ok := v["Options"].(map[string]any); !ok || len(o) != 0 {
			t.Fatalf("Options %v, want {}", v["Options"])
		}
		created, err := time.Parse(time.RFC3339, v["CreatedAt"].(string))
		if err != nil || time.Since(created) > time.Hour || time.Since(created) < -time.Minute {
			t.Fatalf("CreatedAt %v: %v", v["CreatedAt"], err)
		}
		// Pretty-printed, one key a line, so grep works as in the book.
		grep := e.ShOK("$TUG volume inspect my-data | grep Mountpoint").Out
		if grep != `        "Mountpoint": "`+mountpoint+`",`+"\n" {
			t.Fatalf("grep Mountpoint: %q", grep)
		}
		if out := e.TugOK("volume", "inspect", "-f", "{{.Mountpoint}}", "my-data").Out; out != mountpoint+"\n" {
			t.Fatalf("inspect -f: %q", out)
		}
		// The top-level inspect finds volumes too.
		if out := e.TugOK("inspect", "--type", "volume", "-f", "{{.Mountpoint}}", "my-data").Out; out != mountpoint+"\n" {
			t.Fatalf("inspect --type volume: %q", out)
		}
		mustContain(t, e.TugOK("inspect", "my-data").Out, `"Scope": "local"`)
		// Rootless, the data belongs to the user on the host (root in the container).
		uid, mode := ownerOf(t, mountpoint)
		if uid != e.uid || mode != 0o755 {
			t.Fatalf("mountpoint owner %d mode %v, want %d 0755", uid, mode, e.uid)
		}
		e.ShOK("echo 'This file we create on the host' > " + mountpoint + "/host-data.txt")

		anon := strings.TrimSpace(e.TugOK("volume", "create").Out)
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(anon) {
			t.Fatalf("anonymous volume name %q", anon)
		}
		e.TugOK("volume", "create", "--label", "env=prod", "-l", "team", "labelled")

		ls := e.TugOK("volume", "ls").Out
		lines := strings.Split(strings.TrimSpace(ls), "\n")
		if len(lines) != 4 || !regexp.MustCompile(`^DRIVER\s+VOLUME NAME$`).MatchString(lines[0]) ||
			!regexp.MustCompile(`^local\s+my-data$`).MatchString(lines[3]) {
			t.Fatalf("volume ls:\n%s", ls)
		}
		if q := e.TugOK("volume", "ls", "-q").Out; q != anon+"\nlabelled\nmy-data\n" {
			t.Fatalf("ls -q: %q", q)
		}
		for filter, want := range map[string]string{
			"label=env":      "labelled\n",
			"label=env=prod": "labelled\n",
			"label=env=dev":  "",
			"name=data":      "my-data\n",
			"dangling=true":  anon + "\nlabelled\nmy-data\n",
			"dangling=false": "",
			"driver=local":   anon + "\nlabelled\nmy-data\n",
		} {
			if got := e.TugOK("volume", "ls", "-q", "--filter", filter).Out; got != want {
				t.Errorf("ls --filter %s: %q, want %q", filter, got, want)
			}
		}
		if got := e.TugOK("volume", "ls", "--format", "{{.Name}} {{.Label \"env\"}} {{.Labels}}", "-f", "name=^lab").Out; got != "labelled prod env=prod,team=\n" {
			t.Fatalf("ls --format: %q", got)
		}
		if got := e.TugOK("volume", "ls", "--format", "table {{.Name}}\t{{.Mountpoint}}", "-f", "name=my").Out; !regexp.MustCompile(`^VOLUME NAME\s+MOUNTPOINT\nmy-data\s+` + regexp.QuoteMeta(mountpoint) + "\n$").MatchString(got) {
			t.Fatalf("ls --format table: %q", got)
		}
		var row map[string]any
		if err := json.Unmarshal([]byte(e.TugOK("volume", "ls", "--format", "json", "-f", "name=my-data").Out), &row); err != nil || row["Name"] != "my-data" || row["Mountpoint"] != mountpoint {
			t.Fatalf("ls --format json: %v %v", row, err)
		}
		r := e.TugFail(125, "volume", "ls", "--filter", "colour=red")
		mustContain(t, r.Err, `invalid filter "colour"`)

		if got := e.Tug("volume", "exists", "my-data"); got.Code != 0 || got.Out+got.Err != "" {
			t.Fatalf("exists: %+v", got)
		}
		if got := e.Tug("volume", "exists", "nope"); got.Code != 1 || got.Out+got.Err != "" {
			t.Fatalf("exists nope: %+v", got)
		}

		// rm of several names: each error named, the others removed.
		r = e.TugFail(1, "volume", "rm", "my-data", "nosuch", anon)
		if r.Out != "my-data\n"+anon+"\n" {
			t.Fatalf("rm printed %q", r.Out)
		}
		mustContain(t, r.Err, "Error: No such volume: nosuch")
		if _, err := os.Stat(filepath.Dir(mountpoint)); !os.IsNotExist(err) {
			t.Fatalf("rm left the volume's directory: %v", err)
		}
		e.TugOK("volume", "rm", "-f", "nosuch")
		r = e.TugFail(1, "volume", "inspect", "labelled", "my-data")
		mustContain(t, r.Err, "No such volume: my-data")
		if !strings.Contains(r.Out, `"Name": "labelled"`) {
			t.Fatalf("inspect of a found and a missing volume printed %q", r.Out)
		}
		e.TugOK("volume", "rm", "labelled")
		if out := e.TugOK("volume", "ls", "-q").Out; out != "" {
			t.Fatalf("volumes left: %q", out)
		}
		// The management form is required, as in Docker; list and remove are aliases.
		e.TugOK("volume", "create", "again")
		mustContain(t, e.TugOK("volume", "list").Out, "again")
		e.TugOK("volume", "remove", "again")
	})
}

func TestVolumeNamesAndOptionsAreValidated(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"a/b"}, `create a/b: "a/b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`},
			{[]string{"x"}, "volume name is too short"},
			{[]string{"-bad"}, "unknown shorthand flag"},
			{[]string{"_bad"}, "includes invalid characters"},
			{[]string{"-d", "nfs", "v1"}, `plugin "nfs" not found`},
			{[]string{"-o", "foo=bar", "v1"}, `invalid option: "foo"`},
			{[]string{"-o", "type=tmpfs", "v1"}, `missing required option: "device"`},
			{[]string{"-o", "o=size=1m", "v1"}, "missing required option"},
			{[]string{"-o", "size=1g", "v1"}, "no quota support"},
			{[]string{"-o", "type=none", "-o", "device=/srv", "v1"}, "needs o=bind"},
			{[]string{"-o", "type=none", "-o", "device=rel/dir", "-o", "o=bind", "v1"}, "absolute path"},
			{[]string{"-o", "novalue", "v1"}, "KEY=VALUE"},
			{[]string{"v1", "v2"}, "at most 1 argument"},
		} {
			r := e.TugFail(125, append([]string{"volume", "create"}, c.args...)...)
			mustContain(t, r.Err, c.want)
		}
		if out := e.TugOK("volume", "ls", "-q").Out; out != "" {
			t.Fatalf("a refused create left volumes: %q", out)
		}
	})
}

func TestVolumeDriverOptions(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		e.TugOK("volume", "create", "--driver", "local", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=100m,mode=0770", "mem")
		v := inspectVolumes(t, e, "mem")[0]
		opts := v["Options"].(map[string]any)
		if opts["type"] != "tmpfs" || opts["device"] != "tmpfs" || opts["o"] != "size=100m,mode=0770" || len(opts) != 3 {
			t.Fatalf("tmpfs Options: %v", opts)
		}
		host := filepath.Join(e.TmpDir, "shared")
		e.ShOK("mkdir " + host)
		e.TugOK("volume", "create", "-o", "type=none", "-o", "device="+host, "-o", "o=bind", "hostdir")
		if got := e.TugOK("volume", "inspect", "-f", "{{.Options.device}} {{.Options.o}}", "hostdir").Out; got != host+" bind\n" {
			t.Fatalf("bind Options: %q", got)
		}
		disk := []string{"volume", "create", "-o", "type=ext4", "-o", "device=/dev/nonexistent", "disk"}
		if e.Rootless {
			// The kernel lets a user namespace mount only some filesystems: refused now, not at run.
			r := e.TugFail(125, disk...)
			mustContain(t, r.Err, `rootless tug cannot mount a volume of type "ext4"`)
		} else {
			e.TugOK(disk...)
		}
		// Removing a bind volume leaves the host directory alone.
		e.ShOK("echo keep > " + host + "/precious")
		e.TugOK("volume", "rm", "hostdir", "mem")
		if got := e.ShOK("cat " + host + "/precious").Out; got != "keep\n" {
			t.Fatalf("host directory touched: %q", got)
		}
	})
}

func TestVolumePrune(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		e.TugOK("volume", "create", "--label", "demo", "named-demo")
		e.TugOK("volume", "create", "--label", "demo", "--label", "test", "named-both")
		e.TugOK("volume", "create", "named-plain")
		anon := strings.TrimSpace(e.TugOK("volume", "create", "--label", "demo").Out)
		e.ShOK("head -c 2000 /dev/zero > " + filepath.Join(e.Root, "volumes", anon, "_data", "zeros"))

		// Without -f it asks; anything but y keeps everything.
		r := e.TugStdin("n\n", "volume", "prune")
		if r.Code != 0 || !strings.Contains(r.Out, "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ") {
			t.Fatalf("prune prompt: %+v", r)
		}
		if strings.Contains(r.Out, "Deleted") {
			t.Fatalf("prune answered n removed something: %q", r.Out)
		}
		if n := len(strings.Fields(e.TugOK("volume", "ls", "-q").Out)); n != 4 {
			t.Fatalf("%d volumes after a refused prune", n)
		}
		// Without --all, only anonymous volumes go (Docker 23+).
		r = e.TugStdin("y\n", "volume", "prune")
		if r.Code != 0 || !strings.HasSuffix(r.Out, "Deleted Volumes:\n"+anon+"\n\nTotal reclaimed space: 2kB\n") {
			t.Fatalf("prune: %+v", r)
		}
		// --filter is repeatable and all must match; label!= excludes.
		r = e.TugOK("volume", "prune", "-af", "--filter", "label=demo", "--filter", "label=test")
		if r.Out != "Deleted Volumes:\nnamed-both\n\nTotal reclaimed space: 0B\n" {
			t.Fatalf("prune -a label label: %q", r.Out)
		}
		r = e.TugOK("volume", "prune", "--all", "--force", "--filter", "label!=demo")
		if r.Out != "Deleted Volumes:\nnamed-plain\n\nTotal reclaimed space: 0B\n" {
			t.Fatalf("prune label!=: %q", r.Out)
		}
		r = e.TugStdin("y\n", "volume", "prune", "-a")
		mustContain(t, r.Out, "WARNING! This will remove all local volumes not used by at least one container.", "named-demo")
		if r = e.TugOK("volume", "prune", "-f"); r.Out != "Total reclaimed space: 0B\n" {
			t.Fatalf("prune of nothing: %q", r.Out)
		}
		e.TugFail(125, "volume", "prune", "-f", "--filter", "name=x")
		if entries, _ := os.ReadDir(filepath.Join(e.Root, "volumes")); len(entries) != 0 {
			t.Fatalf("prune left directories: %v", entries)
		}
	})
}
