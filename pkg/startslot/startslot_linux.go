// Package startslot lets only as many container starts run at once as the
// machine has CPUs. A start is CPU-bound (processes, mounts, namespaces): 16
// starts at once on 2 cores share the CPU and all finish late, while queued
// they finish a pair at a time and the mean wait is about half. The total
// time stays the same.
//
// Slots are flock(2) locks on files in a directory of the runroot, so a
// holder that is killed frees its slot; a waiter gives up waiting after a
// deadline (a start stuck in the kernel must not stop all others).
package startslot

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Slot is a held start slot. A nil Slot (no slot could be had) is valid.
type Slot struct{ f *os.File }

// Release frees the slot.
func (s *Slot) Release() {
	if s != nil && s.f != nil {
		s.f.Close() // closing the only descriptor drops the flock
		s.f = nil
	}
}

// Count is the number of slots: the CPUs this process may run on, or
// TUG_START_SLOTS when set (0 turns the queue off).
func Count() int {
	if v, err := strconv.Atoi(os.Getenv("TUG_START_SLOTS")); err == nil && v >= 0 {
		return v
	}
	return runtime.NumCPU()
}

// pollEvery is how often the first waiter looks for a freed slot; the
// others sleep in the kernel on the queue lock.
const pollEvery = time.Millisecond

// Acquire waits until one of n slots in dir is free and takes it, or returns
// nil at once when n is 0 or the locks cannot be used, and nil after maxWait
// when all slots stay busy.
func Acquire(dir string, n int, maxWait time.Duration) *Slot {
	if n <= 0 {
		return nil
	}
	if s, ok := tryAny(dir, n); s != nil || !ok {
		return s
	}
	deadline := time.Now().Add(maxWait)
	q, err := os.OpenFile(filepath.Join(dir, "queue"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil
	}
	if !lockBefore(q, deadline) {
		return nil // q is closed by the goroutine still waiting for it
	}
	defer q.Close()
	for {
		if s, ok := tryAny(dir, n); s != nil || !ok {
			return s
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(pollEvery)
	}
}

// tryAny takes the first free slot without waiting. ok is false when the
// slot files cannot be made or locked at all (then nobody queues).
func tryAny(dir string, n int) (s *Slot, ok bool) {
	for i := 0; i < n; i++ {
		name := filepath.Join(dir, strconv.Itoa(i))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		if os.IsNotExist(err) {
			if os.MkdirAll(dir, 0o700) != nil {
				return nil, false
			}
			f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		}
		if err != nil {
			return nil, false
		}
		switch err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err {
		case nil:
			return &Slot{f: f}, true
		case unix.EWOULDBLOCK:
			f.Close()
		default:
			f.Close()
			return nil, false
		}
	}
	return nil, true
}

// lockBefore takes an exclusive flock on f, giving up at deadline. A blocked
// flock cannot be cancelled, so it waits in a goroutine; when the caller has
// given up, that goroutine drops the lock as soon as it gets it.
func lockBefore(f *os.File, deadline time.Time) bool {
	var mu sync.Mutex
	abandoned := false
	got := make(chan error, 1)
	go func() {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX)
		mu.Lock()
		defer mu.Unlock()
		if abandoned || err != nil {
			f.Close()
			return
		}
		got <- err
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case err := <-got:
		return err == nil
	case <-timer.C:
		mu.Lock()
		defer mu.Unlock()
		select {
		case err := <-got:
			return err == nil
		default:
			abandoned = true
			return false
		}
	}
}
