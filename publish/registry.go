package publish

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/cicd-excellence/actions/internal/action"
	"github.com/cicd-excellence/actions/internal/version"
)

// DefaultBackoff bounds the retries of each registry request and of each
// blob upload: 4 attempts, 1 s, 2 s and 4 s apart (with 10% jitter).
var DefaultBackoff = remote.Backoff{Duration: 1e9, Factor: 2, Jitter: 0.1, Steps: 4}

// retryStatusCodes are the answers worth asking again: timeouts, rate limits
// and server errors. 401, 403 and 404 are not: asking again cannot help.
var retryStatusCodes = []int{
	http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// Where the credentials came from.
const (
	credsGiven    = "username and password"
	credsKeychain = "docker login"
	credsNone     = "anonymous"
)

// registry talks to one repository with one set of credentials.
type registry struct {
	r        *action.Runtime
	repo     name.Repository
	auth     authn.Authenticator
	creds    string // credsGiven, credsKeychain or credsNone
	withheld bool   // the workflow token was not sent: this is not GitHub's registry
	github   bool   // ghcr.io (or a GitHub Enterprise Server's containers.HOST)
	base     http.RoundTripper
	backoff  remote.Backoff
	secrets  []string

	logMu   sync.Mutex
	retries atomic.Int64
}

// isGitHubRegistry reports whether host is GitHub's container registry for
// the server the workflow runs on.
func isGitHubRegistry(host, serverURL string) bool {
	if host == "ghcr.io" {
		return true
	}
	u, err := url.Parse(serverURL)
	return err == nil && u.Hostname() != "" && u.Hostname() != "github.com" && host == "containers."+u.Hostname()
}

// chooseCredentials decides what to authenticate with. The workflow's own
// token (the defaults of username and password) goes to GitHub's registry
// only: sent to another registry it would be a leaked GitHub credential and a
// useless one. There, and when nothing is given, docker login's credentials
// are used (docker/login-action writes them), else anonymous access.
func chooseCredentials(c *config, github bool) (basic, withheld bool, err error) {
	switch {
	case c.Username == "" && c.Password == "":
		return false, false, nil
	case c.Password == "":
		return false, false, action.Inputf("password", "is empty while username is set (is the secret available to this workflow? secrets are not given to workflows run from forks)")
	case c.Username == "":
		return false, false, action.Inputf("username", "is empty while password is set")
	case c.DefaultCreds && !github:
		return false, true, nil
	}
	return true, false, nil
}

func newRegistry(ctx context.Context, r *action.Runtime, c *config, serverURL string, o Options) (*registry, error) {
	g := &registry{
		r:       r,
		repo:    c.Repo,
		github:  isGitHubRegistry(c.Repo.RegistryStr(), serverURL),
		base:    remote.DefaultTransport,
		backoff: o.Backoff,
	}
	if r.HTTPClient != nil && r.HTTPClient.Transport != nil {
		g.base = r.HTTPClient.Transport // the runtime's transport, under the retries
	}
	if c.Password != "" {
		g.secrets = append(g.secrets, c.Password)
	}
	if g.backoff.Steps == 0 {
		g.backoff = DefaultBackoff
	}
	basic, withheld, err := chooseCredentials(c, g.github)
	if err != nil {
		return nil, err
	}
	g.withheld = withheld
	if basic {
		g.auth, g.creds = &authn.Basic{Username: c.Username, Password: c.Password}, credsGiven
		return g, nil
	}
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	g.auth, err = authn.Resolve(ctx, kc, c.Repo)
	if err != nil {
		return nil, fmt.Errorf("read docker login credentials for %s: %s", c.Repo.RegistryStr(), g.scrub(err.Error()))
	}
	g.creds = credsKeychain
	if g.auth == authn.Anonymous {
		g.creds = credsNone
	}
	return g, nil
}

func (g *registry) describeCreds() string {
	s := g.creds
	if g.creds == credsKeychain {
		s = "the docker login credentials for " + g.repo.RegistryStr()
	}
	if g.withheld {
		s += " (the workflow token is sent to GitHub's registry only)"
	}
	return s
}

func (g *registry) scrub(s string) string {
	for _, sec := range g.secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	return s
}

// retryable is the retry predicate of every request: network failures,
// broken uploads and temporary registry errors are tried again (bounded by
// the backoff), each retry logged.
func (g *registry) retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var te *transport.Error
	var ne net.Error
	var tmp interface{ Temporary() bool }
	retry := false
	switch {
	case errors.As(err, &te):
		retry = te.Temporary()
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		retry = true
	case errors.As(err, &ne) && ne.Timeout():
		retry = true
	case errors.As(err, &tmp) && tmp.Temporary():
		retry = true
	}
	if retry {
		n := g.retries.Add(1)
		g.logMu.Lock()
		g.r.Infof("registry request failed (%d failed attempt%s so far; each request is tried at most %d times): %s", n, plural(int(n)), g.backoff.Steps, g.scrub(errText(err)))
		g.logMu.Unlock()
	}
	return retry
}

func (g *registry) retryTransport() http.RoundTripper {
	rt := transport.NewRetry(g.base,
		transport.WithRetryBackoff(g.backoff),
		transport.WithRetryPredicate(g.retryable),
		transport.WithRetryStatusCodes(retryStatusCodes...))
	return transport.NewUserAgent(rt, version.UserAgent()+" (publish)")
}

// client returns an HTTP client authorized to push to the repository. It
// asks for the push scope even to read tags: credentials that cannot push
// fail here, before anything is uploaded.
func (g *registry) client(ctx context.Context) (*http.Client, error) {
	rt, err := transport.NewWithContext(ctx, g.repo.Registry, g.auth, g.retryTransport(), []string{g.repo.Scope(transport.PushScope)})
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: rt}, nil
}

// tagDigest returns the digest a tag points at, or "" when it does not
// exist: a HEAD of the manifest (remote.Head reads Docker-Content-Digest),
// or, from a registry that gives no digest on HEAD or refuses HEAD, a GET
// whose body remote.Get hashes. c's transport carries the push-scoped token
// of client, so go-containerregistry uses it as is.
func (g *registry) tagDigest(ctx context.Context, c *http.Client, tag string) (string, error) {
	ref := g.repo.Tag(tag)
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(c.Transport)}
	desc, err := remote.Head(ref, opts...)
	if err == nil {
		return desc.Digest.String(), nil
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusNotFound:
			return "", nil
		case http.StatusMethodNotAllowed:
		default:
			return "", err
		}
	}
	if ctx.Err() != nil {
		return "", err
	}
	got, err := remote.Get(ref, opts...)
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return got.Digest.String(), nil
}

// pusher returns a go-containerregistry pusher with the step's credentials
// and bounded, logged retries.
func (g *registry) pusher(ctx context.Context) (*remote.Pusher, error) {
	return remote.NewPusher(
		remote.WithContext(ctx),
		remote.WithAuth(g.auth),
		remote.WithTransport(g.base),
		remote.WithRetryBackoff(g.backoff),
		remote.WithRetryPredicate(g.retryable),
		remote.WithRetryStatusCodes(retryStatusCodes...),
		remote.WithUserAgent(version.UserAgent()+" (publish)"),
		remote.WithJobs(4),
	)
}

// registryError is one line for the user; the cause stays reachable.
type registryError struct {
	msg string
	err error
}

func (e *registryError) Error() string { return e.msg }
func (e *registryError) Unwrap() error { return e.err }

// explain turns a registry or network error into one line saying what
// failed and what to do, with the credentials scrubbed.
func (g *registry) explain(what string, err error) error {
	return &registryError{msg: g.scrub(what + ": " + g.describe(err)), err: err}
}

func (g *registry) describe(err error) string {
	host := g.repo.RegistryStr()
	gaveUp := ""
	if n := g.retries.Load(); n > 0 {
		gaveUp = fmt.Sprintf(" (gave up after %d failed attempt%s)", n, plural(int(n)))
	}
	var te *transport.Error
	if errors.As(err, &te) {
		s := fmt.Sprintf("%d %s", te.StatusCode, http.StatusText(te.StatusCode))
		hint := ""
		switch {
		case te.StatusCode == http.StatusUnauthorized:
			hint = g.hintUnauthorized()
		case te.StatusCode == http.StatusForbidden:
			hint = "these credentials may not push to " + g.repo.Name()
			if g.github {
				hint += " (the job needs permissions: packages: write, and an existing package must give this repository write access: package settings, Manage Actions access)"
			}
		case te.StatusCode == http.StatusNotFound:
			hint = "the repository does not exist or these credentials cannot see it"
		case te.StatusCode == http.StatusTooManyRequests:
			hint = "the registry is rate-limiting this client" + gaveUp
		case te.StatusCode >= 500:
			hint = "the registry failed" + gaveUp
		}
		if hint != "" {
			s += ": " + hint
		}
		if d := diagnostics(te); d != "" {
			s += "; the registry said: " + d
		}
		return s
	}
	var dnsErr *net.DNSError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	msg := errText(err)
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve %s: %s%s", host, dnsErr.Err, gaveUp)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("cannot reach %s: connection refused%s", host, gaveUp)
	case errors.As(err, &unknownAuthority), errors.As(err, &hostnameErr), strings.Contains(msg, "x509:"):
		return fmt.Sprintf("the TLS certificate of %s is not trusted: %s", host, msg)
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		return fmt.Sprintf("%s speaks plain HTTP: set insecure: true if that is intended (local registries only)", host)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("%s timed out%s: %s", host, gaveUp, msg)
	}
	return msg + gaveUp
}

func (g *registry) hintUnauthorized() string {
	switch g.creds {
	case credsGiven:
		if g.github {
			return "check username/password (for ghcr.io the job needs permissions: packages: write)"
		}
		return "check username/password"
	case credsKeychain:
		return "the docker login credentials for " + g.repo.RegistryStr() + " were refused: check the login step"
	}
	if g.withheld {
		return "no credentials were sent: the workflow token goes to GitHub's registry only; log in first (docker/login-action) or set username and password"
	}
	return "no credentials were sent: log in first (docker/login-action) or set username and password"
}

func diagnostics(te *transport.Error) string {
	var parts []string
	for _, d := range te.Errors {
		s := string(d.Code)
		if d.Message != "" {
			s += ": " + d.Message
		}
		parts = append(parts, s)
	}
	s := oneLine(strings.Join(parts, "; "))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// errText is err on one line with the query of any URL in it dropped:
// upload sessions and presigned storage redirects carry tokens there.
func errText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery, u.User = "", nil
			return oneLine(fmt.Sprintf("%s %s: %v", strings.ToUpper(ue.Op), u, ue.Err))
		}
	}
	return oneLine(err.Error())
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
