//go:build system

package system

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Volumes, binds, tmpfs and secrets inside containers: the walkthroughs of
// chapter F and example 2.13 of the seed, adapted to busybox.

// volumeData is the host directory of a volume's data.
func (e *Env) volumeData(name string) string { return filepath.Join(e.Root, "volumes", name, "_data") }

// hostOwner is the host UID that owns files a container creates as uid
// (container root is the user itself when rootless).
func (e *Env) hostOwner(t *testing.T, uid int) int {
	t.Helper()
	if !e.Rootless {
		return uid
	}
	if uid == 0 {
		return userUID
	}
	f, err := os.Open("/etc/subuid")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ":")
		if len(parts) == 3 && (parts[0] == testUser || parts[0] == strconv.Itoa(userUID)) {
			start, _ := strconv.Atoi(parts[1])
			return start + uid - 1
		}
	}
	t.Fatal("no /etc/subuid entry for the test user")
	return 0
}

func fileOwner(t *testing.T, path string) int {
	t.Helper()
	uid, _ := ownerOf(t, path)
	return uid
}

func TestVolumeNamedWalkthrough(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		// F1-F4: create, inspect, mount at /data, write two files.
		e.TugOK("volume", "create", "my-data")
		mp := inspectVolumes(t, e, "my-data")[0]["Mountpoint"]
		if mp != e.volumeData("my-data") {
			t.Fatalf("Mountpoint %v", mp)
		}
		e.TugOK("run", "--name", "test", "-v", "my-data:/data", bb, "sh", "-c", `cd /data && echo "Some data" > data.txt && echo "Some more data" > data2.txt`)
		names, err := readDir(e.volumeData("my-data"))
		if err != nil || strings.Join(names, " ") != "data.txt data2.txt" {
			t.Fatalf("the host sees %v %v", names, err)
		}
		// Written by the container's root: the user's own files on the host.
		if got, want := fileOwner(t, filepath.Join(e.volumeData("my-data"), "data.txt")), e.hostOwner(t, 0); got != want {
			t.Fatalf("data.txt is owned by %d on the host, want %d", got, want)
		}
		// F5: a host write is seen by the next container, at another path.
		e.WriteFile(filepath.Join(e.volumeData("my-data"), "host-data.txt"), []byte("This file we create on the host\n"))
		e.TugOK("rm", "test")
		out := e.TugOK("run", "--name", "test2", "-v", "my-data:/app/data", bb, "ls", "/app/data").Out
		if got := strings.Fields(out); strings.Join(got, " ") != "data.txt data2.txt host-data.txt" {
			t.Fatalf("test2 lists %q", out)
		}
		// F13: refused while a stopped container uses it, then gone with its folder.
		id := e.inspect("test2", "{{.Id}}")
		r := e.TugFail(1, "volume", "rm", "my-data")
		mustContain(t, r.Err, "remove my-data: volume is in use - ["+id+"]")
		e.TugOK("rm", "test2")
		e.TugOK("volume", "rm", "my-data")
		if _, err := os.Stat(filepath.Dir(e.volumeData("my-data"))); !os.IsNotExist(err) {
			t.Fatalf("the volume's folder is still there: %v", err)
		}
		// F6: a volume is created on first use.
		e.TugOK("run", "--rm", "-v", "shared-data:/data", bb, "sh", "-c", "echo I can create a file > /data/sample.txt")
		e.TugOK("volume", "inspect", "shared-data")
	})
}

func TestVolumeReadOnlyAndQuiz(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		// F7: one writer, a read-only reader.
		e.TugOK("run", "--name", "writer", "-v", "shared-data:/data", bb, "sh", "-c", "echo I can create a file > /data/sample.txt")
		out := e.TugOK("run", "--rm", "--name", "reader", "-v", "shared-data:/app/data:ro", bb, "cat", "/app/data/sample.txt").Out
		if out != "I can create a file\n" {
			t.Fatalf("reader read %q", out)
		}
		r := e.Tug("run", "--rm", "-v", "shared-data:/app/data:ro", bb, "sh", "-c", "echo x > /app/data/data.txt")
		if r.Code == 0 || !strings.Contains(r.Err, "Read-only file system") {
			t.Fatalf("write to :ro: exit %d %q", r.Code, r.Err)
		}
		if ro := e.Tug("inspect", "--format", "{{range .Mounts}}{{.RW}} {{.Mode}}{{end}}", "writer").Out; ro != "true z\n" {
			t.Fatalf("writer's mount: %q", ro)
		}
		// The quiz: my-products :ro at /data, rw at /app-data, then prune.
		e.TugOK("volume", "create", "my-products")
		r = e.Tug("run", "--rm", "-v", "my-products:/data:ro", bb, "touch", "/data/x")
		if r.Code == 0 || !strings.Contains(r.Err, "Read-only file system") {
			t.Fatalf("touch on :ro: exit %d %q", r.Code, r.Err)
		}
		e.TugOK("run", "--rm", "-v", "my-products:/app-data", bb, "touch", "/app-data/x")
		// C9: prune with label filters keeps the unlabelled and the used.
		e.TugOK("volume", "create", "--label", "demo", "d1")
		e.TugOK("volume", "create", "--label", "demo", "--label", "test", "d2")
		e.TugOK("volume", "create", "--label", "demo", "d3")
		e.TugOK("create", "--name", "holder", "-v", "d3:/d", bb)
		if out := e.TugOK("volume", "prune", "-af", "--filter", "label=demo", "--filter", "label=test").Out; !strings.HasPrefix(out, "Deleted Volumes:\nd2\n\n") {
			t.Fatalf("prune label=demo label=test: %q", out)
		}
		if out := e.TugOK("volume", "prune", "-af", "--filter", "label=demo").Out; !strings.HasPrefix(out, "Deleted Volumes:\nd1\n\n") {
			t.Fatalf("prune label=demo (d3 is used by a stopped container): %q", out)
		}
		e.TugOK("rm", "holder")
		e.TugOK("rm", "writer")
		out = e.TugOK("volume", "prune", "-af").Out
		mustContain(t, out, "Deleted Volumes:\nd3\nmy-products\nshared-data\n")
		if ls := e.TugOK("volume", "ls", "-q").Out; ls != "" {
			t.Fatalf("volumes left: %q", ls)
		}
	})
}

func TestVolumeMountSyntaxAndBinds(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb, cfg := Img("busybox"), Img("config")
		// F8: --mount source=,target=; readonly.
		e.TugOK("run", "--rm", "--mount", "source=my-vol,target=/app", bb, "sh", "-c", "echo v > /app/f")
		r := e.Tug("run", "--rm", "--mount", "source=my-vol,target=/app,readonly", bb, "sh", "-c", "cat /app/f; echo x > /app/g")
		if r.Code == 0 || r.Out != "v\n" || !strings.Contains(r.Err, "Read-only file system") {
			t.Fatalf("readonly --mount: %d %q %q", r.Code, r.Out, r.Err)
		}
		// volume-subpath mounts one directory of a volume; it must exist.
		e.TugOK("run", "--rm", "-v", "my-vol:/v", bb, "sh", "-c", "mkdir /v/sub && echo in-sub > /v/sub/f")
		if out := e.TugOK("run", "--rm", "--mount", "source=my-vol,target=/s,volume-subpath=sub", bb, "ls", "/s").Out; out != "f\n" {
			t.Fatalf("volume-subpath: %q", out)
		}
		mustContain(t, e.TugFail(125, "run", "--rm", "--mount", "source=my-vol,target=/s,volume-subpath=nope", bb, "true").Err, "the volume-subpath nope does not exist in volume my-vol")
		// F9, F10: binds with --mount and -v.
		code := filepath.Join(e.TmpDir, "code")
		os.Mkdir(code, 0o755)
		os.Chown(code, e.uid, e.gid)
		e.WriteFile(filepath.Join(code, "index.html"), []byte("hello\n"))
		if out := e.TugOK("run", "--rm", "--mount", "type=bind,source="+code+",target=/app", bb, "cat", "/app/index.html").Out; out != "hello\n" {
			t.Fatalf("bind --mount: %q", out)
		}
		// F11: a bind hides the image's content, and changes go both ways.
		out := e.TugOK("run", "--rm", "-u", "0", "-v", code+":/data", "--entrypoint", "sh", cfg, "-c", "ls /data; echo from-container > /data/new.txt").Out
		if out != "index.html\n" {
			t.Fatalf("the bind shows %q, not only the host's files", out)
		}
		if b, _ := os.ReadFile(filepath.Join(code, "new.txt")); string(b) != "from-container\n" {
			t.Fatalf("the host sees %q", b)
		}
		if got, want := fileOwner(t, filepath.Join(code, "new.txt")), e.hostOwner(t, 0); got != want {
			t.Fatalf("new.txt owned by %d on the host, want %d", got, want)
		}
		// A relative source is taken from the current directory (Docker 23+).
		if out := e.TugOK("run", "--rm", "-v", "./code:/c:ro", bb, "ls", "/c").Out; !strings.Contains(out, "new.txt") {
			t.Fatalf("relative bind: %q", out)
		}
		// -v creates a missing source; --mount refuses it (exit 125, nothing created).
		missing := filepath.Join(e.TmpDir, "made-by-v")
		e.TugOK("run", "--rm", "-v", missing+":/m", bb, "true")
		if info, err := os.Stat(missing); err != nil || !info.IsDir() {
			t.Fatalf("-v did not create %s: %v", missing, err)
		}
		r = e.TugFail(125, "run", "--rm", "--mount", "type=bind,source="+filepath.Join(e.TmpDir, "nope")+",target=/x", bb, "true")
		mustContain(t, r.Err, `invalid mount config for type "bind": bind source path does not exist: `+filepath.Join(e.TmpDir, "nope"))
		// tmpfs with size and mode.
		out = e.TugOK("run", "--rm", "--mount", "type=tmpfs,target=/scratch,tmpfs-size=2m,tmpfs-mode=1770", bb, "sh", "-c", "stat -c %a /scratch; df -k /scratch | tail -1").Out
		if f := strings.Fields(out); len(f) < 3 || f[0] != "1770" || f[2] != "2048" {
			t.Fatalf("tmpfs: %q", out)
		}
		if ps := e.TugOK("ps", "-aq").Out; ps != "" {
			t.Fatalf("containers left: %q", ps)
		}
	})
}

func TestVolumeAnonymousCopyUpAndRemoval(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		cfg := Img("config")
		// F16, C4: the image's VOLUME gets an anonymous volume, listed in Mounts.
		e.TugOK("run", "--name", "my-mongo", cfg)
		r := e.TugOK("inspect", "--format", "{{json .Mounts}}", "my-mongo")
		var mounts []map[string]any
		if err := json.Unmarshal([]byte(r.Out), &mounts); err != nil || len(mounts) != 1 {
			t.Fatalf("Mounts: %v %s", err, r.Out)
		}
		m := mounts[0]
		name, _ := m["Name"].(string)
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(name) {
			t.Fatalf("anonymous volume name %q", name)
		}
		want := map[string]any{"Type": "volume", "Source": e.volumeData(name), "Destination": "/data", "Driver": "local", "Mode": "", "RW": true, "Propagation": ""}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("Mounts[0].%s = %v, want %v", k, m[k], v)
			}
		}
		keys := regexp.MustCompile(`"(\w+)":`).FindAllStringSubmatch(r.Out, -1)
		var order []string
		for _, k := range keys {
			order = append(order, k[1])
		}
		if strings.Join(order, " ") != "Type Name Source Destination Driver Mode RW Propagation" {
			t.Fatalf("Mounts keys in order %v", order)
		}
		// F12: the new volume was filled from the image.
		if b, err := os.ReadFile(filepath.Join(e.volumeData(name), "seed.txt")); err != nil || string(b) != "seeded from the image\n" {
			t.Fatalf("copy-up: %q %v", b, err)
		}
		if v := e.inspect("my-mongo", "{{json .Config.Volumes}}"); v != `{"/data":{}}` {
			t.Fatalf("Config.Volumes %s", v)
		}
		// rm -v removes it; a named volume given for the VOLUME stays, filled once.
		e.TugOK("rm", "-v", "my-mongo")
		if _, err := os.Stat(e.volumeData(name)); !os.IsNotExist(err) {
			t.Fatalf("rm -v left the anonymous volume: %v", err)
		}
		out := e.TugOK("run", "--rm", "-v", "kept:/data", "--entrypoint", "cat", cfg, "/data/seed.txt").Out
		if out != "seeded from the image\n" {
			t.Fatalf("named volume copy-up: %q", out)
		}
		// nocopy leaves a new volume empty; -v /path is anonymous too.
		if out := e.TugOK("run", "--rm", "-v", "empty:/data:nocopy", "--entrypoint", "ls", cfg, "/data").Out; out != "" {
			t.Fatalf("nocopy: %q", out)
		}
		// --rm removes the anonymous volumes (image VOLUME and -v /path), never named ones.
		e.TugOK("run", "--rm", "-v", "/scratch", "--entrypoint", "true", cfg)
		if ls := strings.Fields(e.TugOK("volume", "ls", "-q").Out); strings.Join(ls, " ") != "empty kept" {
			t.Fatalf("after --rm: volumes %v", ls)
		}
		// Plain rm keeps them (as Docker), volume prune takes them.
		e.TugOK("run", "--name", "keepanon", "--entrypoint", "true", cfg)
		e.TugOK("rm", "keepanon")
		if n := len(strings.Fields(e.TugOK("volume", "ls", "-q").Out)); n != 3 {
			t.Fatalf("rm without -v removed the anonymous volume (%d left)", n)
		}
		mustContain(t, e.TugOK("volume", "prune", "-f").Out, "Deleted Volumes:\n")
		if ls := strings.Fields(e.TugOK("volume", "ls", "-q").Out); strings.Join(ls, " ") != "empty kept" {
			t.Fatalf("after prune: %v", ls)
		}
	})
}

func TestVolumeOwnershipAndChown(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		e.TugOK("run", "--rm", "-u", "1000:1000", "-v", "owned:/data:U", bb, "sh", "-c", "touch /data/by-user && ls -ln /data")
		if got, want := fileOwner(t, filepath.Join(e.volumeData("owned"), "by-user")), e.hostOwner(t, 1000); got != want {
			t.Fatalf("a file of container uid 1000 is owned by %d on the host, want %d", got, want)
		}
		if got, want := fileOwner(t, e.volumeData("owned")), e.hostOwner(t, 1000); got != want {
			t.Fatalf(":U gave the volume to %d, want %d", got, want)
		}
		// Without :U, a non-root user cannot write into a root-owned volume.
		r := e.Tug("run", "--rm", "-u", "1000:1000", "-v", "rootvol:/data", bb, "touch", "/data/x")
		if r.Code == 0 || !strings.Contains(r.Err, "Permission denied") {
			t.Fatalf("write without :U: %d %q", r.Code, r.Err)
		}
	})
}

func TestVolumesFrom(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb, cfg := Img("busybox"), Img("config")
		e.TugOK("create", "--name", "store", "-v", "shared:/shared", cfg)
		e.TugOK("run", "--rm", "-v", "shared:/s", bb, "sh", "-c", "echo hi > /s/f")
		out := e.TugOK("run", "--rm", "--volumes-from", "store", bb, "cat", "/shared/f", "/data/seed.txt").Out
		if out != "hi\nseeded from the image\n" {
			t.Fatalf("volumes-from: %q", out)
		}
		r := e.Tug("run", "--rm", "--volumes-from", "store:ro", bb, "touch", "/shared/g")
		if r.Code == 0 || !strings.Contains(r.Err, "Read-only file system") {
			t.Fatalf("volumes-from :ro: %d %q", r.Code, r.Err)
		}
		// The anonymous volume is shared: rm -v of one user keeps it for the other.
		e.TugOK("create", "--name", "user2", "--volumes-from", "store", bb, "true")
		anon := e.inspect("store", `{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}`)
		e.TugOK("rm", "-v", "store")
		if _, err := os.Stat(e.volumeData(anon)); err != nil {
			t.Fatalf("the shared anonymous volume went with its first user: %v", err)
		}
		e.TugOK("rm", "-v", "user2")
		if _, err := os.Stat(e.volumeData(anon)); !os.IsNotExist(err) {
			t.Fatalf("the last user's rm -v left it: %v", err)
		}
		e.TugFail(125, "run", "--rm", "--volumes-from", "nosuch", bb, "true")
	})
}

func TestSecretsInContainers(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		e.TugStdin(secretValue, "secret", "create", "db-pass", "-")
		out := e.TugOK("run", "--name", "app", "--secret", "db-pass", "--secret", "db-pass,target=/etc/app/pw,mode=0400",
			"--secret", "db-pass,type=env,target=DB_PASSWORD", bb, "sh", "-c",
			`stat -c '%a %U' /run/secrets/db-pass /etc/app/pw; grep -c . /run/secrets/db-pass; [ "$DB_PASSWORD" = "$(cat /run/secrets/db-pass)" ] && echo env-ok; grep ' /run/secrets/db-pass ' /proc/mounts | cut -d' ' -f3,4 | cut -d, -f1; { echo x > /run/secrets/db-pass; } 2>/dev/null || echo ro-ok`).Out
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 6 || lines[0] != "444 root" || lines[1] != "400 root" || lines[2] != "1" || lines[3] != "env-ok" || lines[4] != "tmpfs ro" || lines[5] != "ro-ok" {
			t.Fatalf("secrets in the container:\n%s", out)
		}
		// Never in inspect, the log, the state database or the container's files.
		noValue(t, e.TugOK("inspect", "app"))
		noValue(t, e.TugOK("logs", "app"))
		if r := e.Sh(`grep -rlsI -- '` + secretValue + `' ` + filepath.Join(e.Root, "tug.db") + ` ` + filepath.Join(e.Root, "containers")); r.Out != "" {
			t.Fatalf("the value is in %s", r.Out)
		}
		// The tmpfs is gone once the container stopped.
		if entries, _ := readDir(filepath.Join(e.RunRoot, "secrets")); len(entries) != 0 {
			t.Fatalf("secret tmpfs left: %v", entries)
		}
		r := e.TugFail(125, "run", "--rm", "--secret", "nope", bb, "true")
		mustContain(t, r.Err, "No such secret: nope")
		e.TugFail(125, "run", "--rm", "--secret", "db-pass", "--secret", "db-pass", bb, "true")
	})
}

func TestMountBadInputExit125(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		cases := map[string][]string{
			"invalid volume specification":   {"-v", "a:b:c:d"},
			"mount path must be absolute":    {"-v", "vol:data"},
			"invalid characters":             {"-v", "bad$name:/data"},
			"invalid mode":                   {"-v", "vol:/data:rx"},
			"Duplicate mount point: /data":   {"-v", "aa:/data", "--mount", "source=bb,target=/data"},
			"Duplicate mount point: /t":      {"-v", "aa:/t", "--tmpfs", "/t"},
			"invalid --mount type":           {"--mount", "type=nfs,target=/x"},
			"field Target must not be empty": {"--mount", "source=x"},
			"cannot mix 'bind-*' options":    {"--mount", "type=volume,target=/x,bind-propagation=shared"},
			"invalid --volumes-from":         {"--volumes-from", ""},
			"invalid --secret":               {"--secret", "a,type=file"},
			"invalid option":                 {"--mount", "source=vv,target=/x,volume-opt=colour=red"},
		}
		for want, args := range cases {
			r := e.TugFail(125, append(append([]string{"run", "--rm"}, args...), bb, "true")...)
			mustContain(t, r.Err, want)
		}
		if out := e.TugOK("ps", "-aq").Out + e.TugOK("volume", "ls", "-q").Out; out != "" {
			t.Fatalf("bad input created %q", out)
		}
	})
}

func TestRmiOfImageInUse(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		cfg := Img("config")
		e.TugOK("create", "--name", "user", cfg)
		id := e.inspect("user", "{{.Id}}")[:12]
		img := strings.TrimPrefix(e.TugOK("image", "inspect", "--format", "{{.Id}}", cfg).Out, "sha256:")[:12]
		r := e.TugFail(1, "rmi", cfg)
		mustContain(t, r.Err, `conflict: unable to remove repository reference "`+cfg+`" (must force) - container `+id+` is using its referenced image `+img)
		// image prune -a keeps the used image only.
		e.TugOK("image", "prune", "-af")
		e.TugOK("image", "exists", cfg)
		e.TugFail(1, "image", "exists", Img("busybox"))
		e.TugOK("rmi", "-f", cfg) // untagged only: the container keeps its image
		e.TugOK("start", "-a", "user")
		e.TugOK("rm", "user")
		e.TugOK("image", "prune", "-f")
		if ids := strings.Fields(e.TugOK("images", "-aq").Out); len(ids) != 0 {
			t.Fatalf("images left: %v", ids)
		}
	})
}
