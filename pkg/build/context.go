// Package build is tug's Dockerfile builder: BuildKit's parser for the
// Dockerfile, and an executor of its own on libpod. Each step makes an image
// (on the previous step's), through a working container for RUN, COPY and
// ADD; a step is taken from the cache when an image made by the same step on
// the same parent exists. The output is Docker's classic builder's.
package build

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Context is the files a build may read: a directory, less what
// .dockerignore excludes. Files are read where they are, never copied whole.
type Context struct {
	Root string
	pm   *patternmatcher.PatternMatcher // nil: nothing is excluded
}

// ErrNotInContext says a COPY or ADD source is missing or excluded.
var ErrNotInContext = errors.New("file not found in build context or excluded by .dockerignore")

// NewContext opens the context at root with the ignore patterns (as
// .dockerignore lists them).
func NewContext(root string, ignore []string) (*Context, error) {
	c := &Context{Root: root}
	if len(ignore) > 0 {
		pm, err := patternmatcher.New(ignore)
		if err != nil {
			return nil, fmt.Errorf("invalid .dockerignore: %w", err)
		}
		c.pm = pm
	}
	return c, nil
}

// ReadIgnoreFile reads the ignore patterns for a build: <Dockerfile>.dockerignore
// beside the Dockerfile when it exists, else .dockerignore at the context's
// root. A missing file means no patterns.
func ReadIgnoreFile(contextDir, dockerfilePath string) ([]string, error) {
	candidates := []string{}
	if dockerfilePath != "" {
		candidates = append(candidates, dockerfilePath+".dockerignore")
	}
	candidates = append(candidates, filepath.Join(contextDir, ".dockerignore"))
	for _, p := range candidates {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		patterns, err := ignorefile.ReadAll(f)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		return patterns, nil
	}
	return nil, nil
}

// Excluded reports whether rel (a slash path relative to the root) is
// excluded by .dockerignore.
func (c *Context) Excluded(rel string) bool {
	if c == nil || c.pm == nil || rel == "" || rel == "." {
		return false
	}
	m, err := c.pm.MatchesOrParentMatches(filepath.FromSlash(rel))
	return err == nil && m
}

// mayHoldIncluded reports whether an excluded directory may still hold
// files that an exclusion pattern (!pattern) brings back.
func (c *Context) mayHoldIncluded(rel string) bool {
	if c.pm == nil || !c.pm.Exclusions() {
		return false
	}
	for _, p := range c.pm.Patterns() {
		if !p.Exclusion() {
			continue
		}
		pat := strings.TrimPrefix(p.String(), "/")
		if strings.HasPrefix(pat, rel+"/") || strings.ContainsAny(strings.SplitN(pat, "/", 2)[0], "*?[") {
			return true
		}
	}
	return false
}

// Entry is one file a source brings: Rel is its path relative to the
// source (the source itself is ""), Host where it is.
type Entry struct {
	Rel  string
	Host string
	Info fs.FileInfo
}

// Source is one COPY/ADD source after wildcards: Name is its path in the
// context (or stage), Entries what it holds (just itself for a file).
type Source struct {
	Name    string
	Dir     bool
	Entries []Entry
}

// fileTree is where COPY reads: the context, or an image's root (COPY --from).
type fileTree struct {
	root string
	ctx  *Context // nil for an image: nothing excluded
}

func (t fileTree) excluded(rel string) bool { return t.ctx != nil && t.ctx.Excluded(rel) }

// Resolve expands a source (relative to the tree's root, with wildcards as
// filepath.Match has them) and lists what each match holds.
func (t fileTree) Resolve(src string, extraExclude *patternmatcher.PatternMatcher) ([]Source, error) {
	clean := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(src)), "/")
	if clean == "" {
		clean = "."
	}
	var names []string
	if strings.ContainsAny(clean, "*?[") {
		var err error
		if names, err = t.glob(clean); err != nil {
			return nil, err
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%w: no source files match %q", ErrNotInContext, src)
		}
	} else {
		if clean != "." && t.excluded(clean) {
			return nil, fmt.Errorf("%w: %s", ErrNotInContext, src)
		}
		names = []string{clean}
	}
	var out []Source
	for _, name := range names {
		host, err := securejoin.SecureJoin(t.root, name)
		if err != nil {
			return nil, err
		}
		info, err := os.Stat(host)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s", ErrNotInContext, src)
			}
			return nil, err
		}
		s := Source{Name: name, Dir: info.IsDir()}
		if !info.IsDir() {
			s.Entries = []Entry{{Rel: "", Host: host, Info: info}}
		} else if s.Entries, err = t.walk(name, host, extraExclude); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// glob matches pattern one path component at a time, as Docker does.
func (t fileTree) glob(pattern string) ([]string, error) {
	parts := strings.Split(pattern, "/")
	cur := []string{""}
	for _, part := range parts {
		var next []string
		for _, dir := range cur {
			if !strings.ContainsAny(part, "*?[") {
				rel := path.Join(dir, part)
				if _, err := os.Lstat(filepath.Join(t.root, rel)); err == nil && !t.excluded(rel) {
					next = append(next, rel)
				}
				continue
			}
			entries, err := os.ReadDir(filepath.Join(t.root, dir))
			if err != nil {
				continue
			}
			for _, e := range entries {
				ok, err := path.Match(part, e.Name())
				if err != nil {
					return nil, fmt.Errorf("invalid source pattern %q: %w", pattern, err)
				}
				rel := path.Join(dir, e.Name())
				if ok && !t.excluded(rel) {
					next = append(next, rel)
				}
			}
		}
		cur = next
	}
	sort.Strings(cur)
	return cur, nil
}

// walk lists a directory source: everything under it that is not
// excluded, parents before children, in name order.
func (t fileTree) walk(name, host string, extra *patternmatcher.PatternMatcher) ([]Entry, error) {
	var out []Entry
	err := filepath.WalkDir(host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(host, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		if rel != "" {
			inTree := path.Join(name, rel)
			skip := t.excluded(inTree)
			if !skip && extra != nil {
				m, _ := extra.MatchesOrParentMatches(rel)
				skip = m
			}
			if skip {
				if d.IsDir() && !(t.ctx != nil && t.ctx.mayHoldIncluded(inTree)) {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, Entry{Rel: rel, Host: p, Info: info})
		return nil
	})
	return out, err
}

// hashSources digests what the sources hold: names, types, modes, link
// targets and contents (not times or owners: Docker's cache ignores them).
func hashSources(srcs []Source) (string, error) {
	h := sha256.New()
	for _, s := range srcs {
		fmt.Fprintf(h, "source %q dir=%v\n", s.Name, s.Dir)
		for _, e := range s.Entries {
			mode := e.Info.Mode()
			fmt.Fprintf(h, "%q %o %d", e.Rel, uint32(mode.Perm()|mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)), mode.Type())
			switch {
			case mode.IsRegular():
				f, err := os.Open(e.Host)
				if err != nil {
					return "", err
				}
				fh := sha256.New()
				_, err = io.Copy(fh, f)
				f.Close()
				if err != nil {
					return "", err
				}
				fmt.Fprintf(h, " %x", fh.Sum(nil))
			case mode&fs.ModeSymlink != 0:
				target, _ := os.Readlink(e.Host)
				fmt.Fprintf(h, " -> %q", target)
			}
			h.Write([]byte{'\n'})
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
