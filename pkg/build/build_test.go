package build

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, data := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func names(srcs []Source) []string {
	var out []string
	for _, s := range srcs {
		for _, e := range s.Entries {
			out = append(out, filepath.ToSlash(filepath.Join(s.Name, e.Rel)))
		}
	}
	return out
}

func TestDockerignoreAndResolve(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"Dockerfile": "FROM x", "app/main.go": "x", "app/main_test.go": "x", "logs/a.log": "x",
		"logs/keep.log": "x", "secret.key": "x", "docs/a.md": "x", "sample1.txt": "1", "sample2.txt": "2",
		".dockerignore": "# comment\n*.key\nlogs\n!logs/keep.log\n**/*_test.go\n",
	})
	patterns, err := ReadIgnoreFile(dir, filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewContext(dir, patterns)
	if err != nil {
		t.Fatal(err)
	}
	tree := fileTree{root: dir, ctx: c}
	srcs, err := tree.Resolve(".", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(names(srcs), " ")
	// logs is excluded, but an exception keeps logs/keep.log (its directory is made for it).
	want := ". .dockerignore Dockerfile app app/main.go docs docs/a.md logs/keep.log sample1.txt sample2.txt"
	if got != want {
		t.Fatalf("context:\n got %s\nwant %s", got, want)
	}
	if _, err := tree.Resolve("secret.key", nil); !errors.Is(err, ErrNotInContext) {
		t.Fatalf("an ignored file resolved: %v", err)
	}
	if _, err := tree.Resolve("nothere", nil); !errors.Is(err, ErrNotInContext) {
		t.Fatalf("a missing file resolved: %v", err)
	}
	srcs, err = tree.Resolve("./sample*", nil)
	if err != nil || strings.Join(names(srcs), " ") != "sample1.txt sample2.txt" {
		t.Fatalf("wildcard: %v %v", names(srcs), err)
	}
	// A source cannot leave the context.
	srcs, err = tree.Resolve("../../../etc/passwd", nil)
	if err == nil {
		t.Fatalf("escaped the context: %v", names(srcs))
	}
	// Dockerfile.dockerignore beside the Dockerfile wins.
	os.WriteFile(filepath.Join(dir, "Dockerfile.dockerignore"), []byte("docs\n"), 0o644)
	patterns, _ = ReadIgnoreFile(dir, filepath.Join(dir, "Dockerfile"))
	if !reflect.DeepEqual(patterns, []string{"docs"}) {
		t.Fatalf("Dockerfile.dockerignore: %v", patterns)
	}
}

func TestHashSourcesFollowsContentNotTimes(t *testing.T) {
	dir := writeTree(t, map[string]string{"a/x": "1", "a/y": "2"})
	tree := fileTree{root: dir}
	hash := func() string {
		srcs, err := tree.Resolve("a", nil)
		if err != nil {
			t.Fatal(err)
		}
		h, err := hashSources(srcs)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h1 := hash()
	os.Chtimes(filepath.Join(dir, "a/x"), someTime, someTime)
	if hash() != h1 {
		t.Fatalf("a new mtime changed the hash")
	}
	os.WriteFile(filepath.Join(dir, "a/x"), []byte("changed"), 0o644)
	if hash() == h1 {
		t.Fatalf("new content kept the hash")
	}
	os.Chmod(filepath.Join(dir, "a/y"), 0o755)
	h2 := hash()
	os.Chmod(filepath.Join(dir, "a/y"), 0o644)
	if hash() == h2 {
		t.Fatalf("a mode change kept the hash")
	}
}

func TestCopyOpSemantics(t *testing.T) {
	src := writeTree(t, map[string]string{"f.txt": "file", "dir/a": "a", "dir/sub/b": "b"})
	rootfs := writeTree(t, map[string]string{"existing/keep": "k"})
	os.Symlink("existing", filepath.Join(rootfs, "link"))
	tree := fileTree{root: src}
	apply := func(dest string, srcNames ...string) {
		t.Helper()
		var srcs []Source
		for _, n := range srcNames {
			s, err := tree.Resolve(n, nil)
			if err != nil {
				t.Fatal(err)
			}
			srcs = append(srcs, s...)
		}
		if err := (&copyOp{sources: srcs, dest: dest}).apply(rootfs); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(rootfs, p))
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(b)
	}
	apply("/renamed.txt", "f.txt")     // a file to a new name
	apply("/existing", "f.txt")        // into an existing directory
	apply("/new/dir/", "f.txt")        // a trailing slash makes a directory
	apply("/tree", "dir")              // a directory's contents
	apply("/link/", "f.txt", "dir")    // through a symlink, inside the root
	apply("/multi/", "f.txt", "dir/a") // several sources
	// An entry whose directory was excluded gets the directory made.
	if err := (&copyOp{sources: []Source{{Name: "x", Dir: true, Entries: []Entry{{Rel: "", Host: src}, {Rel: "deep/er/f.txt", Host: filepath.Join(src, "f.txt"), Info: mustStat(t, filepath.Join(src, "f.txt"))}}}}, dest: "/kept"}).apply(rootfs); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		"renamed.txt": "file", "existing/f.txt": "file", "existing/keep": "k", "new/dir/f.txt": "file",
		"kept/deep/er/f.txt": "file", "tree/a": "a", "tree/sub/b": "b", "existing/a": "a", "multi/f.txt": "file", "multi/a": "a",
	} {
		if got := read(p); got != want {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(rootfs, "tree", "dir")); err == nil {
		t.Errorf("COPY dir /tree made /tree/dir: a directory's contents are copied, not itself")
	}
}

func TestParseDockerfileErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct{ df, want string }{
		{"FROM a\nRUN x\nNOPE y\n", "dockerfile parse error on line 3: unknown instruction: NOPE"},
		{"FROM a b\n", "line 1"},
		{"RUN x\n", "line 1"},
		{"# only a comment\n", "no instructions"},
		{"ARG X=1\n", "no FROM instruction"},
		{"FROM a\nCOPY\n", "line 2"},
	} {
		_, err := parseDockerfile([]byte(c.df))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.df, err, c.want)
		}
	}
}

func TestStagesOnlyWhatTheTargetNeeds(t *testing.T) {
	df, err := parseDockerfile([]byte("FROM a AS base\nRUN x\nFROM b AS other\nRUN y\nFROM base AS mid\nCOPY --from=other /x /x\nFROM c AS lone\nFROM mid\nRUN z\n"))
	if err != nil {
		t.Fatal(err)
	}
	lex := shell.NewLex(df.escape)
	env := shell.EnvsFromSlice(nil)
	for target, want := range map[string][]int{"": {0, 1, 2, 4}, "other": {1}, "lone": {3}, "mid": {0, 1, 2}} {
		i, err := df.targetIndex(target)
		if err != nil {
			t.Fatal(err)
		}
		got, err := df.neededStages(i, lex, env)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("target %q: %v %v, want %v", target, got, err, want)
		}
	}
	if _, err := df.targetIndex("nosuch"); err == nil {
		t.Errorf("an unknown target was found")
	}
}

func FuzzParseDockerfile(f *testing.F) {
	for _, s := range []string{"FROM a\nRUN b\n", "# escape=`\nFROM a\nRUN echo `\n  x\n", "FROM a AS b\nCOPY --from=b <<EOF /x\nhi\nEOF\n", "ARG X=1\nFROM $X\n", "FROM\n", "RUN <<EOF\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		df, err := parseDockerfile([]byte(s))
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("not a SyntaxError: %v", err)
			}
			return
		}
		if len(df.stages) == 0 {
			t.Fatalf("parsed with no stage")
		}
	})
}

func FuzzDockerignore(f *testing.F) {
	for _, s := range []string{"*.log\n!keep.log\n", "**/node_modules\n", "/a/b\n[x\n", "!\n", "a/../b\n"} {
		f.Add(s, "a/b/keep.log")
	}
	f.Fuzz(func(t *testing.T, ignore, path string) {
		patterns := strings.Split(ignore, "\n")
		c, err := NewContext(t.TempDir(), patterns)
		if err != nil {
			return
		}
		// Excluding is stable and a parent's exclusion covers its children
		// unless an exception brings them back.
		ex := c.Excluded(path)
		if c.Excluded(path) != ex {
			t.Fatalf("Excluded(%q) changed", path)
		}
		if c.pm != nil && !c.pm.Exclusions() && ex && !strings.HasSuffix(path, "/") {
			if !c.Excluded(path + "/child") {
				t.Fatalf("%q is excluded but not its child", path)
			}
		}
	})
}

var someTime = mustTime("2020-01-02T03:04:05Z")

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustStat(t *testing.T, p string) os.FileInfo {
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}
