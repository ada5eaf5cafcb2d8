package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/pkg/logs"
	"github.com/tug-project/tug/pkg/parse"
)

func newLogsCommand() *cobra.Command {
	var follow, timestamps, details bool
	var tail, since, until string
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  exactArgs(1, "name the container"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ro := logs.ReadOptions{Tail: -1, Follow: follow}
			if tail != "all" && tail != "" {
				n, err := strconv.Atoi(tail)
				if err != nil {
					return usageError(cmd, fmt.Errorf("invalid --tail %q: use a number of lines or all", tail))
				}
				if n >= 0 {
					ro.Tail = n
				}
			}
			now := time.Now()
			var err error
			if since != "" {
				if ro.Since, err = parse.ParseTimestamp(since, now); err != nil {
					return usageError(cmd, fmt.Errorf("invalid --since: %w", err))
				}
			}
			if until != "" {
				if ro.Until, err = parse.ParseTimestamp(until, now); err != nil {
					return usageError(cmd, fmt.Errorf("invalid --until: %w", err))
				}
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			c, err := rt.LookupContainer(args[0])
			if err != nil {
				return notFound(err)
			}
			ro.Running = func() bool {
				n, err := rt.LookupContainer(c.ID)
				return err == nil && n.Running()
			}
			stdout := bufio.NewWriterSize(os.Stdout, 64<<10)
			stderr := bufio.NewWriterSize(os.Stderr, 16<<10)
			defer stdout.Flush()
			defer stderr.Flush()
			opts := logs.Options{Driver: c.Spec.Log.Driver, Path: c.LogPath(), ID: c.ID, Name: c.Name}
			err = logs.Read(cmd.Context(), opts, ro, func(e logs.Entry) error {
				w := stdout
				if e.Stream == "stderr" {
					w = stderr
				}
				if timestamps {
					w.WriteString(e.Time.UTC().Format(time.RFC3339Nano) + " ")
				}
				w.Write(e.Line)
				if follow {
					stdout.Flush()
					stderr.Flush()
				}
				return nil
			})
			if errors.Is(err, logs.ErrNotReadable) {
				return &exitCodeError{code: 1, msg: err.Error()}
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&follow, "follow", "f", false, "follow log output")
	fs.BoolVarP(&timestamps, "timestamps", "t", false, "show timestamps")
	fs.BoolVar(&details, "details", false, "show extra details provided to logs")
	fs.StringVarP(&tail, "tail", "n", "all", "number of lines to show from the end of the logs")
	fs.StringVar(&since, "since", "", "show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	fs.StringVar(&until, "until", "", "show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	return cmd
}

func init() {
	register("container", "logs", "logs", newLogsCommand)
}
