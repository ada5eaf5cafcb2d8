package build

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"go.podman.io/storage/pkg/archive"
)

// ContextSpec is where a build's context and Dockerfile come from, as the
// command line gives them.
type ContextSpec struct {
	Arg        string    // a directory, an http(s) URL of a tarball or Dockerfile, or "-" (stdin)
	Dockerfile string    // -f: a path, "-" for stdin, "" for Dockerfile in the context
	Stdin      io.Reader // for "-"
	// WorkDir makes a private directory for an unpacked context.
	WorkDir func(prefix string) (dir string, remove func(), err error)
}

// Prepared is a context ready to build from.
type Prepared struct {
	Context        *Context
	Dockerfile     []byte
	DockerfileName string
	Remove         func() // deletes an unpacked context
}

// ContextError is a context or Dockerfile that cannot be read.
type ContextError struct{ Err error }

func (e *ContextError) Error() string { return "unable to prepare context: " + e.Err.Error() }
func (e *ContextError) Unwrap() error { return e.Err }

// PrepareContext opens the context: a directory is used in place; a tar
// (plain or compressed) on stdin or at a URL is unpacked into a private
// directory; a plain file there is the Dockerfile, with an empty context.
func PrepareContext(ctx context.Context, spec ContextSpec) (*Prepared, error) {
	p := &Prepared{Remove: func() {}}
	fail := func(err error) (*Prepared, error) {
		p.Remove()
		return nil, &ContextError{Err: err}
	}
	var dockerfileInContext bool
	switch {
	case spec.Arg == "-" || strings.HasPrefix(spec.Arg, "http://") || strings.HasPrefix(spec.Arg, "https://"):
		if spec.Arg == "-" && spec.Dockerfile == "-" {
			return fail(errors.New("cannot read both the context and the Dockerfile from stdin: give the context as a directory"))
		}
		var src io.Reader = spec.Stdin
		if spec.Arg != "-" {
			if isGitURL(spec.Arg) {
				return fail(fmt.Errorf("building from a git repository (%s) is not supported: clone it and build the directory", spec.Arg))
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, spec.Arg, nil)
			if err != nil {
				return fail(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fail(fmt.Errorf("downloading the context: %w", err))
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fail(fmt.Errorf("downloading the context %s: %s", spec.Arg, resp.Status))
			}
			src = resp.Body
		}
		dir, remove, err := spec.WorkDir("context-")
		if err != nil {
			return fail(err)
		}
		p.Remove = remove
		root := filepath.Join(dir, "context")
		if err := os.Mkdir(root, 0o700); err != nil {
			return fail(err)
		}
		br := bufio.NewReaderSize(src, 64<<10)
		isTar, err := looksLikeTar(br)
		if err != nil {
			return fail(fmt.Errorf("reading the context: %w", err))
		}
		if isTar {
			if err := archive.Untar(br, root, &archive.TarOptions{NoLchown: true}); err != nil {
				return fail(fmt.Errorf("unpacking the context: %w", err))
			}
			dockerfileInContext = spec.Dockerfile != "-"
		} else {
			// A Dockerfile alone: the context is empty.
			data, err := io.ReadAll(io.LimitReader(br, 16<<20))
			if err != nil {
				return fail(err)
			}
			p.Dockerfile, p.DockerfileName = data, "Dockerfile"
		}
		p.Context = &Context{Root: root}
	case isGitURL(spec.Arg):
		return fail(fmt.Errorf("building from a git repository (%s) is not supported: clone it and build the directory", spec.Arg))
	default:
		info, err := os.Stat(spec.Arg)
		if err != nil {
			return fail(fmt.Errorf("path %q not found", spec.Arg))
		}
		if !info.IsDir() {
			return fail(fmt.Errorf("context must be a directory: %s", spec.Arg))
		}
		root, err := filepath.Abs(spec.Arg)
		if err != nil {
			return fail(err)
		}
		p.Context = &Context{Root: root}
	}
	dockerfilePath := ""
	switch {
	case p.Dockerfile != nil:
	case spec.Dockerfile == "-":
		data, err := io.ReadAll(io.LimitReader(spec.Stdin, 16<<20))
		if err != nil {
			return fail(fmt.Errorf("reading the Dockerfile from stdin: %w", err))
		}
		p.Dockerfile, p.DockerfileName = data, "-"
	default:
		name := spec.Dockerfile
		switch {
		case name == "":
			dockerfilePath = filepath.Join(p.Context.Root, "Dockerfile")
			if _, err := os.Stat(dockerfilePath); os.IsNotExist(err) {
				if _, err := os.Stat(filepath.Join(p.Context.Root, "dockerfile")); err == nil {
					dockerfilePath = filepath.Join(p.Context.Root, "dockerfile")
				}
			}
			name = "Dockerfile"
		case dockerfileInContext:
			dockerfilePath = filepath.Join(p.Context.Root, filepath.Clean("/"+name))
		default:
			dockerfilePath = name
		}
		data, err := os.ReadFile(dockerfilePath)
		if err != nil {
			if os.IsNotExist(err) {
				return fail(fmt.Errorf("cannot find the Dockerfile %s: name it with -f", dockerfilePath))
			}
			return fail(fmt.Errorf("reading the Dockerfile: %w", err))
		}
		p.Dockerfile, p.DockerfileName = data, name
	}
	ignore, err := ReadIgnoreFile(p.Context.Root, dockerfilePath)
	if err != nil {
		return fail(err)
	}
	c, err := NewContext(p.Context.Root, ignore)
	if err != nil {
		return fail(err)
	}
	p.Context = c
	return p, nil
}

// looksLikeTar peeks at the stream: a tar archive, compressed or not.
func looksLikeTar(br *bufio.Reader) (bool, error) {
	head, err := br.Peek(512)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return false, err
	}
	if archive.DetectCompression(head) != archive.Uncompressed {
		return true, nil
	}
	// The ustar magic at offset 257.
	return len(head) >= 262 && bytes.Equal(head[257:262], []byte("ustar")), nil
}

func isGitURL(s string) bool {
	u := strings.SplitN(s, "#", 2)[0]
	return strings.HasSuffix(u, ".git") || strings.HasPrefix(s, "git@") || strings.HasPrefix(s, "git://") || strings.HasPrefix(s, "github.com/")
}
