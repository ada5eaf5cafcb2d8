package libpod

import (
	"errors"
	"fmt"
	"time"

	"github.com/tug-project/tug/pkg/parse"
)

// ContainerPruneFilters are the --filter keys of container prune.
var ContainerPruneFilters = []string{"until", "label", "label!"}

// PrunedContainer is one container prune removed.
type PrunedContainer struct {
	ID   string
	Size int64 // its writable layer
}

// PruneContainers removes every container that is not running (created,
// exited, dead) and matches the filters: until=TIME (created before),
// label=KEY[=VALUE], label!=KEY[=VALUE].
func (r *Runtime) PruneContainers(f parse.Filters) ([]PrunedContainer, error) {
	now := time.Now()
	var until []time.Time
	for _, u := range f["until"] {
		t, err := parse.ParseTimestamp(u, now)
		if err != nil {
			return nil, fmt.Errorf("invalid filter 'until=%s': %v", u, err)
		}
		until = append(until, t)
	}
	all, err := r.Containers()
	if err != nil {
		return nil, err
	}
	var out []PrunedContainer
	var errs []error
	for _, c := range all {
		if c.Running() {
			continue
		}
		if len(until) > 0 && !anyMatch(len(until), func(i int) bool { return c.Created.Before(until[i]) }) {
			continue
		}
		if !f.MatchLabels("label", c.Labels) {
			continue
		}
		size, _, _ := r.ContainerSize(c)
		if err := c.Remove(false); err != nil {
			var re *RunningError
			if errors.As(err, &re) || errors.Is(err, ErrNoSuchContainer) {
				continue // started or removed meanwhile
			}
			errs = append(errs, err)
			continue
		}
		out = append(out, PrunedContainer{ID: c.ID, Size: size})
	}
	return out, errors.Join(errs...)
}
