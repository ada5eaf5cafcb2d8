//go:build system

package system

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// Seed 2.5 and D15-D17: a container's changes, listed, committed to an
// image that runs, with its history, and exported as a tar.
func TestCommitDiffExport(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		e.TugOK("run", "--name", "sample", bb, "sh", "-c", "echo x > /new; rm /etc/arch; echo y >> /etc/tug-test")
		r := e.TugOK("diff", "sample")
		if want := "C /etc\nD /etc/arch\nC /etc/tug-test\nA /new\n"; r.Out != want {
			t.Fatalf("diff:\n%s\nwant:\n%s", r.Out, want)
		}
		if r2 := e.TugOK("container", "diff", "sample"); r2.Out != r.Out {
			t.Fatalf("container diff differs: %q", r2.Out)
		}
		r = e.TugFail(1, "diff", "no-such")
		mustContain(t, r.Err, "No such container: no-such")

		// commit: sha256:ID, tag latest by default, the container's config.
		r = e.TugOK("commit", "-m", "changed a few files", "-a", "Tug Tester <t@example.com>", "-c", "ENV COMMITTED=yes", "sample", "my-busybox")
		id := strings.TrimSpace(r.Out)
		if !strings.HasPrefix(id, "sha256:") || len(id) != 71 {
			t.Fatalf("commit printed %q", r.Out)
		}
		r = e.TugOK("images", "my-busybox")
		mustContain(t, r.Out, "my-busybox", "latest", id[7:19])
		r = e.TugOK("history", "my-busybox")
		rows := lines(r.Out)
		if len(rows) != 3 || !strings.HasPrefix(rows[1], id[7:19]) {
			t.Fatalf("history:\n%s", r.Out)
		}
		mustContain(t, rows[1], "sh -c echo x > /new", "changed a few files")
		var insp []struct {
			Parent, Comment, Author, Container string
			Config                             struct{ Cmd, Env []string }
		}
		if err := json.Unmarshal([]byte(e.TugOK("image", "inspect", "my-busybox").Out), &insp); err != nil || len(insp) != 1 {
			t.Fatalf("inspect: %v", err)
		}
		if insp[0].Comment != "changed a few files" || insp[0].Author != "Tug Tester <t@example.com>" || insp[0].Parent == "" {
			t.Fatalf("inspect: %+v", insp[0])
		}
		if got := strings.Join(insp[0].Config.Cmd, " "); got != "sh -c echo x > /new; rm /etc/arch; echo y >> /etc/tug-test" {
			t.Fatalf("committed Cmd %q", got)
		}
		mustContain(t, strings.Join(insp[0].Config.Env, ","), "COMMITTED=yes", "PATH=")
		// The image runs, with the changes and without the mount targets.
		r = e.TugOK("run", "--rm", "my-busybox", "sh", "-c", "cat /new; tail -1 /etc/tug-test; test -e /etc/arch || echo gone; echo $COMMITTED")
		if r.Out != "x\ny\ngone\nyes\n" {
			t.Fatalf("committed image: %q", r.Out)
		}
		e.TugOK("create", "--name", "fresh", "my-busybox")
		if r = e.TugOK("diff", "fresh"); r.Out != "" {
			t.Fatalf("a fresh container of the committed image has changes: %q", r.Out)
		}
		// A tag given, and bad input refused.
		e.TugOK("container", "commit", "sample", "my-busybox:1.0")
		mustContain(t, e.TugOK("images").Out, "1.0")
		r = e.TugFail(125, "commit", "-c", "RUN true", "sample", "x")
		mustContain(t, r.Err, "RUN is not a valid change command")
		e.TugFail(1, "commit", "no-such", "x")

		// A reader that stops early leaves nothing mounted.
		mounts := e.storageMounts()
		e.Sh(`$TUG export sample | head -c 10 > /dev/null`)
		if got := e.storageMounts(); got != mounts {
			t.Fatalf("export | head left %d mounts, %d before", got, mounts)
		}
		// export: the whole file system, on stdout or into a file.
		r = e.ShOK(`$TUG export sample | tar t`)
		mustContain(t, r.Out, "bin/busybox\n", "new\n", "etc/tug-test\n")
		if strings.Contains(r.Out, "etc/arch\n") {
			t.Fatalf("export has the deleted file")
		}
		out := filepath.Join(e.TmpDir, "sample.tar")
		e.TugOK("container", "export", "-o", out, "sample")
		r = e.ShOK("tar tf " + out + " | grep -c .")
		if n := strings.TrimSpace(r.Out); n == "0" {
			t.Fatalf("empty export")
		}
		// exported, then imported: the same files.
		e.TugOK("import", out, "flat:1")
		if r = e.TugOK("run", "--rm", "flat:1", "cat", "/new"); r.Out != "x\n" {
			t.Fatalf("imported export: %q", r.Out)
		}
	})
}

// A commit killed half way tags nothing, and the next one works and clears
// what the killed one left.
func TestCommitKilledIsRepaired(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		e.TugOK("run", "--name", "big", Img("busybox"), "dd", "if=/dev/zero", "of=/big", "bs=1M", "count=200")
		e.ShOK(`$TUG commit big half-made & pid=$!; sleep 0.4; kill -9 $pid; wait $pid; true`)
		if e.Tug("image", "inspect", "half-made").Code == 0 {
			// The commit may have finished before the kill; then it is whole.
			if r := e.TugOK("run", "--rm", "half-made", "ls", "-l", "/big"); !strings.Contains(r.Out, "209715200") {
				t.Fatalf("a tagged image is half made: %q", r.Out)
			}
		}
		e.TugOK("commit", "big", "whole")
		if r := e.TugOK("run", "--rm", "whole", "ls", "-l", "/big"); !strings.Contains(r.Out, "209715200") {
			t.Fatalf("commit after a killed one: %q", r.Out)
		}
		entries, _ := filepath.Glob(filepath.Join(e.Root, "tmp", "commit-*"))
		if len(entries) != 0 {
			t.Fatalf("work files left: %v", entries)
		}
	})
}

// A running container is committed as it runs (paused meanwhile as root)
// and keeps running.
func TestCommitRunningContainer(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		e.TugOK("run", "-d", "--name", "live", Img("busybox"), "sh", "-c", "echo ready > /ready; while :; do sleep 0.1; done")
		waitUntil(t, "the container's file", func() bool { return e.Tug("diff", "live").Out != "" })
		e.TugOK("commit", "live", "live-img")
		if st := e.TugOK("inspect", "-f", "{{.State.Status}}", "live").Out; st != "running\n" {
			t.Fatalf("after commit: %q", st)
		}
		if r := e.TugOK("run", "--rm", "--network", "none", "live-img", "cat", "/ready"); r.Out != "ready\n" {
			t.Fatalf("committed running container: %q", r.Out)
		}
		e.TugOK("commit", "--pause=false", "live", "live-img:2")
		e.TugOK("rm", "-f", "live")
	})
}
