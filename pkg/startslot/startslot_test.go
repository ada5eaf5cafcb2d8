package startslot

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestHoldersNeverExceedSlots(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "slots")
	const n = 2
	var holders, most atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := Acquire(dir, n, time.Minute)
			if s == nil {
				t.Error("no slot before the deadline")
				return
			}
			h := holders.Add(1)
			for {
				m := most.Load()
				if h <= m || most.CompareAndSwap(m, h) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			holders.Add(-1)
			s.Release()
		}()
	}
	wg.Wait()
	if got := most.Load(); got != n {
		t.Fatalf("at most %d held a slot at once, want %d", got, n)
	}
}

func TestReleaseLetsTheWaiterIn(t *testing.T) {
	dir := t.TempDir()
	a, b := Acquire(dir, 2, time.Second), Acquire(dir, 2, time.Second)
	if a == nil || b == nil {
		t.Fatal("free slots were not given")
	}
	got := make(chan *Slot)
	go func() { got <- Acquire(dir, 2, time.Minute) }()
	select {
	case s := <-got:
		t.Fatalf("a third slot was given while two were held: %v", s)
	case <-time.After(50 * time.Millisecond):
	}
	b.Release()
	if s := <-got; s == nil {
		t.Fatal("the waiter got no slot after one was released")
	} else {
		s.Release()
	}
	a.Release()
}

func TestDeadlineGivesUp(t *testing.T) {
	dir := t.TempDir()
	a := Acquire(dir, 1, time.Second)
	if a == nil {
		t.Fatal("no slot")
	}
	defer a.Release()
	if s := Acquire(dir, 1, 20*time.Millisecond); s != nil {
		t.Fatal("got a slot that is held")
	}
	// The abandoned waiter must not keep the queue: a later one still gets
	// the slot once it is free.
	a.Release()
	if s := Acquire(dir, 1, time.Second); s == nil {
		t.Fatal("no slot after the holder released it")
	} else {
		s.Release()
	}
}

func TestOffOrUnusable(t *testing.T) {
	if s := Acquire(t.TempDir(), 0, time.Minute); s != nil {
		t.Fatal("0 slots must mean no queue")
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	start := time.Now()
	if s := Acquire(filepath.Join(file, "slots"), 2, time.Minute); s != nil {
		t.Fatal("a slot under a file")
	}
	if time.Since(start) > 30*time.Second {
		t.Fatal("waited for slots that cannot exist")
	}
	var nilSlot *Slot
	nilSlot.Release() // must not panic
}

func TestKilledHolderFreesItsSlot(t *testing.T) {
	if os.Getenv("STARTSLOT_HOLD") != "" {
		if Acquire(os.Getenv("STARTSLOT_HOLD"), 1, time.Second) == nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledHolderFreesItsSlot$")
	cmd.Env = append(os.Environ(), "STARTSLOT_HOLD="+dir)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf) != "held\n" {
		t.Fatalf("holder did not take the slot: %q %v", buf, err)
	}
	if s := Acquire(dir, 1, 20*time.Millisecond); s != nil {
		t.Fatal("got the slot while the holder lives")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if s := Acquire(dir, 1, 10*time.Second); s == nil {
		t.Fatal("the slot of a killed holder stayed taken")
	} else {
		s.Release()
	}
}
