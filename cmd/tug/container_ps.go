package main

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/format"
	"github.com/tug-project/tug/pkg/parse"
)

// psRow is one line of `tug ps`; its fields are what --format templates use
// and, with --format json, the keys Docker prints.
type psRow struct {
	Command      string
	CreatedAt    string
	ID           string
	Image        string
	Labels       string
	LocalVolumes string
	Mounts       string
	Names        string
	Networks     string
	Ports        string
	RunningFor   string
	Size         string
	State        string
	Status       string
	labels       map[string]string
}

// Label returns one label's value ({{.Label "key"}}).
func (r psRow) Label(name string) string { return r.labels[name] }

var psHeaders = map[string]string{
	"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT", "RunningFor": "CREATED",
	"Status": "STATUS", "Ports": "PORTS", "Names": "NAMES", "Size": "SIZE", "Labels": "LABELS", "State": "STATE",
	"Networks": "NETWORKS", "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES",
}

const psTable = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

// statusText is Docker's STATUS column.
func statusText(c *libpod.Container, now time.Time) string {
	s := c.State
	switch s.Status {
	case libpod.StatusRunning:
		switch h := c.HealthStatus(); h {
		case libpod.HealthNone:
			return "Up " + format.Duration(now.Sub(s.StartedAt))
		case libpod.HealthStarting:
			return "Up " + format.Duration(now.Sub(s.StartedAt)) + " (health: starting)"
		default:
			return "Up " + format.Duration(now.Sub(s.StartedAt)) + " (" + h + ")"
		}
	case libpod.StatusRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", s.ExitCode, format.Duration(now.Sub(s.FinishedAt)))
	case libpod.StatusPaused:
		return "Up " + format.Duration(now.Sub(s.StartedAt)) + " (Paused)"
	case libpod.StatusExited:
		return fmt.Sprintf("Exited (%d) %s ago", s.ExitCode, format.Duration(now.Sub(s.FinishedAt)))
	case libpod.StatusRemoving:
		return "Removal In Progress"
	case libpod.StatusDead:
		return "Dead"
	}
	return "Created"
}

type psFilter struct {
	key, value string
}

func parsePsFilters(list []string) ([]psFilter, error) {
	var out []psFilter
	for _, f := range list {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", f)
		}
		switch k {
		case "status":
			switch v {
			case "created", "restarting", "running", "removing", "paused", "exited", "dead":
			default:
				return nil, fmt.Errorf("invalid filter 'status=%s': use created, restarting, running, removing, paused, exited or dead", v)
			}
		case "exited":
			if _, err := strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("invalid filter 'exited=%s': the exit code must be a number", v)
			}
		case "name":
			if _, err := regexp.Compile(v); err != nil {
				return nil, fmt.Errorf("invalid filter 'name=%s': %v", v, err)
			}
		case "health":
			switch v {
			case libpod.HealthStarting, libpod.HealthHealthy, libpod.HealthUnhealthy, libpod.HealthNone:
			default:
				return nil, fmt.Errorf("invalid filter 'health=%s': use starting, healthy, unhealthy or none", v)
			}
		case "restart-policy":
			if err := validRestartPolicyFilter(v); err != nil {
				return nil, err
			}
		case "id", "label", "ancestor", "before", "since":
		default:
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		out = append(out, psFilter{k, v})
	}
	return out, nil
}

// matchFilters applies Docker's rule: different keys must all match; the
// same key given twice matches either value.
func matchFilters(rt *libpod.Runtime, c *libpod.Container, filters []psFilter, all []*libpod.Container) bool {
	byKey := map[string][]string{}
	for _, f := range filters {
		byKey[f.key] = append(byKey[f.key], f.value)
	}
	for key, values := range byKey {
		ok := false
		for _, v := range values {
			if matchFilter(rt, c, key, v, all) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func matchFilter(rt *libpod.Runtime, c *libpod.Container, key, v string, all []*libpod.Container) bool {
	switch key {
	case "status":
		return c.State.Status == v
	case "health":
		return c.HealthStatus() == v
	case "restart-policy":
		return c.Spec.RestartPolicy.Name == v || v == "no" && c.Spec.RestartPolicy.IsNone()
	case "exited":
		n, _ := strconv.Atoi(v)
		return c.State.Status == libpod.StatusExited && c.State.ExitCode == n
	case "name":
		re, err := regexp.Compile(v)
		return err == nil && re.MatchString(c.Name)
	case "id":
		return strings.HasPrefix(c.ID, v)
	case "label":
		k, val, hasVal := strings.Cut(v, "=")
		got, ok := c.Labels[k]
		return ok && (!hasVal || got == val)
	case "ancestor":
		if c.ImageName == v || strings.HasPrefix(c.ImageID, strings.TrimPrefix(v, "sha256:")) && len(strings.TrimPrefix(v, "sha256:")) >= 4 {
			return true
		}
		if images, err := rt.Images(); err == nil {
			if img, err := images.Lookup(v); err == nil {
				return img.ID == c.ImageID
			}
		}
		return false
	case "before", "since":
		for _, o := range all {
			if o.ID == v || o.Name == v || strings.HasPrefix(o.ID, v) {
				if key == "before" {
					return c.Created.Before(o.Created)
				}
				return c.Created.After(o.Created)
			}
		}
		return false
	}
	return false
}

func newPsCommand() *cobra.Command {
	var all, quiet, latest, noTrunc, size bool
	var last int
	var filters []string
	var tmpl string
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS]",
		Short: "List containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			flts, err := parsePsFilters(filters)
			if err != nil {
				return usageError(cmd, err)
			}
			if tmpl != "" && tmpl != "json" && tmpl != "table" {
				if _, err := format.Parse(strings.TrimPrefix(tmpl, "table")); err != nil {
					return usageError(cmd, err)
				}
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			ctrs, err := rt.Containers()
			if err != nil {
				return err
			}
			sort.SliceStable(ctrs, func(i, j int) bool { return ctrs[i].Created.After(ctrs[j].Created) })
			if latest {
				last = 1
			}
			var rows []psRow
			now := time.Now()
			for _, c := range ctrs {
				if !all && last <= 0 && c.State.Status != libpod.StatusRunning && c.State.Status != libpod.StatusPaused && c.State.Status != libpod.StatusRestarting && !hasStatusFilter(flts) {
					continue
				}
				if !matchFilters(rt, c, flts, ctrs) {
					continue
				}
				if last > 0 && len(rows) >= last {
					break
				}
				rows = append(rows, makePsRow(rt, c, now, noTrunc, size || strings.Contains(tmpl, ".Size")))
			}
			if quiet {
				for _, r := range rows {
					fmt.Fprintln(cmd.OutOrStdout(), r.ID)
				}
				return nil
			}
			table := psTable
			if size {
				table += "\t{{.Size}}"
			}
			return format.List(cmd.OutOrStdout(), tmpl, table, psHeaders, rows)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&all, "all", "a", false, "show all containers (default shows just running)")
	fs.BoolVarP(&quiet, "quiet", "q", false, "only display container IDs")
	fs.BoolVarP(&latest, "latest", "l", false, "show the latest created container (includes all states)")
	fs.IntVarP(&last, "last", "n", -1, "show n last created containers (includes all states)")
	fs.BoolVar(&noTrunc, "no-trunc", false, "don't truncate output")
	fs.BoolVarP(&size, "size", "s", false, "display total file sizes")
	fs.StringArrayVarP(&filters, "filter", "f", nil, "filter output based on conditions provided (status, name, id, label, ancestor, exited, health, restart-policy, before, since)")
	fs.StringVar(&tmpl, "format", "", "format output using a Go template, 'table', 'table TEMPLATE' or 'json'")
	return cmd
}

func hasStatusFilter(fs []psFilter) bool {
	for _, f := range fs {
		if f.key == "status" || f.key == "exited" {
			return true
		}
	}
	return false
}

func makePsRow(rt *libpod.Runtime, c *libpod.Container, now time.Time, noTrunc, withSize bool) psRow {
	cmdline := strings.Join(c.Command(), " ")
	id := c.ID
	if !noTrunc {
		id = c.ShortID()
		cmdline = ellipsis(cmdline, 20)
	}
	net := strings.Join(c.NetworkNames(), ",")
	r := psRow{
		Command:    strconv.Quote(cmdline),
		CreatedAt:  c.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
		ID:         id,
		Image:      c.ImageName,
		Labels:     strings.Join(libpod.SortedLabels(c.Labels), ","),
		Names:      c.Name,
		Networks:   net,
		Ports:      psPorts(c),
		RunningFor: format.Ago(c.Created),
		State:      c.State.Status,
		Status:     statusText(c, now),
		labels:     c.Labels,
	}
	r.LocalVolumes, r.Mounts = psMounts(c, !noTrunc)
	if withSize {
		if rw, virt, err := rt.ContainerSize(c); err == nil {
			r.Size = fmt.Sprintf("%s (virtual %s)", format.Size(rw), format.Size(virt))
		}
	}
	return r
}

// psMounts is Docker's LOCAL VOLUMES (how many volumes) and MOUNTS (each
// mount's volume name or host path, truncated to 15 characters in tables).
func psMounts(c *libpod.Container, trunc bool) (string, string) {
	n := 0
	var names []string
	for _, m := range c.Mounts {
		if m.Type == parse.MountTmpfs {
			continue
		}
		if m.Type == parse.MountVolume {
			n++
		}
		name := m.Source
		if trunc {
			name = ellipsis(name, 15)
		}
		names = append(names, name)
	}
	return strconv.Itoa(n), strings.Join(names, ",")
}

func init() {
	register("container", "ls", "ps", newPsCommand, "list", "ps")
}

// validRestartPolicyFilter checks the value of a restart-policy filter.
func validRestartPolicyFilter(v string) error {
	switch v {
	case "no", "always", "on-failure", "unless-stopped":
		return nil
	}
	return fmt.Errorf("invalid filter 'restart-policy=%s': use no, always, on-failure or unless-stopped", v)
}
