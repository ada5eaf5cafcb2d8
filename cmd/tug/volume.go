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
)

func init() {
	register("volume", "create", "", newVolumeCreateCommand)
	register("volume", "ls", "", newVolumeLsCommand, "list")
	register("volume", "inspect", "", newVolumeInspectCommand)
	register("volume", "rm", "", newVolumeRmCommand, "remove")
	register("volume", "prune", "", newVolumePruneCommand)
	register("volume", "exists", "", newVolumeExistsCommand)
	registerInspectTarget(inspectTarget{typ: "volume", order: 30, lookup: inspectVolume,
		notFound: func(err error) bool { return errors.Is(err, libpod.ErrNoSuchVolume) }})
}

// inspectVolume is `tug inspect`'s lookup of a volume (after containers and images, as Docker).
func inspectVolume(name string, _ bool) (any, error) {
	rt, err := getRuntime()
	if err != nil {
		return nil, err
	}
	v, err := rt.LookupVolume(name)
	if err != nil {
		return nil, err
	}
	return v.Inspect(), nil
}

// keyValues reads repeated KEY=VALUE flags (--label, --opt) into a map.
func keyValues(values []string, what string, requireValue bool) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range values {
		k, v, err := parse.ParseKeyValue(s, what, requireValue)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

func newVolumeCreateCommand() *cobra.Command {
	var driver string
	var labels, opts []string
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError(cmd, fmt.Errorf("%q requires at most 1 argument: the volume's name", cmd.CommandPath()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			lbl, err := keyValues(labels, "label", false)
			if err != nil {
				return usageError(cmd, err)
			}
			o, err := keyValues(opts, "option", true)
			if err != nil {
				return usageError(cmd, err)
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			v, _, err := rt.CreateVolume(cmd.Context(), libpod.VolumeCreateOptions{Name: name, Driver: driver, Labels: lbl, Options: o})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), v.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&driver, "driver", "d", libpod.DefaultVolumeDriver, "volume driver name")
	f.StringArrayVarP(&labels, "label", "l", nil, "set metadata for a volume (KEY=VALUE)")
	f.StringArrayVarP(&opts, "opt", "o", nil, "set driver specific options (type=, device=, o=)")
	return cmd
}

// volumeRow is one row of `volume ls`; its fields are what --format sees.
type volumeRow struct {
	Driver     string
	Labels     string // KEY=VALUE,... sorted
	Links      string // how many containers use the volume
	Mountpoint string
	Name       string
	Scope      string

	labels map[string]string
}

// Label is the value of one label ({{.Label "KEY"}}).
func (r volumeRow) Label(name string) string { return r.labels[name] }

var volumeHeaders = map[string]string{
	"Driver": "DRIVER", "Labels": "LABELS", "Links": "LINKS", "Mountpoint": "MOUNTPOINT", "Name": "VOLUME NAME", "Scope": "SCOPE",
}

func joinLabels(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ",")
}

func newVolumeLsCommand() *cobra.Command {
	var quiet bool
	var filters []string
	var tmpl string
	cmd := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "List volumes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parse.ParseFilters(filters, libpod.VolumeListFilters...)
			if err != nil {
				return err
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			vols, err := rt.Volumes(libpod.VolumeFilters(f))
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if quiet && tmpl == "" {
				for _, v := range vols {
					fmt.Fprintln(out, v.Name)
				}
				return nil
			}
			rows := make([]volumeRow, len(vols))
			for i, v := range vols {
				rows[i] = volumeRow{Driver: v.Driver, Labels: joinLabels(v.Labels), Links: strconv.Itoa(v.Links), Mountpoint: v.Mountpoint(),
					Name: v.Name, Scope: "local", labels: v.Labels}
			}
			return format.List(out, tmpl, "table {{.Driver}}\t{{.Name}}", volumeHeaders, rows)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&quiet, "quiet", "q", false, "only display volume names")
	fl.StringArrayVarP(&filters, "filter", "f", nil, "provide filter values (e.g. \"dangling=true\", \"label=KEY=VALUE\", \"name=REGEXP\", \"driver=local\")")
	fl.StringVar(&tmpl, "format", "", "format output using a Go template, \"table\" or \"json\"")
	return cmd
}

func newVolumeInspectCommand() *cobra.Command {
	var tmpl string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  minArgs(1, "name the volume"),
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
				v, err := rt.LookupVolume(name)
				if err != nil {
					if !errors.Is(err, libpod.ErrNoSuchVolume) {
						return err
					}
					missing = append(missing, err.Error())
					continue
				}
				found = append(found, v.Inspect())
			}
			out := cmd.OutOrStdout()
			if tmpl == "" {
				if err := writeJSONArray(out, found); err != nil {
					return err
				}
			} else {
				for _, v := range found {
					if err := format.Execute(out, tmpl, v); err != nil {
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

func newVolumeRmCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] VOLUME [VOLUME...]",
		Short: "Remove one or more volumes",
		Long:  "Remove one or more volumes. A volume in use by a container, even a stopped one, cannot be removed.",
		Args:  minArgs(1, "name the volume"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			code := 0
			for _, name := range args {
				err := rt.RemoveVolume(cmd.Context(), name)
				if err == nil || force && errors.Is(err, libpod.ErrNoSuchVolume) {
					if err == nil {
						fmt.Fprintln(cmd.OutOrStdout(), name)
					}
					continue
				}
				fmt.Fprintln(cmd.ErrOrStderr(), "Error:", err)
				if errors.Is(err, libpod.ErrNoSuchVolume) || errors.Is(err, libpod.ErrVolumeInUse) {
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
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not fail on volumes that do not exist")
	return cmd
}

func newVolumePruneCommand() *cobra.Command {
	var all, force bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused local volumes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parse.ParseFilters(filters, libpod.VolumePruneFilters...)
			if err != nil {
				return err
			}
			if !force {
				warning := "WARNING! This will remove anonymous local volumes not used by at least one container."
				if all {
					warning = "WARNING! This will remove all local volumes not used by at least one container."
				}
				if !confirm(cmd.InOrStdin(), cmd.OutOrStdout(), warning+"\nAre you sure you want to continue?") {
					return nil
				}
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			gone, err := rt.PruneVolumes(cmd.Context(), libpod.VolumeFilters(f), all)
			out := cmd.OutOrStdout()
			var reclaimed int64
			if len(gone) > 0 {
				fmt.Fprintln(out, "Deleted Volumes:")
				for _, g := range gone {
					fmt.Fprintln(out, g.Name)
					reclaimed += g.Size
				}
				fmt.Fprintln(out)
			}
			fmt.Fprintln(out, "Total reclaimed space:", format.HumanSize(reclaimed))
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&all, "all", "a", false, "remove all unused volumes, not just anonymous ones")
	fl.BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	fl.StringArrayVar(&filters, "filter", nil, "provide filter values (e.g. \"label=KEY=VALUE\", \"label!=KEY\")")
	return cmd
}

func newVolumeExistsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "exists VOLUME",
		Short: "Check if a volume exists (exit 0) or not (exit 1)",
		Args:  exactArgs(1, "name the volume"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			if _, err := rt.LookupVolume(args[0]); err != nil {
				if errors.Is(err, libpod.ErrNoSuchVolume) {
					return &exitCodeError{code: 1}
				}
				return err
			}
			return nil
		},
	}
}
