package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/format"
	"github.com/tug-project/tug/pkg/parse"
)

func init() {
	register("secret", "create", "", newSecretCreateCommand)
	register("secret", "ls", "", newSecretLsCommand, "list")
	register("secret", "inspect", "", newSecretInspectCommand)
	register("secret", "rm", "", newSecretRmCommand, "remove")
	register("secret", "exists", "", newSecretExistsCommand)
}

func newSecretCreateCommand() *cobra.Command {
	var driver string
	var labels []string
	var fromEnv, replace bool
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NAME FILE|-",
		Short: "Create a secret from a file or standard input",
		Args:  exactArgs(2, "give the secret's name, and a file (- for standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, source := args[0], args[1]
			if err := parse.SecretName(name); err != nil {
				return usageError(cmd, err)
			}
			lbl, err := keyValues(labels, "label", false)
			if err != nil {
				return usageError(cmd, err)
			}
			data, err := readSecretValue(cmd.InOrStdin(), source, fromEnv)
			if err != nil {
				return err
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			s, err := rt.CreateSecret(cmd.Context(), name, data, libpod.SecretCreateOptions{Driver: driver, Labels: lbl, Replace: replace})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), s.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&driver, "driver", "d", libpod.SecretDriverFile, "secret driver")
	f.StringArrayVarP(&labels, "label", "l", nil, "secret labels (KEY=VALUE)")
	f.BoolVar(&fromEnv, "env", false, "read the value from the environment variable named by the second argument")
	f.BoolVar(&replace, "replace", false, "replace the value of an existing secret of that name")
	return cmd
}

// readSecretValue reads the value from a file, standard input ("-") or an
// environment variable, refusing one too large without reading it all.
func readSecretValue(stdin io.Reader, source string, fromEnv bool) ([]byte, error) {
	if fromEnv {
		v, ok := os.LookupEnv(source)
		if !ok {
			return nil, fmt.Errorf("environment variable %s is not set", source)
		}
		return []byte(v), nil
	}
	var r io.Reader = stdin
	if source != "-" {
		f, err := os.Open(source)
		if err != nil {
			return nil, fmt.Errorf("reading the secret: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, libpod.MaxSecretSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the secret: %w", err)
	}
	return data, nil
}

// secretRow is one row of `secret ls`; its fields are what --format sees.
type secretRow struct {
	ID        string
	Name      string
	Driver    string
	CreatedAt string
	UpdatedAt string
	Labels    string

	labels map[string]string
}

// Label is the value of one label ({{.Label "KEY"}}).
func (r secretRow) Label(name string) string { return r.labels[name] }

var secretHeaders = map[string]string{
	"ID": "ID", "Name": "NAME", "Driver": "DRIVER", "CreatedAt": "CREATED", "UpdatedAt": "UPDATED", "Labels": "LABELS",
}

// secretListFilters are the --filter keys of `secret ls`: id and name match
// by prefix, label as for volumes.
var secretListFilters = []string{"id", "name", "label"}

func matchSecret(s *libpod.Secret, f parse.Filters) bool {
	prefix := func(key, value string) bool {
		if len(f[key]) == 0 {
			return true
		}
		for _, want := range f[key] {
			if strings.HasPrefix(value, want) {
				return true
			}
		}
		return false
	}
	if !prefix("id", s.ID) || !prefix("name", s.Name) {
		return false
	}
	return f.MatchLabels("label", s.Labels)
}

func newSecretLsCommand() *cobra.Command {
	var quiet bool
	var filters []string
	var tmpl string
	cmd := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "List secrets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parse.ParseFilters(filters, secretListFilters...)
			if err != nil {
				return err
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			all, err := rt.Secrets()
			if err != nil {
				return err
			}
			var rows []secretRow
			for _, s := range all {
				if matchSecret(s, f) {
					rows = append(rows, secretRow{ID: s.ID, Name: s.Name, Driver: s.Driver, CreatedAt: format.Ago(s.CreatedAt),
						UpdatedAt: format.Ago(s.UpdatedAt), Labels: joinLabels(s.Labels), labels: s.Labels})
				}
			}
			out := cmd.OutOrStdout()
			if quiet && tmpl == "" {
				for _, r := range rows {
					fmt.Fprintln(out, r.ID)
				}
				return nil
			}
			if rows == nil {
				rows = []secretRow{}
			}
			return format.List(out, tmpl, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}", secretHeaders, rows)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&quiet, "quiet", "q", false, "only display IDs")
	fl.StringArrayVarP(&filters, "filter", "f", nil, "filter output (e.g. \"name=PREFIX\", \"id=PREFIX\", \"label=KEY=VALUE\")")
	fl.StringVar(&tmpl, "format", "", "format output using a Go template, \"table\" or \"json\"")
	return cmd
}

func newSecretInspectCommand() *cobra.Command {
	var tmpl string
	var pretty bool
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] SECRET [SECRET...]",
		Short: "Display detailed information on one or more secrets (never their values)",
		Args:  minArgs(1, "name the secret"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if pretty && tmpl != "" {
				return usageError(cmd, fmt.Errorf("--format is incompatible with human friendly format"))
			}
			if tmpl != "" && tmpl != "json" {
				if _, err := format.Parse(tmpl); err != nil {
					return err
				}
			}
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			var found []*libpod.Secret
			var missing []string
			for _, name := range args {
				s, err := rt.LookupSecret(name)
				if err != nil {
					if !errors.Is(err, libpod.ErrNoSuchSecret) {
						return err
					}
					missing = append(missing, err.Error())
					continue
				}
				found = append(found, s)
			}
			out := cmd.OutOrStdout()
			switch {
			case pretty:
				for i, s := range found {
					if i > 0 {
						fmt.Fprintln(out)
					}
					writePrettySecret(out, s)
				}
			case tmpl != "":
				for _, s := range found {
					if err := format.Execute(out, tmpl, s.Inspect()); err != nil {
						return err
					}
				}
			default:
				values := make([]any, len(found))
				for i, s := range found {
					values[i] = s.Inspect()
				}
				if err := writeJSONArray(out, values); err != nil {
					return err
				}
			}
			if len(missing) > 0 {
				return &exitCodeError{code: 1, msg: strings.Join(missing, "\nError: ")}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&tmpl, "format", "f", "", "format the output using the given Go template")
	cmd.Flags().BoolVar(&pretty, "pretty", false, "print the information in a human friendly format")
	return cmd
}

func writePrettySecret(w io.Writer, s *libpod.Secret) {
	fmt.Fprintf(w, "ID:              %s\n", s.ID)
	fmt.Fprintf(w, "Name:            %s\n", s.Name)
	if len(s.Labels) > 0 {
		fmt.Fprintln(w, "Labels:")
		keys := make([]string, 0, len(s.Labels))
		for k := range s.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v := s.Labels[k]; v != "" {
				fmt.Fprintf(w, " - %s=%s\n", k, v)
			} else {
				fmt.Fprintf(w, " - %s\n", k)
			}
		}
	}
	fmt.Fprintf(w, "Driver:          %s\n", s.Driver)
	fmt.Fprintf(w, "Created at:      %s\n", s.CreatedAt.UTC())
	fmt.Fprintf(w, "Updated at:      %s\n", s.UpdatedAt.UTC())
}

func newSecretRmCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rm SECRET [SECRET...]",
		Short: "Remove one or more secrets",
		Args:  minArgs(1, "name the secret"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			code := 0
			for _, name := range args {
				if _, err := rt.RemoveSecret(cmd.Context(), name); err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "Error:", err)
					if errors.Is(err, libpod.ErrNoSuchSecret) {
						code = max(code, 1)
					} else {
						code = exitEngine
					}
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), name)
			}
			if code != 0 {
				return &exitCodeError{code: code}
			}
			return nil
		},
	}
}

func newSecretExistsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "exists SECRET",
		Short: "Check if a secret exists (exit 0) or not (exit 1)",
		Args:  exactArgs(1, "name the secret"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := getRuntime()
			if err != nil {
				return err
			}
			if _, err := rt.LookupSecret(args[0]); err != nil {
				if errors.Is(err, libpod.ErrNoSuchSecret) {
					return &exitCodeError{code: 1}
				}
				return err
			}
			return nil
		},
	}
}
