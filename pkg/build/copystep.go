package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/patternmatcher"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/oci"
)

type copyFlags struct {
	from, chown, chmod string
	exclude            []string
	parents, add       bool
	checksum           string
	unpack             *bool
}

func timeNow() int64 { return time.Now().UnixNano() }

// downloadTimeout bounds an ADD of a URL that stops sending.
const downloadTimeout = 30 * time.Minute

// copy runs a COPY or ADD step: its sources are resolved and hashed first,
// so that an unchanged step comes from the cache without a container.
func (b *builder) copy(ctx context.Context, s *stage, sd instructions.SourcesAndDest, f copyFlags, name string) error {
	if f.parents {
		return errors.New("--parents is not supported")
	}
	var excl *patternmatcher.PatternMatcher
	if len(f.exclude) > 0 {
		var err error
		if excl, err = patternmatcher.New(f.exclude); err != nil {
			return fmt.Errorf("invalid --exclude: %w", err)
		}
	}
	var chmod *fs.FileMode
	if f.chmod != "" {
		m, err := strconv.ParseUint(f.chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return fmt.Errorf("invalid --chmod %q: give an octal mode such as 0755", f.chmod)
		}
		mode := fs.FileMode(m & 0o777)
		if m&0o4000 != 0 {
			mode |= fs.ModeSetuid
		}
		if m&0o2000 != 0 {
			mode |= fs.ModeSetgid
		}
		if m&0o1000 != 0 {
			mode |= fs.ModeSticky
		}
		chmod = &mode
	}

	tree := fileTree{root: b.opts.Context.Root, ctx: b.opts.Context}
	preserve := false
	if f.from != "" {
		img, err := b.fromImage(ctx, f.from)
		if err != nil {
			return err
		}
		// Read through a working container of that image: a build killed
		// meanwhile leaves nothing mounted that the next one does not clean.
		src, err := b.rt.NewBuildContainer(img)
		if err != nil {
			return err
		}
		defer src.Remove()
		tree, preserve = fileTree{root: src.Rootfs}, true
	}
	var work *workDir
	defer func() {
		if work != nil {
			work.remove()
		}
	}()
	getWork := func() (string, error) {
		if work == nil {
			wd, err := b.ir.NewWorkDir("copy-")
			if err != nil {
				return "", err
			}
			work = &workDir{path: wd.Path, remove: func() { wd.Remove() }}
		}
		return work.path, nil
	}
	var sources []Source
	fromURL := false
	for _, src := range sd.SourcePaths {
		switch {
		case f.add && isGitSource(src):
			return fmt.Errorf("adding a git repository (%s) is not supported: clone it into the context and COPY it", src)
		case f.add && (strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")):
			dir, err := getWork()
			if err != nil {
				return err
			}
			srcFile, err := download(ctx, src, dir, f.checksum)
			if err != nil {
				return err
			}
			sources = append(sources, srcFile)
			fromURL = true
		default:
			found, err := tree.Resolve(src, excl)
			if err != nil {
				return err
			}
			sources = append(sources, found...)
		}
	}
	for i, content := range sd.SourceContents {
		dir, err := getWork()
		if err != nil {
			return err
		}
		p := filepath.Join(dir, "heredoc-"+strconv.Itoa(i))
		if err := os.WriteFile(p, []byte(content.Data), 0o644); err != nil {
			return err
		}
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		sources = append(sources, Source{Name: content.Path, Entries: []Entry{{Host: p, Info: info}}})
	}
	if len(sources) == 0 {
		return errors.New("no source files were specified")
	}
	sum, err := hashSources(sources)
	if err != nil {
		return err
	}
	dest := sd.DestPath
	if !path.IsAbs(dest) {
		wd := s.config.WorkingDir
		if wd == "" {
			wd = "/"
		}
		trailing := strings.HasSuffix(dest, "/") || dest == "."
		dest = path.Join(wd, dest)
		if trailing && dest != "/" {
			dest += "/"
		}
	}
	kind := "file"
	if len(sources) > 1 {
		kind = "multi"
	} else if sources[0].Dir {
		kind = "dir"
	}
	var flags string
	if f.from != "" {
		flags += "--from=" + f.from + " "
	}
	if f.chown != "" {
		flags += "--chown=" + f.chown + " "
	}
	if f.chmod != "" {
		flags += "--chmod=" + f.chmod + " "
	}
	createdBy := fmt.Sprintf("/bin/sh -c #(nop) %s %s%s:%s in %s ", name, flags, kind, sum, dest)
	extra := ""
	if len(f.exclude) > 0 {
		extra = "exclude=" + strings.Join(f.exclude, ",")
	}
	key := cacheKey(createdBy, s.config, extra)
	img, err := b.cached(s, key)
	if err != nil || img != nil {
		if img != nil {
			b.advance(s, img)
		}
		return err
	}
	bc, err := b.rt.NewBuildContainer(s.image)
	if err != nil {
		return err
	}
	defer bc.Remove()
	op := &copyOp{sources: sources, dest: dest, preserve: preserve, chmod: chmod}
	op.extract = f.add && !fromURL && (f.unpack == nil || *f.unpack)
	if f.add && fromURL && f.unpack != nil && *f.unpack {
		op.extract = true
	}
	if f.chown != "" {
		u, err := resolveChown(bc.Rootfs, f.chown)
		if err != nil {
			return err
		}
		op.owner = u
	}
	if err := op.apply(bc.Rootfs); err != nil {
		return err
	}
	cc := cloneConfig(s.config)
	cc.Cmd = []string{"/bin/sh", "-c", fmt.Sprintf("#(nop) %s %s%s:%s in %s ", name, flags, kind, sum, dest)}
	img, err = bc.Commit(libpod.CommitStep{Config: s.config, ContainerConfig: &cc, History: v1.History{CreatedBy: createdBy}, CacheKey: key})
	if err != nil {
		return err
	}
	fmt.Fprintf(b.opts.Out, " ---> %s\n", short(img.ID))
	b.advance(s, img)
	return nil
}

type workDir struct {
	path   string
	remove func()
}

// resolveChown reads --chown USER[:GROUP] (names looked up in the image's
// /etc/passwd and /etc/group, or numbers). A user alone gives its number
// as the group too, as Docker does.
func resolveChown(rootfs, spec string) (*idPair, error) {
	user, group, hasGroup := strings.Cut(spec, ":")
	u, err := oci.ResolveUser(rootfs, user, nil)
	if err != nil {
		return nil, fmt.Errorf("--chown=%s: %w", spec, err)
	}
	out := &idPair{uid: int(u.UID), gid: int(u.UID)}
	if hasGroup {
		g, err := oci.ResolveUser(rootfs, "0:"+group, nil)
		if err != nil {
			return nil, fmt.Errorf("--chown=%s: %w", spec, err)
		}
		out.gid = int(g.GID)
	}
	return out, nil
}

func isGitSource(s string) bool {
	return strings.HasPrefix(s, "git@") || strings.HasPrefix(s, "git://") || strings.HasSuffix(strings.SplitN(s, "#", 2)[0], ".git") && strings.Contains(s, "://")
}

// download fetches an ADD URL into dir, checking its digest when given.
func download(ctx context.Context, src, dir, checksum string) (Source, error) {
	u, err := url.Parse(src)
	if err != nil {
		return Source{}, fmt.Errorf("invalid URL %q: %w", src, err)
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == "" {
		name = "index.html"
	}
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return Source{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Source{}, fmt.Errorf("downloading %s: %w", src, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Source{}, fmt.Errorf("downloading %s: %s", src, resp.Status)
	}
	p := filepath.Join(dir, "url-"+strconv.FormatInt(timeNow(), 36))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return Source{}, err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Source{}, fmt.Errorf("downloading %s: %w", src, err)
	}
	if checksum != "" {
		want := strings.TrimPrefix(checksum, "sha256:")
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			return Source{}, fmt.Errorf("%s: checksum mismatch: got sha256:%s, want %s", src, got, checksum)
		}
	}
	// Docker: a downloaded file is 0600, with the server's modification time.
	os.Chmod(p, 0o600)
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		os.Chtimes(p, lm, lm)
	}
	info, err := os.Lstat(p)
	if err != nil {
		return Source{}, err
	}
	return Source{Name: name, Entries: []Entry{{Host: p, Info: info}}}, nil
}
