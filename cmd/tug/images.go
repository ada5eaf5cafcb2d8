package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/pkg/format"
	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/parse"
)

// The local image commands: images (image ls), tag, rmi (image rm), image
// inspect, history, image prune, image exists.

func init() {
	register("image", "ls", "images", newImagesCommand, "list")
	register("image", "tag", "tag", newTagCommand)
	register("image", "rm", "rmi", newRmiCommand, "remove")
	register("image", "inspect", "", newImageInspectCommand)
	register("image", "history", "history", newHistoryCommand)
	register("image", "prune", "", newImagePruneCommand)
	register("image", "exists", "", newImageExistsCommand)
	registerInspectTarget(inspectTarget{typ: "image", order: 20, lookup: inspectImage})
}

// imageRuntime opens the engine's image side.
func imageRuntime() (*image.Runtime, error) {
	rt, err := getRuntime()
	if err != nil {
		return nil, err
	}
	return rt.Images()
}

// imageErr gives a missing image or a refused removal Docker's exit code 1;
// other errors keep tug's 125.
func imageErr(err error) error {
	if err != nil && (errors.Is(err, image.ErrNotFound) || errors.Is(err, image.ErrConflict)) {
		return &exitCodeError{code: 1, msg: err.Error()}
	}
	return err
}

// shortImageID is the 12-hex form of an ID in tables.
func shortImageID(id string, noTrunc bool) string {
	id = strings.TrimPrefix(id, "sha256:")
	if noTrunc {
		return "sha256:" + id
	}
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// imageRow is one line of `tug images`; its fields are Docker's --format
// names, and its JSON form Docker's `--format json` object.
type imageRow struct {
	Containers   string
	CreatedAt    string
	CreatedSince string
	Digest       string
	ID           string
	Repository   string
	SharedSize   string
	Size         string
	Tag          string
	UniqueSize   string
	VirtualSize  string
}

var imageHeaders = map[string]string{"ID": "IMAGE ID", "CreatedSince": "CREATED"}

type imagesOptions struct {
	all, quiet, digests, noTrunc bool
	filters                      []string
	format                       string
}

func newImagesCommand() *cobra.Command {
	var o imagesOptions
	cmd := &cobra.Command{
		Use:   "images [OPTIONS] [REPOSITORY[:TAG]]",
		Short: "List images",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImages(cmd.OutOrStdout(), o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "show all images (default hides intermediate images)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "only show image IDs")
	f.BoolVar(&o.digests, "digests", false, "show digests")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "don't truncate output")
	f.StringArrayVarP(&o.filters, "filter", "f", nil, "filter output based on conditions provided (dangling, label, reference, before, since, until)")
	f.StringVar(&o.format, "format", "", "format output with a Go template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
	return cmd
}

func runImages(out io.Writer, o imagesOptions, args []string) error {
	filters, err := parse.ParseFilters(o.filters, image.ImageFilters...)
	if err != nil {
		return err
	}
	if len(args) == 1 {
		filters["reference"] = append(filters["reference"], args[0])
	}
	tmpl := o.format
	if o.quiet && (tmpl == "" || tmpl == "table") {
		tmpl = "{{.ID}}"
	}
	def := "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	if o.digests {
		def = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	}
	w := format.Writer{Out: out, Format: tmpl, DefaultTable: def, Headers: imageHeaders}
	if err := w.Check(); err != nil {
		return err
	}
	ir, err := imageRuntime()
	if err != nil {
		return err
	}
	list, err := ir.Summaries(image.ListOptions{Filters: filters})
	if err != nil {
		return imageErr(err)
	}
	var rows []imageRow
	parents := map[string]bool{}
	for _, s := range list {
		if s.Parent != "" {
			parents[s.Parent] = true
		}
	}
	for _, s := range list {
		if !o.all && s.Dangling() && parents[s.ID] {
			continue // an intermediate image: shown with -a only
		}
		rows = append(rows, imageRows(s, o.digests, o.noTrunc)...)
	}
	return w.Write(rows)
}

// imageRows expands one image into Docker's rows: one per tag (and, with
// digests, per tag and digest), digest-only repositories as <none> tags,
// and a single <none> <none> row for an image without names.
func imageRows(s *image.Summary, digests, noTrunc bool) []imageRow {
	base := imageRow{
		Containers:   "N/A",
		CreatedAt:    format.Timestamp(s.Created),
		CreatedSince: format.Ago(s.Created),
		ID:           shortImageID(s.ID, noTrunc),
		SharedSize:   "N/A",
		Size:         format.Size(s.Size),
		UniqueSize:   "N/A",
		VirtualSize:  format.Size(s.Size),
	}
	tags := map[string][]string{}
	repoDigests := map[string][]string{}
	for _, n := range s.Names {
		repo, tag := image.SplitName(n)
		tags[repo] = append(tags[repo], tag)
	}
	for _, d := range s.RepoDigests {
		if ref, err := parse.ParseReference(d); err == nil {
			repoDigests[ref.FamiliarName()] = append(repoDigests[ref.FamiliarName()], ref.Digest())
		}
	}
	var rows []imageRow
	push := func(repo, tag, dgst string) {
		r := base
		r.Repository, r.Tag, r.Digest = repo, tag, dgst
		rows = append(rows, r)
	}
	for _, repo := range sortedKeys(tags) {
		ds := repoDigests[repo]
		delete(repoDigests, repo)
		sort.Strings(tags[repo])
		for _, tag := range tags[repo] {
			if !digests || len(ds) == 0 {
				dg := "<none>"
				if len(ds) > 0 {
					dg = ds[0]
				}
				push(repo, tag, dg)
				continue
			}
			for _, d := range ds {
				push(repo, tag, d)
			}
		}
	}
	for _, repo := range sortedKeys(repoDigests) {
		if digests {
			for _, d := range repoDigests[repo] {
				push(repo, "<none>", d)
			}
		} else {
			push(repo, "<none>", repoDigests[repo][0])
		}
	}
	if len(rows) == 0 {
		push("<none>", "<none>", "<none>")
	}
	return rows
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func newTagCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  exactArgs(2, "tag needs a source image and a target name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := parse.ParseReference(args[1]); err != nil {
				return err
			}
			ir, err := imageRuntime()
			if err != nil {
				return err
			}
			img, err := ir.Lookup(args[0])
			if err != nil {
				return imageErr(err)
			}
			return imageErr(ir.Tag(img, args[1]))
		},
	}
}

// exactArgs is cobra.ExactArgs with a message that says what is missing.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			plural := "s"
			if n == 1 {
				plural = ""
			}
			return usageError(cmd, fmt.Errorf("%q requires exactly %d argument%s: %s", cmd.CommandPath(), n, plural, what))
		}
		return nil
	}
}

// minArgs is cobra.MinimumNArgs with a message that says what is missing.
func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError(cmd, fmt.Errorf("%q requires at least %d argument: %s", cmd.CommandPath(), n, what))
		}
		return nil
	}
}

func newRmiCommand() *cobra.Command {
	var force, noPrune bool
	cmd := &cobra.Command{
		Use:   "rmi [OPTIONS] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Args:  minArgs(1, "name the images to remove"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ir, err := imageRuntime()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var errs []string
			code := 0
			for _, a := range args {
				dels, err := ir.Remove(a, force, noPrune)
				printDeletions(out, dels, "Untagged: ", "Deleted: ")
				if err != nil {
					errs = append(errs, err.Error())
					if errors.Is(err, image.ErrNotFound) || errors.Is(err, image.ErrConflict) {
						code = max(code, 1)
					} else {
						code = exitEngine
					}
				}
			}
			if len(errs) > 0 {
				return &exitCodeError{code: code, msg: strings.Join(errs, "\nError: ")}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force removal of the image")
	cmd.Flags().BoolVar(&noPrune, "no-prune", false, "do not delete untagged parents")
	return cmd
}

func printDeletions(w io.Writer, dels []image.Deletion, untagged, deleted string) {
	for _, d := range dels {
		if d.Untagged != "" {
			fmt.Fprintln(w, untagged+d.Untagged)
		} else {
			fmt.Fprintln(w, deleted+d.Deleted)
		}
	}
}

func newImageInspectCommand() *cobra.Command {
	var tmpl string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  minArgs(1, "name the images to inspect"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(cmd.OutOrStdout(), cmd.ErrOrStderr(), tmpl, "image", false, args)
		},
	}
	cmd.Flags().StringVarP(&tmpl, "format", "f", "", "format the output with a Go template ('json' for JSON)")
	return cmd
}

func inspectImage(name string, _ bool) (any, error) {
	ir, err := imageRuntime()
	if err != nil {
		return nil, err
	}
	img, err := ir.Lookup(name)
	if errors.Is(err, parse.ErrInvalidReference) {
		// Not a possible image name: for inspect, simply no such image.
		return nil, fmt.Errorf("%w: %s", image.ErrNotFound, name)
	}
	if err != nil {
		return nil, err
	}
	return ir.Inspect(img)
}

// historyRow is one line of `tug history`, with Docker's --format names.
type historyRow struct {
	Comment      string
	CreatedAt    string
	CreatedBy    string
	CreatedSince string
	ID           string
	Size         string
}

var historyHeaders = map[string]string{"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedBy": "CREATED BY"}

func newHistoryCommand() *cobra.Command {
	var human, noTrunc, quiet bool
	var tmpl string
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  exactArgs(1, "name the image"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if quiet && (tmpl == "" || tmpl == "table") {
				tmpl = "{{.ID}}"
			}
			w := format.Writer{Out: cmd.OutOrStdout(), Format: tmpl, DefaultTable: "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", Headers: historyHeaders}
			if err := w.Check(); err != nil {
				return err
			}
			ir, err := imageRuntime()
			if err != nil {
				return err
			}
			img, err := ir.Lookup(args[0])
			if err != nil {
				return imageErr(err)
			}
			entries, err := ir.History(img)
			if err != nil {
				return err
			}
			rows := make([]historyRow, 0, len(entries))
			for _, e := range entries {
				rows = append(rows, historyRowOf(e, human, noTrunc))
			}
			return w.Write(rows)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&human, "human", "H", true, "print sizes and dates in human readable format")
	f.BoolVar(&noTrunc, "no-trunc", false, "don't truncate output")
	f.BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	f.StringVar(&tmpl, "format", "", "format output with a Go template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
	return cmd
}

func historyRowOf(e image.HistoryEntry, human, noTrunc bool) historyRow {
	r := historyRow{ID: "<missing>", Comment: e.Comment, CreatedAt: e.Created.Format(time.RFC3339)}
	if e.ID != "" {
		r.ID = shortImageID(e.ID, noTrunc)
	}
	if e.Created.IsZero() {
		r.CreatedAt = "N/A"
	}
	r.CreatedSince = r.CreatedAt
	if human {
		r.CreatedSince = format.Ago(e.Created)
		r.Size = format.Size(e.Size)
	} else {
		r.Size = strconv.FormatInt(e.Size, 10)
	}
	r.CreatedBy = strings.ReplaceAll(e.CreatedBy, "\t", " ")
	if !noTrunc {
		r.CreatedBy = ellipsis(r.CreatedBy, 45)
	}
	return r
}

// ellipsis cuts s to n characters, the last one "…", as Docker's tables do.
func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func newImagePruneCommand() *cobra.Command {
	var all, force bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parse.ParseFilters(filters, image.PruneFilters...)
			if err != nil {
				return err
			}
			if !force {
				warning := "WARNING! This will remove all dangling images."
				if all {
					warning = "WARNING! This will remove all images without at least one container associated to them."
				}
				if !confirm(cmd.InOrStdin(), cmd.OutOrStdout(), warning+"\nAre you sure you want to continue?") {
					return nil
				}
			}
			ir, err := imageRuntime()
			if err != nil {
				return err
			}
			dels, reclaimed, err := ir.Prune(image.PruneOptions{All: all, Filters: f})
			out := cmd.OutOrStdout()
			if len(dels) > 0 {
				fmt.Fprintln(out, "Deleted Images:")
				printDeletions(out, dels, "untagged: ", "deleted: ")
				fmt.Fprintln(out)
			}
			fmt.Fprintln(out, "Total reclaimed space:", format.HumanSize(reclaimed))
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&all, "all", "a", false, "remove all unused images, not just dangling ones")
	f.BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	f.StringArrayVar(&filters, "filter", nil, `provide filter values (e.g. "until=24h", "label=key=value")`)
	return cmd
}

// confirm asks a yes/no question as Docker does: "... [y/N] "; only y or yes agrees.
func confirm(in io.Reader, out io.Writer, question string) bool {
	fmt.Fprint(out, question+" [y/N] ")
	line, _ := bufio.NewReader(in).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	if line == "" {
		fmt.Fprintln(out)
	}
	return answer == "y" || answer == "yes"
}

func newImageExistsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "exists IMAGE",
		Short: "Check if an image exists in local storage",
		Args:  exactArgs(1, "name the image"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ir, err := imageRuntime()
			if err != nil {
				return err
			}
			if _, err := ir.Lookup(args[0]); err != nil {
				if errors.Is(err, image.ErrNotFound) {
					return &exitCodeError{code: 1}
				}
				return err
			}
			return nil
		},
	}
}

// writeJSONArray prints values as Docker's inspect does: a JSON array with
// 4-space indentation, HTML characters unescaped.
func writeJSONArray(w io.Writer, values []any) error {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if values == nil {
		values = []any{}
	}
	if err := enc.Encode(values); err != nil {
		return err
	}
	_, err := io.WriteString(w, sb.String())
	return err
}
