package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/image"
)

// run runs a RUN step in a working container and commits what it changed.
func (b *builder) run(ctx context.Context, s *stage, c *instructions.RunCommand) error {
	args := append([]string(nil), c.CmdLine...)
	var script *instructions.ShellInlineFile
	if len(c.Files) > 0 {
		if len(args) != 1 || !c.PrependShell {
			return &SyntaxError{Line: line(c.Location()), Err: errors.New("a heredoc needs the shell form of RUN")}
		}
		if h := parser.MustParseHeredoc(args[0]); h != nil {
			data := c.Files[0].Data
			if c.Files[0].Chomp {
				data = parser.ChompHeredocContent(data)
			}
			if strings.HasPrefix(data, "#!") {
				// A script with its own interpreter: run it as a file.
				script = &instructions.ShellInlineFile{Name: c.Files[0].Name, Data: data}
				args = []string{"/dev/pipes/" + c.Files[0].Name}
			} else {
				args = []string{data}
			}
		} else {
			// Heredocs fed to a command: the shell reads them itself.
			var sb strings.Builder
			sb.WriteString(args[0])
			for _, f := range c.Files {
				sb.WriteString("\n" + f.Data + f.Name)
			}
			args = []string{sb.String()}
		}
	}
	if c.PrependShell && script == nil {
		args = append(s.shell(), strings.Join(args, " "))
	}
	command := strings.Join(args, " ")
	createdBy := command
	var pairs []string
	for _, a := range s.args {
		if a.set && !proxyArgs[a.key] && !hasKey(s.config.Env, a.key) {
			pairs = append(pairs, a.key+"="+a.value)
		}
	}
	sort.Strings(pairs)
	if len(pairs) > 0 {
		createdBy = fmt.Sprintf("|%d %s %s", len(pairs), strings.Join(pairs, " "), command)
	}
	network := b.opts.Network
	if n := instructions.GetNetwork(c); n != "" && n != instructions.NetworkDefault {
		network = n
	}
	mounts := instructions.GetMounts(c)
	extra := fmt.Sprintf("network=%s mounts=%s", network, mountsKey(mounts))
	if script != nil {
		extra += " script=" + script.Data
	}
	key := cacheKey(createdBy, s.config, extra)
	img, err := b.cached(s, key)
	if err != nil || img != nil {
		if img != nil {
			b.advance(s, img)
		}
		return err
	}

	bc, err := b.rt.NewBuildContainer(s.image)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.opts.Out, " ---> Running in %s\n", bc.ID[:12])
	keep := false
	defer func() {
		if !keep {
			bc.Remove()
		}
	}()
	env := s.env()
	for k, v := range b.opts.BuildArgs {
		if proxyArgs[k] && !hasKey(env, k) {
			env = append(env, k+"="+v)
		}
	}
	rmounts, secretEnv, release, err := b.runMounts(ctx, s, bc, mounts, script)
	defer release()
	if err != nil {
		return err
	}
	env = append(env, secretEnv...)
	code, err := bc.Run(ctx, libpod.BuildRunOptions{
		Args: args, Env: env, WorkDir: s.config.WorkingDir, User: s.config.User,
		Network: network, Mounts: rmounts, Output: b.opts.RunOutput,
	})
	if err != nil {
		var se *libpod.StartError
		if errors.As(err, &se) {
			return &RunError{Command: command, Code: se.Code, Detail: se.Err.Error()}
		}
		return err
	}
	if code != 0 {
		if !b.opts.ForceRemove {
			keep = b.keep(bc, s, args, code)
		}
		return &RunError{Command: command, Code: code}
	}
	cc := cloneConfig(s.config)
	cc.Cmd = args
	img, err = bc.Commit(libpod.CommitStep{Config: s.config, ContainerConfig: &cc, History: v1.History{CreatedBy: createdBy}, CacheKey: key})
	if err != nil {
		return err
	}
	if b.opts.Remove {
		fmt.Fprintf(b.opts.Out, "Removing intermediate container %s\n", bc.ID[:12])
	} else {
		keep = b.keep(bc, s, args, 0)
	}
	fmt.Fprintf(b.opts.Out, " ---> %s\n", short(img.ID))
	b.advance(s, img)
	return nil
}

// keep turns a step's container into an ordinary (exited) container, as
// Docker leaves a failed step's, or every step's with --rm=false.
func (b *builder) keep(bc *libpod.BuildContainer, s *stage, args []string, code int) bool {
	if err := bc.Keep(libpod.KeepOptions{Command: args, Env: s.env(), WorkDir: s.config.WorkingDir, User: s.config.User, ExitCode: code}); err != nil {
		return false
	}
	return true
}

// mountsKey describes a step's mounts for its cache key.
func mountsKey(ms []*instructions.Mount) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s:%s:%s:%s:%s:%v", m.Type, m.Target, m.Source, m.From, m.CacheID, m.ReadOnly))
	}
	return strings.Join(parts, ",")
}

// runMounts prepares a RUN step's --mount options, and returns what to
// release after the step.
func (b *builder) runMounts(ctx context.Context, s *stage, bc *libpod.BuildContainer, ms []*instructions.Mount, script *instructions.ShellInlineFile) ([]rspec.Mount, []string, func(), error) {
	var out []rspec.Mount
	var env []string
	var releases []func()
	release := func() {
		for i := len(releases) - 1; i >= 0; i-- {
			releases[i]()
		}
	}
	bind := func(src, target string, ro bool) {
		opts := []string{"rbind", "rprivate"}
		if ro {
			opts = append(opts, "ro")
		}
		out = append(out, rspec.Mount{Destination: target, Type: "bind", Source: src, Options: opts})
	}
	var secretDir string
	if script != nil || hasSecrets(ms) {
		dir, err := bc.MountTmpfs("inline")
		if err != nil {
			return nil, nil, release, err
		}
		secretDir = dir
	}
	if script != nil {
		p := filepath.Join(secretDir, script.Name)
		if err := os.WriteFile(p, []byte(script.Data), 0o755); err != nil {
			return nil, nil, release, err
		}
		bind(p, "/dev/pipes/"+script.Name, true)
	}
	for i, m := range ms {
		target := m.Target
		if target != "" && !path.IsAbs(target) {
			target = path.Join("/", s.config.WorkingDir, target)
		}
		switch m.Type {
		case instructions.MountTypeBind:
			if target == "" {
				return nil, nil, release, errors.New("--mount=type=bind needs a target")
			}
			src, rel, err := b.bindSource(ctx, m)
			if err != nil {
				return nil, nil, release, err
			}
			releases = append(releases, rel)
			bind(src, target, m.ReadOnly)
		case instructions.MountTypeCache:
			if target == "" {
				return nil, nil, release, errors.New("--mount=type=cache needs a target")
			}
			dir, unlock, err := b.cacheDir(m, target)
			if err != nil {
				return nil, nil, release, err
			}
			releases = append(releases, unlock)
			bind(dir, target, m.ReadOnly)
		case instructions.MountTypeTmpfs:
			if target == "" {
				return nil, nil, release, errors.New("--mount=type=tmpfs needs a target")
			}
			opts := []string{"nosuid", "nodev"}
			if m.SizeLimit > 0 {
				opts = append(opts, "size="+strconv.FormatInt(m.SizeLimit, 10))
			}
			out = append(out, rspec.Mount{Destination: target, Type: "tmpfs", Source: "tmpfs", Options: opts})
		case instructions.MountTypeSecret:
			id := m.CacheID
			if id == "" {
				id = path.Base(m.Target)
			}
			if id == "" || id == "." || id == "/" {
				return nil, nil, release, errors.New("--mount=type=secret needs an id (or a target)")
			}
			data, ok, err := b.secret(id)
			if err != nil {
				return nil, nil, release, err
			}
			if !ok {
				if m.Required {
					return nil, nil, release, fmt.Errorf("secret %s: not provided: give it with --secret id=%s,src=PATH", id, id)
				}
				continue
			}
			if m.Env != nil {
				name := *m.Env
				if name == "" {
					name = id
				}
				env = append(env, name+"="+string(data))
				if m.Target == "" {
					continue
				}
			}
			if target == "" {
				target = "/run/secrets/" + id
			}
			mode := os.FileMode(0o400)
			if m.Mode != nil {
				mode = os.FileMode(*m.Mode)
			}
			p := filepath.Join(secretDir, "secret-"+strconv.Itoa(i))
			if err := os.WriteFile(p, data, mode); err != nil {
				return nil, nil, release, err
			}
			os.Chmod(p, mode)
			uid, gid := 0, 0
			if m.UID != nil {
				uid = int(*m.UID)
			}
			if m.GID != nil {
				gid = int(*m.GID)
			}
			os.Lchown(p, uid, gid)
			bind(p, target, true)
		case instructions.MountTypeSSH:
			return nil, nil, release, errors.New("--mount=type=ssh is not supported: tug forwards no SSH agent")
		default:
			return nil, nil, release, fmt.Errorf("unknown mount type %q", m.Type)
		}
	}
	return out, env, release, nil
}

func hasSecrets(ms []*instructions.Mount) bool {
	for _, m := range ms {
		if m.Type == instructions.MountTypeSecret {
			return true
		}
	}
	return false
}

// secret reads a --secret's value.
func (b *builder) secret(id string) ([]byte, bool, error) {
	sec, ok := b.opts.Secrets[id]
	if !ok {
		return nil, false, nil
	}
	if sec.File != "" {
		data, err := os.ReadFile(sec.File)
		if err != nil {
			return nil, false, fmt.Errorf("reading secret %s: %w", id, err)
		}
		return data, true, nil
	}
	v, ok := os.LookupEnv(sec.Env)
	return []byte(v), ok, nil
}

// bindSource finds what a --mount=type=bind shows: a path of the context,
// or of a stage's or an image's file system. Writes (rw) go nowhere lasting.
func (b *builder) bindSource(ctx context.Context, m *instructions.Mount) (string, func(), error) {
	none := func() {}
	if m.From == "" {
		t := fileTree{root: b.opts.Context.Root, ctx: b.opts.Context}
		srcs, err := t.Resolve(m.Source, nil)
		if err != nil {
			return "", none, err
		}
		if len(srcs) != 1 {
			return "", none, fmt.Errorf("--mount source %q matches %d files: give one", m.Source, len(srcs))
		}
		host := srcs[0].Entries[0].Host
		if m.ReadOnly && (b.opts.Context.pm == nil || !srcs[0].Dir) {
			return host, none, nil
		}
		// Writable, or a directory with excluded files: a private copy.
		return b.copyToWork(srcs[0])
	}
	img, err := b.fromImage(ctx, m.From)
	if err != nil {
		return "", none, err
	}
	bc, err := b.rt.NewBuildContainer(img)
	if err != nil {
		return "", none, err
	}
	p, err := bc.Path(m.Source)
	if err != nil {
		bc.Remove()
		return "", none, err
	}
	return p, func() { bc.Remove() }, nil
}

// copyToWork copies a context source into a private directory.
func (b *builder) copyToWork(src Source) (string, func(), error) {
	wd, err := b.ir.NewWorkDir("bind-")
	if err != nil {
		return "", func() {}, err
	}
	rel := func() { wd.Remove() }
	dest := filepath.Join(wd.Path, "src")
	op := &copyOp{sources: []Source{src}, dest: "/src", preserve: true}
	if !src.Dir {
		op.dest = "/src"
	}
	if err := op.apply(wd.Path); err != nil {
		rel()
		return "", func() {}, err
	}
	return dest, rel, nil
}

// cacheDir is the directory of a cache mount (kept between builds, as
// build cache), locked for the step when its sharing is locked or private.
func (b *builder) cacheDir(m *instructions.Mount, target string) (string, func(), error) {
	id := m.CacheID
	if id == "" {
		id = target
	}
	sum := sha256.Sum256([]byte(id))
	dir := filepath.Join(b.rt.BuildCacheMountsDir(), hex.EncodeToString(sum[:16]))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(data); os.IsNotExist(err) {
		mode := os.FileMode(0o755)
		if m.Mode != nil {
			mode = os.FileMode(*m.Mode)
		}
		tmp := data + ".new"
		os.RemoveAll(tmp)
		if err := os.Mkdir(tmp, mode); err != nil {
			return "", nil, err
		}
		os.Chmod(tmp, mode)
		uid, gid := 0, 0
		if m.UID != nil {
			uid = int(*m.UID)
		}
		if m.GID != nil {
			gid = int(*m.GID)
		}
		os.Lchown(tmp, uid, gid)
		os.WriteFile(filepath.Join(dir, "id"), []byte(id), 0o600)
		if err := os.Rename(tmp, data); err != nil && !os.IsExist(err) {
			return "", nil, err
		}
	}
	unlock := func() {}
	if m.CacheSharing == instructions.MountSharingLocked || m.CacheSharing == instructions.MountSharingPrivate {
		f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return "", nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return "", nil, err
		}
		unlock = func() { f.Close() }
	}
	now := []unix.Timespec{unix.NsecToTimespec(timeNow()), unix.NsecToTimespec(timeNow())}
	unix.UtimesNanoAt(unix.AT_FDCWD, dir, now, 0) // last use, for prune --filter until
	return data, unlock, nil
}

// fromImage resolves a COPY --from or --mount from=: a stage built before,
// else an image (pulled when missing).
func (b *builder) fromImage(ctx context.Context, from string) (*image.Image, error) {
	if i, ok := b.df.stageIndex(from, len(b.df.stages)); ok {
		s := b.stages[i]
		if s == nil {
			return nil, fmt.Errorf("stage %q is not built before this step: name a stage above it", from)
		}
		return s.image, nil
	}
	return b.opts.PullImage(ctx, from, false)
}
