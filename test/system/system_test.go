//go:build system

package system

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	units "github.com/docker/go-units"
)

// dfJSON runs system df --format json and returns its rows by type.
func dfJSON(t *testing.T, e *Env) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, l := range lines(e.TugOK("system", "df", "--format", "json").Out) {
		var row map[string]string
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("df json line %q: %v", l, err)
		}
		out[row["Type"]] = row
	}
	return out
}

func imageBytes(t *testing.T, e *Env, ref string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.TrimSpace(e.TugOK("image", "inspect", "--format", "{{.Size}}", ref).Out), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSystemDfMatchesImagesPsAndVolumes(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb, cfg := Img("busybox"), Img("config")
		e.TugOK("run", "-d", "--name", "up", bb, "sleep", "1000")
		e.TugOK("run", "--name", "big", "-v", "sized:/data", bb, "sh", "-c", "head -c 1000000 /dev/zero > /big; head -c 500000 /dev/zero > /data/f")
		e.TugOK("volume", "create", "unused")
		e.WriteFile(filepath.Join(e.volumeData("unused"), "f"), make([]byte, 300000))

		df := dfJSON(t, e)
		bbSize, cfgSize := imageBytes(t, e, bb), imageBytes(t, e, cfg)
		want := map[string]map[string]string{
			"Images": {"TotalCount": "2", "Active": "1", "Size": units.HumanSize(float64(bbSize + cfgSize)),
				"Reclaimable": fmt.Sprintf("%s (%d%%)", units.HumanSize(float64(cfgSize)), cfgSize*100/(bbSize+cfgSize))},
			"Containers":    {"TotalCount": "2", "Active": "1", "Size": "1MB", "Reclaimable": "1MB (100%)"},
			"Local Volumes": {"TotalCount": "2", "Active": "1", "Size": "800kB", "Reclaimable": "300kB (37%)"},
			"Build Cache":   {"TotalCount": "0", "Active": "0", "Size": "0B", "Reclaimable": "0B"},
		}
		for typ, fields := range want {
			for k, v := range fields {
				if df[typ][k] != v {
					t.Errorf("%s %s = %q, want %q", typ, k, df[typ][k], v)
				}
			}
		}
		if n := len(lines(e.TugOK("images", "-q").Out)); strconv.Itoa(n) != df["Images"]["TotalCount"] {
			t.Errorf("images lists %d, df %s", n, df["Images"]["TotalCount"])
		}
		// The verbose tables agree with ps -s and volume ls.
		out := e.TugOK("system", "df", "-v").Out
		for _, s := range []string{"Images space usage:\n\nREPOSITORY ", "   TAG       IMAGE ID       CREATED       SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS\n",
			"\n\nContainers space usage:\n\nCONTAINER ID   IMAGE ", "   COMMAND                  LOCAL VOLUMES   SIZE      CREATED ",
			"\n\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\nsized         1         500kB\nunused        0         300kB\n",
			"\n\nBuild cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n"} {
			mustContain(t, out, s)
		}
		ps := e.TugOK("ps", "-a", "-s", "--format", "{{.Names}} {{.Size}}").Out
		var v struct {
			Containers []struct{ Names, Size, LocalVolumes string }
		}
		if err := json.Unmarshal([]byte(e.TugOK("system", "df", "-v", "--format", "json").Out), &v); err != nil {
			t.Fatal(err)
		}
		for _, c := range v.Containers {
			if !strings.Contains(ps, c.Names+" "+c.Size+" (virtual") {
				t.Errorf("df -v says %s is %s; ps -s says:\n%s", c.Names, c.Size, ps)
			}
			if c.Names == "big" && c.LocalVolumes != "1" {
				t.Errorf("big has %s local volumes", c.LocalVolumes)
			}
		}
		if out := e.TugOK("system", "df", "--format", "{{.Type}}: {{.TotalCount}}").Out; out != "Images: 2\nContainers: 2\nLocal Volumes: 2\nBuild Cache: 0\n" {
			t.Fatalf("df --format: %q", out)
		}
		mustContain(t, e.TugOK("system", "df").Out, "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\nImages          2         1")
		e.TugFail(125, "system", "df", "--format", "{{.Type")
	})
}

func TestSystemPruneOrderAndWhatStays(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb, cfg := Img("busybox"), Img("config")
		e.TugOK("run", "-d", "--name", "keep", "-v", "keepvol:/keep", "--entrypoint", "sleep", cfg, "1000")
		e.TugOK("run", "--name", "gone1", bb, "true")
		e.TugOK("run", "--name", "gone2", "--entrypoint", "true", cfg)
		e.TugOK("volume", "create", "named-unused")
		gone2vol := e.inspect("gone2", "{{range .Mounts}}{{.Name}}{{end}}")
		// A dangling image: imported without a name.
		dir := filepath.Join(e.TmpDir, "rootfs")
		os.Mkdir(dir, 0o755)
		e.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hi\n"))
		e.ShOK("tar -C " + dir + " -cf " + filepath.Join(e.TmpDir, "rootfs.tar") + " .")
		dangling := strings.TrimSpace(e.TugOK("import", filepath.Join(e.TmpDir, "rootfs.tar")).Out)

		// Without -f it asks; "n" (or no answer) removes nothing.
		r := e.TugStdin("n\n", "system", "prune", "--volumes")
		mustContain(t, r.Out, "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all anonymous volumes not used by at least one container\n  - all dangling images\n  - unused build cache\n\nAre you sure you want to continue? [y/N] ")
		if n := len(lines(e.TugOK("ps", "-aq").Out)); n != 3 {
			t.Fatalf("a refused prune removed containers: %d left", n)
		}
		mustContain(t, e.TugStdin("", "system", "prune", "-a", "--filter", "label=x").Out, "all images without at least one container associated to them\n  - all build cache\n\n  Items to be pruned will be filtered with:\n  - label=x\n")

		out := e.TugOK("system", "prune", "-f", "--volumes").Out
		i1, i2, i3 := strings.Index(out, "Deleted Containers:"), strings.Index(out, "Deleted Volumes:\n"+gone2vol+"\n"), strings.Index(out, "Deleted Images:\ndeleted: "+dangling)
		if i1 < 0 || i2 < i1 || i3 < i2 || !strings.Contains(out, "Total reclaimed space: ") {
			t.Fatalf("system prune output (containers, volumes, images in order):\n%s", out)
		}
		if ps := strings.TrimSpace(e.TugOK("ps", "-a", "--format", "{{.Names}} {{.State}}").Out); ps != "keep running" {
			t.Fatalf("containers left: %q", ps)
		}
		// In use, named, and tagged images stay.
		vols := strings.Fields(e.TugOK("volume", "ls", "-q").Out)
		if len(vols) != 3 || !strings.Contains(strings.Join(vols, " "), "keepvol") || !strings.Contains(strings.Join(vols, " "), "named-unused") {
			t.Fatalf("volumes left: %v", vols)
		}
		e.TugOK("image", "exists", bb)
		e.TugFail(1, "image", "exists", dangling)
		// The events say the same order: containers, then volumes, then images.
		ev := e.TugOK("events", "--since", "5m", "--until", "now", "--filter", "event=destroy", "--filter", "event=delete", "--format", "{{.Type}}").Out
		if got := strings.Join(lines(ev), " "); got != "container container volume image" {
			t.Fatalf("prune events: %s", got)
		}
		// -a: every image no container uses; the running one's stays.
		e.TugOK("system", "prune", "-af")
		e.TugFail(1, "image", "exists", bb)
		e.TugOK("image", "exists", cfg)
		e.TugFail(125, "system", "prune", "-f", "--volumes", "--filter", "until=1h")
		e.TugFail(125, "system", "prune", "-f", "--filter", "colour=red")
	})
}

func TestSystemPruneRacingRunsRemovesNothingInUse(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		stop := make(chan struct{})
		var pruneErrs []string
		var pw sync.WaitGroup
		pw.Add(1)
		go func() {
			defer pw.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				args := []string{"system", "prune", "-af", "--volumes"}
				if i%2 == 1 {
					args = []string{"volume", "prune", "-af"}
				}
				if r := e.Tug(args...); r.Code != 0 {
					pruneErrs = append(pruneErrs, r.Err)
				}
			}
		}()
		var wg sync.WaitGroup
		errs := make(chan string, 64)
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 6; i++ {
					name := fmt.Sprintf("r%d-%d", w, i)
					r := e.Tug("run", "-d", "--name", name, "-v", "vol-"+name+":/data", "-v", "/anon", bb, "sleep", "1000")
					if r.Code != 0 {
						errs <- name + ": " + r.Err
					}
					if r := e.Tug("run", "--rm", "-v", "shared-race:/data", bb, "sh", "-c", "echo x > /data/f-"+name); r.Code != 0 {
						errs <- "run --rm " + name + ": " + r.Err
					}
				}
			}(w)
		}
		wg.Wait()
		close(stop)
		pw.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for _, err := range pruneErrs {
			t.Errorf("prune: %s", err)
		}
		// Every container that runs still has its image and its volumes.
		out := e.TugOK("ps", "--format", "{{.Names}}").Out
		if n := len(lines(out)); n != 18 {
			t.Fatalf("%d containers run, want 18:\n%s", n, out)
		}
		e.TugOK("image", "exists", bb)
		for _, name := range lines(out) {
			e.TugOK("volume", "exists", "vol-"+name)
		}
	})
}

func TestSystemResetLeavesAnEmptyStore(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		e.TugStdin("s3cr3t", "secret", "create", "pw", "-")
		e.TugOK("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", "tmpvol")
		e.TugOK("run", "-d", "--name", "runner", "-v", "tmpvol:/t", "-v", "data:/data", "--secret", "pw", bb, "sleep", "1000")
		e.TugOK("run", "--name", "stopped", bb, "true")
		pid, _ := strconv.Atoi(e.inspect("runner", "{{.State.Pid}}"))
		pause := 0
		if e.Rootless {
			pause = pausePID(t, e)
		}
		// Asked, "no" keeps everything.
		r := e.TugStdin("no\n", "system", "reset")
		mustContain(t, r.Out, "WARNING! This will remove:\n  - all containers\n", "the data root directory: \""+e.Root+"\"")
		e.TugOK("container", "exists", "runner")

		e.TugOK("system", "reset", "-f")
		for _, dir := range []string{e.Root, e.RunRoot} {
			if names, _ := readDir(dir); len(names) != 0 {
				t.Fatalf("%s still holds %v", dir, names)
			}
		}
		if processLives(pid) {
			t.Fatalf("the running container's process %d survived", pid)
		}
		if pause != 0 && processLives(pause) {
			t.Fatalf("the pause process %d survived", pause)
		}
		if data, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(data), e.Root) {
			t.Fatalf("mounts left under %s", e.Root)
		}
		for _, args := range [][]string{{"ps", "-aq"}, {"images", "-aq"}, {"volume", "ls", "-q"}, {"secret", "ls", "-q"}} {
			if out := e.TugOK(args...).Out; out != "" {
				t.Fatalf("%v after reset: %q", args, out)
			}
		}
		if e.storageMounts() != 0 {
			t.Fatal("storage mounts after reset")
		}
		// And tug works again from scratch.
		e.TugOK("run", "--rm", bb, "true")
	})
}

// processLives reports a process that exists and is not a zombie (which
// init may take its time to reap).
func processLives(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func TestSystemMigrate(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		e.TugOK("run", "-d", "--name", "sleeper", Img("busybox"), "sleep", "1000")
		before := 0
		if e.Rootless {
			before = pausePID(t, e)
		}
		out := e.TugOK("system", "migrate").Out
		mustContain(t, out, "The state database is at schema version ")
		if !e.Rootless {
			if e.inspect("sleeper", "{{.State.Status}}") != "running" {
				t.Fatal("migrate as root stopped a container")
			}
			return
		}
		mustContain(t, out, "Stopped container sleeper\n", fmt.Sprintf("Stopped the pause process (PID %d)", before))
		if s := e.inspect("sleeper", "{{.State.Status}}"); s != "exited" {
			t.Fatalf("sleeper is %s", s)
		}
		if after := pausePID(t, e); after == before {
			t.Fatal("the pause process was not replaced")
		}
		e.TugOK("start", "sleeper")
	})
}
