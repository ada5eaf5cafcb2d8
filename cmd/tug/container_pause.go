package main

import (
	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
)

func newPauseCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "pause CONTAINER [CONTAINER...]",
		Short: "Pause all processes within one or more containers",
		Args:  minArgs(1, "name the containers to pause"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return freezeEach(cmd, args, (*libpod.Container).Pause)
		},
	}
}

func newUnpauseCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "unpause CONTAINER [CONTAINER...]",
		Short: "Unpause all processes within one or more containers",
		Args:  minArgs(1, "name the containers to unpause"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return freezeEach(cmd, args, (*libpod.Container).Unpause)
		},
	}
}

// freezeEach refuses at once (exit 125) where containers cannot be frozen
// at all, rather than failing each one.
func freezeEach(cmd *cobra.Command, names []string, fn func(*libpod.Container) error) error {
	rt, err := getRuntime()
	if err != nil {
		return err
	}
	if err := rt.CanPause(); err != nil {
		return err
	}
	return eachContainer(cmd, names, fn)
}

func init() {
	register("container", "pause", "pause", newPauseCommand)
	register("container", "unpause", "unpause", newUnpauseCommand)
}
