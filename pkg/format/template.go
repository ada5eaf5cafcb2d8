// Package format renders command output the way Docker does: --format Go
// templates with Docker's functions, "table" and "json" forms, aligned tables,
// human sizes and durations.
package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"text/template"
)

// Funcs are the template functions Docker's CLI offers.
var Funcs = template.FuncMap{
	"json": func(v any) (string, error) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimSuffix(buf.String(), "\n"), nil
	},
	"join":  strings.Join,
	"split": strings.Split,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"truncate": func(s string, n int) string {
		if n < len(s) && n >= 0 {
			return s[:n]
		}
		return s
	},
	"pad": func(s string, before, after int) string {
		return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
	},
	"println": func(args ...any) string { return fmt.Sprintln(args...) },
}

// Parse compiles a user's --format template, naming the problem on error.
func Parse(text string) (*template.Template, error) {
	t, err := template.New("format").Funcs(Funcs).Option("missingkey=default").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	return t, nil
}

// Execute renders one value with a template and a trailing newline (as
// `inspect --format` and `version --format` do). "json" prints v as JSON.
func Execute(w io.Writer, text string, v any) error {
	if text == "json" {
		text = "{{json .}}"
	}
	t, err := Parse(text)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

// List renders rows for a listing command.
//
// tmpl is the user's --format ("" means defaultTable). A template starting
// with "table" prints a header line made by running the template over headers
// (field name -> column title) and aligns columns; "json" prints each row as a
// JSON object on its own line; anything else prints one line per row.
func List(w io.Writer, tmpl, defaultTable string, headers map[string]string, rows any) error {
	if tmpl == "" || tmpl == "table" {
		tmpl = defaultTable
	}
	items := reflect.ValueOf(rows)
	if items.Kind() != reflect.Slice {
		return fmt.Errorf("format.List: rows must be a slice, got %T", rows)
	}
	if tmpl == "json" {
		for i := 0; i < items.Len(); i++ {
			b, err := json.Marshal(items.Index(i).Interface())
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
				return err
			}
		}
		return nil
	}
	table := strings.HasPrefix(tmpl, "table")
	if table {
		tmpl = strings.TrimLeft(strings.TrimPrefix(tmpl, "table"), " ")
	}
	tmpl = unescapeTabs(tmpl)
	t, err := Parse(tmpl)
	if err != nil {
		return err
	}
	var out io.Writer = w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		out = tw
		var head bytes.Buffer
		if err := t.Execute(&head, headers); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		fmt.Fprintln(out, strings.TrimRight(head.String(), " "))
	}
	for i := 0; i < items.Len(); i++ {
		var line bytes.Buffer
		if err := t.Execute(&line, items.Index(i).Interface()); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		line.WriteByte('\n')
		if _, err := out.Write(line.Bytes()); err != nil {
			return err
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// unescapeTabs lets a shell user write \t in a --format for a column break.
func unescapeTabs(s string) string {
	return strings.ReplaceAll(s, `\t`, "\t")
}
