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
	"strings"
	"time"

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
