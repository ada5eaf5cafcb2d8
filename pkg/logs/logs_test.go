package logs

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readAll(t *testing.T, o Options, ro ReadOptions) string {
	t.Helper()
	var b strings.Builder
	if err := Read(context.Background(), o, ro, func(e Entry) error { b.WriteString(e.Stream + ":" + string(e.Line)); return nil }); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestJSONFileDockerFormatAndTail(t *testing.T) {
	o := Options{Driver: JSONFile, Path: filepath.Join(t.TempDir(), "ctr.log")}
	w, err := NewWriter(o)
	if err != nil {
		t.Fatal(err)
	}
	w.Write("stdout", []byte("one\ntw"))
	w.Write("stderr", []byte("err\n"))
	w.Write("stdout", []byte("o\nthree"))
	w.Close()
	data, _ := os.ReadFile(o.Path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 {
		t.Fatalf("lines: %q", data)
	}
	var e map[string]string
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil || e["log"] != "one\n" || e["stream"] != "stdout" || e["time"] == "" || len(e) != 3 {
		t.Fatalf("Docker's format: %s", lines[0])
	}
	if got := readAll(t, o, ReadOptions{Tail: -1}); got != "stdout:one\nstderr:err\nstdout:two\nstdout:three" {
		t.Fatalf("all: %q", got)
	}
	if got := readAll(t, o, ReadOptions{Tail: 2}); got != "stdout:two\nstdout:three" {
		t.Fatalf("tail 2: %q", got)
	}
	if got := readAll(t, o, ReadOptions{Tail: -1, Since: time.Now().Add(time.Hour)}); got != "" {
		t.Fatalf("since the future: %q", got)
	}
}

func TestRotationKeepsMaxFiles(t *testing.T) {
	dir := t.TempDir()
	o := Options{Driver: JSONFile, Path: filepath.Join(dir, "ctr.log"), MaxSize: 1024, MaxFile: 2}
	w, _ := NewWriter(o)
	for i := 0; i < 200; i++ {
		w.Write("stdout", []byte("a line of output that takes some room\n"))
	}
	w.Close()
	if st, err := os.Stat(o.Path); err != nil || st.Size() > 1024 {
		t.Fatalf("active file: %v %v", st, err)
	}
	if _, err := os.Stat(o.Path + ".1"); err != nil {
		t.Fatal("no rotated file")
	}
	if _, err := os.Stat(o.Path + ".2"); err == nil {
		t.Fatal("max-file=2 kept a third file")
	}
}

func TestK8sFileAndNone(t *testing.T) {
	o := Options{Driver: K8sFile, Path: filepath.Join(t.TempDir(), "ctr.log")}
	w, _ := NewWriter(o)
	w.Write("stdout", []byte("hello\n"))
	w.Close()
	data, _ := os.ReadFile(o.Path)
	if !strings.HasSuffix(string(data), " stdout F hello\n") {
		t.Fatalf("k8s-file line: %q", data)
	}
	if got := readAll(t, o, ReadOptions{Tail: -1}); got != "stdout:hello\n" {
		t.Fatal(got)
	}
	if err := Read(context.Background(), Options{Driver: None}, ReadOptions{}, nil); err != ErrNotReadable {
		t.Fatal(err)
	}
}
