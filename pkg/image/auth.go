package image

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/sys/unix"
)

// Credentials are a user name and password (or token) for one registry.
type Credentials struct {
	Username, Password string
	IdentityToken      string // an OAuth refresh token some registries hand out instead
}

// DockerHubAuthKey is the key Docker files Docker Hub's credentials under.
const DockerHubAuthKey = "https://index.docker.io/v1/"

// AuthFileEnv names an auth file to use instead of tug's own, as podman's.
const AuthFileEnv = "REGISTRY_AUTH_FILE"

// DefaultAuthFile is where `tug login` keeps credentials: $REGISTRY_AUTH_FILE,
// else $XDG_CONFIG_HOME/tug/auth.json (~/.config/tug/auth.json), for root as
// for everyone else: credentials belong to a user, as Docker's ~/.docker/config.json.
func DefaultAuthFile() string {
	if f := os.Getenv(AuthFileEnv); f != "" {
		return f
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "tug", "auth.json")
}

// DockerConfigFile is Docker's config ($DOCKER_CONFIG/config.json or
// ~/.docker/config.json), whose credentials tug reads but never writes.
func DockerConfigFile() string {
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".docker", "config.json")
}

// AuthKey is the key a server is filed under: Docker Hub's in any spelling
// is https://index.docker.io/v1/; others are host[:port], without scheme or path.
func AuthKey(server string) string {
	s := strings.TrimSpace(server)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	switch strings.ToLower(s) {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return DockerHubAuthKey
	}
	return strings.ToLower(s)
}

// canonicalAuthKey is the key `tug login SERVER` files under: the server's
// AuthKey, or host/namespace for a repository-scoped login.
func canonicalAuthKey(server string) string {
	s, ns := splitAuthKey(server)
	if ns == "" {
		return s
	}
	if s == DockerHubAuthKey {
		s = "docker.io"
	}
	return s + "/" + ns
}

// DisplayServer is how messages name a server: as it is filed (Docker Hub
// as https://index.docker.io/v1/, as Docker prints it).
func DisplayServer(server string) string { return canonicalAuthKey(server) }

// authEntry is one "auths" value in Docker's and podman's format.
type authEntry struct {
	Auth          string `json:"auth,omitempty"`
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

// AuthFile is a parsed auth.json or ~/.docker/config.json. Keys other than
// "auths" are kept as they were when the file is written back.
type AuthFile struct {
	Path  string
	other map[string]json.RawMessage
	auths map[string]authEntry
}

// ParseAuthFile reads the JSON of an auth file. Entries whose "auth" field
// is not base64 of user:password are an error naming the entry.
func ParseAuthFile(data []byte) (*AuthFile, error) {
	f := &AuthFile{other: map[string]json.RawMessage{}, auths: map[string]authEntry{}}
	if len(bytes.TrimSpace(data)) == 0 {
		return f, nil
	}
	if err := json.Unmarshal(data, &f.other); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if raw, ok := f.other["auths"]; ok {
		delete(f.other, "auths")
		if string(bytes.TrimSpace(raw)) != "null" {
			if err := json.Unmarshal(raw, &f.auths); err != nil {
				return nil, fmt.Errorf(`"auths" is not an object of registries: %w`, err)
			}
		}
		if f.auths == nil {
			f.auths = map[string]authEntry{}
		}
	}
	for key, e := range f.auths {
		if e.Auth == "" {
			continue
		}
		if _, err := decodeAuth(e.Auth); err != nil {
			return nil, fmt.Errorf("the entry for %q: %w", key, err)
		}
	}
	return f, nil
}

func decodeAuth(s string) (Credentials, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return Credentials{}, errors.New(`its "auth" field is not base64`)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return Credentials{}, errors.New(`its "auth" field is not base64 of user:password`)
	}
	return Credentials{Username: user, Password: pass}, nil
}

// ReadAuthFile reads path; a missing file is an empty one.
func ReadAuthFile(path string) (*AuthFile, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading auth file: %w", err)
	}
	f, err := ParseAuthFile(data)
	if err != nil {
		return nil, fmt.Errorf("auth file %s: %w", path, err)
	}
	f.Path = path
	return f, nil
}

// Lookup finds the credentials for a repository ("host/path"): the entry of
// its longest enclosing namespace (podman allows "host/namespace" keys),
// else the server's in any of its spellings.
func (f *AuthFile) Lookup(repo string) (Credentials, bool) {
	host, path, _ := strings.Cut(repo, "/")
	server := AuthKey(host)
	best, bestNS := "", -1
	for _, k := range f.Servers() {
		s, ns := splitAuthKey(k)
		if s != server || ns != "" && path != ns && !strings.HasPrefix(path, ns+"/") {
			continue
		}
		if _, ok := f.entry(k); !ok {
			continue
		}
		if len(ns) > bestNS || len(ns) == bestNS && k == server {
			best, bestNS = k, len(ns)
		}
	}
	if bestNS < 0 {
		return Credentials{}, false
	}
	return f.entry(best)
}

// splitAuthKey reads a key: a server ("host", "https://host/v1/") and, for
// a repository-scoped key ("host/namespace"), the namespace.
func splitAuthKey(k string) (server, namespace string) {
	s := strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://")
	host, path, _ := strings.Cut(s, "/")
	path = strings.Trim(path, "/")
	if path == "v1" || path == "v2" {
		path = ""
	}
	return AuthKey(host), path
}

func (f *AuthFile) entry(key string) (Credentials, bool) {
	e, ok := f.auths[key]
	if !ok {
		return Credentials{}, false
	}
	if e.Auth != "" {
		c, err := decodeAuth(e.Auth)
		c.IdentityToken = e.IdentityToken
		return c, err == nil
	}
	if e.Username != "" || e.IdentityToken != "" {
		return Credentials{Username: e.Username, Password: e.Password, IdentityToken: e.IdentityToken}, true
	}
	return Credentials{}, false
}

// Servers lists the keys that hold credentials, sorted.
func (f *AuthFile) Servers() []string {
	out := make([]string, 0, len(f.auths))
	for k := range f.auths {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Set files credentials under server's key, replacing other spellings of it.
func (f *AuthFile) Set(server string, c Credentials) {
	f.Remove(server)
	f.auths[canonicalAuthKey(server)] = authEntry{Auth: base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password)), IdentityToken: c.IdentityToken}
}

// Remove deletes the server's credentials in every spelling (or, given a
// "host/namespace" key, that entry), and reports whether there were any.
func (f *AuthFile) Remove(server string) bool {
	wantServer, wantNS := splitAuthKey(server)
	found := false
	for k := range f.auths {
		if s, ns := splitAuthKey(k); s == wantServer && ns == wantNS {
			delete(f.auths, k)
			found = true
		}
	}
	return found
}

// Marshal is the file's JSON, as written.
func (f *AuthFile) Marshal() ([]byte, error) {
	out := map[string]any{}
	for k, v := range f.other {
		out[k] = v
	}
	out["auths"] = f.auths
	return json.MarshalIndent(out, "", "\t")
}

// errUnchanged, returned by a change, leaves the file as it was.
var errUnchanged = errors.New("unchanged")

// UpdateAuthFile changes the auth file at path under a lock (so concurrent
// logins do not lose each other's entries) and writes it atomically, mode 0600.
func UpdateAuthFile(path string, change func(*AuthFile) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	lock, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", dir, err)
	}
	f, err := ReadAuthFile(path)
	if err != nil {
		return err
	}
	if err := change(f); err != nil {
		if errors.Is(err, errUnchanged) {
			return nil
		}
		return err
	}
	data, err := f.Marshal()
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'), 0o600)
}

// writeFileAtomic writes a temp file beside path, syncs it and renames it over path.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// keychain resolves credentials for registries: explicit ones (--creds)
// first, then tug's auth file, then Docker's config.
type keychain struct {
	explicit *Credentials
	files    []*AuthFile
}

// newKeychain reads the auth files. authFile is --authfile ("" for the
// default); Docker's config is read too unless the user named a file.
func newKeychain(authFile string, creds *Credentials) (*keychain, error) {
	k := &keychain{explicit: creds}
	if creds != nil {
		return k, nil
	}
	paths := []string{authFile}
	if authFile == "" {
		paths = []string{DefaultAuthFile(), DockerConfigFile()}
	}
	for _, p := range paths {
		f, err := ReadAuthFile(p)
		if err != nil {
			return nil, err
		}
		k.files = append(k.files, f)
	}
	return k, nil
}

// forRepo returns the authenticator for repository repo ("host/path") and
// whether credentials were found.
func (k *keychain) forRepo(repo string) (authn.Authenticator, bool) {
	if k.explicit != nil {
		return toAuthenticator(*k.explicit), true
	}
	for _, f := range k.files {
		if c, ok := f.Lookup(repo); ok {
			return toAuthenticator(c), true
		}
	}
	return authn.Anonymous, false
}

func toAuthenticator(c Credentials) authn.Authenticator {
	return authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: c.Password, IdentityToken: c.IdentityToken})
}
