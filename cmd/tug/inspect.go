package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/pkg/format"
	"github.com/tug-project/tug/pkg/image"
)

// inspectTarget is one kind of object `tug inspect` can find. Each command
// family registers its own (images here; containers, volumes and networks
// in their files); lookups are tried in order, lowest first, as Docker tries
// containers before images.
type inspectTarget struct {
	typ   string
	order int
	// lookup returns the object's inspect data, or an error that wraps
	// errNoSuchObject (or the family's own not-found error, see notFound).
	lookup func(name string, size bool) (any, error)
	// notFound tells this family's "no such object" errors from real failures.
	notFound func(error) bool
}

var inspectTargets []inspectTarget

func registerInspectTarget(t inspectTarget) {
	if t.notFound == nil {
		t.notFound = func(err error) bool { return errors.Is(err, image.ErrNotFound) }
	}
	inspectTargets = append(inspectTargets, t)
	sort.SliceStable(inspectTargets, func(a, b int) bool { return inspectTargets[a].order < inspectTargets[b].order })
}

func inspectTypes() []string {
	var out []string
	for _, t := range inspectTargets {
		out = append(out, t.typ)
	}
	return out
}

func newInspectCommand() *cobra.Command {
	var tmpl, typ string
	var size bool
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Return low-level information on objects",
		Args:  minArgs(1, "name the objects to inspect"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if typ != "" {
				known := false
				for _, t := range inspectTargets {
					known = known || t.typ == typ
				}
				if !known {
					return fmt.Errorf("%q is not a valid value for --type: use %s", typ, strings.Join(inspectTypes(), " or "))
				}
			}
			return runInspect(cmd.OutOrStdout(), cmd.ErrOrStderr(), tmpl, typ, size, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&tmpl, "format", "f", "", "format the output with a Go template ('json' for JSON)")
	f.StringVar(&typ, "type", "", "only inspect objects of the given type (image, container, ...)")
	f.BoolVarP(&size, "size", "s", false, "display total file sizes if the type is container")
	return cmd
}

// runInspect prints each named object (of type typ, or the first kind that
// has it) as a JSON array, or through tmpl one line each. Missing names are
// reported after the rest, with Docker's wording and exit code 1.
func runInspect(out, errOut io.Writer, tmpl, typ string, size bool, names []string) error {
	if tmpl != "" && tmpl != "json" {
		if _, err := format.Parse(tmpl); err != nil {
			return err
		}
	}
	var found []any
	var missing []string
	for _, name := range names {
		obj, err := inspectOne(name, typ, size)
		if err != nil {
			var nf *noSuchObject
			if errors.As(err, &nf) {
				missing = append(missing, nf.Error())
				continue
			}
			return err
		}
		found = append(found, obj)
	}
	if tmpl == "" || tmpl == "json" {
		if err := writeJSONArray(out, found); err != nil {
			return err
		}
	} else {
		for _, obj := range found {
			if err := format.Execute(out, tmpl, obj); err != nil {
				return err
			}
		}
	}
	if len(missing) > 0 {
		return &exitCodeError{code: 1, msg: strings.Join(missing, "\nError: ")}
	}
	return nil
}

// noSuchObject is Docker's "No such object: x" (or "No such image: x" when
// the type was given).
type noSuchObject struct{ msg string }

func (e *noSuchObject) Error() string { return e.msg }

func inspectOne(name, typ string, size bool) (any, error) {
	for _, t := range inspectTargets {
		if typ != "" && t.typ != typ {
			continue
		}
		obj, err := t.lookup(name, size)
		if err == nil {
			return obj, nil
		}
		if !t.notFound(err) {
			return nil, err
		}
		if typ != "" {
			return nil, &noSuchObject{msg: err.Error()}
		}
	}
	return nil, &noSuchObject{msg: "No such object: " + name}
}

func init() {
	register("", "", "inspect", newInspectCommand)
}
