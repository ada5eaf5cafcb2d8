package build

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/tug-project/tug/pkg/parse"
)

// dispatch runs one instruction on the stage.
func (b *builder) dispatch(ctx context.Context, s *stage, cmd instructions.Command) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name := strings.ToUpper(cmd.Name())
	fail := func(err error) error {
		if err == nil {
			return nil
		}
		switch err.(type) {
		case *RunError, *StepError, *SyntaxError:
			return err
		}
		return &StepError{Instruction: name, Err: err}
	}
	if _, isArg := cmd.(*instructions.ArgCommand); !isArg {
		env := shell.EnvsFromSlice(s.env())
		expand := func(word string) (string, error) {
			out, _, err := b.lex.ProcessWord(word, env)
			return out, err
		}
		if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
			if err := ex.Expand(expand); err != nil {
				return &SyntaxError{Line: line(cmd.Location()), Err: err}
			}
		}
		if ex, ok := cmd.(instructions.SupportsSingleWordExpansionRaw); ok {
			raw := shell.NewLex('\\')
			raw.SkipProcessQuotes = true
			if err := ex.ExpandRaw(func(word string) (string, error) {
				out, _, err := raw.ProcessWord(word, env)
				return out, err
			}); err != nil {
				return &SyntaxError{Line: line(cmd.Location()), Err: err}
			}
		}
	}
	cfg := &s.config
	switch c := cmd.(type) {
	case *instructions.EnvCommand:
		var parts []string
		for _, p := range c.Env {
			cfg.Env = setEnv(cfg.Env, p.Key, p.Value)
			parts = append(parts, p.Key+"="+p.Value)
		}
		return fail(b.commitConfig(s, "ENV "+strings.Join(parts, " "), ""))
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		var parts []string
		for _, p := range c.Labels {
			cfg.Labels[p.Key] = p.Value
			parts = append(parts, p.Key+"="+p.Value)
		}
		return fail(b.commitConfig(s, "LABEL "+strings.Join(parts, " "), ""))
	case *instructions.MaintainerCommand:
		return fail(b.commitConfig(s, "MAINTAINER "+c.Maintainer, ""))
	case *instructions.CmdCommand:
		cfg.Cmd = s.command(c.ShellDependantCmdLine)
		s.cmdSet = true
		return fail(b.commitConfig(s, fmt.Sprintf("CMD %q", cfg.Cmd), ""))
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = s.command(c.ShellDependantCmdLine)
		if len(c.CmdLine) == 0 {
			cfg.Entrypoint = nil
		}
		// As Docker: a new ENTRYPOINT drops a CMD inherited from the base image.
		if !s.cmdSet {
			cfg.Cmd = nil
		}
		return fail(b.commitConfig(s, fmt.Sprintf("ENTRYPOINT %q", cfg.Entrypoint), ""))
	case *instructions.ExposeCommand:
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		var ports []string
		for _, p := range c.Ports {
			list, err := parse.ExposedPorts(p)
			if err != nil {
				return &SyntaxError{Line: line(c.Location()), Err: err}
			}
			for _, port := range list {
				cfg.ExposedPorts[port] = struct{}{}
				ports = append(ports, port)
			}
		}
		sort.Strings(ports)
		return fail(b.commitConfig(s, "EXPOSE "+strings.Join(ports, " "), ""))
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			if strings.TrimSpace(v) == "" {
				return &SyntaxError{Line: line(c.Location()), Err: fmt.Errorf("VOLUME specified can not be an empty string")}
			}
			cfg.Volumes[v] = struct{}{}
		}
		return fail(b.commitConfig(s, fmt.Sprintf("VOLUME %v", c.Volumes), ""))
	case *instructions.UserCommand:
		cfg.User = c.User
		return fail(b.commitConfig(s, "USER "+c.User, ""))
	case *instructions.WorkdirCommand:
		dir := c.Path
		if !path.IsAbs(dir) {
			dir = path.Join("/", cfg.WorkingDir, dir)
		}
		cfg.WorkingDir = path.Clean(dir)
		return fail(b.commitConfig(s, "WORKDIR "+cfg.WorkingDir, ""))
	case *instructions.StopSignalCommand:
		if _, err := parse.Signal(c.Signal); err != nil {
			return &SyntaxError{Line: line(c.Location()), Err: fmt.Errorf("invalid STOPSIGNAL %q: %w", c.Signal, err)}
		}
		cfg.StopSignal = c.Signal
		return fail(b.commitConfig(s, "STOPSIGNAL "+c.Signal, ""))
	case *instructions.HealthCheckCommand:
		h := c.Health
		cfg.Healthcheck = &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
		return fail(b.commitConfig(s, healthText(cfg.Healthcheck), ""))
	case *instructions.ShellCommand:
		cfg.Shell = append([]string(nil), c.Shell...)
		return fail(b.commitConfig(s, fmt.Sprintf("SHELL %v", c.Shell), ""))
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
		return fail(b.commitConfig(s, "ONBUILD "+c.Expression, ""))
	case *instructions.ArgCommand:
		return fail(b.arg(s, c))
	case *instructions.RunCommand:
		return fail(b.run(ctx, s, c))
	case *instructions.CopyCommand:
		return fail(b.copy(ctx, s, c.SourcesAndDest, copyFlags{from: c.From, chown: c.Chown, chmod: c.Chmod, exclude: c.ExcludePatterns, parents: c.Parents}, "COPY"))
	case *instructions.AddCommand:
		return fail(b.copy(ctx, s, c.SourcesAndDest, copyFlags{chown: c.Chown, chmod: c.Chmod, exclude: c.ExcludePatterns, add: true, checksum: c.Checksum, unpack: c.Unpack}, "ADD"))
	}
	return &SyntaxError{Line: line(cmd.Location()), Err: fmt.Errorf("%s is not supported", name)}
}

// command is a CMD or ENTRYPOINT as the image stores it: the exec form as
// given, the shell form run by the stage's shell.
func (s *stage) command(c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return append([]string(nil), c.CmdLine...)
	}
	return append(s.shell(), strings.Join(c.CmdLine, " "))
}

// shell is the SHELL in force, /bin/sh -c by default.
func (s *stage) shell() []string {
	if len(s.config.Shell) > 0 {
		return append([]string(nil), s.config.Shell...)
	}
	return []string{"/bin/sh", "-c"}
}

func healthText(h *v1.HealthConfig) string {
	if len(h.Test) > 0 && h.Test[0] == "NONE" {
		return "HEALTHCHECK NONE"
	}
	var opts []string
	for _, o := range []struct {
		name string
		d    time.Duration
	}{{"interval", h.Interval}, {"timeout", h.Timeout}, {"start-period", h.StartPeriod}} {
		if o.d != 0 {
			opts = append(opts, "--"+o.name+"="+o.d.String())
		}
	}
	if h.Retries != 0 {
		opts = append(opts, "--retries="+strconv.Itoa(h.Retries))
	}
	test := h.Test
	if len(test) > 0 {
		test = test[1:]
	}
	kind := "CMD"
	if len(h.Test) > 0 && h.Test[0] == "CMD-SHELL" {
		return strings.TrimSpace("HEALTHCHECK " + strings.Join(opts, " ") + " CMD " + strings.Join(test, " "))
	}
	return strings.TrimSpace(fmt.Sprintf("HEALTHCHECK %s %s %q", strings.Join(opts, " "), kind, test))
}

// arg declares build arguments in the stage: the --build-arg value, else
// the default, else the value of the same ARG before FROM.
func (b *builder) arg(s *stage, c *instructions.ArgCommand) error {
	env := shell.EnvsFromSlice(s.env())
	var parts []string
	for _, p := range c.Args {
		b.used[p.Key] = true
		v := kv{key: p.Key}
		switch val, ok := b.opts.BuildArgs[p.Key]; {
		case ok:
			v.value, v.set = val, true
		case p.Value != nil:
			res, _, err := b.lex.ProcessWord(*p.Value, env)
			if err != nil {
				return &SyntaxError{Line: line(c.Location()), Err: err}
			}
			v.value, v.set = res, true
		default:
			for _, g := range b.global {
				if g.key == p.Key && g.set {
					v.value, v.set = g.value, true
				}
			}
		}
		s.args = setKV(s.args, v)
		if v.set {
			parts = append(parts, p.Key+"="+v.value)
		} else {
			parts = append(parts, p.Key)
		}
	}
	return b.commitConfig(s, "ARG "+strings.Join(parts, " "), fmt.Sprint(s.args))
}
