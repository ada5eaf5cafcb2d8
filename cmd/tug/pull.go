package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/parse"
)

func init() { register("image", "pull", "pull", newPullCommand) }

func newPullCommand() *cobra.Command {
	var (
		quiet, allTags bool
		platform       string
		reg            registryFlags
	)
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Args:  requireArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts image.PullOptions
			if platform != "" {
				p, err := parse.ParsePlatform(platform)
				if err != nil {
					return usageError(cmd, err)
				}
				opts.Platform = &p
			}
			ref, err := parse.ParseReference(args[0])
			if err != nil {
				return err
			}
			explicitTag := ref.Digest() != "" || strings.HasSuffix(args[0], ":"+ref.Tag())
			if allTags && strings.Contains(args[0], "@") {
				return usageError(cmd, errors.New("a digest cannot be used with --all-tags/-a"))
			}
			if allTags && explicitTag {
				return usageError(cmd, errors.New("tag can't be used with --all-tags/-a"))
			}
			// Into the user namespace before any prompt: the first rootless
			// call re-executes tug, which would ask again.
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			if opts.RegistryOptions, err = reg.options(cmd); err != nil {
				return err
			}
			images, err := rt.Images()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			ctx, interrupted, stop := interruptible(cmd.Context())
			defer stop()
			if allTags {
				rep, done := progressFor(out, quiet)
				opts.Progress = rep
				_, err = images.PullAllTags(ctx, ref.Name(), opts)
				done()
				if sig := interrupted(); sig != nil {
					return interruptedError(sig, fmt.Sprintf("pull of %s interrupted: the tags not pulled yet were not recorded", ref.FamiliarName()))
				}
				if err != nil {
					return err
				}
				fmt.Fprintln(out, ref.Name())
				return nil
			}
			if !quiet && !explicitTag {
				fmt.Fprintf(out, "Using default tag: %s\n", ref.Tag())
			}
			rep, done := progressFor(out, quiet)
			opts.Progress = rep
			_, err = images.Pull(ctx, ref, opts)
			done()
			if sig := interrupted(); sig != nil {
				return interruptedError(sig, fmt.Sprintf("pull of %s interrupted: no image was recorded (layers already complete are kept for the next pull)", ref.Familiar()))
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(out, ref.String())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&quiet, "quiet", "q", false, "print only the image reference")
	fl.BoolVarP(&allTags, "all-tags", "a", false, "download every tagged image of the repository")
	fl.StringVar(&platform, "platform", "", "choose os/arch[/variant] from a multi-platform image (default: the host's)")
	reg.add(cmd, true)
	return cmd
}
