package libpod

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tug-project/tug/pkg/events"
	"github.com/tug-project/tug/pkg/parse"
)

// ContainerPruneFilters are the --filter keys of container prune (and of
// system prune for its containers).
var ContainerPruneFilters = []string{"until", "label", "label!"}

// PrunedContainer is one container prune removed.
type PrunedContainer struct {
	ID   string
	Size int64 // its writable layer
}

// pruneMatcher is a parsed until/label filter set of a prune.
type pruneMatcher struct {
	f     parse.Filters
	until time.Time
}

func newPruneMatcher(f parse.Filters, now time.Time) (*pruneMatcher, error) {
	m := &pruneMatcher{f: f}
	for _, v := range f["until"] {
		t, err := parse.ParseTimestamp(v, now)
		if err != nil {
			return nil, fmt.Errorf("invalid filter 'until=%s': %w", v, err)
		}
		if m.until.IsZero() || t.Before(m.until) {
			m.until = t
		}
	}
	return m, nil
}

func (m *pruneMatcher) match(created time.Time, labels map[string]string) bool {
	if !m.until.IsZero() && !created.Before(m.until) {
		return false
	}
	return parse.Filters(m.f).MatchLabels("label", labels)
}

// errInUse says a container prune met was taken up meanwhile.
var errInUse = errors.New("in use")

// PruneContainers removes the stopped containers (exited, or created and
// not about to be started by the tug call that made them) that pass the
// filters, as `container prune` does. Each is checked again under its
// lock, so a container started meanwhile stays. Their volumes stay.
func (r *Runtime) PruneContainers(filters parse.Filters) ([]PrunedContainer, error) {
	m, err := newPruneMatcher(filters, time.Now())
	if err != nil {
		return nil, err
	}
	ctrs, err := r.Containers()
	if err != nil {
		return nil, err
	}
	var out []PrunedContainer
	var errs []error
	for _, c := range ctrs {
		if !c.prunable() || !m.match(c.Created, c.Labels) {
			continue
		}
		size, _, _ := r.ContainerSize(c)
		if err := c.pruneOne(); err != nil {
			if !errors.Is(err, errInUse) && !errors.Is(err, ErrNoSuchContainer) {
				errs = append(errs, fmt.Errorf("%s: %w", c.ShortID(), err))
			}
			continue
		}
		out = append(out, PrunedContainer{ID: c.ID, Size: size})
	}
	var reclaimed int64
	for _, c := range out {
		reclaimed += c.Size
	}
	// Docker 23+ records a prune as an event of its own.
	r.WriteEvent(events.TypeContainer, "prune", "", map[string]string{"reclaimed": strconv.FormatInt(reclaimed, 10)})
	return out, errors.Join(errs...)
}

// prunable reports a container prune may remove (after sync).
func (c *Container) prunable() bool {
	switch c.State.Status {
	case StatusExited, StatusDead:
		return true
	case StatusCreated:
		return !alive(c.State.CreatorPid, c.State.CreatorStart)
	}
	return false
}

// pruneOne removes c if, under its lock, it is still prunable.
func (c *Container) pruneOne() error {
	lock, err := c.rt.lockContainer(c.ID)
	if err != nil {
		return err
	}
	defer lock.unlock()
	if err := c.reload(); err != nil {
		return err
	}
	c.syncLocked()
	if !c.prunable() {
		return errInUse
	}
	return c.removeLocked(false)
}
