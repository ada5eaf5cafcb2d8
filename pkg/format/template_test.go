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

type imageRow struct {
	Repository   string
	Tag          string
	CreatedSince string
}

func (imageRow) VirtualSize() string { return "1MB" }

func TestTableHeadersDerivedFromFieldNames(t *testing.T) {
	var buf bytes.Buffer
	w := Writer{Out: &buf, Format: `table {{.Repository}}\t{{.Tag}}\t{{.CreatedSince}}\t{{.VirtualSize}}`, Headers: map[string]string{"CreatedSince": "CREATED"}}
	if err := w.Write([]imageRow{{"alpine", "latest", "2 weeks ago"}}); err != nil {
		t.Fatal(err)
	}
	want := "REPOSITORY   TAG       CREATED       VIRTUAL SIZE\nalpine       latest    2 weeks ago   1MB\n"
	if buf.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestHeaderTitle(t *testing.T) {
	for in, want := range map[string]string{"ID": "ID", "CreatedAt": "CREATED AT", "Repository": "REPOSITORY", "RepoDigests": "REPO DIGESTS", "IPAddress": "IP ADDRESS"} {
		if got := HeaderTitle(in); got != want {
			t.Errorf("HeaderTitle(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDockerTemplateFunctions(t *testing.T) {
	var buf bytes.Buffer
	tmpl := `{{title .Name}}|{{pad .ID 1 2}}|{{split .ID "c"}}|{{lower "AB"}}|{{truncate "héllo" 2}}|{{println "x"}}`
	if err := Execute(&buf, tmpl, row{ID: "abcdef", Name: "hello world"}); err != nil {
		t.Fatal(err)
	}
	if want := "Hello World| abcdef  |[ab def]|ab|hé|x\n\n"; buf.String() != want {
		t.Fatalf("got %q want %q", buf.String(), want)
	}
}

func TestWriterCheckRejectsBadTemplate(t *testing.T) {
	if err := (Writer{Format: "table {{.ID"}).Check(); err == nil || !strings.Contains(err.Error(), "template parsing error") {
		t.Fatalf("bad template accepted: %v", err)
	}
	if err := (Writer{Format: "json"}).Check(); err != nil {
		t.Fatal(err)
	}
}

func TestTimestampAndHumanSize(t *testing.T) {
	if got := HumanSize(5641000); got != "5.641MB" {
		t.Fatalf("HumanSize: %q", got)
	}
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := Timestamp(ts); !strings.HasPrefix(got, ts.Local().Format("2006-01-02 15:04:05")) {
		t.Fatalf("Timestamp: %q", got)
	}
}

type inspectLike struct {
	ID   string `json:"Id"`
	Size int64
}

func TestExecuteFallsBackToJSONKeys(t *testing.T) {
	var buf bytes.Buffer
	if err := Execute(&buf, "{{.Id}}", inspectLike{ID: "x"}); err != nil || buf.String() != "x\n" {
		t.Fatalf("got %q %v", buf.String(), err)
	}
	buf.Reset()
	if err := Execute(&buf, "{{.ID}} {{.Size}}", inspectLike{ID: "x", Size: 5}); err != nil || buf.String() != "x 5\n" {
		t.Fatalf("got %q %v", buf.String(), err)
	}
}
