package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/format"
	"github.com/tug-project/tug/pkg/parse"
)

func newContainerPruneCommand() *cobra.Command {
	var force bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parse.ParseFilters(filters, libpod.ContainerPruneFilters...)
			if err != nil {
				return usageError(cmd, err)
			}
			if !force && !confirm(cmd.InOrStdin(), cmd.OutOrStdout(), "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?") {
				return nil
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			gone, err := rt.PruneContainers(f)
			out := cmd.OutOrStdout()
			var reclaimed int64
			if len(gone) > 0 {
				fmt.Fprintln(out, "Deleted Containers:")
				for _, g := range gone {
					fmt.Fprintln(out, g.ID)
					reclaimed += g.Size
				}
				fmt.Fprintln(out)
			}
			fmt.Fprintln(out, "Total reclaimed space:", format.HumanSize(reclaimed))
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	fl.StringArrayVar(&filters, "filter", nil, "provide filter values (e.g. \"until=24h\", \"label=KEY=VALUE\", \"label!=KEY\")")
	return cmd
}

func init() {
	register("container", "prune", "", newContainerPruneCommand)
}
