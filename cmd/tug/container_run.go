package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/specgen"
)

// createFlags are the flags run and create share.
type createFlags struct {
	name, workdir, user, entrypoint, hostname, domainname string
	env, envFile, labels, labelFile                       []string
	stopSignal                                            string
	stopTimeout                                           int
	logDriver                                             string
	logOpts                                               []string
	cidFile, pull                                         string
	interactive, tty, rm                                  bool
	attach                                                []string
	addHosts, dns, dnsSearch, dnsOptions, tmpfs           []string
	networks, networkAliases, publish, expose             []string
	ip, macAddress                                        string
	publishAll                                            bool
	privileged, readOnly                                  bool
	capAdd, capDrop, securityOpt, groupAdd, ulimits       []string
	restart                                               string
	init                                                  bool
	health                                                specgen.HealthFlags
	volumes, mounts, volumesFrom, secrets                 []string
	reg                                                   registryFlags
	resources                                             resourceFlags
}

func addCreateFlags(fs *pflag.FlagSet, f *createFlags) {
	fs.SetInterspersed(false)
	// -h is --hostname, as Docker's: help is only --help.
	fs.Bool("help", false, "print usage")
	fs.StringVar(&f.name, "name", "", "assign a name to the container")
	fs.BoolVarP(&f.interactive, "interactive", "i", false, "keep STDIN open even if not attached")
	fs.BoolVarP(&f.tty, "tty", "t", false, "allocate a pseudo-TTY")
	fs.BoolVar(&f.rm, "rm", false, "automatically remove the container when it exits")
	stringArrayVarP(fs, &f.env, "env", "e", "set environment variables (KEY=VALUE, or KEY to pass it from tug's environment)")
	stringArrayVarP(fs, &f.envFile, "env-file", "", "read in a file of environment variables")
	fs.StringVarP(&f.workdir, "workdir", "w", "", "working directory inside the container")
	fs.StringVarP(&f.user, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	stringArrayVarP(fs, &f.groupAdd, "group-add", "", "add additional groups to join")
	fs.StringVar(&f.entrypoint, "entrypoint", "", "overwrite the default ENTRYPOINT of the image")
	fs.StringVarP(&f.hostname, "hostname", "h", "", "container host name")
	fs.StringVar(&f.domainname, "domainname", "", "container NIS domain name")
	stringArrayVarP(fs, &f.labels, "label", "l", "set meta data on a container")
	stringArrayVarP(fs, &f.labelFile, "label-file", "", "read in a line delimited file of labels")
	fs.StringVar(&f.stopSignal, "stop-signal", "", "signal to stop the container (default the image's STOPSIGNAL, else SIGTERM)")
	fs.IntVar(&f.stopTimeout, "stop-timeout", 10, "timeout (in seconds) to stop a container")
	fs.StringVar(&f.logDriver, "log-driver", "", "logging driver for the container: json-file, k8s-file, journald, none")
	stringArrayVarP(fs, &f.logOpts, "log-opt", "", "log driver options (max-size, max-file, tag)")
	fs.StringVar(&f.cidFile, "cidfile", "", "write the container ID to the file")
	fs.StringVar(&f.pull, "pull", "missing", `pull image before running ("always", "missing", "never")`)
	stringArrayVarP(fs, &f.attach, "attach", "a", "attach to STDIN, STDOUT or STDERR")
	stringArrayVarP(fs, &f.addHosts, "add-host", "", "add a custom host-to-IP mapping (host:ip)")
	stringArrayVarP(fs, &f.dns, "dns", "", "set custom DNS servers")
	stringArrayVarP(fs, &f.dnsSearch, "dns-search", "", "set custom DNS search domains")
	stringArrayVarP(fs, &f.dnsOptions, "dns-option", "", "set DNS options")
	stringArrayVarP(fs, &f.tmpfs, "tmpfs", "", "mount a tmpfs directory (PATH[:OPTIONS])")
	stringArrayVarP(fs, &f.networks, "network", "", "connect a container to a network: bridge (the default), NAME, none, host, container:NAME, slirp4netns (repeat for several networks)")
	stringArrayVarP(fs, &f.networks, "net", "", "connect a container to a network (same as --network)")
	fs.Lookup("net").Hidden = true
	fs.StringVar(&f.ip, "ip", "", "IPv4 address on the first network (e.g., 172.30.100.104)")
	stringArrayVarP(fs, &f.networkAliases, "network-alias", "", "add a network-scoped alias for the container (first network)")
	stringArrayVarP(fs, &f.networkAliases, "net-alias", "", "add a network-scoped alias for the container (same as --network-alias)")
	fs.Lookup("net-alias").Hidden = true
	fs.StringVar(&f.macAddress, "mac-address", "", "container MAC address on the first network (e.g., 92:d0:c6:0a:29:33)")
	stringArrayVarP(fs, &f.publish, "publish", "p", "publish a container's port(s) to the host ([IP:][HOSTPORT:]CONTAINERPORT[/PROTO])")
	fs.BoolVarP(&f.publishAll, "publish-all", "P", false, "publish all exposed ports to random ports")
	stringArrayVarP(fs, &f.expose, "expose", "", "expose a port or a range of ports")
	fs.BoolVar(&f.privileged, "privileged", false, "give extended privileges to this container")
	fs.BoolVar(&f.readOnly, "read-only", false, "mount the container's root filesystem as read only")
	stringArrayVarP(fs, &f.capAdd, "cap-add", "", "add Linux capabilities")
	stringArrayVarP(fs, &f.capDrop, "cap-drop", "", "drop Linux capabilities")
	stringArrayVarP(fs, &f.securityOpt, "security-opt", "", "security options (seccomp=unconfined|PROFILE.json, no-new-privileges, label=disable)")
	stringArrayVarP(fs, &f.ulimits, "ulimit", "", "ulimit options (NAME=SOFT[:HARD])")
	addResourceFlags(fs, &f.resources)
	fs.StringVar(&f.restart, "restart", "no", "restart policy to apply when a container exits (no, on-failure[:max-retries], always, unless-stopped)")
	fs.BoolVar(&f.init, "init", false, "run an init inside the container that forwards signals and reaps processes")
	fs.StringVar(&f.health.Cmd, "health-cmd", "", "command to run to check health")
	fs.DurationVar(&f.health.Interval, "health-interval", 0, "time between running the check (ms|s|m|h) (default 0s)")
	fs.IntVar(&f.health.Retries, "health-retries", 0, "consecutive failures needed to report unhealthy")
	fs.DurationVar(&f.health.Timeout, "health-timeout", 0, "maximum time to allow one check to run (ms|s|m|h) (default 0s)")
	fs.DurationVar(&f.health.StartPeriod, "health-start-period", 0, "start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
	fs.DurationVar(&f.health.StartInterval, "health-start-interval", 0, "time between running the check during the start period (ms|s|m|h) (default 0s)")
	fs.BoolVar(&f.health.None, "no-healthcheck", false, "disable any container-specified HEALTHCHECK")
	stringArrayVarP(fs, &f.volumes, "volume", "v", "bind mount a volume (NAME:/path, /host/path:/path or /path, with :ro, :U, :nocopy ...)")
	stringArrayVarP(fs, &f.mounts, "mount", "", "attach a filesystem mount to the container (type=volume|bind|tmpfs,source=,target=,readonly ...)")
	stringArrayVarP(fs, &f.volumesFrom, "volumes-from", "", "mount volumes from the specified container (CONTAINER[:ro|rw])")
	stringArrayVarP(fs, &f.secrets, "secret", "", "give the container a secret (NAME[,type=mount|env][,target=...])")
}

// spec turns the flags and arguments (IMAGE [COMMAND [ARG...]]) into a
// validated container spec.
func (f *createFlags) spec(fs *pflag.FlagSet, args []string) (*specgen.Spec, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("requires at least 1 argument: IMAGE [COMMAND] [ARG...]")
	}
	s := &specgen.Spec{
		Name: f.name, Image: args[0], Command: args[1:], WorkDir: f.workdir, User: f.user, GroupAdd: f.groupAdd,
		Hostname: f.hostname, Domainname: f.domainname, StopSignal: f.stopSignal, Tty: f.tty, OpenStdin: f.interactive,
		Attach: f.attach, AutoRemove: f.rm, PublishAll: f.publishAll, AddHosts: f.addHosts, DNS: f.dns,
		DNSSearch: f.dnsSearch, DNSOptions: f.dnsOptions, Privileged: f.privileged, ReadOnly: f.readOnly,
		CapAdd: f.capAdd, CapDrop: f.capDrop, SecurityOpt: f.securityOpt, Init: f.init,
	}
	var err error
	if s.RestartPolicy, err = parse.ParseRestartPolicy(f.restart); err != nil {
		return nil, err
	}
	if s.Healthcheck, err = f.health.Config(); err != nil {
		return nil, err
	}
	nets := f.networks
	if len(nets) == 0 {
		nets = []string{""}
	}
	for _, n := range nets {
		s.Networks = append(s.Networks, specgen.NetworkAttach{Name: n})
	}
	s.Networks[0].IPv4, s.Networks[0].MAC, s.Networks[0].Aliases = f.ip, f.macAddress, f.networkAliases
	for _, p := range f.publish {
		ms, err := parse.ParsePublish(p)
		if err != nil {
			return nil, err
		}
		s.PortMappings = append(s.PortMappings, ms...)
	}
	for _, e := range f.expose {
		ports, err := parse.ParseExpose(e)
		if err != nil {
			return nil, err
		}
		s.Expose = append(s.Expose, ports...)
	}
	if fs.Changed("entrypoint") {
		s.EntrypointSet = true
		if f.entrypoint != "" {
			s.Entrypoint = []string{f.entrypoint}
		}
	}
	if fs.Changed("stop-timeout") {
		t := f.stopTimeout
		s.StopTimeout = &t
	}
	for _, file := range f.envFile {
		env, err := parse.EnvFile(file, os.LookupEnv)
		if err != nil {
			return nil, err
		}
		s.Env = append(s.Env, env...)
	}
	for _, e := range f.env {
		kv, ok, err := parse.Env(e, os.LookupEnv)
		if err != nil {
			return nil, err
		}
		if ok {
			s.Env = append(s.Env, kv)
		}
	}
	s.Labels = map[string]string{}
	for _, file := range f.labelFile {
		ls, err := parse.LabelFile(file)
		if err != nil {
			return nil, err
		}
		f.labels = append(ls, f.labels...)
	}
	for _, l := range f.labels {
		k, v, err := parse.Label(l)
		if err != nil {
			return nil, err
		}
		s.Labels[k] = v
	}
	driver := f.logDriver
	if driver == "" {
		driver = "json-file"
	}
	lc, err := parse.ParseLogConfig(driver, f.logOpts)
	if err != nil {
		return nil, err
	}
	s.Log = lc
	for _, t := range f.tmpfs {
		dest, opts, err := parse.Tmpfs(t)
		if err != nil {
			return nil, err
		}
		if s.Tmpfs == nil {
			s.Tmpfs = map[string]string{}
		}
		s.Tmpfs[dest] = strings.Join(opts, ",")
	}
	if err := f.mountSpecs(s); err != nil {
		return nil, err
	}
	for _, u := range f.ulimits {
		ul, err := parse.ParseUlimit(u)
		if err != nil {
			return nil, err
		}
		s.Ulimits = append(s.Ulimits, ul)
	}
	if s.Resources, err = f.resources.resources(); err != nil {
		return nil, err
	}
	switch f.pull {
	case "always", "missing", "never":
	default:
		return nil, fmt.Errorf("invalid --pull %q: use always, missing or never", f.pull)
	}
	if f.cidFile != "" {
		if _, err := os.Stat(f.cidFile); err == nil {
			return nil, fmt.Errorf("container ID file found, make sure the other container isn't running or delete %s", f.cidFile)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// mountSpecs parses -v, --mount, --volumes-from and --secret into s.
func (f *createFlags) mountSpecs(s *specgen.Spec) error {
	cwd, _ := os.Getwd()
	for _, v := range f.volumes {
		m, err := parse.ParseVolume(v, cwd)
		if err != nil {
			return err
		}
		s.Mounts = append(s.Mounts, m)
		if m.Source != "" {
			s.Binds = append(s.Binds, v)
		}
	}
	for _, v := range f.mounts {
		m, err := parse.ParseMount(v, cwd)
		if err != nil {
			return err
		}
		s.Mounts = append(s.Mounts, m)
	}
	for _, v := range f.volumesFrom {
		vf, err := parse.ParseVolumesFrom(v)
		if err != nil {
			return err
		}
		s.VolumesFrom = append(s.VolumesFrom, vf)
	}
	for _, v := range f.secrets {
		sr, err := parse.ParseSecret(v)
		if err != nil {
			return err
		}
		s.Secrets = append(s.Secrets, sr)
	}
	return nil
}

// resolveImage finds the image of a new container, pulling it as --pull
// says, with Docker's pull lines on stderr.
func resolveImage(ctx context.Context, cmd *cobra.Command, rt *libpod.Runtime, name, policy string, reg *registryFlags) (*image.Image, error) {
	images, err := rt.Images()
	if err != nil {
		return nil, err
	}
	if policy != "always" {
		img, err := images.Lookup(name)
		if err == nil {
			return img, nil
		}
		if !errors.Is(err, image.ErrNotFound) {
			return nil, err
		}
		if policy == "never" {
			return nil, fmt.Errorf("No such image: %s", name)
		}
		fmt.Fprintf(os.Stderr, "Unable to find image '%s' locally\n", familiarName(name))
	}
	ref, err := parse.ParseReference(name)
	if err != nil {
		return nil, err
	}
	rt.ReleaseStartSlot() // a pull waits on the network, not the CPU
	opts := image.PullOptions{}
	if opts.RegistryOptions, err = reg.options(cmd); err != nil {
		return nil, err
	}
	rep, done := progressFor(os.Stderr, false)
	opts.Progress = rep
	res, err := images.Pull(ctx, ref, opts)
	done()
	if err != nil {
		return nil, err
	}
	return res.Image, nil
}

// familiarName is how Docker names an image in "Unable to find image": with its tag.
func familiarName(name string) string {
	ref, err := parse.ParseReference(name)
	if err != nil {
		return name
	}
	return ref.Familiar()
}

// createContainer does what run and create share: spec, image, container.
func createContainer(cmd *cobra.Command, f *createFlags, args []string) (*libpod.Runtime, *libpod.Container, error) {
	spec, err := f.spec(cmd.Flags(), args)
	if err != nil {
		return nil, nil, usageError(cmd, err)
	}
	if (len(spec.PortMappings) > 0 || spec.PublishAll) && (spec.Network == specgen.NetworkHost || spec.Network == specgen.NetworkNone) {
		fmt.Fprintf(os.Stderr, "WARNING: Published ports are discarded when using %s network mode\n", spec.Network)
	}
	rt, err := getRuntime()
	if err != nil {
		return nil, nil, err
	}
	// Wait for a turn before the image lookup: in a burst of runs, the first
	// ones then finish early instead of all sharing the CPU to the end.
	rt.TakeStartSlot()
	if f.logDriver == "" && rt.Config.Containers.LogDriver != "" && rt.Config.Containers.LogDriver != spec.Log.Driver {
		lc, err := parse.ParseLogConfig(rt.Config.Containers.LogDriver, logOptsFromConfig(rt.Config.Containers.LogOpts, f.logOpts))
		if err != nil {
			return nil, nil, fmt.Errorf("tug.conf: %w", err)
		}
		spec.Log = lc
	}
	ctx := cmd.Context()
	// No prune may remove the image between its lookup and the container.
	images, err := rt.Images()
	if err != nil {
		return nil, nil, err
	}
	release, err := images.HoldImages()
	if err != nil {
		return nil, nil, err
	}
	img, err := resolveImage(ctx, cmd, rt, spec.Image, f.pull, &f.reg)
	if err != nil {
		release()
		return nil, nil, err
	}
	ctr, err := rt.CreateContainer(ctx, spec, img)
	release()
	if err != nil {
		return nil, nil, err
	}
	if f.cidFile != "" {
		if err := os.WriteFile(f.cidFile, []byte(ctr.ID), 0o644); err != nil {
			return rt, ctr, fmt.Errorf("writing the container ID file: %w", err)
		}
	}
	return rt, ctr, nil
}

func logOptsFromConfig(cfg map[string]string, flags []string) []string {
	var out []string
	for k, v := range cfg {
		out = append(out, k+"="+v)
	}
	return append(out, flags...)
}

func newCreateCommand() *cobra.Command {
	var f createFlags
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, ctr, err := createContainer(cmd, &f, args)
			if err != nil {
				return err
			}
			rt.ReleaseStartSlot()
			if err := ctr.PopulateVolumes(); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), ctr.ID)
			return nil
		},
	}
	addCreateFlags(cmd.Flags(), &f)
	f.reg.add(cmd, false)
	return cmd
}

func newRunCommand() *cobra.Command {
	var f createFlags
	var detach, sigProxy bool
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, err := libpod.ParseDetachKeys(detachKeys)
			if err != nil {
				return usageError(cmd, err)
			}
			if detach && len(f.attach) > 0 {
				return usageError(cmd, fmt.Errorf("conflicting options: cannot specify both --attach and --detach"))
			}
			if len(f.attach) == 0 && !detach {
				f.attach = []string{"stdout", "stderr"}
				if f.interactive {
					f.attach = append(f.attach, "stdin")
				}
			}
			_, ctr, err := createContainer(cmd, &f, args)
			if err != nil {
				return err
			}
			if detach {
				if _, err := ctr.Start(cmd.Context(), libpod.StartOptions{}); err != nil {
					return startFailed(ctr, err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), ctr.ID)
				return nil
			}
			return runAttached(cmd.Context(), ctr, foreground{keys: keys, sigProxy: sigProxy, stdinOnce: f.interactive, start: true})
		},
	}
	fs := cmd.Flags()
	addCreateFlags(fs, &f)
	fs.BoolVarP(&detach, "detach", "d", false, "run container in background and print container ID")
	fs.StringVar(&detachKeys, "detach-keys", "", "override the key sequence for detaching a container (default ctrl-p,ctrl-q)")
	fs.BoolVar(&sigProxy, "sig-proxy", true, "proxy received signals to the process")
	f.reg.add(cmd, false)
	return cmd
}

// startFailed reports a container that could not start with Docker's exit
// code, removing it first when it was made with --rm.
func startFailed(ctr *libpod.Container, err error) error {
	if ctr.Spec.AutoRemove {
		ctr.RemoveWith(libpod.RemoveOptions{Force: true, Volumes: true})
	}
	var se *libpod.StartError
	if errors.As(err, &se) {
		return &exitCodeError{code: se.Code, msg: se.Err.Error()}
	}
	return err
}

func init() {
	register("container", "run", "run", newRunCommand)
	register("container", "create", "create", newCreateCommand)
}
