package collect

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// guardTransport is the last of tokenaudit's transports before the network
// (NewClient: counter → pacer → guard → http.Transport), so every attempt,
// retries and followed redirects included, passes it:
//
//   - a request to any origin but the configured GitLab's is refused before
//     it is sent: it would carry the token;
//   - one attempt is timed here, below the pacer, so a wait for GitLab's
//     rate limit never counts against the request timeout;
//   - the headers client-go parses are checked before client-go sees them
//     (it panics on some malformed Link headers);
//   - the body is read through a limit on its decompressed size.
type guardTransport struct {
	origin  origin
	timeout time.Duration // one attempt, body included
	maxBody int64         // bytes of one answer's body, decompressed
	next    http.RoundTripper
}

func (t *guardTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.checkOrigin(r); err != nil {
		return nil, err
	}
	parent := r.Context()
	ctx, cancel := context.WithTimeout(parent, t.timeout)
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		timedOut := attemptTimedOut(ctx, parent)
		cancel()
		if timedOut {
			return nil, &TimeoutError{After: t.timeout}
		}
		return nil, err
	}
	fail := func(err error) (*http.Response, error) {
		resp.Body.Close()
		cancel()
		return nil, err
	}
	if err := t.checkRedirect(r, resp); err != nil {
		return fail(err)
	}
	if err := checkHeaders(resp.Header); err != nil {
		return fail(err)
	}
	gz := false
	if !resp.Uncompressed {
		// Go's transport decompresses gzip itself, and says so, only when it
		// asked for it; an answer compressed without that (an explicit
		// Accept-Encoding, DisableCompression, a server that ignores the
		// request) arrives with its Content-Encoding and is decompressed
		// here, so the limit below is on what client-go decodes.
		switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
		case "", "identity":
		case "gzip", "x-gzip":
			gz = true
			resp.Header.Del("Content-Encoding")
			resp.Header.Del("Content-Length")
			resp.ContentLength = -1
			resp.Uncompressed = true
		default:
			return fail(errors.New("the answer has a Content-Encoding tokenaudit cannot read (only gzip)"))
		}
	}
	if !gz && resp.ContentLength > t.maxBody {
		return fail(&BodyTooLargeError{Limit: t.maxBody}) // http.Client wraps it in a *url.Error
	}
	resp.Body = &guardedBody{
		raw: resp.Body, gzip: gz, left: t.maxBody, limit: t.maxBody,
		ctx: ctx, parent: parent, cancel: cancel, timeout: t.timeout,
		op: urlOp(r.Method), url: redactURL(r.URL),
	}
	return resp, nil
}

// guardedBody reads an answer's body through gzip (when guardTransport
// decompresses it), the size limit and the attempt's timeout, and ends the
// attempt's timer when it is closed. Its errors stick: client-go drains a
// body after a failed decode, and a body over the limit must not be read on.
type guardedBody struct {
	raw     io.ReadCloser
	gzip    bool
	r       io.Reader // raw, or a gzip reader over it once the first Read opened it
	left    int64
	limit   int64
	err     error
	ctx     context.Context
	parent  context.Context
	cancel  context.CancelFunc
	timeout time.Duration
	op, url string
}

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.r == nil {
		b.r = b.raw
		if b.gzip {
			zr, err := gzip.NewReader(b.raw)
			if err != nil {
				return 0, b.fail(err)
			}
			b.r = zr
		}
	}
	// Read one byte past the limit: a body of exactly the limit is fine,
	// a longer one is refused without reading more of it.
	if int64(len(p)) > b.left {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = 0
		b.raw.Close() // stop the download
		return n, b.fail(&BodyTooLargeError{Limit: b.limit})
	}
	b.left -= int64(n)
	switch {
	case err == io.EOF:
		b.cancel()
	case err != nil:
		err = b.fail(err)
	}
	return n, err
}

// fail records err as the body's error: the limit and a timeout of this
// attempt as a *url.Error naming the request (what net/http returns for a
// failed request; it carries the reason to the gap), anything else as is.
func (b *guardedBody) fail(err error) error {
	var tooLarge *BodyTooLargeError
	switch {
	case errors.As(err, &tooLarge):
		err = &url.Error{Op: b.op, URL: b.url, Err: err}
	case attemptTimedOut(b.ctx, b.parent):
		err = &url.Error{Op: b.op, URL: b.url, Err: &TimeoutError{After: b.timeout}}
	}
	b.err = err
	return err
}

// attemptTimedOut reports whether the attempt's own timer, not its
// caller, ended ctx.
func attemptTimedOut(ctx, parent context.Context) bool {
	return errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil
}

func (b *guardedBody) Close() error {
	b.cancel()
	return b.raw.Close()
}

// DefaultMaxBodyBytes is the largest answer body NewClient reads when
// ClientOptions does not say. A page of 100 personal access tokens from the
// simulator is about 30 KB, a page of 100 projects about 130 KB; GitLab's
// own project entity is larger (about 5 KB with every field), so its
// pages stay well below 1 MiB. 32 MiB is a thousand pages of tokens'
// worth of headroom for long names and descriptions, and still bounds what
// a broken or hostile server can make tokenaudit hold in memory.
const DefaultMaxBodyBytes = 32 << 20

// BodyTooLargeError is the error (inside a *url.Error) of an answer whose
// body, decompressed, is longer than ClientOptions.MaxBodyBytes.
type BodyTooLargeError struct {
	Limit int64 // bytes
}

func (e *BodyTooLargeError) Error() string {
	return "answer larger than " + formatSize(e.Limit)
}

func formatSize(n int64) string {
	const mib = 1 << 20
	if n >= mib && n%mib == 0 {
		return strconv.FormatInt(n/mib, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// TimeoutError is the error of an attempt that got no complete answer
// within ClientOptions.Timeout.
type TimeoutError struct {
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("no complete answer within %s", e.After)
}

// Timeout reports true, so that a *url.Error holding it says it timed out.
func (e *TimeoutError) Timeout() bool { return true }

// ErrRedirect is what every *RedirectError matches (errors.Is): GitLab
// redirected a request to another origin, and tokenaudit refused to follow.
var ErrRedirect = errors.New("redirect to another origin refused")

// RedirectError is returned (inside a *url.Error) when GitLab answers with
// a redirect to another origin (scheme, host and port) than the configured
// one, https to http included. Go's client drops Authorization on a redirect
// to another host but keeps custom headers such as client-go's
// PRIVATE-TOKEN, so following would hand the token to whoever the redirect
// names, or send it in clear text.
//
// The redirect is refused in the transport, on the answer that carries it,
// rather than in http.Client.CheckRedirect: an error from CheckRedirect
// comes back with the redirect response, and client-go retries any GET
// error that has a response, up to RetryMax times with backoff. Refused in
// the transport, the error has no response and is not retried.
//
// On /api/v4/user the error stops the audit (the command exits 2). On a
// later read it becomes an error gap, like any read that fails: no token
// has left, the gap names both URLs, and the run is incomplete (exit 3),
// so a scheduled audit fails instead of passing; as a permission gap it
// would have been hidden.
type RedirectError struct {
	From, To string // the URLs, without user info, query or fragment
	Origin   string // the configured GitLab's origin
	Why      string // what differs: "another host", "another port", "plain http"
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("redirect from %s to %s (%s) refused: tokenaudit sends the token only to %s", e.From, e.To, e.Why, e.Origin)
}

// Is makes errors.Is(err, ErrRedirect) true.
func (e *RedirectError) Is(target error) bool { return target == ErrRedirect }

// origin is a URL's scheme, host and port (RFC 6454), with the scheme's
// default port made explicit.
type origin struct {
	scheme, host, port string
}

func originOf(u *url.URL) origin {
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port()}
	if o.port == "" {
		switch o.scheme {
		case "https":
			o.port = "443"
		case "http":
			o.port = "80"
		}
	}
	return o
}

func (o origin) String() string {
	host := o.host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return o.scheme + "://" + host + ":" + o.port
}

// checkOrigin refuses a request to any origin but the configured one. A
// redirect elsewhere is refused before, in checkRedirect; this is the
// backstop for a request built any other way.
func (t *guardTransport) checkOrigin(r *http.Request) error {
	if o := originOf(r.URL); o != t.origin {
		return fmt.Errorf("refused to send a request to %s (%s): tokenaudit talks only to %s", redactURL(r.URL), t.origin.differs(o), t.origin)
	}
	return nil
}

// checkRedirect refuses an answer that redirects r to another origin. It
// looks at the answer, not at the request http.Client would make of it, so
// that the *url.Error around the refusal names r's URL, not the redirect's
// target with a query that may carry a secret.
func (t *guardTransport) checkRedirect(r *http.Request, resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil // http.Client follows no other status
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil // http.Client does not follow it either
	}
	to, err := r.URL.Parse(loc)
	if err != nil {
		return &HeaderError{Header: "Location", Problem: "not a URL"}
	}
	if o := originOf(to); o != t.origin {
		return &RedirectError{From: redactURL(r.URL), To: redactURL(to), Origin: t.origin.String(), Why: t.origin.differs(o)}
	}
	return nil
}

// differs says how o differs from the configured origin c.
func (c origin) differs(o origin) string {
	switch {
	case o.scheme != c.scheme && c.scheme == "https" && o.scheme == "http":
		return "plain http"
	case o.scheme != c.scheme:
		return "another scheme"
	case o.host == c.host:
		return "another port"
	}
	return "another host"
}

// redactURL is u without user info, query and fragment: what may be shown.
// A query may carry secrets (a redirect to a login page, a signed URL).
func redactURL(u *url.URL) string {
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return c.String()
}

// urlOp is net/http's Op of a *url.Error for method: "Get" for GET.
func urlOp(method string) string {
	if method == "" {
		return "Get"
	}
	return method[:1] + strings.ToLower(method[1:])
}

// HeaderError is the error (inside a *url.Error) of an answer with a header
// client-go would misread or crash on. It names the header, never its value:
// a hostile server could put anything there, a token included.
type HeaderError struct {
	Header  string
	Problem string
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("malformed %s header in GitLab's answer: %s", e.Header, e.Problem)
}

// pageHeaders are GitLab's offset pagination headers
// (https://docs.gitlab.com/api/rest/#pagination-response-headers). Each is
// a page or item count; GitLab sends X-Next-Page and X-Prev-Page empty on
// the last and first page, and leaves X-Total and X-Total-Pages out above
// 10,000 items.
var pageHeaders = []string{"X-Total", "X-Total-Pages", "X-Per-Page", "X-Page", "X-Next-Page", "X-Prev-Page"}

// maxPageHeader bounds a believable pagination header: no GitLab list has
// a billion pages or items. client-go parses the headers with ParseInt
// and ignores errors, so without this check "-1" or "9e18" would arrive as
// numbers, and "x" as 0.
const maxPageHeader = 1_000_000_000

// checkHeaders checks the headers client-go parses in newResponse.
func checkHeaders(h http.Header) error {
	for _, name := range pageHeaders {
		for _, v := range h.Values(name) {
			if p := checkCount(v); p != "" {
				return &HeaderError{Header: name, Problem: p}
			}
		}
	}
	for _, v := range h.Values("Link") {
		if p := checkLink(v); p != "" {
			return &HeaderError{Header: "Link", Problem: p}
		}
	}
	return nil
}

// checkCount says what is wrong with a pagination header's value, or "".
func checkCount(v string) string {
	if v == "" {
		return ""
	}
	if v[0] == '-' {
		return "a negative number"
	}
	for i := range len(v) {
		if v[i] < '0' || v[i] > '9' {
			return "not a decimal number"
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err != nil || n > maxPageHeader {
		return "a number above " + strconv.Itoa(maxPageHeader)
	}
	return ""
}

// checkLink says what is wrong with a Link header's value, or "". The value
// must be link-values as RFC 8288 §3 defines them:
//
//	Link       = #link-value
//	link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
//	link-param = token BWS [ "=" BWS ( token / quoted-string ) ]
//
// and, beyond the RFC, safe for client-go's populateLinkValues: it splits
// the value at every "," and each piece at every ";", then indexes the
// second part split at "=" without checking there is one, so it panics on
// "<u>; rel" (a valueless parameter, which the RFC allows) and on a ";"
// inside a URI or quoted string whose next part has no "=".
func checkLink(v string) string {
	for piece := range strings.SplitSeq(v, ",") {
		if parts := strings.Split(piece, ";"); len(parts) >= 2 && !strings.Contains(parts[1], "=") {
			return "a link whose first parameter has no value, or a \";\" inside a URI or quoted string"
		}
	}
	p := linkParser{s: v}
	return p.parse()
}

type linkParser struct {
	s string
	i int
}

func (p *linkParser) parse() string {
	n := 0
	for {
		p.skipOWS()
		if p.i == len(p.s) {
			break
		}
		if p.s[p.i] == ',' { // an empty list element (RFC 9110 §5.6.1)
			p.i++
			continue
		}
		n++
		if msg := p.linkValue(); msg != "" {
			return fmt.Sprintf("link %d: %s", n, msg)
		}
		p.skipOWS()
		if p.i < len(p.s) {
			if p.s[p.i] != ',' {
				return fmt.Sprintf("link %d: text after its parameters", n)
			}
			p.i++
		}
	}
	if n == 0 {
		return "no link"
	}
	return ""
}

func (p *linkParser) linkValue() string {
	if p.s[p.i] != '<' {
		return "does not start with <"
	}
	end := strings.IndexByte(p.s[p.i+1:], '>')
	if end < 0 {
		return "no > after the URI"
	}
	ref := p.s[p.i+1 : p.i+1+end]
	for i := range len(ref) {
		if c := ref[i]; c <= ' ' || c >= 0x7f || strings.IndexByte("<>\"{}|\\^`", c) >= 0 {
			return "a character a URI cannot hold"
		}
	}
	if _, err := url.Parse(ref); err != nil {
		return "not a URI reference"
	}
	p.i += end + 2
	for {
		p.skipOWS()
		if p.i == len(p.s) || p.s[p.i] == ',' {
			return ""
		}
		if p.s[p.i] != ';' {
			return "text where \";\" or \",\" belongs"
		}
		p.i++
		p.skipOWS()
		if p.token() == 0 {
			return "a parameter without a name"
		}
		p.skipOWS()
		if p.i == len(p.s) || p.s[p.i] != '=' {
			continue
		}
		p.i++
		p.skipOWS()
		if p.i < len(p.s) && p.s[p.i] == '"' {
			if !p.quoted() {
				return "an unterminated quoted string"
			}
		} else if p.token() == 0 {
			return "a parameter with an empty value"
		}
	}
}

func (p *linkParser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// token consumes tchars (RFC 9110 §5.6.2) and returns how many.
func (p *linkParser) token() int {
	start := p.i
	for p.i < len(p.s) && isTchar(p.s[p.i]) {
		p.i++
	}
	return p.i - start
}

func isTchar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// quoted consumes a quoted-string (RFC 9110 §5.6.4) starting at its '"'.
func (p *linkParser) quoted() bool {
	for p.i++; p.i < len(p.s); p.i++ {
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return true
		case c == '\\':
			p.i++
			if p.i == len(p.s) || !isQuotedPair(p.s[p.i]) {
				return false
			}
		case c != '\t' && (c < ' ' || c == 0x7f):
			return false
		}
	}
	return false
}

func isQuotedPair(c byte) bool { return c == '\t' || c >= ' ' && c != 0x7f }
