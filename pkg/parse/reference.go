// Package parse holds the small parsers of user input (references, and later
// ports, mounts, filters). Each returns an error that names the bad input and
// says what is expected; each is fuzzed.
package parse

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// Reference is an image reference normalized as Docker does:
// "alpine" is docker.io/library/alpine:latest.
type Reference struct {
	named reference.Named
}

// ParseReference normalizes a user's image reference. A reference with
// neither tag nor digest gets ":latest".
func ParseReference(s string) (Reference, error) {
	if s == "" {
		return Reference{}, fmt.Errorf("invalid reference format: the image name is empty")
	}
	if strings.HasPrefix(s, "sha256:") {
		return Reference{}, fmt.Errorf("invalid reference format: %q is an image ID, not a name", s)
	}
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		if s != strings.ToLower(s) {
			return Reference{}, fmt.Errorf("invalid reference format: repository name %q must be lowercase", s)
		}
		return Reference{}, fmt.Errorf("invalid reference format %q: %v", s, err)
	}
	return Reference{named: reference.TagNameOnly(named)}, nil
}

// ParseRepository normalizes a repository name without tag or digest
// ("alpine" -> "docker.io/library/alpine"), as `tug images REPO` and `push` take it.
func ParseRepository(s string) (string, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return "", fmt.Errorf("invalid repository name %q: %v", s, err)
	}
	return named.Name(), nil
}

// String is the full form: docker.io/library/alpine:latest.
func (r Reference) String() string { return r.named.String() }

// Name is the repository: docker.io/library/alpine.
func (r Reference) Name() string { return r.named.Name() }

// Domain is the registry host: docker.io, localhost:5000.
func (r Reference) Domain() string { return reference.Domain(r.named) }

// Path is the repository path inside the registry: library/alpine.
func (r Reference) Path() string { return reference.Path(r.named) }

// Familiar is how Docker prints it: alpine:latest, localhost:5000/x:1.
func (r Reference) Familiar() string { return reference.FamiliarString(r.named) }

// FamiliarName is the familiar repository: alpine, localhost:5000/x.
func (r Reference) FamiliarName() string { return reference.FamiliarName(r.named) }

// Tag is the tag, "" for a digest reference.
func (r Reference) Tag() string {
	if t, ok := r.named.(reference.Tagged); ok {
		return t.Tag()
	}
	return ""
}

// Digest is the digest ("sha256:..."), "" for a tag reference.
func (r Reference) Digest() string {
	if d, ok := r.named.(reference.Digested); ok {
		return d.Digest().String()
	}
	return ""
}

// WithTag returns the same repository with another tag.
func (r Reference) WithTag(tag string) (Reference, error) {
	t, err := reference.WithTag(reference.TrimNamed(r.named), tag)
	if err != nil {
		return Reference{}, fmt.Errorf("invalid tag %q: %v", tag, err)
	}
	return Reference{named: t}, nil
}

// FamiliarRepo turns a stored full name back into Docker's short display form
// ("docker.io/library/alpine" -> "alpine").
func FamiliarRepo(name string) string {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name
	}
	return reference.FamiliarName(named)
}
