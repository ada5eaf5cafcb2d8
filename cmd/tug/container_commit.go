package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/parse"
)

// From containers to images: diff, commit, export.

func init() {
	register("container", "diff", "diff", newDiffCommand)
	register("container", "commit", "commit", newCommitCommand)
	register("container", "export", "export", newExportCommand)
}

func lookupContainer(name string) (*libpod.Container, error) {
	rt, err := getRuntime()
	if err != nil {
		return nil, err
	}
	c, err := rt.LookupContainer(name)
	if err != nil {
		return nil, notFound(err)
	}
	return c, nil
}

func newDiffCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Args:  exactArgs(1, "name the container"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := lookupContainer(args[0])
			if err != nil {
				return err
			}
			changes, err := c.Changes()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, ch := range changes {
				fmt.Fprintf(out, "%s %s\n", ch.Kind, ch.Path)
			}
			return nil
		},
	}
	return cmd
}

func newCommitCommand() *cobra.Command {
	var opts libpod.CommitOptions
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError(cmd, fmt.Errorf("%q requires 1 or 2 arguments: CONTAINER and an optional REPOSITORY[:TAG]", cmd.CommandPath()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				ref, err := parse.ParseReference(args[1])
				if err != nil {
					return usageError(cmd, err)
				}
				if ref.Digest() != "" {
					return usageError(cmd, fmt.Errorf("refusing to create a tag with a digest reference: %s", args[1]))
				}
				opts.Name = ref.String()
			}
			// Refuse bad --change values before anything is read.
			if err := (image.ImportOptions{Changes: opts.Changes}).Check(); err != nil {
				return usageError(cmd, err)
			}
			c, err := lookupContainer(args[0])
			if err != nil {
				return err
			}
			img, err := c.Commit(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sha256:%s\n", img.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Author, "author", "a", "", `author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	f.StringArrayVarP(&opts.Changes, "change", "c", nil, "apply Dockerfile instruction to the created image (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)")
	f.StringVarP(&opts.Message, "message", "m", "", "commit message")
	f.BoolVarP(&opts.Pause, "pause", "p", true, "pause container during commit (as root; rootless tug has no freezer and commits a running container as it is)")
	return cmd
}

func newExportCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER",
		Short: "Export a container's filesystem as a tar archive",
		Args:  exactArgs(1, "name the container"),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if output == "" {
				if f, ok := out.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
					return errors.New("Cowardly refusing to save to a terminal. Use the -o flag or redirect.")
				}
			}
			c, err := lookupContainer(args[0])
			if err != nil {
				return err
			}
			// A reader that goes away (| head) is an error to clean up
			// after, not a signal that kills tug with the file system mounted.
			signal.Ignore(syscall.SIGPIPE)
			if output == "" {
				return c.Export(out)
			}
			return saveToFile(output, func(w io.Writer) error { return c.Export(w) })
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to a file, instead of STDOUT")
	return cmd
}
