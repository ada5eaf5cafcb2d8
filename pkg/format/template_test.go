package format

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

type row struct {
	ID   string
	Name string
	Tags []string
}

var headers = map[string]string{"ID": "IMAGE ID", "Name": "NAME", "Tags": "TAGS"}

func TestListTableAlignsAndTitlesColumns(t *testing.T) {
	var buf bytes.Buffer
	rows := []row{{"abc", "first", nil}, {"defghi", "second", nil}}
	if err := List(&buf, "", "table {{.ID}}\t{{.Name}}", headers, rows); err != nil {
		t.Fatal(err)
	}
	want := "IMAGE ID   NAME\nabc        first\ndefghi     second\n"
	if buf.String() != want {
		t.Fatalf("got %q want %q", buf.String(), want)
	}
}

func TestListPlainTemplateHasNoHeader(t *testing.T) {
	var buf bytes.Buffer
	rows := []row{{"abc", "first", []string{"a", "b"}}}
	if err := List(&buf, `{{.ID}}:{{join .Tags ","}}:{{upper .Name}}`, "table {{.ID}}", headers, rows); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "abc:a,b:FIRST\n" {
		t.Fatalf("got %q", buf.String())
	}
}

func TestListJSONOneObjectPerLine(t *testing.T) {
	var buf bytes.Buffer
	if err := List(&buf, "json", "", headers, []row{{ID: "a"}, {ID: "b"}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"ID":"a"`) {
		t.Fatalf("got %q", buf.String())
	}
}

func TestParseErrorNamesTemplate(t *testing.T) {
	if err := Execute(&bytes.Buffer{}, "{{.ID", nil); err == nil || !strings.Contains(err.Error(), "template parsing error") {
		t.Fatalf("expected template parsing error, got %v", err)
	}
}

func TestExecuteJSONAndFuncs(t *testing.T) {
	var buf bytes.Buffer
	if err := Execute(&buf, "{{json .}} {{truncate .ID 2}}", row{ID: "abcdef"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `{"ID":"abcdef"`) || !strings.HasSuffix(buf.String(), " ab\n") {
		t.Fatalf("got %q", buf.String())
	}
}

func TestSizeAndAgeLikeDocker(t *testing.T) {
	if got := Size(5640000); got != "5.64MB" {
		t.Fatalf("Size: %q", got)
	}
	if got := Ago(time.Now().Add(-90 * time.Second)); got != "About a minute ago" {
		t.Fatalf("Ago: %q", got)
	}
}
