package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/parse"
)

func init() { register("image", "push", "push", newPushCommand) }

func newPushCommand() *cobra.Command {
	var (
		quiet, allTags bool
		reg            registryFlags
	)
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG] [DESTINATION]",
		Short: "Upload an image to a registry",
		Args:  requireArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime() // before a --creds prompt: see pull
			if err != nil {
				return err
			}
			ro, err := reg.options(cmd)
			if err != nil {
				return err
			}
			images, err := rt.Images()
			if err != nil {
				return err
			}
			targets, err := pushTargets(cmd, images, args, allTags)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			ctx, interrupted, stop := interruptible(cmd.Context())
			defer stop()
			rep, done := progressFor(out, quiet)
			results, err := images.Push(ctx, targets, image.PushOptions{RegistryOptions: ro, Progress: rep})
			done()
			if sig := interrupted(); sig != nil {
				return interruptedError(sig, fmt.Sprintf("push to %s interrupted", targets[0].Dest.Name()))
			}
			if err != nil {
				return err
			}
			if quiet {
				for _, r := range results {
					fmt.Fprintln(out, r.Ref.String())
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&quiet, "quiet", "q", false, "print only the pushed references")
	fl.BoolVarP(&allTags, "all-tags", "a", false, "push every local tag of the repository")
	reg.add(cmd, true)
	return cmd
}

// pushTargets resolves push's arguments: NAME[:TAG] (every tag of NAME with
// -a), or, as podman has it, a local image and the DESTINATION to push it as.
func pushTargets(cmd *cobra.Command, images *image.Runtime, args []string, allTags bool) ([]image.PushTarget, error) {
	if len(args) == 2 {
		if allTags {
			return nil, usageError(cmd, errors.New("--all-tags/-a takes a repository, not an image and a destination"))
		}
		img, err := images.Lookup(args[0])
		if err != nil {
			if errors.Is(err, image.ErrNotFound) {
				return nil, fmt.Errorf("An image does not exist locally with the tag: %s", args[0])
			}
			return nil, err
		}
		dest, err := parse.ParseReference(strings.TrimPrefix(args[1], "docker://"))
		if err != nil {
			return nil, err
		}
		if dest.Digest() != "" {
			return nil, usageError(cmd, fmt.Errorf("cannot push to a digest (%s): give a tag", args[1]))
		}
		return []image.PushTarget{{Image: img, Dest: dest}}, nil
	}
	ref, err := parse.ParseReference(args[0])
	if err != nil {
		return nil, err
	}
	if ref.Digest() != "" {
		return nil, usageError(cmd, fmt.Errorf("cannot push a digest reference (%s): push a tag", args[0]))
	}
	notLocal := fmt.Errorf("An image does not exist locally with the tag: %s", ref.FamiliarName())
	if allTags {
		if strings.HasSuffix(args[0], ":"+ref.Tag()) {
			return nil, usageError(cmd, errors.New("tag can't be used with --all-tags/-a"))
		}
		targets, err := images.TagsInRepository(ref.Name())
		if err != nil {
			return nil, err
		}
		if len(targets) == 0 {
			return nil, notLocal
		}
		return targets, nil
	}
	img, err := images.Lookup(ref.String())
	if err != nil {
		if errors.Is(err, image.ErrNotFound) {
			return nil, notLocal
		}
		return nil, err
	}
	return []image.PushTarget{{Image: img, Dest: ref}}, nil
}
