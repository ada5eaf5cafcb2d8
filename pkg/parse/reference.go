// Package parse holds the small parsers of user input (references, and later
// ports, mounts, filters). Each returns an error that names the bad input and
// says what is expected; each is fuzzed.
package parse

import (
	"errors"
	"fmt"
	"strings"
)

// Reference is an image reference normalized as Docker does:
// "alpine" is docker.io/library/alpine:latest.
//
// The grammar is Docker's (github.com/distribution/reference); it is parsed
// by hand because that package compiles a dozen regular expressions at init,
// which cost every tug call ~4 ms. A differential fuzz test keeps the two in
// agreement.
type Reference struct {
	domain, path, tag, digest string
}

const (
	defaultDomain = "docker.io"
	officialRepo  = "library/"
	maxNameLength = 255
)

// ParseReference normalizes a user's image reference. A reference with
// neither tag nor digest gets ":latest".
func ParseReference(s string) (Reference, error) {
	r, err := parseNormalized(s)
	if err != nil {
		return Reference{}, err
	}
	if r.tag == "" && r.digest == "" {
		r.tag = "latest"
	}
	return r, nil
}

// ParseRepository normalizes a repository name without tag or digest
// ("alpine" -> "docker.io/library/alpine"), as `tug images REPO` and `push` take it.
func ParseRepository(s string) (string, error) {
	r, err := parseNormalized(s)
	if err != nil {
		return "", fmt.Errorf("invalid repository name %q: %v", s, strings.TrimPrefix(err.Error(), "invalid reference format: "))
	}
	return r.Name(), nil
}

// ErrInvalidReference is wrapped by every reference parse error.
var ErrInvalidReference = errors.New("invalid reference format")

func invalid(s, why string) error {
	return fmt.Errorf("%w: %q %s", ErrInvalidReference, s, why)
}

func parseNormalized(s string) (Reference, error) {
	if s == "" {
		return Reference{}, fmt.Errorf("%w: the image name is empty", ErrInvalidReference)
	}
	if strings.HasPrefix(s, "sha256:") {
		return Reference{}, invalid(s, "is an image ID, not a name")
	}
	if len(s) == 64 && isHexPrefix(s) {
		return Reference{}, invalid(s, "is a 64-character hex string, which names an image ID, not a repository")
	}
	var r Reference
	rest := s
	if at := strings.IndexByte(rest, '@'); at >= 0 {
		r.digest, rest = rest[at+1:], rest[:at]
		if err := checkDigest(r.digest); err != nil {
			return Reference{}, invalid(s, err.Error())
		}
	}
	// A tag follows the last colon after the last slash (a colon before it is a port).
	if colon := strings.LastIndexByte(rest, ':'); colon > strings.LastIndexByte(rest, '/') {
		r.tag, rest = rest[colon+1:], rest[:colon]
		if !validTag(r.tag) {
			return Reference{}, invalid(s, "has an invalid tag: a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'")
		}
	}
	name := rest
	if name == "" {
		return Reference{}, invalid(s, "has no repository name")
	}
	// The first component is a registry when it looks like a host: it has a
	// dot or a port, or is "localhost", or has upper case (never valid in a path).
	first, remainder, hasSlash := strings.Cut(name, "/")
	if hasSlash && (strings.ContainsAny(first, ".:") || first == "localhost" || first != strings.ToLower(first)) {
		r.domain, r.path = first, remainder
		if !validDomain(r.domain) {
			return Reference{}, invalid(s, "has an invalid registry host "+fmt.Sprintf("%q", r.domain))
		}
	} else {
		r.domain, r.path = defaultDomain, name
	}
	if r.domain == "index.docker.io" {
		r.domain = defaultDomain
	}
	if r.path != strings.ToLower(r.path) {
		return Reference{}, invalid(s, "has upper case in its repository name: repository names must be lowercase")
	}
	if err := checkPath(r.path); err != nil {
		return Reference{}, invalid(s, err.Error())
	}
	if r.domain == defaultDomain && !strings.Contains(r.path, "/") {
		r.path = officialRepo + r.path
	}
	if len(r.Name()) > maxNameLength {
		return Reference{}, invalid(s, fmt.Sprintf("is too long: a repository name is at most %d characters", maxNameLength))
	}
	return r, nil
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isLowerAlnum(c) || c >= 'A' && c <= 'Z' }

// checkPath validates slash-separated components of lower-case letters and
// digits joined by '.', '_', '__' or runs of '-'.
func checkPath(p string) error {
	for _, comp := range strings.Split(p, "/") {
		if comp == "" {
			return fmt.Errorf("has an empty path component")
		}
		if !isLowerAlnum(comp[0]) || !isLowerAlnum(comp[len(comp)-1]) {
			return fmt.Errorf("has a path component %q that does not start and end with a letter or digit", comp)
		}
		for i := 0; i < len(comp); {
			c := comp[i]
			switch {
			case isLowerAlnum(c):
				i++
			case c == '.':
				if !isLowerAlnum(comp[i+1]) {
					return fmt.Errorf("has an invalid separator in %q", comp)
				}
				i++
			case c == '_':
				j := i
				for j < len(comp) && comp[j] == '_' {
					j++
				}
				if j-i > 2 || !isLowerAlnum(comp[j]) {
					return fmt.Errorf("has an invalid separator in %q", comp)
				}
				i = j
			case c == '-':
				j := i
				for j < len(comp) && comp[j] == '-' {
					j++
				}
				if !isLowerAlnum(comp[j]) {
					return fmt.Errorf("has an invalid separator in %q", comp)
				}
				i = j
			default:
				return fmt.Errorf("has an invalid character %q in %q", c, comp)
			}
		}
	}
	return nil
}

// validDomain accepts host[:port] where host is dot-separated labels of
// letters, digits and inner '-', or a bracketed IPv6 address.
func validDomain(d string) bool {
	host, port := d, ""
	if strings.HasPrefix(d, "[") {
		end := strings.IndexByte(d, ']')
		if end < 0 || !validIPv6(d[1:end]) {
			return false
		}
		host, port = "", d[end+1:]
		if port != "" {
			if port[0] != ':' {
				return false
			}
			port = port[1:]
			if port == "" {
				return false
			}
		}
	} else if colon := strings.IndexByte(d, ':'); colon >= 0 {
		host, port = d[:colon], d[colon+1:]
		if port == "" {
			return false
		}
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	if host == "" {
		return strings.HasPrefix(d, "[")
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || !isAlnum(label[0]) || !isAlnum(label[len(label)-1]) {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !isAlnum(label[i]) && label[i] != '-' {
				return false
			}
		}
	}
	return true
}

func validIPv6(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':') {
			return false
		}
	}
	return true
}

func validTag(t string) bool {
	if t == "" || len(t) > 128 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		word := isAlnum(c) || c == '_'
		if i == 0 && !word {
			return false
		}
		if !word && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// checkDigest accepts algorithm:encoded with Docker's character rules and,
// for sha256 and sha512, the exact hex length.
func checkDigest(d string) error {
	alg, enc, ok := strings.Cut(d, ":")
	if !ok || alg == "" || enc == "" {
		return fmt.Errorf("has an invalid digest %q: expected sha256:<64 hex digits>", d)
	}
	for i := 0; i < len(alg); i++ {
		c := alg[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (i > 0 && (c == '+' || c == '.' || c == '_' || c == '-'))) {
			return fmt.Errorf("has an invalid digest algorithm %q", alg)
		}
	}
	want := map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}[alg]
	if want == 0 {
		return fmt.Errorf("has an unsupported digest algorithm %q: use sha256", alg)
	}
	if len(enc) != want {
		return fmt.Errorf("has an invalid digest %q: expected %d hex digits", d, want)
	}
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("has an invalid digest %q: expected lower-case hex", d)
		}
	}
	return nil
}

// String is the full form: docker.io/library/alpine:latest.
func (r Reference) String() string {
	s := r.Name()
	if r.tag != "" {
		s += ":" + r.tag
	}
	if r.digest != "" {
		s += "@" + r.digest
	}
	return s
}

// Name is the repository: docker.io/library/alpine.
func (r Reference) Name() string { return r.domain + "/" + r.path }

// Domain is the registry host: docker.io, localhost:5000.
func (r Reference) Domain() string { return r.domain }

// Path is the repository path inside the registry: library/alpine.
func (r Reference) Path() string { return r.path }

// Familiar is how Docker prints it: alpine:latest, localhost:5000/x:1.
func (r Reference) Familiar() string {
	s := r.FamiliarName()
	if r.tag != "" {
		s += ":" + r.tag
	}
	if r.digest != "" {
		s += "@" + r.digest
	}
	return s
}

// FamiliarName is the familiar repository: alpine, localhost:5000/x.
func (r Reference) FamiliarName() string {
	if r.domain != defaultDomain {
		return r.Name()
	}
	return strings.TrimPrefix(r.path, officialRepo)
}

// Tag is the tag, "" for a digest-only reference.
func (r Reference) Tag() string { return r.tag }

// Digest is the digest ("sha256:..."), "" for a tag reference.
func (r Reference) Digest() string { return r.digest }

// WithTag returns the same repository with another tag (and no digest).
func (r Reference) WithTag(tag string) (Reference, error) {
	if !validTag(tag) {
		return Reference{}, fmt.Errorf("invalid tag %q: a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", tag)
	}
	return Reference{domain: r.domain, path: r.path, tag: tag}, nil
}

// FamiliarRepo turns a stored full name back into Docker's short display form
// ("docker.io/library/alpine" -> "alpine").
func FamiliarRepo(name string) string {
	r, err := parseNormalized(name)
	if err != nil || r.tag != "" || r.digest != "" {
		return name
	}
	return r.FamiliarName()
}

func isHexPrefix(s string) bool {
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// RepositoryOnly reports whether s names a repository without a tag or
// digest ("alpine", not "alpine:3" nor an ID), and returns it normalized.
func RepositoryOnly(s string) (string, bool) {
	r, err := parseNormalized(s)
	if err != nil || r.tag != "" || r.digest != "" {
		return "", false
	}
	return r.Name(), true
}
