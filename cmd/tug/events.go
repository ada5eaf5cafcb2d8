package main

import (
	"bufio"
	"fmt"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/pkg/events"
	"github.com/tug-project/tug/pkg/format"
	"github.com/tug-project/tug/pkg/parse"
)

func init() {
	register("system", "events", "events", newEventsCommand)
}

func newEventsCommand() *cobra.Command {
	var since, until, tmpl string
	var filters []string
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Get real time events from tug",
		Long: "Print the events of containers, images, volumes and networks as they happen, until interrupted.\n" +
			"With --since, replay the recorded ones first; with --until, stop at that time.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := events.ParseFilter(filters)
			if err != nil {
				return usageError(cmd, err)
			}
			now := time.Now()
			var opts events.ReadOptions
			if since != "" {
				if opts.Since, err = parse.ParseTimestamp(since, now); err != nil {
					return usageError(cmd, fmt.Errorf("invalid --since: %w", err))
				}
			}
			if until != "" {
				if opts.Until, err = parse.ParseTimestamp(until, now); err != nil {
					return usageError(cmd, fmt.Errorf("invalid --until: %w", err))
				}
			}
			var t *template.Template
			switch tmpl {
			case "":
			case "json":
				t, _ = format.Parse("{{json .}}")
			default:
				if t, err = format.Parse(tmpl); err != nil {
					return usageError(cmd, err)
				}
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			opts.Match = f.Match
			// Follow unless the end is already past: then only replay.
			opts.Follow = opts.Until.IsZero() || opts.Until.After(now)
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			defer out.Flush()
			// Written in batches: whenever the reader has caught up, the batch goes out.
			opts.Idle = out.Flush
			return rt.EventLog().Read(cmd.Context(), opts, func(ev events.Event) error {
				if t == nil {
					out.WriteString(ev.String())
					out.WriteByte('\n')
				} else {
					if err := t.Execute(out, ev); err != nil {
						return err
					}
					out.WriteByte('\n')
				}
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&since, "since", "", "show the events recorded since this time (RFC 3339, Unix seconds, or a duration before now such as 10m)")
	fl.StringVar(&until, "until", "", "stream events until this time (same forms as --since)")
	fl.StringArrayVarP(&filters, "filter", "f", nil, "filter the events (type=, container=, image=, event=, label=, network=, volume=, scope=)")
	fl.StringVar(&tmpl, "format", "", "format the output using a Go template, or json")
	return cmd
}
