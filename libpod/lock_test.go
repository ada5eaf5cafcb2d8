package libpod

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

const (
	lockID1 = "e3a26b72297810c6880e3954c4f2ac8f999b480551ac1ff5e9670db2de5ea163"
	lockID2 = "fce63665dac3a5c90da185969eefe3749bc1c369af47aec28d35d59c71766b91"
)

// A container's lock makes a second taker of the same container wait (in
// the same process too, as flock did) and leaves other containers alone.
func TestContainerLockQueuesTheSameContainerOnly(t *testing.T) {
	r := &Runtime{RunRoot: filepath.Join(t.TempDir(), "run")}
	first, err := r.lockContainer(lockID1)
	if err != nil {
		t.Fatal(err)
	}
	other, err := r.lockContainer(lockID2)
	if err != nil {
		t.Fatal(err)
	}
	other.unlock()

	got := make(chan *containerLock)
	go func() {
		l, err := r.lockContainer(lockID1)
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	select {
	case <-got:
		t.Fatal("a second lock of the same container did not wait for the first")
	case <-time.After(100 * time.Millisecond):
	}
	first.unlock()
	select {
	case l := <-got:
		l.unlock()
	case <-time.After(10 * time.Second):
		t.Fatal("the second lock was not granted once the first was released")
	}
}

// All containers share one lock file: a run creates and deletes none.
func TestContainerLocksShareOneFile(t *testing.T) {
	r := &Runtime{RunRoot: filepath.Join(t.TempDir(), "run")}
	for _, id := range []string{lockID1, lockID2, "short"} {
		l, err := r.lockContainer(id)
		if err != nil {
			t.Fatal(err)
		}
		l.unlock()
	}
	entries, err := os.ReadDir(r.RunRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != containerLockFile {
		t.Fatalf("run root holds %v, want only %s", entries, containerLockFile)
	}
}

func TestLockOffset(t *testing.T) {
	if lockOffset(lockID1) == lockOffset(lockID2) {
		t.Fatal("two IDs share a lock byte")
	}
	if lockOffset(lockID1) != 0xe3a26b72297810c {
		t.Fatalf("lockOffset = %x", lockOffset(lockID1))
	}
	if o := lockOffset("not-hex-at-all-id"); o < 0 || o != lockOffset("not-hex-at-all-id") {
		t.Fatalf("lockOffset of a non-hex ID = %d", o)
	}
}
