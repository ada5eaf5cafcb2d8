package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
)

func newTopCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Args:  minArgs(1, "name the container"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			ctr, err := rt.LookupContainer(args[0])
			if err != nil {
				return notFound(err)
			}
			top, err := ctr.Top(args[1:])
			if err != nil {
				var state *libpod.RefusedError
				if errors.As(err, &state) {
					return &exitCodeError{code: 1, msg: state.Msg}
				}
				return err
			}
			// Docker's layout: columns at least 20 wide, 3 spaces apart.
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 20, 1, 3, ' ', 0)
			fmt.Fprintln(w, strings.Join(top.Titles, "\t"))
			for _, p := range top.Processes {
				fmt.Fprintln(w, strings.Join(p, "\t"))
			}
			return w.Flush()
		},
	}
	// ps options follow the container: they are not tug's flags.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func init() {
	register("container", "top", "top", newTopCommand)
}
