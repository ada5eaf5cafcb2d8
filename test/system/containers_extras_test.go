//go:build system

package system

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestContainersStats(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		var extra []string
		if !e.Rootless {
			extra = []string{"-m", "64m"}
		}
		q := e.runQuotes("quotes", extra...)
		e.TugOK("create", "--name", "idle", Img("busybox"), "true")
		out := e.TugOK("stats", "--no-stream").Out
		ls := lines(out)
		if len(ls) != 2 {
			t.Fatalf("stats --no-stream shows the running container only:\n%s", out)
		}
		for _, col := range []string{"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"} {
			mustContain(t, ls[0], col)
		}
		mustContain(t, ls[1], e.inspect(q, "{{.Id}}")[:12], " quotes ")
		var row map[string]string
		if err := json.Unmarshal([]byte(e.TugOK("stats", "--no-stream", "--format", "json", q).Out), &row); err != nil {
			t.Fatal(err)
		}
		if row["Name"] != "quotes" || row["Container"] != "quotes" || !strings.HasSuffix(row["CPUPerc"], "%") || row["PIDs"] == "--" || row["PIDs"] == "0" {
			t.Fatalf("stats json: %v", row)
		}
		usage, limit, _ := strings.Cut(row["MemUsage"], " / ")
		if usage == "--" || usage == "0B" {
			t.Fatalf("memory use not measured: %q", row["MemUsage"])
		}
		if !e.Rootless && limit != "64MiB" {
			t.Fatalf("stats under -m 64m: %q", row["MemUsage"])
		}
		if e.Rootless && !strings.HasSuffix(limit, "GiB") {
			t.Fatalf("rootless limit should be the host's memory: %q", row["MemUsage"])
		}
		// -a: a stopped container is listed with nothing measured, not zeros.
		out = e.TugOK("stats", "--no-stream", "-a", "--no-trunc", "--format", "{{.ID}} {{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}").Out
		mustContain(t, out, e.inspect("idle", "{{.Id}}")+" idle -- -- / -- --")
		e.TugFail(1, "stats", "--no-stream", "no-such-container")
		e.TugFail(125, "stats", "--no-stream", "--format", "{{.Nope")
	})
}

func TestContainersRename(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		e.runQuotes("old")
		id := e.inspect("old", "{{.Id}}")
		e.TugOK("rename", "old", "new")
		if name := e.inspect("new", "{{.Name}}"); name != "/new" {
			t.Fatalf("after rename: %q", name)
		}
		if e.inspect(id, "{{.State.Status}}") != "running" {
			t.Fatal("rename stopped the container")
		}
		r := e.TugFail(1, "inspect", "--type", "container", "old")
		mustContain(t, r.Err, "No such")
		// The old name is free; a taken name is refused.
		e.TugOK("create", "--name", "old", Img("busybox"), "true")
		r = e.TugFail(1, "container", "rename", "new", "old")
		mustContain(t, r.Err, `The container name "/old" is already in use`, "failed to rename container named new")
		r = e.TugFail(1, "rename", "new", "new")
		mustContain(t, r.Err, "same name")
		r = e.TugFail(1, "rename", "new", "bad name")
		mustContain(t, r.Err, "Invalid container name")
		e.TugFail(1, "rename", "no-such", "x")
		mustContain(t, e.TugOK("ps", "--format", "{{.Names}}").Out, "new")
		events, _ := os.ReadFile(filepath.Join(e.RunRoot, "events.log"))
		mustContain(t, string(events), `"Action":"rename"`, `"oldName":"/old"`)
	})
}

func TestContainersPause(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		e.TugOK("run", "-d", "--name", "counter", Img("busybox"), "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done")
		count := func() string {
			r := e.TugOK("cp", "counter:/tmp/n", "-")
			tr := tar.NewReader(strings.NewReader(r.Out))
			if _, err := tr.Next(); err != nil {
				t.Fatalf("cp of the counter: %v", err)
			}
			b, _ := io.ReadAll(tr)
			return strings.TrimSpace(string(b))
		}
		waitUntil(t, "the counter", func() bool { return count() != "" })
		if e.Rootless {
			// No cgroups, no freezer: a clear error, nothing changed.
			r := e.TugFail(125, "pause", "counter")
			mustContain(t, r.Err, "cgroup", "rootless")
			e.TugFail(125, "unpause", "counter")
			if st := e.inspect("counter", "{{.State.Status}}"); st != "running" {
				t.Fatalf("after a refused pause: %q", st)
			}
			return
		}
		if out := e.TugOK("pause", "counter").Out; out != "counter\n" {
			t.Fatalf("pause: %q", out)
		}
		if st := e.inspect("counter", "{{.State.Status}} {{.State.Running}} {{.State.Paused}}"); st != "paused true true" {
			t.Fatalf("paused state: %q", st)
		}
		mustContain(t, e.TugOK("ps").Out, "(Paused)")
		frozen := count()
		time.Sleep(500 * time.Millisecond)
		if now := count(); now != frozen {
			t.Fatalf("the counter ran on while paused: %s then %s", frozen, now)
		}
		r := e.TugFail(1, "exec", "counter", "true")
		mustContain(t, r.Err, "is paused")
		r = e.TugFail(1, "pause", "counter")
		mustContain(t, r.Err, "already paused")
		r = e.TugFail(1, "attach", "counter")
		mustContain(t, r.Err, "paused")
		r = e.TugFail(1, "start", "counter")
		mustContain(t, r.Err, "cannot start a paused container")
		e.TugOK("unpause", "counter")
		waitUntil(t, "the counter to go on", func() bool { return count() != frozen })
		e.TugFail(1, "unpause", "counter")
		// Stop thaws a paused container and stops it.
		e.TugOK("pause", "counter")
		e.TugOK("stop", "-t", "1", "counter")
		if st := e.inspect("counter", "{{.State.Status}}"); st != "exited" {
			t.Fatalf("stop of a paused container: %q", st)
		}
	})
}

func TestContainersPrune(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		e.runQuotes("running")
		e.TugOK("create", "--name", "created", bb, "true")
		e.TugOK("run", "--name", "exited", bb, "sh", "-c", "echo data > /big")
		e.TugOK("run", "--name", "labelled", "--label", "keep=no", bb, "true")
		ids := map[string]string{}
		for _, n := range []string{"running", "created", "exited", "labelled"} {
			ids[n] = e.inspect(n, "{{.Id}}")
		}
		// Declining the prompt removes nothing.
		r := e.TugStdin("n\n", "container", "prune")
		mustContain(t, r.Out, "WARNING! This will remove all stopped containers.", "Are you sure you want to continue? [y/N]")
		if len(lines(e.TugOK("ps", "-aq").Out)) != 4 {
			t.Fatal("a declined prune removed containers")
		}
		// A label filter narrows it.
		r = e.TugOK("container", "prune", "-f", "--filter", "label=keep=no")
		if !strings.HasPrefix(r.Out, "Deleted Containers:\n"+ids["labelled"]+"\n\nTotal reclaimed space: ") || len(lines(r.Out)) != 3 {
			t.Fatalf("prune --filter label: %q", r.Out)
		}
		e.TugOK("container", "prune", "-f", "--filter", "until=1h")
		if len(lines(e.TugOK("ps", "-aq").Out)) != 3 {
			t.Fatal("prune --filter until=1h removed containers made just now")
		}
		r = e.TugStdin("y\n", "container", "prune")
		mustContain(t, r.Out, "Deleted Containers:\n", ids["created"], ids["exited"], "Total reclaimed space: ")
		if strings.Contains(r.Out, ids["running"]) || strings.Contains(r.Out, "reclaimed space: 0B") {
			t.Fatalf("prune: %q", r.Out)
		}
		if out := strings.TrimSpace(e.TugOK("ps", "-aq", "--no-trunc").Out); out != ids["running"] {
			t.Fatalf("after prune: %q", out)
		}
		if r := e.TugOK("container", "prune", "-f"); r.Out != "Total reclaimed space: 0B\n" {
			t.Fatalf("prune of nothing: %q", r.Out)
		}
		e.TugFail(125, "container", "prune", "-f", "--filter", "status=exited")
	})
}

// untarOne reads the first file of a tar stream.
func untarOne(t *testing.T, data string) (string, string) {
	t.Helper()
	tr := tar.NewReader(strings.NewReader(data))
	h, err := tr.Next()
	if err != nil {
		t.Fatalf("reading the tar stream: %v", err)
	}
	b, _ := io.ReadAll(tr)
	return h.Name, string(b)
}

func TestContainersCp(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		q := e.runQuotes("box")
		host := filepath.Join(e.TmpDir, "host")
		e.ShOK("mkdir -p " + host + "/dir/sub && echo one > " + host + "/dir/a && echo two > " + host + "/dir/sub/b")
		// Host -> container: a directory into an existing one, its content
		// with /., into a new name.
		e.TugOK("cp", host+"/dir", q+":/tmp")
		e.TugOK("exec", q, "mkdir", "/tmp/dot")
		e.TugOK("cp", host+"/dir/.", q+":/tmp/dot")
		e.TugOK("cp", host+"/dir", q+":/tmp/renamed")
		out := e.TugOK("exec", q, "sh", "-c", "cat /tmp/dir/a /tmp/dir/sub/b /tmp/dot/a /tmp/renamed/sub/b; ls -ln /tmp/dir/a").Out
		mustContain(t, out, "one\ntwo\none\ntwo\n")
		// Owned by the container's root (rootless: the user's own UID).
		if f := strings.Fields(lines(out)[4]); f[2] != "0" || f[3] != "0" {
			t.Fatalf("ownership in the container: %q", lines(out)[4])
		}
		r := e.TugFail(1, "cp", host+"/dir/a", q+":/tmp/missing/")
		mustContain(t, r.Err, "does not exist")
		e.TugFail(1, "cp", host+"/dir", q+":/tmp/dir/a")
		// Container -> host: a file, a directory, a tar stream.
		e.TugOK("cp", q+":/tmp/dir/a", host+"/a-copy")
		e.TugOK("cp", q+":/tmp/renamed", host+"/out")
		e.ShOK("test \"$(cat " + host + "/a-copy " + host + "/out/sub/b)\" = \"$(printf 'one\\ntwo')\"")
		if fi, err := os.Stat(host + "/a-copy"); err != nil || int(fi.Sys().(*syscall.Stat_t).Uid) != e.uid {
			t.Fatalf("a copied-out file must be the caller's: %v", err)
		}
		name, body := untarOne(t, e.TugOK("cp", q+":/tmp/dir/a", "-").Out)
		if name != "a" || body != "one\n" {
			t.Fatalf("cp to -: %q %q", name, body)
		}
		// - as the source: a tar stream from stdin into a directory.
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "from-stdin.txt", Mode: 0o644, Size: 6, Typeflag: tar.TypeReg})
		tw.Write([]byte("stdin\n"))
		tw.Close()
		if r := e.TugStdin(buf.String(), "cp", "-", q+":/tmp"); r.Code != 0 {
			t.Fatalf("cp - : %s", r.Combined())
		}
		if out := e.TugOK("exec", q, "cat", "/tmp/from-stdin.txt").Out; out != "stdin\n" {
			t.Fatalf("after cp -: %q", out)
		}
		r = e.TugFail(1, "cp", q+":/no/such/file", host)
		mustContain(t, r.Err, "Could not find the file /no/such/file in container box")
		e.TugFail(125, "cp", host+"/dir/a", host+"/b")
		e.TugFail(125, "cp", q+":/a", q+":/b")

		// Symlinks in the container never lead to the host's files.
		e.TugOK("exec", q, "sh", "-c", "echo 'container-only:x:9:9::/:/bin/sh' >> /etc/passwd; ln -s /etc/passwd /tmp/link; ln -s / /tmp/rootlink; ln -s ../../../../../../etc /tmp/up")
		e.TugOK("cp", "-L", q+":/tmp/link", host+"/followed")
		e.TugOK("cp", q+":/tmp/up/passwd", host+"/up")
		for _, f := range []string{"followed", "up"} {
			data, _ := os.ReadFile(host + "/" + f)
			if !strings.Contains(string(data), "container-only") {
				t.Fatalf("%s is not the container's passwd: %q", f, data)
			}
		}
		if target, err := os.Readlink(e.cpOut(q+":/tmp/link", host+"/link")); err != nil || target != "/etc/passwd" {
			t.Fatalf("without -L a link is copied as a link: %q %v", target, err)
		}
		evil := filepath.Join(host, "tug-cp-escape")
		e.WriteFile(evil, []byte("escaped\n"))
		e.TugOK("cp", evil, q+":/tmp/rootlink/etc/")
		e.TugOK("cp", evil, q+":/tmp/up/")
		if _, err := os.Stat("/etc/tug-cp-escape"); err == nil {
			os.Remove("/etc/tug-cp-escape")
			t.Fatal("cp through a symlink in the container wrote into the host's /etc")
		}
		if out := e.TugOK("exec", q, "cat", "/etc/tug-cp-escape").Out; out != "escaped\n" {
			t.Fatalf("the copy did not land in the container's /etc: %q", out)
		}

		// A stopped container, both ways.
		e.TugOK("stop", "-t", "0", q)
		e.TugOK("cp", host+"/dir/a", q+":/tmp/while-stopped")
		if _, body := untarOne(t, e.TugOK("cp", q+":/tmp/while-stopped", "-").Out); body != "one\n" {
			t.Fatalf("cp from a stopped container: %q", body)
		}
		e.TugOK("start", q)
		if out := e.TugOK("exec", q, "cat", "/tmp/while-stopped").Out; out != "one\n" {
			t.Fatalf("copied into the stopped container: %q", out)
		}
		// A read-only container refuses.
		e.TugOK("create", "--name", "ro", "--read-only", Img("busybox"), "true")
		r = e.TugFail(1, "cp", host+"/dir/a", "ro:/tmp")
		mustContain(t, r.Err, "read-only")
	})
}

// cpOut copies src out to dst and returns dst.
func (e *Env) cpOut(src, dst string) string {
	e.T.Helper()
	e.TugOK("cp", src, dst)
	return dst
}

func TestContainersResourceLimits(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		// Bad values: Docker's messages, exit 125, nothing created.
		for _, bad := range [][]string{{"-m", "lots"}, {"-m", "1k"}, {"--cpus", "1000"}, {"--cpus", "x"}, {"--memory-swap", "10m"}, {"-m", "64m", "--memory-reservation", "128m"}, {"--cpuset-cpus", "999"}} {
			e.TugFail(125, append(append([]string{"create"}, bad...), bb, "true")...)
		}
		if e.Rootless {
			// No cgroups for an ordinary user here: refused, and nothing is created.
			for _, flag := range [][]string{{"-m", "32m"}, {"--cpus", "0.5"}, {"--pids-limit", "10"}} {
				r := e.TugFail(125, append(append([]string{"run", "--rm"}, flag...), bb, "true")...)
				mustContain(t, r.Err, "cannot be applied", "cgroups")
			}
			if out := e.TugOK("ps", "-aq").Out; out != "" {
				t.Fatalf("a refused limit left a container: %q", out)
			}
			// No limit at all stays fine.
			e.TugOK("run", "--rm", "--pids-limit", "-1", bb, "true")
			return
		}
		// -m: a memory hog is OOM-killed, and inspect says so.
		r := e.Tug("run", "--name", "hog", "-m", "32m", bb, "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
		if r.Code != 137 {
			t.Fatalf("the memory hog: exit %d: %s", r.Code, r.Combined())
		}
		if st := e.inspect("hog", "{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}"); st != "true 137 33554432 67108864" {
			t.Fatalf("inspect after the OOM kill: %q", st)
		}
		// Within the limit, no OOM.
		e.TugOK("run", "--name", "fits", "-m", "64m", bb, "dd", "if=/dev/zero", "of=/dev/null", "bs=8M", "count=1")
		if st := e.inspect("fits", "{{.State.OOMKilled}}"); st != "false" {
			t.Fatalf("OOMKilled without an OOM: %q", st)
		}
		// --pids-limit: the cgroup refuses more processes.
		out := e.Tug("run", "--rm", "--pids-limit", "5", bb, "sh", "-c", "cat /sys/fs/cgroup/pids/pids.max; for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; echo spawned").Combined()
		mustContain(t, out, "5\n", "can't fork")
		// --cpus, --cpu-shares, --cpuset-cpus reach the cgroup and inspect.
		out = e.TugOK("run", "--name", "cpu", "--cpus", "0.5", "--cpu-shares", "512", "--cpuset-cpus", "0", "--memory-reservation", "16m", bb, "cat",
			"/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us", "/sys/fs/cgroup/cpu/cpu.shares", "/sys/fs/cgroup/cpuset/cpuset.cpus").Out
		if out != "50000\n100000\n512\n0\n" {
			t.Fatalf("cpu cgroup: %q", out)
		}
		if st := e.inspect("cpu", "{{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.CpusetCpus}} {{.HostConfig.MemoryReservation}} {{.HostConfig.PidsLimit}}"); st != "500000000 512 0 16777216 <nil>" {
			t.Fatalf("inspect of the limits: %q", st)
		}
		e.TugOK("create", "--name", "pids", "--pids-limit", "20", bb, "true")
		if st := e.inspect("pids", "{{.HostConfig.PidsLimit}}"); st != "20" {
			t.Fatalf("PidsLimit: %q", st)
		}
	})
}
