package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/format"
	"github.com/tug-project/tug/pkg/parse"
)

// The system commands besides info and events: df, prune, reset, migrate.

func init() {
	register("system", "df", "", newSystemDfCommand)
	register("system", "prune", "", newSystemPruneCommand)
	register("system", "reset", "", newSystemResetCommand)
	register("system", "migrate", "", newSystemMigrateCommand)
}

// dfRow is one line of `system df`; with --format json its keys are
// Docker's, in Docker's (sorted) order.
type dfRow struct {
	Active      string
	Reclaimable string
	Size        string
	TotalCount  string
	Type        string
}

var dfHeaders = map[string]string{"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}

const dfTable = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"

// withPercent is Docker's RECLAIMABLE: "845.3MB (76%)", without the
// percentage when there is nothing at all.
func withPercent(part, total int64) string {
	if total <= 0 {
		return format.HumanSize(part)
	}
	return fmt.Sprintf("%s (%d%%)", format.HumanSize(part), part*100/total)
}

func dfRows(du *libpod.DiskUsage) []dfRow {
	var ctrSize, ctrFree int64
	active := 0
	for _, c := range du.Containers {
		ctrSize += c.SizeRw
		if c.Running() || c.State.Status == libpod.StatusPaused {
			active++
		} else {
			ctrFree += c.SizeRw
		}
	}
	var volSize, volFree int64
	volActive := 0
	for _, v := range du.Volumes {
		volSize += v.Size
		if v.Links > 0 {
			volActive++
		} else {
			volFree += v.Size
		}
	}
	bcActive := 0
	for _, r := range du.BuildCache.Records {
		if r.InUse {
			bcActive++
		}
	}
	itoa := strconv.Itoa
	return []dfRow{
		{Type: "Images", TotalCount: itoa(len(du.Images)), Active: itoa(du.ActiveImages), Size: format.HumanSize(du.ImagesSize), Reclaimable: withPercent(du.ImagesReclaimable, du.ImagesSize)},
		{Type: "Containers", TotalCount: itoa(len(du.Containers)), Active: itoa(active), Size: format.HumanSize(ctrSize), Reclaimable: withPercent(ctrFree, ctrSize)},
		{Type: "Local Volumes", TotalCount: itoa(len(du.Volumes)), Active: itoa(volActive), Size: format.HumanSize(volSize), Reclaimable: withPercent(volFree, volSize)},
		{Type: "Build Cache", TotalCount: itoa(len(du.BuildCache.Records)), Active: itoa(bcActive), Size: format.HumanSize(du.BuildCache.Size), Reclaimable: format.HumanSize(du.BuildCache.Reclaimable)},
	}
}

// The rows of `system df -v`, one kind each.
type dfImageRow struct {
	Containers   string
	CreatedAt    string
	CreatedSince string
	ID           string
	Repository   string
	SharedSize   string
	Size         string
	Tag          string
	UniqueSize   string
}

type dfContainerRow struct {
	Command      string
	CreatedAt    string
	ID           string
	Image        string
	LocalVolumes string
	Names        string
	RunningFor   string
	Size         string
	State        string
	Status       string
}

type dfVolumeRow struct {
	Driver string
	Links  string
	Name   string
	Size   string
}

type dfCacheRow struct {
	CacheType     string
	CreatedSince  string
	ID            string
	LastUsedSince string
	Shared        string
	Size          string
	UsageCount    string
}

// dfVerbose is `system df -v`'s data; a --format template runs over it.
type dfVerbose struct {
	Images     []dfImageRow
	Containers []dfContainerRow
	Volumes    []dfVolumeRow
	BuildCache []dfCacheRow
}

// The column titles of the -v tables, Docker's.
var (
	dfImageHeaders     = map[string]string{"ID": "IMAGE ID", "CreatedSince": "CREATED"}
	dfContainerHeaders = map[string]string{"ID": "CONTAINER ID", "RunningFor": "CREATED"}
	dfVolumeHeaders    = map[string]string{"Name": "VOLUME NAME"}
	dfCacheHeaders     = map[string]string{"ID": "CACHE ID", "CreatedSince": "CREATED", "LastUsedSince": "LAST USED", "UsageCount": "USAGE"}
)

func dfVerboseRows(du *libpod.DiskUsage, now time.Time, trunc bool) dfVerbose {
	var v dfVerbose
	for _, i := range du.Images {
		repo, tag := "<none>", "<none>"
		if len(i.Names) > 0 {
			if ref, err := parse.ParseReference(i.Names[0]); err == nil {
				repo, tag = ref.FamiliarName(), ref.Tag()
			}
		}
		v.Images = append(v.Images, dfImageRow{Repository: repo, Tag: tag, ID: shortImageID(i.ID, !trunc),
			CreatedAt: i.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"), CreatedSince: format.Ago(i.Created),
			Size: format.HumanSize(i.Size), SharedSize: format.HumanSize(i.SharedSize), UniqueSize: format.HumanSize(i.UniqueSize),
			Containers: strconv.Itoa(i.Containers)})
	}
	for _, c := range du.Containers {
		id, command := c.ID, strings.Join(c.Command(), " ")
		if trunc {
			id, command = c.ShortID(), ellipsis(command, 20)
		}
		v.Containers = append(v.Containers, dfContainerRow{ID: id, Image: c.ImageName, Command: strconv.Quote(command),
			LocalVolumes: strconv.Itoa(c.LocalVolumes), Size: format.HumanSize(c.SizeRw),
			CreatedAt: c.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"), RunningFor: format.Ago(c.Created),
			State: c.State.Status, Status: statusText(c.Container, now), Names: c.Name})
	}
	for _, vol := range du.Volumes {
		v.Volumes = append(v.Volumes, dfVolumeRow{Name: vol.Name, Driver: vol.Driver, Links: strconv.Itoa(vol.Links), Size: format.HumanSize(vol.Size)})
	}
	for _, r := range du.BuildCache.Records {
		id := r.ID
		if trunc && len(id) > 12 {
			id = id[:12]
		}
		v.BuildCache = append(v.BuildCache, dfCacheRow{ID: id, CacheType: r.Type, Size: format.HumanSize(r.Size),
			CreatedSince: format.Ago(time.Unix(r.Created, 0)), LastUsedSince: format.Ago(time.Unix(r.LastUsed, 0)),
			UsageCount: strconv.Itoa(r.UsageCount), Shared: strconv.FormatBool(r.Shared)})
	}
	return v
}

func writeDfVerbose(out io.Writer, v dfVerbose, buildSize int64) error {
	sections := []struct {
		title, table string
		headers      map[string]string
		rows         any
	}{
		{"Images space usage:\n\n", "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}", dfImageHeaders, v.Images},
		{"\nContainers space usage:\n\n", "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}", dfContainerHeaders, v.Containers},
		{"\nLocal Volumes space usage:\n\n", "table {{.Name}}\t{{.Links}}\t{{.Size}}", dfVolumeHeaders, v.Volumes},
		{fmt.Sprintf("\nBuild cache usage: %s\n\n", format.HumanSize(buildSize)), "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}", dfCacheHeaders, v.BuildCache},
	}
	for _, s := range sections {
		io.WriteString(out, s.title)
		if err := format.List(out, "", s.table, s.headers, s.rows); err != nil {
			return err
		}
	}
	return nil
}

func newSystemDfCommand() *cobra.Command {
	var verbose bool
	var tmpl string
	cmd := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "Show tug disk usage",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if tmpl != "" && tmpl != "json" && tmpl != "table" {
				if _, err := format.Parse(strings.TrimPrefix(tmpl, "table")); err != nil {
					return usageError(cmd, err)
				}
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			du, err := rt.DiskUsage()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !verbose {
				return format.List(out, tmpl, dfTable, dfHeaders, dfRows(du))
			}
			v := dfVerboseRows(du, time.Now(), tmpl == "" || tmpl == "table")
			switch tmpl {
			case "", "table":
				return writeDfVerbose(out, v, du.BuildCache.Size)
			case "json":
				return format.Execute(out, "{{json .}}", v)
			}
			return format.Execute(out, tmpl, v)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&verbose, "verbose", "v", false, "show detailed information on space usage")
	fl.StringVar(&tmpl, "format", "", "format the output using a Go template, \"table\" or \"json\"")
	return cmd
}

// systemPruneWarning is Docker's confirmation text for the options.
func systemPruneWarning(all, volumes bool, filters parse.Filters) string {
	warnings := []string{"all stopped containers", "all networks not used by at least one container"}
	if volumes {
		warnings = append(warnings, "all anonymous volumes not used by at least one container")
	}
	if all {
		warnings = append(warnings, "all images without at least one container associated to them", "all build cache")
	} else {
		warnings = append(warnings, "all dangling images", "unused build cache")
	}
	var b strings.Builder
	b.WriteString("WARNING! This will remove:")
	for _, w := range warnings {
		b.WriteString("\n  - " + w)
	}
	b.WriteString("\n")
	var fl []string
	for _, k := range []string{"label", "label!", "until"} {
		for _, v := range filters[k] {
			fl = append(fl, k+"="+v)
		}
	}
	sort.Strings(fl)
	if len(fl) > 0 {
		b.WriteString("\n  Items to be pruned will be filtered with:")
		for _, f := range fl {
			b.WriteString("\n  - " + f)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nAre you sure you want to continue?")
	return b.String()
}

func newSystemPruneCommand() *cobra.Command {
	var all, force, volumes bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused data",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parse.ParseFilters(filters, libpod.SystemPruneFilters...)
			if err != nil {
				return usageError(cmd, err)
			}
			if volumes && f.Has("until") {
				return usageError(cmd, fmt.Errorf(`the "until" filter is not supported with "--volumes"`))
			}
			for _, v := range f["until"] {
				if _, err := parse.ParseTimestamp(v, time.Now()); err != nil {
					return usageError(cmd, fmt.Errorf("invalid filter 'until=%s': %w", v, err))
				}
			}
			if !force && !confirm(cmd.InOrStdin(), cmd.OutOrStdout(), systemPruneWarning(all, volumes, f)) {
				return nil
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			rep, err := rt.SystemPrune(cmd.Context(), libpod.SystemPruneOptions{All: all, Volumes: volumes, Filters: f})
			if rep != nil {
				printSystemPrune(cmd.OutOrStdout(), rep)
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&all, "all", "a", false, "remove all unused images not just dangling ones")
	fl.BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	fl.BoolVar(&volumes, "volumes", false, "prune anonymous volumes")
	fl.StringArrayVar(&filters, "filter", nil, `provide filter values (e.g. "label=<key>=<value>", "until=24h")`)
	return cmd
}

func printSystemPrune(out io.Writer, rep *libpod.SystemPruneReport) {
	section := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintln(out, title)
		for _, it := range items {
			fmt.Fprintln(out, it)
		}
		fmt.Fprintln(out)
	}
	var ids, vols []string
	for _, c := range rep.Containers {
		ids = append(ids, c.ID)
	}
	for _, v := range rep.Volumes {
		vols = append(vols, v.Name)
	}
	section("Deleted Containers:", ids)
	section("Deleted Networks:", rep.Networks)
	section("Deleted Volumes:", vols)
	if len(rep.Images) > 0 {
		fmt.Fprintln(out, "Deleted Images:")
		printDeletions(out, rep.Images, "untagged: ", "deleted: ")
		fmt.Fprintln(out)
	}
	section("Deleted build cache objects:", rep.BuildCache)
	fmt.Fprintln(out, "Total reclaimed space:", format.HumanSize(rep.Reclaimed))
}

func newSystemResetCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "reset [OPTIONS]",
		Short: "Remove all containers, images, volumes, secrets, networks and build cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, runRoot := globals.root, globals.runRoot
			if root == "" {
				root = libpod.DefaultDataRoot()
			}
			if runRoot == "" {
				runRoot = libpod.DefaultRunRoot()
			}
			if !force {
				warning := "WARNING! This will remove:\n  - all containers\n  - all images\n  - all networks\n  - all build cache\n  - all volumes\n  - all secrets\n  - the event log\n" +
					fmt.Sprintf("  - the data root directory: %q\n  - the run root directory: %q\n", root, runRoot) +
					"Are you sure you want to continue?"
				if !confirm(cmd.InOrStdin(), cmd.OutOrStdout(), warning) {
					return nil
				}
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			return rt.Reset(cmd.Context())
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	return cmd
}

func newSystemMigrateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Migrate the state database and restart the pause process",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			rep, err := rt.Migrate(cmd.Context())
			if rep == nil {
				return err
			}
			out := cmd.OutOrStdout()
			if rep.Migrated {
				fmt.Fprintf(out, "Migrated the state database from schema version %d to %d\n", rep.SchemaFrom, rep.SchemaTo)
			} else {
				fmt.Fprintf(out, "The state database is at schema version %d: nothing to migrate\n", rep.SchemaTo)
			}
			for _, name := range rep.Stopped {
				fmt.Fprintf(out, "Stopped container %s\n", name)
			}
			if rep.PausePid != 0 {
				fmt.Fprintf(out, "Stopped the pause process (PID %d): the next tug call makes a new user namespace\n", rep.PausePid)
			}
			return err
		},
	}
	return cmd
}
