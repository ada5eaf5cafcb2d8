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
	"unicode"
)

// Funcs are the template functions Docker's CLI offers.
var Funcs = template.FuncMap{
	"json":  toJSON,
	"join":  strings.Join,
	"split": strings.Split,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"title": title,
	"truncate": func(s string, n int) string {
		r := []rune(s)
		if n >= 0 && n < len(r) {
			return string(r[:n])
		}
		return s
	},
	"pad": func(s string, before, after int) string {
		return strings.Repeat(" ", max(before, 0)) + s + strings.Repeat(" ", max(after, 0))
	},
	"println": func(args ...any) string { return fmt.Sprintln(args...) },
}

func toJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// title upper-cases the first letter of each word, as Docker's (strings.Title) does.
func title(s string) string {
	out := []rune(s)
	start := true
	for i, r := range out {
		if start && unicode.IsLetter(r) {
			out[i] = unicode.ToUpper(r)
		}
		start = unicode.IsSpace(r) || r == '-' || r == '_'
	}
	return string(out)
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
		// As Docker's inspect does: run the template again over the value's
		// JSON form, so the JSON key names (.Id) work as well as the field names.
		raw, ok := jsonForm(v)
		if !ok {
			return err
		}
		buf.Reset()
		if t.Execute(&buf, raw) != nil {
			return err
		}
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

func jsonForm(v any) (any, bool) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	var m any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&m) != nil {
		return nil, false
	}
	return m, true
}

// Writer renders the rows of a listing command as Docker does.
//
// Format is the user's --format: "" or "table" means DefaultTable; a template
// starting with "table" prints a header line and aligns the columns; "json"
// prints each row as a JSON object on its own line; any other template prints
// one line per row. Column titles come from Headers (field name -> title),
// else from the field name itself, split at case changes and upper-cased
// ("CreatedAt" -> "CREATED AT"), as Docker's are.
type Writer struct {
	Out          io.Writer
	Format       string
	DefaultTable string
	Headers      map[string]string
}

// Check compiles the format without printing, so a command can refuse a bad
// template before it does any work.
func (fw Writer) Check() error {
	text, _ := fw.template()
	if text == "json" {
		return nil
	}
	_, err := Parse(text)
	return err
}

func (fw Writer) template() (text string, table bool) {
	text = fw.Format
	if text == "" || text == "table" {
		text = fw.DefaultTable
	}
	if text == "json" {
		return text, false
	}
	if strings.HasPrefix(text, "table") {
		text, table = strings.TrimLeft(strings.TrimPrefix(text, "table"), " "), true
	}
	return unescapeTabs(text), table
}

// Write prints rows, a slice of structs (or pointers to structs).
func (fw Writer) Write(rows any) error {
	items := reflect.ValueOf(rows)
	if items.Kind() != reflect.Slice {
		return fmt.Errorf("format.Writer: rows must be a slice, got %T", rows)
	}
	text, table := fw.template()
	if text == "json" {
		for i := 0; i < items.Len(); i++ {
			s, err := toJSON(items.Index(i).Interface())
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintln(fw.Out, s); err != nil {
				return err
			}
		}
		return nil
	}
	t, err := Parse(text)
	if err != nil {
		return err
	}
	out := fw.Out
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(fw.Out, 10, 1, 3, ' ', 0)
		out = tw
		header := headerFor(items.Type().Elem(), fw.Headers)
		var head bytes.Buffer
		// A template that cannot run over the titles (a nested field, a
		// function that needs a number) gets no header rather than an error.
		if t.Execute(&head, header) == nil {
			fmt.Fprintln(out, strings.TrimRight(head.String(), " "))
		}
	}
	var line bytes.Buffer
	for i := 0; i < items.Len(); i++ {
		line.Reset()
		if err := t.Execute(&line, items.Index(i).Interface()); err != nil {
			return err
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

// List renders rows for a listing command: Writer{w, tmpl, defaultTable, headers}.Write(rows).
func List(w io.Writer, tmpl, defaultTable string, headers map[string]string, rows any) error {
	return Writer{Out: w, Format: tmpl, DefaultTable: defaultTable, Headers: headers}.Write(rows)
}

// headerFor maps every field and method name of a row type to its column title.
func headerFor(t reflect.Type, overrides map[string]string) map[string]string {
	h := map[string]string{}
	add := func(name string) {
		if title, ok := overrides[name]; ok {
			h[name] = title
		} else {
			h[name] = HeaderTitle(name)
		}
	}
	for _, typ := range []reflect.Type{t, reflect.PointerTo(t)} {
		for i := 0; i < typ.NumMethod(); i++ {
			add(typ.Method(i).Name)
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() {
				add(f.Name)
			}
		}
	}
	for k, v := range overrides {
		h[k] = v
	}
	return h
}

// HeaderTitle turns a field name into a column title as Docker does:
// "Repository" -> "REPOSITORY", "CreatedAt" -> "CREATED AT", "ID" -> "ID".
func HeaderTitle(name string) string {
	var b strings.Builder
	r := []rune(name)
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) && (unicode.IsLower(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1])) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToUpper(c))
	}
	return b.String()
}

// unescapeTabs lets a shell user write \t in a --format for a column break
// (and \n for a line break), as Docker's CLI does.
func unescapeTabs(s string) string {
	return strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(s)
}
