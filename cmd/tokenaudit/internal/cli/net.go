package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/tokenaudit/tokenaudit/collect"
)

// errNoToken is returned when neither GITLAB_TOKEN nor token_file gives a token.
var errNoToken = errors.New("no token: set GITLAB_TOKEN or token_file")

// readToken returns the token from GITLAB_TOKEN, else from the token file.
// A token file that other users can read is refused: the token reads a
// whole GitLab.
func readToken(tokenFile, dir string) (string, error) {
	if v := strings.TrimSpace(os.Getenv("GITLAB_TOKEN")); v != "" {
		return v, nil
	}
	if tokenFile == "" {
		return "", errNoToken
	}
	path := tokenFile
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("token_file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("token_file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("token_file %s can be read or changed by other users (mode %04o); run: chmod 600 %s", path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token_file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("token_file %s is empty", path)
	}
	if strings.ContainsAny(token, "\n\r\t ") {
		return "", fmt.Errorf("token_file %s holds more than one word (want the token alone)", path)
	}
	return token, nil
}

// newHTTPClient returns the HTTP client for GitLab: the system's proxy
// settings, the system's CAs plus ca_file, and certificate checks unless
// insecure_skip_verify.
func newHTTPClient(cfg Config, dir string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		path := cfg.CAFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificate", path)
		}
		tlsCfg.RootCAs = pool
	}
	// Only ever set from an explicit setting, and runAudit warns on stderr.
	tlsCfg.InsecureSkipVerify = cfg.InsecureSkipVerify //nolint:gosec
	tr.TLSClientConfig = tlsCfg
	return &http.Client{Transport: tr}, nil
}

// isLoopback reports whether host is this machine: plain http to it sends
// the token nowhere.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkReachable says, before any token is sent, whether GitLab's host
// resolves and accepts connections, so the error names which of the two
// failed. Behind a proxy the proxy decides, so nothing is checked.
func checkReachable(ctx context.Context, u *url.URL, timeout time.Duration) error {
	req := &http.Request{URL: u}
	if p, err := http.ProxyFromEnvironment(req); err == nil && p != nil {
		return nil
	}
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if net.ParseIP(host) == nil {
		if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
			return fmt.Errorf("gitlab url %s: host %q does not resolve (%s); check the URL and your DNS", u, host, shortNetError(err))
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("gitlab url %s: %s does not answer (no connection within %s)", u, net.JoinHostPort(host, port), timeout)
		}
		return fmt.Errorf("gitlab url %s: %s does not answer (%s)", u, net.JoinHostPort(host, port), shortNetError(err))
	}
	return conn.Close()
}

// shortNetError keeps the last, human part of a net error ("connection
// refused", "no such host").
func shortNetError(err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.Err
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// explainCollectError turns a failed collection into advice: a rejected
// token, a redirect to another origin, a certificate GitLab's host is not
// trusted for, anything else as is.
func explainCollectError(err error, baseURL string) error {
	if msg, ok := describeAuthError(err); ok {
		return errors.New(msg)
	}
	if errors.Is(err, collect.ErrNotServedAsAdmin) {
		// Continuing would audit a handful of the caller's own tokens and
		// call it the instance: stop, and say how to get the rights.
		return fmt.Errorf("%w; create the token with the admin_mode scope as well as read_api "+
			"(https://docs.gitlab.com/administration/settings/sign_in_restrictions/#admin-mode), "+
			"or audit only what the token may see with --mode self or --group", err)
	}
	var redirect *collect.RedirectError
	if errors.As(err, &redirect) {
		// The redirect's own words, which name both URLs, not the
		// *url.Error around it, which repeats one.
		return fmt.Errorf("%w; set gitlab_url (--gitlab-url) to the URL GitLab answers on itself", redirect)
	}
	if msg, ok := describeWrongURL(err, baseURL); ok {
		return errors.New(msg)
	}
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var verifyErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &verifyErr) && isUnknownAuthority(verifyErr.Err):
		return fmt.Errorf("%s presents a TLS certificate signed by an authority this machine does not trust; set ca_file (--ca-file) to the PEM bundle of your CA: %w", baseURL, err)
	case errors.As(err, &hostErr):
		return fmt.Errorf("%s presents a TLS certificate for another host name; check the URL: %w", baseURL, err)
	}
	return fmt.Errorf("collect tokens from %s: %w", baseURL, err)
}

// describeWrongURL puts in plain words the failures that mean gitlab_url
// (or --group) names the wrong thing, which Go and GitLab word for
// programmers (issue 13).
func describeWrongURL(err error, baseURL string) (string, bool) {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		// net/http's words when a TLS handshake gets an HTTP answer
		// (https://go.dev/src/net/http/transport.go).
		fix := "fix the port to the one GitLab serves https on"
		if u, perr := url.Parse(baseURL); perr == nil && isLoopback(u.Hostname()) {
			fix = "use http:// for this loopback address, or " + fix
		}
		return fmt.Sprintf("gitlab url %s: the server speaks plain http, not https; %s", baseURL, fix), true
	case errors.Is(err, collect.ErrNotGitLab) && strings.Contains(msg, "not JSON"):
		return fmt.Sprintf("gitlab url %s: GitLab's API did not answer on /api/v4/user, a web page did (a proxy's login page, a web server); check the URL and any proxy (HTTPS_PROXY) in between", baseURL), true
	case strings.HasPrefix(msg, "get current user: ") && gitlab.HasStatusCode(err, http.StatusNotFound):
		return fmt.Sprintf("gitlab url %s: %s/api/v4/user is not found (404): the URL is not GitLab's base URL; set gitlab_url (--gitlab-url) to the address of GitLab's web pages, with the path GitLab is served under if any (https://host/gitlab, not https://host, or the reverse)", baseURL, strings.TrimSuffix(baseURL, "/")), true
	case errors.Is(err, collect.ErrGroupNotFound):
		// collect words it `read group "name": group not found: why`.
		name := "a configured group"
		if rest, ok := strings.CutPrefix(msg, "read group "); ok {
			if q, qerr := strconv.QuotedPrefix(rest); qerr == nil {
				name = q
			}
		}
		return fmt.Sprintf("group %s does not exist on %s, or the token's user may not read it (GitLab answers 404 for both); set --group (config: groups) to the group's full path as its URL shows it, e.g. acme/platform", name, baseURL), true
	}
	return "", false
}

func isUnknownAuthority(err error) bool {
	var unknownCA x509.UnknownAuthorityError
	return errors.As(err, &unknownCA)
}

// describeAuthError puts GitLab's refusal of the token in plain words, with
// the fix. GitLab's reasons (https://docs.gitlab.com/api/rest/troubleshooting/): an unknown
// token gets a bare 401; expired and revoked ones a 401 invalid_token with a
// description; a token without a fitting scope a 403 insufficient_scope.
func describeAuthError(err error) (string, bool) {
	if !errors.Is(err, collect.ErrUnauthorized) {
		return "", false
	}
	const fix = "create a token with the read_api scope (an administrator's for the whole instance, a group Owner's for --group) and put it in GITLAB_TOKEN or token_file"
	msg := err.Error()
	var why string
	switch {
	// GitLab refuses a token whose user may not use the API with 403 and
	// Gitlab::Auth::UserAccessDeniedReason's words ("Your account has been
	// blocked.", "... pending approval ...", "... deactivated ...";
	// https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/gitlab/auth/user_access_denied_reason.rb):
	// no scope helps there.
	case strings.Contains(msg, "pending approval"):
		return "GitLab refused the token: its user's account is pending an administrator's approval; an administrator must approve it (Admin > Users), or use a token of an active user", true
	case strings.Contains(msg, "deactivated"):
		return "GitLab refused the token: its user's account is deactivated; sign in to GitLab in a browser as that user to reactivate it, or have an administrator activate it (Admin > Users)", true
	case strings.Contains(msg, "account has been blocked"), strings.Contains(msg, "account is blocked"):
		return "GitLab refused the token: its user's account is blocked; an administrator must unblock it (Admin > Users), or use a token of an active user", true
	case strings.Contains(msg, "expired"):
		why = "the token has expired"
	case strings.Contains(msg, "revoked"):
		why = "the token was revoked"
	case strings.Contains(msg, "impersonation"):
		why = "the token is an impersonation token and impersonation is turned off on this instance"
	case strings.Contains(msg, "insufficient_scope"), strings.Contains(msg, "403"):
		return "GitLab refused the token: it lacks the scope to read the API; add the read_api scope to the token (or create one with read_api) and try again", true
	default:
		why = "GitLab does not know the token (mistyped, deleted, or from another GitLab instance)"
	}
	return fmt.Sprintf("GitLab refused the token: %s; %s", why, fix), true
}
