package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/format"
	"github.com/tug-project/tug/pkg/parse"
)

func init() { register("builder", "prune", "", newBuilderPruneCommand) }

func newBuilderPruneCommand() *cobra.Command {
	var all, force bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove build cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parse.ParseFilters(filters, "until")
			if err != nil {
				return usageError(cmd, err)
			}
			var opts libpod.BuildPruneOptions
			opts.All = all
			for _, v := range f["until"] {
				t, err := parse.ParseTimestamp(v, time.Now())
				if err != nil {
					return usageError(cmd, fmt.Errorf("invalid filter 'until=%s': %w", v, err))
				}
				if opts.Until.IsZero() || t.Before(opts.Until) {
					opts.Until = t
				}
			}
			if !force {
				warning := "WARNING! This will remove all dangling build cache."
				if all {
					warning = "WARNING! This will remove all build cache."
				}
				if !confirm(cmd.InOrStdin(), cmd.OutOrStdout(), warning+" Are you sure you want to continue?") {
					return nil
				}
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			pruned, total, err := rt.PruneBuildCache(cmd.Context(), opts)
			out := cmd.OutOrStdout()
			if len(pruned) > 0 {
				fmt.Fprintln(out, "Deleted build cache objects:")
				for _, p := range pruned {
					fmt.Fprintln(out, p.ID)
				}
				fmt.Fprintln(out)
			}
			fmt.Fprintln(out, "Total reclaimed space:", format.HumanSize(total))
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&all, "all", "a", false, "remove all build cache, not just dangling cache")
	fl.BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	fl.StringArrayVar(&filters, "filter", nil, `provide filter values (e.g. "until=24h")`)
	return cmd
}
