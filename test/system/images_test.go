//go:build system

package system

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestImagesListsLikeDocker(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		loadTest(e, "busybox=busybox:latest,busybox:1.0,127.0.0.1:5000/tug/busybox:latest", "config=docker.io/library/config:v2")
		out := e.TugOK("images").Out
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if !regexp.MustCompile(`^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$`).MatchString(lines[0]) {
			t.Fatalf("header: %q", lines[0])
		}
		if len(lines) != 5 {
			t.Fatalf("want a row per tag (4):\n%s", out)
		}
		bb := imageID(t, "busybox")[:12]
		row := regexp.MustCompile(`(?m)^busybox\s+1\.0\s+` + bb + `\s+2 years ago\s+\d+(\.\d+)?MB$`)
		if !row.MatchString(out) {
			t.Fatalf("no Docker-style busybox row:\n%s", out)
		}
		mustContain(t, out, "127.0.0.1:5000/tug/busybox   latest", "config ")
		if strings.Contains(out, "docker.io/") {
			t.Fatalf("docker.io names must show in Docker's short form:\n%s", out)
		}
		// The REPOSITORY[:TAG] argument, -q, --no-trunc.
		if got := e.TugOK("images", "-q", "busybox").Out; got != bb+"\n"+bb+"\n" {
			t.Fatalf("images -q busybox: %q", got)
		}
		if got := e.TugOK("images", "-q", "busybox:1.0").Out; got != bb+"\n" {
			t.Fatalf("images -q busybox:1.0: %q", got)
		}
		mustContain(t, e.TugOK("images", "--no-trunc", "config").Out, "sha256:"+imageID(t, "config"))
		mustContain(t, e.TugOK("image", "ls", "--digests").Out, "DIGEST", "<none>")
		if e.TugOK("image", "list").Out != out {
			t.Fatal("image list differs from images")
		}
		// --format: a table with derived headers, plain templates, json.
		tbl := e.TugOK("images", "--format", `table {{.Repository}}\t{{.Tag}}`, "config").Out
		if tbl != "REPOSITORY   TAG\nconfig       v2\n" {
			t.Fatalf("table format: %q", tbl)
		}
		if got := e.TugOK("images", "--format", "{{.Repository}}:{{.Tag}} {{upper .Tag}}", "config").Out; got != "config:v2 V2\n" {
			t.Fatalf("plain format: %q", got)
		}
		js := e.TugOK("images", "--format", "json", "config").Out
		var obj map[string]string
		if err := json.Unmarshal([]byte(js), &obj); err != nil || obj["Repository"] != "config" || obj["Tag"] != "v2" || obj["ID"] != imageID(t, "config")[:12] || obj["Size"] == "" || obj["CreatedSince"] != "2 years ago" {
			t.Fatalf("json format: %q %v", js, err)
		}
		r := e.TugFail(125, "images", "--format", "{{.Repository")
		mustContain(t, r.Err, "template parsing error")
		r = e.TugFail(125, "images", "--filter", "color=red")
		mustContain(t, r.Err, "invalid filter")
		r = e.TugFail(125, "images", "--filter", "dangling")
		mustContain(t, r.Err, "expected name=value")
	})
}

func TestImagesFilters(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		loadTest(e, "busybox=busybox:latest", "config=config:latest", "multilayer=tug/multilayer:3")
		ids := func(args ...string) string {
			return strings.TrimSpace(e.TugOK(append([]string{"images", "-q", "--no-trunc"}, args...)...).Out)
		}
		cfg := "sha256:" + imageID(t, "config")
		if got := ids("--filter", "label=org.tug.test=config"); got != cfg {
			t.Fatalf("label=k=v: %q", got)
		}
		if got := ids("-f", "label=maintainer"); got != cfg {
			t.Fatalf("label=k: %q", got)
		}
		if got := ids("-f", "label=maintainer=nobody"); got != "" {
			t.Fatalf("label with another value: %q", got)
		}
		if got := ids("-f", "reference=tug/*"); got != "sha256:"+imageID(t, "multilayer") {
			t.Fatalf("reference=tug/*: %q", got)
		}
		if got := ids("-f", "reference=*box:latest"); got != "sha256:"+imageID(t, "busybox") {
			t.Fatalf("reference=*box:latest: %q", got)
		}
		if got := ids("-f", "dangling=false"); strings.Count(got, "sha256:") != 3 {
			t.Fatalf("dangling=false: %q", got)
		}
		if got := ids("-f", "dangling=true"); got != "" {
			t.Fatalf("dangling=true: %q", got)
		}
		// An import is newer than the 2024 test images: since/before/until see it.
		e.ShOK("mkdir -p r/etc && echo x > r/etc/x && tar -C r -cf r.tar .")
		imp := strings.TrimSpace(e.TugOK("import", "r.tar").Out)
		if got := ids("-f", "dangling=true"); got != imp {
			t.Fatalf("dangling=true after an untagged import: %q, want %s", got, imp)
		}
		if got := ids("-f", "since=busybox"); got != imp {
			t.Fatalf("since=busybox: %q", got)
		}
		if got := ids("-f", "before="+imp[7:19]); strings.Count(got, "sha256:") != 3 || strings.Contains(got, imp) {
			t.Fatalf("before=import: %q", got)
		}
		if got := ids("-f", "until=2025-01-01"); strings.Count(got, "sha256:") != 3 {
			t.Fatalf("until=2025-01-01: %q", got)
		}
		if out := e.TugOK("images").Out; !regexp.MustCompile(`(?m)^<none>\s+<none>\s+` + imp[7:19] + `\s`).MatchString(out) {
			t.Fatalf("no <none> row for the import:\n%s", out)
		}
		r := e.TugFail(1, "images", "-f", "since=nothere")
		mustContain(t, r.Err, "No such image: nothere:latest")
		e.TugFail(125, "images", "-f", "until=yesterday")
		e.TugFail(125, "images", "-f", "dangling=maybe")
	})
}

func TestTagAndRmi(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		loadTest(e, "busybox=busybox:latest")
		id := imageID(t, "busybox")
		e.TugOK("tag", "busybox", "127.0.0.1:5000/tug/bb:1")
		e.TugOK("tag", id[:12], "short-id")
		e.TugOK("image", "tag", "sha256:"+id, "full-id:2")
		for _, n := range []string{"127.0.0.1:5000/tug/bb:1", "short-id:latest", "full-id:2", "busybox"} {
			if got := strings.TrimSpace(e.TugOK("image", "inspect", "-f", "{{.Id}}", n).Out); got != "sha256:"+id {
				t.Fatalf("%s is %s", n, got)
			}
		}
		r := e.TugFail(1, "tag", "nothere", "x")
		mustContain(t, r.Err, "No such image: nothere:latest")
		r = e.TugFail(125, "tag", "busybox", "Bad Name")
		mustContain(t, r.Err, "invalid reference format")
		e.TugFail(125, "tag", "busybox")
		e.TugFail(125, "tag", "busybox", "x@sha256:"+strings.Repeat("a", 64))

		// One name of several: only untagged.
		if got := e.TugOK("rmi", "short-id").Out; got != "Untagged: short-id:latest\n" {
			t.Fatalf("rmi of one name: %q", got)
		}
		// By ID with names in several repositories: refused without -f, exit 1.
		r = e.TugFail(1, "rmi", id[:12])
		mustContain(t, r.Err, "conflict: unable to delete "+id[:12]+" (must be forced) - image is referenced in multiple repositories")
		r = e.TugOK("image", "rm", "-f", id[:12])
		for _, want := range []string{"Untagged: busybox:latest\n", "Untagged: 127.0.0.1:5000/tug/bb:1\n", "Untagged: full-id:2\n", "Deleted: sha256:" + id + "\n", "Deleted: sha256:"} {
			mustContain(t, r.Out, want)
		}
		storageEmpty(t, e)

		// The last name of an image deletes it; removing several continues past errors.
		loadTest(e, "busybox=busybox:latest")
		loadTest(e, "config=config:latest")
		r = e.TugFail(1, "rmi", "nothere", "busybox", "config")
		mustContain(t, r.Err, "No such image: nothere:latest")
		if !strings.HasPrefix(r.Out, "Untagged: busybox:latest\nDeleted: sha256:"+id+"\n") || !strings.Contains(r.Out, "Untagged: config:latest\nDeleted: sha256:"+imageID(t, "config")) {
			t.Fatalf("rmi output:\n%s", r.Out)
		}
		storageEmpty(t, e)
		e.TugFail(125, "rmi")
		r = e.TugFail(125, "rmi", "BAD:ref:x")
		mustContain(t, r.Err, "invalid reference format")
	})
}

// Layers shared by two images stay until the last image using them goes.
func TestRmiKeepsSharedLayers(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		loadTest(e, "busybox=busybox:latest", "multilayer=multilayer:latest")
		r := e.TugOK("rmi", "multilayer")
		if n := strings.Count(r.Out, "Deleted: "); n != 3 {
			t.Fatalf("multilayer has 3 layers: %d deleted lines\n%s", n, r.Out)
		}
		// busybox still works whole: save reads every layer back.
		e.TugOK("save", "-o", "bb.tar", "busybox")
		if n := strings.Count(e.TugOK("rmi", "busybox").Out, "Deleted: "); n != 2 {
			t.Fatal("busybox: want the image and its layer deleted")
		}
	})
}

func TestImageInspect(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		loadTest(e, "config=config:latest,127.0.0.1:5000/tug/config:1")
		out := e.TugOK("image", "inspect", "config").Out
		if !strings.HasPrefix(out, "[\n    {\n        \"Id\": \"sha256:"+imageID(t, "config")+"\",\n") {
			t.Fatalf("not Docker's 4-space JSON array:\n%.300s", out)
		}
		var data []map[string]any
		if err := json.Unmarshal([]byte(out), &data); err != nil || len(data) != 1 {
			t.Fatalf("inspect JSON: %v", err)
		}
		d := data[0]
		for _, key := range []string{"Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "Container", "ContainerConfig", "DockerVersion", "Author", "Config", "Architecture", "Os", "Size", "VirtualSize", "GraphDriver", "RootFS", "Metadata"} {
			if _, ok := d[key]; !ok {
				t.Errorf("inspect has no %s", key)
			}
		}
		cfg := d["Config"].(map[string]any)
		if cfg["User"] != "tuguser" || cfg["WorkingDir"] != "/work" || cfg["StopSignal"] != "SIGUSR1" || fmt.Sprint(cfg["Entrypoint"]) != "[/bin/echo entrypoint]" || fmt.Sprint(cfg["ExposedPorts"]) != "map[80/tcp:map[]]" || fmt.Sprint(cfg["Volumes"]) != "map[/data:map[]]" {
			t.Errorf("Config: %v", cfg)
		}
		if fmt.Sprint(d["RepoTags"]) != "[127.0.0.1:5000/tug/config:1 config:latest]" || d["Author"] != "tug tests" || d["Os"] != "linux" || d["Created"] != "2024-01-01T00:00:00Z" {
			t.Errorf("RepoTags %v Author %v Os %v Created %v", d["RepoTags"], d["Author"], d["Os"], d["Created"])
		}
		if rootfs := d["RootFS"].(map[string]any); rootfs["Type"] != "layers" || len(rootfs["Layers"].([]any)) != 1 {
			t.Errorf("RootFS: %v", rootfs)
		}
		// --format, with the JSON names or the field names; several images.
		if got := e.TugOK("image", "inspect", "-f", "{{.Id}} {{json .Config.Labels}}", "config").Out; got != "sha256:"+imageID(t, "config")+` {"maintainer":"tug","org.tug.test":"config"}`+"\n" {
			t.Fatalf("--format: %q", got)
		}
		if got := e.TugOK("image", "inspect", "--format", "{{.Os}}", "config", imageID(t, "config")[:8]).Out; got != "linux\nlinux\n" {
			t.Fatalf("two images: %q", got)
		}
		// A missing image: the others are printed, then Docker's error and exit 1.
		r := e.TugFail(1, "image", "inspect", "config", "nothere")
		mustContain(t, r.Out, `"Id": "sha256:`)
		if r.Err != "Error: No such image: nothere:latest\n" {
			t.Fatalf("stderr %q", r.Err)
		}
		r = e.TugFail(1, "image", "inspect", "nothere")
		if strings.TrimSpace(r.Out) != "[]" {
			t.Fatalf("stdout %q", r.Out)
		}
		e.TugFail(125, "image", "inspect", "-f", "{{.Id", "config")

		// Top-level inspect finds images, with --type and the lookup chain.
		if got := e.TugOK("inspect", "-f", "{{.Id}}", "config").Out; got != "sha256:"+imageID(t, "config")+"\n" {
			t.Fatalf("inspect: %q", got)
		}
		e.TugOK("inspect", "--type", "image", "config")
		r = e.TugFail(1, "inspect", "nothere")
		mustContain(t, r.Err, "Error: No such object: nothere")
		r = e.TugFail(1, "inspect", "--type", "image", "nothere")
		mustContain(t, r.Err, "Error: No such image: nothere:latest")
		r = e.TugFail(125, "inspect", "--type", "nonsense", "config")
		mustContain(t, r.Err, "not a valid value for --type")
	})
}

func TestHistory(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		loadTest(e, "multilayer=multilayer:latest")
		out := e.TugOK("history", "multilayer").Out
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 4 || !regexp.MustCompile(`^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$`).MatchString(lines[0]) {
			t.Fatalf("history:\n%s", out)
		}
		id := imageID(t, "multilayer")[:12]
		if !regexp.MustCompile(`^` + id + `\s+2 years ago\s+/bin/sh -c echo third > /opt/layer3.txt && r…\s+3\.\d+kB`).MatchString(lines[1]) {
			t.Fatalf("top row: %q", lines[1])
		}
		if !strings.HasPrefix(lines[2], "<missing>") || !strings.HasPrefix(lines[3], "<missing>") || !strings.Contains(lines[3], "ADD busybox-static") {
			t.Fatalf("older rows:\n%s", out)
		}
		full := e.TugOK("image", "history", "--no-trunc", "-H=false", "multilayer").Out
		mustContain(t, full, "sha256:"+imageID(t, "multilayer"), "/opt/layer3.txt && rm /etc/arch", "2024-01-01T00:00:00Z")
		if !regexp.MustCompile(`\s\d{4,}\s`).MatchString(full) {
			t.Fatalf("-H=false sizes are bytes:\n%s", full)
		}
		if got := e.TugOK("history", "-q", "multilayer").Out; got != id+"\n<missing>\n<missing>\n" {
			t.Fatalf("-q: %q", got)
		}
		js := e.TugOK("history", "--format", "json", "multilayer").Out
		if strings.Count(js, `"CreatedBy":`) != 3 {
			t.Fatalf("json: %s", js)
		}
		e.TugFail(1, "history", "nothere")
		e.TugFail(125, "history")
	})
}

func TestImagePrune(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		loadTest(e, "busybox=busybox:latest", "config=config:latest")
		e.ShOK("mkdir -p r/etc && echo x > r/etc/x && tar -C r -cf r.tar .")
		dangling := strings.TrimSpace(e.TugOK("import", "r.tar").Out)
		// Without -f it asks; anything but y keeps everything.
		r := e.TugStdin("n\n", "image", "prune")
		if r.Code != 0 || r.Out != "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] " {
			t.Fatalf("prompt: %d %q", r.Code, r.Out)
		}
		mustContain(t, e.TugOK("images", "-q", "--no-trunc").Out, dangling)
		r = e.TugStdin("y\n", "image", "prune")
		mustContain(t, r.Out, "Deleted Images:\ndeleted: "+dangling+"\n", "Total reclaimed space: ")
		if strings.Contains(e.TugOK("images", "-q", "--no-trunc").Out, dangling) {
			t.Fatal("the dangling image survived prune")
		}
		if got := e.TugOK("image", "prune", "-f").Out; got != "Total reclaimed space: 0B\n" {
			t.Fatalf("nothing to prune: %q", got)
		}
		// -a with filters: label first, then until.
		r = e.TugOK("image", "prune", "-a", "-f", "--filter", "label=org.tug.test=config")
		mustContain(t, r.Out, "untagged: config:latest\n", "deleted: sha256:"+imageID(t, "config"))
		if strings.Contains(r.Out, "busybox") {
			t.Fatalf("the label filter let busybox go:\n%s", r.Out)
		}
		r = e.TugStdin("y\n", "image", "prune", "-a", "--filter", "until=2020-01-01")
		mustContain(t, r.Out, "images without at least one container", "Total reclaimed space: 0B")
		r = e.TugOK("image", "prune", "--all", "--force", "--filter", "until=1h")
		mustContain(t, r.Out, "untagged: busybox:latest", "Total reclaimed space: 2.")
		storageEmpty(t, e)
		e.TugFail(125, "image", "prune", "-f", "--filter", "dangling=true")
		e.TugFail(125, "image", "prune", "-f", "--filter", "until=soon")
	})
}

func TestImageExists(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		loadTest(e, "busybox=busybox:latest")
		if r := e.TugOK("image", "exists", "busybox"); r.Out != "" || r.Err != "" {
			t.Fatalf("output: %q %q", r.Out, r.Err)
		}
		e.TugOK("image", "exists", imageID(t, "busybox")[:6])
		if r := e.TugFail(1, "image", "exists", "nothere"); r.Out != "" || r.Err != "" {
			t.Fatalf("output: %q %q", r.Out, r.Err)
		}
		e.TugFail(125, "image", "exists", "Bad:Name:x")
	})
}

// Eight concurrent tag, rmi and load calls leave a consistent store.
func TestConcurrentTagRmiLoad(t *testing.T) {
	eachUser(t, func(t *testing.T, e *Env) {
		loadTest(e, "busybox=busybox:latest")
		ml := testArchive(t, "multilayer=multilayer:latest")
		var wg sync.WaitGroup
		results := make([]Result, 24)
		for i := 0; i < 8; i++ {
			wg.Add(3)
			go func(i int) { defer wg.Done(); results[i] = e.Tug("tag", "busybox", fmt.Sprintf("tagged:%d", i)) }(i)
			go func(i int) { defer wg.Done(); results[8+i] = e.Tug("load", "-i", ml) }(i)
			go func(i int) {
				defer wg.Done()
				results[16+i] = e.Tug("tag", "busybox", fmt.Sprintf("gone:%d", i))
				if results[16+i].Code == 0 {
					results[16+i] = e.Tug("rmi", fmt.Sprintf("gone:%d", i))
				}
			}(i)
		}
		wg.Wait()
		for i, r := range results {
			if r.Code != 0 {
				t.Fatalf("call %d failed: %d\n%s", i, r.Code, r.Combined())
			}
			if strings.Contains(r.Err, "locked") {
				t.Fatalf("call %d: %s", i, r.Err)
			}
		}
		out := e.TugOK("images", "--format", "{{.Repository}}:{{.Tag}}").Out
		for i := 0; i < 8; i++ {
			mustContain(t, out, fmt.Sprintf("tagged:%d\n", i))
			if strings.Contains(out, fmt.Sprintf("gone:%d\n", i)) {
				t.Fatalf("gone:%d survived its rmi", i)
			}
		}
		mustContain(t, out, "multilayer:latest", "busybox:latest")
		// Every image is whole: each saves (reading every layer back).
		e.TugOK("save", "-o", "all.tar", "busybox", "multilayer")
		if n := strings.Count(e.TugOK("images", "-q").Out, "\n"); n != 10 {
			t.Fatalf("%d rows, want 10 (9 busybox names, multilayer)", n)
		}
	})
}
