package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/tug-project/tug/pkg/config"
)

// loginHost is the registry host to talk to for a login server argument:
// Docker Hub's spellings are index.docker.io, others lose scheme and path.
func loginHost(server string) string {
	key := AuthKey(server)
	if key == DockerHubAuthKey {
		return name.DefaultRegistry
	}
	return key
}

// Login checks creds against server's registry and, when it accepts them,
// files them in the auth file (ro.AuthFile, or the default). Wrong
// credentials are an ErrUnauthorized error and change nothing. cfg says
// which registries are insecure.
func Login(ctx context.Context, cfg *config.Config, server string, creds Credentials, ro RegistryOptions) (authFile string, err error) {
	if err := CheckCredentials(ctx, cfg, server, creds, ro); err != nil {
		return "", err
	}
	authFile = ro.AuthFile
	if authFile == "" {
		authFile = DefaultAuthFile()
	}
	return authFile, UpdateAuthFile(authFile, func(f *AuthFile) error {
		f.Set(server, creds)
		return nil
	})
}

// StoredCredentials are the credentials tug would use for server, from the
// auth file (ro.AuthFile or the default) or Docker's config.
func StoredCredentials(server string, ro RegistryOptions) (Credentials, bool, error) {
	keys, err := newKeychain(ro.AuthFile, nil)
	if err != nil {
		return Credentials{}, false, err
	}
	for _, f := range keys.files {
		if c, ok := f.Lookup(loginHost(server)); ok {
			return c, true, nil
		}
	}
	return Credentials{}, false, nil
}

// CheckCredentials asks server's registry whether it accepts creds.
func CheckCredentials(ctx context.Context, cfg *config.Config, server string, creds Credentials, ro RegistryOptions) error {
	host := loginHost(server)
	reg, err := name.NewRegistry(host, nameOptions(cfg, host, ro)...)
	if err != nil {
		return fmt.Errorf("invalid registry %q: %w", server, err)
	}
	display := DisplayServer(server)
	rt, err := authTransport(ctx, cfg, reg, ro, toAuthenticator(creds), nil)
	if err != nil {
		return loginError(display, host, err)
	}
	// Basic-auth registries only check credentials on a request: ask for /v2/.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return loginError(display, host, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("logging in to %s: %w: incorrect username or password", display, ErrUnauthorized)
	default:
		return fmt.Errorf("logging in to %s: the registry answered %s", display, resp.Status)
	}
}

func loginError(display, host string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	code, status := errorCode(err)
	if status == http.StatusUnauthorized || status == http.StatusForbidden || code == "UNAUTHORIZED" || code == "DENIED" ||
		strings.Contains(err.Error(), "401 Unauthorized") {
		return fmt.Errorf("logging in to %s: %w: incorrect username or password", display, ErrUnauthorized)
	}
	return fmt.Errorf("logging in to %s: %w", display, registryError(host, true, err))
}

// LogoutResult says what logout found.
type LogoutResult struct {
	Removed bool
	// InDockerConfig: the server has credentials only in Docker's config, which tug leaves alone.
	InDockerConfig bool
}

// Logout removes server's credentials from the auth file (authFile, or the default).
func Logout(server, authFile string) (LogoutResult, error) {
	if authFile == "" {
		authFile = DefaultAuthFile()
	}
	var res LogoutResult
	err := UpdateAuthFile(authFile, func(f *AuthFile) error {
		if res.Removed = f.Remove(server); !res.Removed {
			return errUnchanged
		}
		return nil
	})
	if err != nil || res.Removed {
		return res, err
	}
	if dc, err := ReadAuthFile(DockerConfigFile()); err == nil {
		host := loginHost(server)
		_, res.InDockerConfig = dc.Lookup(host)
	}
	return res, nil
}

// LogoutAll empties the auth file and returns the servers it held.
func LogoutAll(authFile string) ([]string, error) {
	if authFile == "" {
		authFile = DefaultAuthFile()
	}
	var servers []string
	err := UpdateAuthFile(authFile, func(f *AuthFile) error {
		servers = f.Servers()
		if len(servers) == 0 {
			return errUnchanged
		}
		for _, s := range servers {
			delete(f.auths, s)
		}
		return nil
	})
	return servers, err
}
