package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
)

// tug healthcheck run (podman's): one health check now, exit 0 when it
// leaves the container healthy, 1 (printing the status) when not.
func newHealthcheckRunCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "run CONTAINER",
		Short: "Run a container's health check",
		Args:  exactArgs(1, "name the container"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			ctr, err := rt.LookupContainer(args[0])
			if err != nil {
				return err
			}
			status, err := ctr.RunHealthCheck()
			if err != nil {
				return err
			}
			if status != libpod.HealthHealthy {
				fmt.Fprintln(cmd.OutOrStdout(), status)
				return &exitCodeError{code: 1}
			}
			return nil
		},
	}
}

func init() {
	register("healthcheck", "run", "", newHealthcheckRunCommand)
}
