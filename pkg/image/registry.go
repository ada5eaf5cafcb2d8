package image

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/tug-project/tug/pkg/config"
)

// RegistryOptions say how one call reaches registries.
type RegistryOptions struct {
	// TLSVerify is --tls-verify: nil leaves it to the policy (localhost,
	// 127.0.0.0/8, ::1 and the config's insecure list may use plain HTTP and
	// unverified TLS); false allows both for every registry; true demands
	// verified HTTPS even from those.
	TLSVerify *bool
	AuthFile  string       // --authfile; "" means $REGISTRY_AUTH_FILE or tug's auth file, then Docker's config
	Creds     *Credentials // --creds: used instead of any file
	UserAgent string
}

// Timeouts: an unreachable registry fails in seconds; a stalled one does too.
const (
	dialTimeout     = 10 * time.Second
	responseTimeout = 60 * time.Second
	// stallTimeout is how long a transfer may go without a byte before it is abandoned.
	stallTimeout = 60 * time.Second
)

// ErrUnauthorized is wrapped by errors for rejected credentials.
var ErrUnauthorized = errors.New("unauthorized")

// isLoopback reports whether a registry host[:port] is this machine, which
// may speak plain HTTP as with Docker.
func isLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// insecure reports whether host may use plain HTTP and unverified TLS.
func insecure(cfg *config.Config, host string, ro RegistryOptions) bool {
	if ro.TLSVerify != nil {
		return !*ro.TLSVerify
	}
	if isLoopback(host) {
		return true
	}
	hostOnly := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostOnly = h
	}
	for _, entry := range cfg.Registries.Insecure {
		entry = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(entry, "https://"), "http://"), "/")
		if entry == host || entry == hostOnly || strings.HasPrefix(entry, "*.") && strings.HasSuffix(hostOnly, entry[1:]) {
			return true
		}
	}
	return false
}

var (
	baseTransportsMu sync.Mutex
	baseTransports   = map[bool]*http.Transport{}
)

// baseTransport is the process-wide HTTP transport, one for verified TLS
// and one that skips verification.
func baseTransport(skipVerify bool) *http.Transport {
	baseTransportsMu.Lock()
	defer baseTransportsMu.Unlock()
	if t := baseTransports[skipVerify]; t != nil {
		return t
	}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: responseTimeout,
		ExpectContinueTimeout: time.Second,
	}
	if skipVerify {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	baseTransports[skipVerify] = t
	return t
}

// httpsOnly refuses plain-HTTP requests: go-containerregistry falls back to
// HTTP for private-range addresses on its own, which Docker does not.
type httpsOnly struct{ inner http.RoundTripper }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" {
		return nil, fmt.Errorf("refusing plain HTTP to %s: the registry is not insecure (use --tls-verify=false or the config's registries.insecure list)", req.URL.Host)
	}
	return h.inner.RoundTrip(req)
}

// retryable errors are network flakes worth another try; refused
// connections and timeouts are not (they would only make a dead registry
// take longer to report).
func retryable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// repoClient talks to one repository with one authenticated transport.
type repoClient struct {
	repo     name.Repository
	host     string // registry as the user wrote it (docker.io, not index.docker.io)
	hasCreds bool
	rt       http.RoundTripper // authenticated: every remote call uses it
}

// options are the go-containerregistry options for calls through c.
func (c *repoClient) options(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(c.rt)}
}

// client opens repository repo ("host/path") for pulling, or for pushing
// (which also asks to read mountFrom, other repositories of the registry).
func (r *Runtime) client(ctx context.Context, repo string, ro RegistryOptions, push bool, mountFrom ...string) (*repoClient, error) {
	host, _, _ := strings.Cut(repo, "/")
	nameOpts := nameOptions(r.config, host, ro)
	nrepo, err := name.NewRepository(repo, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("invalid repository %q: %w", repo, err)
	}
	keys, err := newKeychain(ro.AuthFile, ro.Creds)
	if err != nil {
		return nil, err
	}
	auth, hasCreds := keys.forRepo(repo)
	scopes := []string{nrepo.Scope(transport.PullScope)}
	if push {
		scopes = []string{nrepo.Scope(transport.PushScope)}
		for _, from := range mountFrom {
			if fr, err := name.NewRepository(from, nameOpts...); err == nil && fr.RegistryStr() == nrepo.RegistryStr() && fr.RepositoryStr() != nrepo.RepositoryStr() {
				scopes = append(scopes, fr.Scope(transport.PullScope))
			}
		}
	}
	rt, err := authTransport(ctx, r.config, nrepo.Registry, ro, auth, scopes)
	if err != nil {
		return nil, registryError(host, hasCreds, err)
	}
	return &repoClient{repo: nrepo, host: host, hasCreds: hasCreds, rt: rt}, nil
}

func nameOptions(cfg *config.Config, host string, ro RegistryOptions) []name.Option {
	if insecure(cfg, host, ro) {
		return []name.Option{name.Insecure}
	}
	return nil
}

// authTransport pings the registry once and returns a transport that
// authenticates every request (a transport.Wrapper, which
// go-containerregistry uses as it is: no second ping, no second retry layer).
func authTransport(ctx context.Context, cfg *config.Config, reg name.Registry, ro RegistryOptions, auth authn.Authenticator, scopes []string) (http.RoundTripper, error) {
	skipTLS := insecure(cfg, reg.Name(), ro)
	var rt http.RoundTripper = baseTransport(skipTLS)
	if !skipTLS {
		rt = httpsOnly{rt}
	}
	rt = transport.NewRetry(rt,
		transport.WithRetryPredicate(retryable),
		transport.WithRetryBackoff(transport.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 3}),
		transport.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout))
	ua := ro.UserAgent
	if ua == "" {
		ua = "tug"
	}
	rt = transport.NewUserAgent(rt, ua)
	return transport.NewWithContext(ctx, reg, auth, rt, scopes)
}

// registryError turns transport failures into messages that name the
// registry and say what to do.
func registryError(host string, hasCreds bool, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		if terr.StatusCode == http.StatusUnauthorized || hasCode(terr, transport.UnauthorizedErrorCode) {
			if hasCreds {
				return fmt.Errorf("%w: incorrect username or password for %s: run 'tug login %s' with the right credentials", ErrUnauthorized, host, host)
			}
			return fmt.Errorf("%w: authentication required by %s: run 'tug login %s' first", ErrUnauthorized, host, host)
		}
		return err
	}
	var uerr *url.Error
	var nerr net.Error
	switch {
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("registry %s speaks plain HTTP, not HTTPS: if you trust it, use --tls-verify=false or list it in registries.insecure of tug.conf", host)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach registry %s: connection refused (is it running, and is the address right?)", host)
	case errors.As(err, &nerr) && nerr.Timeout():
		return fmt.Errorf("cannot reach registry %s: timed out", host)
	case errors.As(err, &uerr):
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			return fmt.Errorf("cannot reach registry %s: %v", host, dnsErr)
		}
		if strings.Contains(err.Error(), "x509:") || strings.Contains(err.Error(), "tls:") {
			return fmt.Errorf("cannot talk to registry %s over TLS: %v (if you trust the registry and the network, use --tls-verify=false)", host, err)
		}
		return fmt.Errorf("cannot reach registry %s: %v", host, err)
	}
	return err
}

func hasCode(e *transport.Error, code transport.ErrorCode) bool {
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

// errorCode is the registry's first error code, or "".
func errorCode(err error) (transport.ErrorCode, int) {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return "", 0
	}
	if len(terr.Errors) > 0 {
		return terr.Errors[0].Code, terr.StatusCode
	}
	return "", terr.StatusCode
}
