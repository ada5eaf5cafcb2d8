package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/format"
)

// inspectContainers looks up each name and returns Docker's inspect
// documents; names that match nothing are reported on stderr.
func inspectContainers(rt *libpod.Runtime, names []string, size bool) ([]any, []error) {
	var docs []any
	var errs []error
	for _, n := range names {
		c, err := rt.LookupContainer(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if size {
			docs = append(docs, c.InspectWithSize())
		} else {
			docs = append(docs, c.Inspect())
		}
	}
	return docs, errs
}

// printInspect prints inspect documents as Docker does: a pretty JSON
// array, or each through a --format template.
func printInspect(cmd *cobra.Command, docs []any, tmpl string) error {
	out := cmd.OutOrStdout()
	if tmpl == "" {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "    ")
		if docs == nil {
			docs = []any{}
		}
		if err := enc.Encode(docs); err != nil {
			return err
		}
		_, err := out.Write(buf.Bytes())
		return err
	}
	for _, d := range docs {
		if err := format.Execute(out, tmpl, d); err != nil {
			return err
		}
	}
	return nil
}

func newContainerInspectCommand() *cobra.Command {
	var tmpl string
	var size bool
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Display detailed information on one or more containers",
		Args:  minArgs(1, "name the containers to inspect"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tmpl != "" && tmpl != "json" {
				if _, err := format.Parse(tmpl); err != nil {
					return usageError(cmd, err)
				}
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			docs, errs := inspectContainers(rt, args, size)
			if err := printInspect(cmd, docs, tmpl); err != nil {
				return err
			}
			for _, e := range errs {
				fmt.Fprintln(os.Stderr, "Error:", e)
			}
			if len(errs) > 0 {
				return &exitCodeError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&tmpl, "format", "f", "", "format the output using the given Go template, or json")
	cmd.Flags().BoolVarP(&size, "size", "s", false, "add SizeRw (the writable layer) and SizeRootFs (with the image)")
	return cmd
}

func init() {
	register("container", "inspect", "", newContainerInspectCommand)
	// tug inspect tries containers first, as Docker does.
	registerInspectTarget(inspectTarget{typ: "container", order: 10, lookup: inspectContainer,
		notFound: func(err error) bool { return errors.Is(err, libpod.ErrNoSuchContainer) }})
}

// inspectContainer is tug inspect's lookup of a container.
func inspectContainer(name string, size bool) (any, error) {
	rt, err := getRuntime()
	if err != nil {
		return nil, err
	}
	c, err := rt.LookupContainer(name)
	if err != nil {
		return nil, err
	}
	if size {
		return c.InspectWithSize(), nil
	}
	return c.Inspect(), nil
}
