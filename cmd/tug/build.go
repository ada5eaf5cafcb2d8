package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/build"
	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/parse"
)

func init() {
	register("image", "build", "build", newBuildCommand)
}

type buildFlags struct {
	tags, buildArgs, labels, secrets []string
	file, target, network, platform  string
	iidfile, progress                string
	noCache, pull, quiet             bool
	rm, forceRm, squash              bool
	reg                              registryFlags
}

func newBuildCommand() *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] PATH | URL | -",
		Short: "Build an image from a Dockerfile",
		Args:  exactArgs(1, "the build context: a directory, a URL of a tarball, or - for a tar (or a Dockerfile) on stdin"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options(cmd)
			if err != nil {
				return usageError(cmd, err)
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			return runBuild(cmd, rt, args[0], &f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.tags, "tag", "t", nil, "name and optionally a tag in the 'name:tag' format (repeatable)")
	fl.StringVarP(&f.file, "file", "f", "", "name of the Dockerfile (default PATH/Dockerfile; - reads it from stdin)")
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "set build-time variables (KEY=VALUE, or KEY to take it from the environment)")
	fl.StringVar(&f.target, "target", "", "set the target build stage to build")
	fl.BoolVar(&f.noCache, "no-cache", false, "do not use cache when building the image")
	fl.BoolVar(&f.pull, "pull", false, "always attempt to pull a newer version of the base images")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "suppress the build output and print image ID on success")
	fl.StringArrayVar(&f.labels, "label", nil, "set metadata for an image (KEY=VALUE)")
	fl.StringVar(&f.network, "network", "default", "networking mode for the RUN instructions: default (user-mode), none, host")
	fl.StringVar(&f.platform, "platform", "", "set platform (only this machine's, e.g. linux/"+goruntime.GOARCH+")")
	fl.StringVar(&f.iidfile, "iidfile", "", "write the image ID to the file")
	fl.BoolVar(&f.rm, "rm", true, "remove intermediate containers after a successful build")
	fl.BoolVar(&f.forceRm, "force-rm", false, "always remove intermediate containers")
	fl.BoolVar(&f.squash, "squash", false, "squash newly built layers into a single new layer")
	fl.StringArrayVar(&f.secrets, "secret", nil, "secret to expose to the build: id=ID,src=PATH or id=ID,env=VAR")
	fl.StringVar(&f.progress, "progress", "auto", "type of progress output (auto, plain, tty, quiet): tug prints the classic builder's steps")
	f.reg.add(cmd, false)
	return cmd
}

// options checks the flags and turns them into build options (without the
// context, which is opened later).
func (f *buildFlags) options(cmd *cobra.Command) (*build.Options, error) {
	opts := &build.Options{
		Target: f.target, NoCache: f.noCache, Pull: f.pull, Network: f.network,
		Remove: f.rm || f.forceRm, ForceRemove: f.forceRm, Squash: f.squash,
		BuildArgs: map[string]string{}, Labels: map[string]string{}, Secrets: map[string]parse.BuildSecret{},
	}
	for _, t := range f.tags {
		ref, err := parse.ParseReference(t)
		if err != nil {
			return nil, fmt.Errorf("invalid tag %q: %w", t, err)
		}
		if ref.Digest() != "" {
			return nil, fmt.Errorf("invalid tag %q: a tag cannot have a digest", t)
		}
		opts.Tags = append(opts.Tags, ref.String())
	}
	for _, a := range f.buildArgs {
		k, v, ok, err := parse.BuildArg(a, os.LookupEnv)
		if err != nil {
			return nil, err
		}
		if ok {
			opts.BuildArgs[k] = v
		}
	}
	for _, l := range f.labels {
		k, v, err := parse.Label(l)
		if err != nil {
			return nil, err
		}
		opts.Labels[k] = v
	}
	for _, s := range f.secrets {
		sec, err := parse.ParseBuildSecret(s)
		if err != nil {
			return nil, err
		}
		if sec.File != "" {
			if _, err := os.Stat(sec.File); err != nil {
				return nil, fmt.Errorf("secret %s: %w", sec.ID, err)
			}
		}
		opts.Secrets[sec.ID] = sec
	}
	switch f.network {
	case "default", "bridge", "slirp4netns":
		opts.Network = "default"
	case "none", "host":
	default:
		return nil, fmt.Errorf("invalid --network %q: use default, none or host", f.network)
	}
	switch f.progress {
	case "auto", "plain", "tty":
	case "quiet":
		f.quiet = true
	default:
		return nil, fmt.Errorf("invalid --progress %q: use auto, plain, tty or quiet", f.progress)
	}
	if f.platform != "" {
		p, err := parse.ParsePlatform(f.platform)
		if err != nil {
			return nil, err
		}
		if p.OS != "linux" || p.Architecture != goruntime.GOARCH {
			return nil, fmt.Errorf("--platform %s: tug builds for this machine's platform only (linux/%s)", f.platform, goruntime.GOARCH)
		}
	}
	return opts, nil
}

func runBuild(cmd *cobra.Command, rt *libpod.Runtime, contextArg string, f *buildFlags, opts *build.Options) error {
	ctx, interrupted, stop := interruptible(cmd.Context())
	defer stop()
	ir, err := rt.Images()
	if err != nil {
		return err
	}
	prep, err := build.PrepareContext(ctx, build.ContextSpec{
		Arg: contextArg, Dockerfile: f.file, Stdin: cmd.InOrStdin(),
		WorkDir: func(prefix string) (string, func(), error) {
			wd, err := ir.NewWorkDir(prefix)
			if err != nil {
				return "", nil, err
			}
			return wd.Path, func() { wd.Remove() }, nil
		},
	})
	if err != nil {
		return buildFailed(err)
	}
	defer prep.Remove()
	opts.Context, opts.Dockerfile, opts.DockerfileName = prep.Context, prep.Dockerfile, prep.DockerfileName

	stdout := cmd.OutOrStdout()
	out := stdout
	var quietLog bytes.Buffer
	if f.quiet {
		out = &quietLog
	}
	opts.Out = out
	// RUN's processes write straight to the output (live), through a pipe
	// when it is not a file of ours.
	runOut, closeRunOut, err := runOutput(out)
	if err != nil {
		return err
	}
	opts.RunOutput = runOut
	ro, err := f.reg.options(cmd)
	if err != nil {
		return err
	}
	opts.PullImage = func(ctx context.Context, name string, always bool) (*image.Image, error) {
		return buildPull(ctx, ir, name, always, out, ro)
	}
	res, err := build.Build(ctx, rt, *opts)
	closeRunOut()
	if sig := interrupted(); sig != nil {
		return interruptedError(sig, "build interrupted: no image was tagged")
	}
	if err != nil {
		if f.quiet {
			os.Stderr.Write(quietLog.Bytes())
		}
		return buildFailed(err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(os.Stderr, "[WARNING]:", w)
	}
	img := res.Image
	for _, t := range opts.Tags {
		if err := ir.Tag(img, t); err != nil {
			return err
		}
	}
	if f.iidfile != "" {
		if err := os.WriteFile(f.iidfile, []byte("sha256:"+img.ID), 0o644); err != nil {
			return fmt.Errorf("writing the image ID file: %w", err)
		}
	}
	if f.quiet {
		fmt.Fprintf(stdout, "sha256:%s\n", img.ID)
		return nil
	}
	fmt.Fprintf(stdout, "Successfully built %s\n", img.ID[:12])
	for _, t := range opts.Tags {
		fmt.Fprintf(stdout, "Successfully tagged %s\n", image.Familiar(t))
	}
	return nil
}

// runOutput is the file RUN steps write to: w itself when it is a file,
// else a pipe copied into w.
func runOutput(w io.Writer) (*os.File, func(), error) {
	if f, ok := w.(*os.File); ok {
		return f, func() {}, nil
	}
	r, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(w, r)
	}()
	return pw, func() { pw.Close(); wg.Wait(); r.Close() }, nil
}

// buildPull finds a FROM or COPY --from image, pulling it (with Docker's
// lines in the build output) when it is missing or always.
func buildPull(ctx context.Context, ir *image.Runtime, name string, always bool, out io.Writer, ro image.RegistryOptions) (*image.Image, error) {
	if !always {
		img, err := ir.Lookup(name)
		if err == nil {
			return img, nil
		}
		if !errors.Is(err, image.ErrNotFound) {
			return nil, err
		}
	}
	ref, err := parse.ParseReference(name)
	if err != nil {
		return nil, err
	}
	opts := image.PullOptions{RegistryOptions: ro}
	rep, done := progressFor(out, false)
	opts.Progress = rep
	res, err := ir.Pull(ctx, ref, opts)
	done()
	if err != nil {
		return nil, err
	}
	return res.Image, nil
}

// buildFailed gives a failed build Docker's exit codes: a RUN's own code,
// else 1.
func buildFailed(err error) error {
	var re *build.RunError
	if errors.As(err, &re) {
		msg := re.Error()
		if re.Detail != "" {
			msg = re.Detail + "\n" + msg
		}
		code := re.Code
		if code <= 0 || code > 255 {
			code = 1
		}
		return &exitCodeError{code: code, msg: msg}
	}
	var ce *build.ContextError
	var se *build.SyntaxError
	if errors.As(err, &ce) || errors.As(err, &se) || errors.Is(err, build.ErrNotInContext) || isStepError(err) || errors.Is(err, image.ErrNotFound) {
		return &exitCodeError{code: 1, msg: err.Error()}
	}
	if strings.Contains(err.Error(), "target stage") {
		return &exitCodeError{code: 1, msg: err.Error()}
	}
	return err
}

func isStepError(err error) bool {
	var se *build.StepError
	return errors.As(err, &se)
}
