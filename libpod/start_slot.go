package libpod

import (
	"path/filepath"
	"time"

	"github.com/tug-project/tug/pkg/startslot"
)

// startSlotWait bounds the wait for a start slot: in a long burst the last
// starts go ahead anyway, and a start stuck in the kernel stops nobody.
const startSlotWait = 2 * time.Second

// TakeStartSlot makes this call wait its turn among the container creations
// and starts on the machine (pkg/startslot) unless it holds a slot already,
// as `run` does from its create to its start.
func (r *Runtime) TakeStartSlot() {
	if !r.slotHeld {
		r.slot = startslot.Acquire(filepath.Join(r.RunRoot, "start-slots"), startslot.Count(), startSlotWait)
		r.slotHeld = true
	}
}

// ReleaseStartSlot lets the next queued creation or start go.
func (r *Runtime) ReleaseStartSlot() {
	r.slot.Release()
	r.slot, r.slotHeld = nil, false
}
