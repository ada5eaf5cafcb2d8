//go:build system

package system

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// Container starts take turns (pkg/startslot): a burst all succeeds, and a
// start that holds its slot forever (here: the test holds it) delays the
// others, never stops them.
func TestStartSlots(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		e.ExtraEnv = append(e.ExtraEnv, "TUG_START_SLOTS=1")
		if out := e.TugOK("run", "--rm", "--network", "none", Img("busybox"), "echo", "first").Out; strings.TrimSpace(out) != "first" {
			t.Fatalf("run printed %q", out)
		}
		const n = 8
		var wg sync.WaitGroup
		outs := make([]Result, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				outs[i] = e.Tug("run", "--rm", "--network", "none", Img("busybox"), "echo", "queued")
			}(i)
		}
		wg.Wait()
		for _, r := range outs {
			if r.Code != 0 || strings.TrimSpace(r.Out) != "queued" {
				t.Fatalf("a queued run: exit %d: %s", r.Code, r.Combined())
			}
		}

		slot, err := os.OpenFile(filepath.Join(e.RunRoot, "start-slots", "0"), os.O_RDWR, 0)
		if err != nil {
			t.Fatalf("the slot file: %v", err)
		}
		defer slot.Close()
		if err := unix.Flock(int(slot.Fd()), unix.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		r := e.Tug("run", "--rm", "--network", "none", Img("busybox"), "echo", "went ahead")
		if r.Code != 0 || strings.TrimSpace(r.Out) != "went ahead" {
			t.Fatalf("a run behind a stuck start: exit %d: %s", r.Code, r.Combined())
		}
		if out := e.TugOK("ps", "-aq").Out; out != "" {
			t.Fatalf("containers left: %q", out)
		}
	})
}
