package main

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/format"
	"github.com/tug-project/tug/pkg/parse"
	"github.com/tug-project/tug/pkg/specgen"
)

func init() {
	register("network", "create", "", newNetworkCreateCommand)
	register("network", "ls", "", newNetworkLsCommand, "list")
	register("network", "inspect", "", newNetworkInspectCommand)
	register("network", "rm", "", newNetworkRmCommand, "remove")
	register("network", "prune", "", newNetworkPruneCommand)
	register("network", "connect", "", newNetworkConnectCommand)
	register("network", "disconnect", "", newNetworkDisconnectCommand)
	register("network", "exists", "", newNetworkExistsCommand)
	registerInspectTarget(inspectTarget{typ: "network", order: 40, lookup: inspectNetwork,
		notFound: func(err error) bool { return errors.Is(err, libpod.ErrNoSuchNetwork) }})
}

// inspectNetwork is `tug inspect`'s lookup of a network (after containers, images and volumes).
func inspectNetwork(name string, _ bool) (any, error) {
	rt, err := getRuntime()
	if err != nil {
		return nil, err
	}
	n, err := rt.LookupNetwork(name)
	if err != nil {
		return nil, err
	}
	return n.Inspect()
}

func newNetworkCreateCommand() *cobra.Command {
	var o libpod.NetworkCreateOptions
	var labels, opts []string
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  exactArgs(1, "name the network"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.Labels, err = keyValues(labels, "label", false); err != nil {
				return usageError(cmd, err)
			}
			if o.Options, err = keyValues(opts, "option", true); err != nil {
				return usageError(cmd, err)
			}
			o.Name = args[0]
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			n, err := rt.CreateNetwork(o)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), n.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Driver, "driver", "d", "bridge", "driver to manage the network (bridge)")
	f.StringVar(&o.Subnet, "subnet", "", "subnet in CIDR format (default: the next free /16 from 172.18.0.0)")
	f.StringVar(&o.Gateway, "gateway", "", "IPv4 gateway of the subnet (default: its first address)")
	f.StringVar(&o.IPRange, "ip-range", "", "allocate container IPs from a sub-range (CIDR within the subnet)")
	f.BoolVar(&o.Internal, "internal", false, "restrict external access to the network")
	f.StringArrayVar(&labels, "label", nil, "set metadata on a network (KEY=VALUE)")
	f.StringArrayVarP(&opts, "opt", "o", nil, "set driver specific options (com.docker.network.bridge.name, com.docker.network.driver.mtu, ...)")
	return cmd
}

// networkRow is one row of `network ls`; its fields are what --format sees.
type networkRow struct {
	ID        string
	Name      string
	Driver    string
	Scope     string
	IPv4      bool
	IPv6      bool
	Internal  bool
	Labels    string
	CreatedAt string
	labels    map[string]string
}

// Label is the value of one label ({{.Label "KEY"}}).
func (r networkRow) Label(name string) string { return r.labels[name] }

var networkHeaders = map[string]string{
	"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv4": "IPV4", "IPv6": "IPV6",
	"Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
}

func newNetworkLsCommand() *cobra.Command {
	var quiet, noTrunc bool
	var filters []string
	var tmpl string
	cmd := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "List networks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parse.ParseFilters(filters, libpod.NetworkListFilters...)
			if err != nil {
				return err
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			nets, err := rt.Networks()
			if err != nil {
				return err
			}
			var rows []networkRow
			for _, n := range nets {
				inUse := false
				if parse.Filters(f).Has("dangling") {
					inUse = n.Builtin || rt.NetworkInUse(n)
				}
				ok, err := libpod.NetworkFilters(f).Match(n, inUse)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				id := n.ID
				if !noTrunc {
					id = n.ShortID()
				}
				rows = append(rows, networkRow{ID: id, Name: n.Name, Driver: n.Driver, Scope: n.Scope(), IPv4: n.Subnet.IsValid(),
					Internal: n.Internal, Labels: joinLabels(n.Labels), CreatedAt: n.Created.Local().Format("2006-01-02 15:04:05.999999999 -0700 MST"), labels: n.Labels})
			}
			out := cmd.OutOrStdout()
			if quiet && tmpl == "" {
				for _, r := range rows {
					fmt.Fprintln(out, r.ID)
				}
				return nil
			}
			return format.List(out, tmpl, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", networkHeaders, rows)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&quiet, "quiet", "q", false, "only display network IDs")
	fl.BoolVar(&noTrunc, "no-trunc", false, "do not truncate the output")
	fl.StringArrayVarP(&filters, "filter", "f", nil, "provide filter values (e.g. \"driver=bridge\", \"name=REGEXP\", \"label=KEY=VALUE\", \"type=custom\", \"dangling=true\")")
	fl.StringVar(&tmpl, "format", "", "format output using a Go template, \"table\" or \"json\"")
	return cmd
}

func newNetworkInspectCommand() *cobra.Command {
	var tmpl string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  minArgs(1, "name the network"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tmpl != "" && tmpl != "json" {
				if _, err := format.Parse(tmpl); err != nil {
					return err
				}
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			var found []any
			var missing []string
			for _, name := range args {
				n, err := rt.LookupNetwork(name)
				if err != nil {
					if !errors.Is(err, libpod.ErrNoSuchNetwork) {
						return err
					}
					missing = append(missing, err.Error())
					continue
				}
				doc, err := n.Inspect()
				if err != nil {
					return err
				}
				found = append(found, doc)
			}
			out := cmd.OutOrStdout()
			if tmpl == "" || tmpl == "json" {
				if err := writeJSONArray(out, found); err != nil {
					return err
				}
			} else {
				for _, doc := range found {
					if err := format.Execute(out, tmpl, doc); err != nil {
						return err
					}
				}
			}
			if len(missing) > 0 {
				return &exitCodeError{code: 1, msg: strings.Join(missing, "\nError: ")}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&tmpl, "format", "f", "", "format the output using the given Go template")
	return cmd
}

func newNetworkRmCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] NETWORK [NETWORK...]",
		Short: "Remove one or more networks",
		Long:  "Remove one or more networks. A network that running containers are connected to cannot be removed.",
		Args:  minArgs(1, "name the network"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			code := 0
			for _, name := range args {
				n, err := rt.LookupNetwork(name)
				if err == nil {
					err = rt.RemoveNetwork(n, false)
				}
				if err == nil {
					fmt.Fprintln(cmd.OutOrStdout(), name)
					continue
				}
				if force && errors.Is(err, libpod.ErrNoSuchNetwork) {
					continue
				}
				fmt.Fprintln(cmd.ErrOrStderr(), "Error:", err)
				var ae *libpod.ActiveEndpointsError
				if errors.Is(err, libpod.ErrNoSuchNetwork) || errors.As(err, &ae) || specgen.IsValidationError(err) {
					code = max(code, 1)
				} else {
					code = exitEngine
				}
			}
			if code != 0 {
				return &exitCodeError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not error if the network does not exist")
	return cmd
}

func newNetworkPruneCommand() *cobra.Command {
	var force bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parse.ParseFilters(filters, libpod.NetworkPruneFilters...)
			if err != nil {
				return err
			}
			if !force && !confirm(cmd.InOrStdin(), cmd.OutOrStdout(), "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?") {
				return nil
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			gone, err := rt.PruneNetworks(libpod.NetworkFilters(f))
			out := cmd.OutOrStdout()
			if len(gone) > 0 {
				fmt.Fprintln(out, "Deleted Networks:")
				for _, g := range gone {
					fmt.Fprintln(out, g)
				}
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	fl.StringArrayVar(&filters, "filter", nil, "provide filter values (e.g. \"until=24h\", \"label=KEY=VALUE\", \"label!=KEY\")")
	return cmd
}

func lookupNetworkAndContainer(args []string) (*libpod.Runtime, *libpod.Network, *libpod.Container, error) {
	rt, err := getRuntime()
	if err != nil {
		return nil, nil, nil, err
	}
	n, err := rt.LookupNetwork(args[0])
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := rt.LookupContainer(args[1])
	if err != nil {
		return nil, nil, nil, err
	}
	return rt, n, c, nil
}

func newNetworkConnectCommand() *cobra.Command {
	var aliases []string
	var ip string
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Long:  "Connect a container to a network. A running container gets a new interface (eth1, eth2 ...) at once.",
		Args:  exactArgs(2, "name the network and the container"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, n, c, err := lookupNetworkAndContainer(args)
			if err != nil {
				return err
			}
			for _, a := range aliases {
				if err := parse.Hostname(a); err != nil {
					return usageError(cmd, fmt.Errorf("invalid --alias %q: %v", a, err))
				}
			}
			return c.Connect(n, specgen.NetworkAttach{Aliases: aliases, IPv4: ip})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&aliases, "alias", nil, "add network-scoped alias for the container")
	f.StringVar(&ip, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	return cmd
}

func newNetworkDisconnectCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  exactArgs(2, "name the network and the container"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, n, c, err := lookupNetworkAndContainer(args)
			if err != nil {
				return err
			}
			return c.Disconnect(n, force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force the container to disconnect from a network")
	return cmd
}

func newNetworkExistsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "exists NETWORK",
		Short: "Check if a network exists (exit 0) or not (exit 1)",
		Args:  exactArgs(1, "name the network"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			if _, err := rt.LookupNetwork(args[0]); err != nil {
				if errors.Is(err, libpod.ErrNoSuchNetwork) {
					return &exitCodeError{code: 1}
				}
				return err
			}
			return nil
		},
	}
}

// portLines are `tug port`'s lines: "80/tcp -> 0.0.0.0:32768", or only
// the host side when one container port was asked for.
func portLines(c *libpod.Container, want string) ([]string, error) {
	var out []string
	var key string
	if want != "" {
		p, proto, err := parse.ParsePortKey(want)
		if err != nil {
			return nil, err
		}
		key = strconv.Itoa(int(p)) + "/" + proto
	}
	var bound []libpod.PortBinding
	if c.Running() {
		bound = c.State.Ports
	}
	for _, b := range bound {
		addr := b.HostIPOrAny() + ":" + strconv.Itoa(int(b.HostPort))
		if strings.Contains(b.HostIPOrAny(), ":") {
			addr = "[" + b.HostIPOrAny() + "]:" + strconv.Itoa(int(b.HostPort))
		}
		switch {
		case key == "":
			out = append(out, b.Key()+" -> "+addr)
		case b.Key() == key:
			out = append(out, addr)
		}
	}
	if key != "" && len(out) == 0 {
		return nil, &exitCodeError{code: 1, msg: fmt.Sprintf("No public port '%s' published for %s", key, c.Name)}
	}
	return out, nil
}

func newPortCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError(cmd, fmt.Errorf("%q requires 1 or 2 arguments: CONTAINER [PRIVATE_PORT[/PROTO]]", cmd.CommandPath()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			c, err := rt.LookupContainer(args[0])
			if err != nil {
				return err
			}
			want := ""
			if len(args) == 2 {
				want = args[1]
			}
			lines, err := portLines(c, want)
			if err != nil {
				return err
			}
			for _, l := range lines {
				fmt.Fprintln(cmd.OutOrStdout(), l)
			}
			return nil
		},
	}
}

func init() {
	register("container", "port", "port", newPortCommand)
}

// psPorts is ps's PORTS column as Docker writes it: published ports as
// "0.0.0.0:8080->80/tcp" (consecutive ones as ranges), then the exposed
// ones nothing publishes ("443/tcp"); only while the container runs.
func psPorts(c *libpod.Container) string {
	if !c.Running() {
		return ""
	}
	type pub struct {
		ip          string
		host, ctr   int
		proto       string
		hostE, ctrE int
	}
	var pubs []pub
	published := map[string]bool{}
	for _, b := range c.State.Ports {
		pubs = append(pubs, pub{ip: b.HostIPOrAny(), host: int(b.HostPort), ctr: int(b.ContainerPort), proto: b.Protocol})
		published[b.Key()] = true
	}
	sort.Slice(pubs, func(i, j int) bool {
		a, b := pubs[i], pubs[j]
		if a.ip != b.ip {
			return a.ip < b.ip
		}
		if a.proto != b.proto {
			return a.proto < b.proto
		}
		return a.ctr < b.ctr
	})
	var groups []pub
	for _, p := range pubs {
		p.hostE, p.ctrE = p.host, p.ctr
		if n := len(groups); n > 0 {
			g := &groups[n-1]
			if g.ip == p.ip && g.proto == p.proto && g.hostE+1 == p.host && g.ctrE+1 == p.ctr {
				g.hostE, g.ctrE = p.host, p.ctr
				continue
			}
		}
		groups = append(groups, p)
	}
	rng := func(a, b int) string {
		if a == b {
			return strconv.Itoa(a)
		}
		return strconv.Itoa(a) + "-" + strconv.Itoa(b)
	}
	var parts []string
	for _, g := range groups {
		ip := g.ip
		if strings.Contains(ip, ":") {
			ip = "[" + ip + "]"
		}
		parts = append(parts, fmt.Sprintf("%s:%s->%s/%s", ip, rng(g.host, g.hostE), rng(g.ctr, g.ctrE), g.proto))
	}
	for _, k := range c.ExposedPortKeys() {
		if !published[k] {
			parts = append(parts, k)
		}
	}
	return strings.Join(parts, ", ")
}
