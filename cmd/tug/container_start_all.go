package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
)

// startFilterKeys are the filters start --filter takes (podman's).
var startFilterKeys = map[string]bool{"id": true, "name": true, "label": true, "status": true, "restart-policy": true}

// startSelected is `start --all` and `start --filter`: it starts every
// container that is not running (with --all) or every named one, that the
// filters match. With a restart-policy filter it does what Docker's daemon
// does when it comes back after a reboot: unless-stopped containers that
// the user stopped stay stopped (contrib/systemd/tug-restart.service).
func startSelected(cmd *cobra.Command, names []string, all bool, filterArgs []string) error {
	if all && len(names) > 0 {
		return usageError(cmd, fmt.Errorf("--all and container names cannot be used together"))
	}
	flts, err := parsePsFilters(filterArgs)
	if err != nil {
		return usageError(cmd, err)
	}
	byPolicy := false
	for _, f := range flts {
		if !startFilterKeys[f.key] {
			return usageError(cmd, fmt.Errorf("invalid filter '%s' for start: use id, name, label, status or restart-policy", f.key))
		}
		byPolicy = byPolicy || f.key == "restart-policy"
	}
	rt, err := getRuntime()
	if err != nil {
		return err
	}
	everything, err := rt.Containers()
	if err != nil {
		return err
	}
	var candidates []*libpod.Container
	if all {
		for _, c := range everything {
			if c.State.Status == libpod.StatusCreated || c.State.Status == libpod.StatusExited {
				candidates = append(candidates, c)
			}
		}
	} else {
		for _, n := range names {
			c, err := rt.LookupContainer(n)
			if err != nil {
				return notFound(err)
			}
			candidates = append(candidates, c)
		}
	}
	var picked []string
	for _, c := range candidates {
		if !matchFilters(rt, c, flts, everything) || byPolicy && !c.StartsAfterReboot() {
			continue
		}
		picked = append(picked, c.ID)
	}
	return eachContainer(cmd, picked, func(c *libpod.Container) error {
		_, err := c.Start(cmd.Context(), libpod.StartOptions{})
		var se *libpod.StartError
		if errors.As(err, &se) {
			return se.Err
		}
		return err
	})
}
