package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newRenameCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  exactArgs(2, "name the container and its new name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			ctr, err := rt.LookupContainer(args[0])
			if err != nil {
				return notFound(err)
			}
			if err := ctr.Rename(args[1]); err != nil {
				// Docker's two lines: the reason, then which rename failed.
				fmt.Fprintln(os.Stderr, "Error:", err)
				return &exitCodeError{code: 1, msg: "failed to rename container named " + args[0]}
			}
			return nil
		},
	}
}

func init() {
	register("container", "rename", "rename", newRenameCommand)
}
