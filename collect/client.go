package collect

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/time/rate"
)

// ClientOptions configure NewClient. The zero value works: GitLab-friendly
// retry waits, five retries, a 60 s timeout per request, answers up to
// DefaultMaxBodyBytes.
type ClientOptions struct {
	// HTTPClient is the base client; nil: a fresh pooled client. NewClient
	// uses a copy whose transport it wraps (guardTransport, the pacer, the
	// request counter), so the token never goes to another origin whatever
	// the client's CheckRedirect says. Its Timeout, when set and Timeout
	// below is zero, becomes the per-attempt timeout.
	HTTPClient *http.Client
	// RetryMax is the number of retries after the first attempt of a request
	// (5xx, 429, dropped connections); 0: DefaultRetryMax; < 0: no retries.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff between
	// retries of a 5xx or a 429 without rate-limit headers; zero: 500 ms and 30 s.
	RetryWaitMin, RetryWaitMax time.Duration
	// RetryAfterMax is the longest a 429's (or 503's) Retry-After or
	// RateLimit-Reset, or the pacing from RateLimit-* headers, may make a
	// request wait; a request GitLab asks to wait longer fails with a
	// *WaitError. Zero: 5 minutes.
	RetryAfterMax time.Duration
	// Timeout bounds one HTTP attempt, from sending the request to the end
	// of its body; waits for the rate limit and between retries are not
	// part of it. Zero: 60 s.
	Timeout time.Duration
	// MaxBodyBytes bounds the body of one answer, after decompression; a
	// longer one fails the request with a *BodyTooLargeError. Zero:
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Clock is the wall clock that pacing and retry waits measure against;
	// nil: time.Now. It never judges a token (audit does, at its own now).
	Clock func() time.Time
	// Sleep is how the client waits for GitLab's rate limit and for a
	// 429's or 503's Retry-After; nil: a timer. A Sleep that returns early
	// skips the wait (the pacer takes it as done), which lets tests against
	// a throttling simulator run fast; RetryAfterMax still decides which
	// waits are too long. Backoff after 5xx is not covered (RetryWaitMin
	// and RetryWaitMax bound it).
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetryMax is the number of retries when ClientOptions does not say.
const DefaultRetryMax = 5

// RequestCounter counts the HTTP requests a client makes, retries included.
// It is safe for concurrent use.
type RequestCounter struct {
	n    atomic.Int64
	next http.RoundTripper
}

// RoundTrip counts the request and passes it on.
func (c *RequestCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// Count returns the requests made so far.
func (c *RequestCounter) Count() int {
	if c == nil {
		return 0
	}
	return int(c.n.Load())
}

// NewClient builds the one client-go client a collection uses: base URL,
// token, retries that honour Retry-After, and transports that refuse to
// send the token anywhere but baseURL's origin, check what GitLab answers
// (guardTransport), pace requests from GitLab's RateLimit-* headers and
// count them. The command and the tests build their clients here so both
// behave the same. The token is only handed to client-go; it is never
// logged.
func NewClient(baseURL, token string, opts ClientOptions) (*gitlab.Client, *RequestCounter, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, nil, fmt.Errorf("create gitlab client: base URL %q is not an http(s) URL with a host", redactBase(baseURL))
	}
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient
		hc = &c
	}
	next := hc.Transport
	if next == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Keep a connection per request in flight: the default of 2 idle
		// connections per host makes every request above 2 in flight open
		// a new connection (and TLS handshake) to GitLab.
		t.MaxIdleConnsPerHost = 128
		next = t
	}
	if opts.Timeout == 0 {
		opts.Timeout = hc.Timeout
	}
	if opts.Timeout == 0 {
		opts.Timeout = 60 * time.Second
	}
	// The attempt is timed in guardTransport, below the pacer: the
	// client's Timeout would also run while the pacer waits for GitLab's
	// rate limit window, and fail requests that were never sent.
	hc.Timeout = 0
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.RetryMax == 0 {
		opts.RetryMax = DefaultRetryMax
	}
	if opts.RetryMax < 0 {
		opts.RetryMax = 0
	}
	if opts.RetryWaitMin == 0 {
		opts.RetryWaitMin = 500 * time.Millisecond
	}
	if opts.RetryWaitMax == 0 {
		opts.RetryWaitMax = 30 * time.Second
	}
	if opts.RetryAfterMax == 0 {
		opts.RetryAfterMax = 5 * time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	p := newPacer(opts.RetryAfterMax)
	p.now = opts.Clock
	if opts.Sleep != nil {
		p.sleep = opts.Sleep
	}
	// Every attempt is counted, paced from the RateLimit-* headers
	// (pacer.go) and guarded (transport.go), in that order.
	guard := &guardTransport{origin: originOf(u), timeout: opts.Timeout, maxBody: opts.MaxBodyBytes, next: next}
	counter := &RequestCounter{next: &pacedTransport{p: p, next: routeMarker{next: guard}}}
	hc.Transport = counter
	client, err := gitlab.NewClient(token,
		gitlab.WithBaseURL(baseURL),
		gitlab.WithHTTPClient(hc),
		gitlab.WithCustomRetryMax(opts.RetryMax),
		gitlab.WithCustomRetryWaitMinMax(opts.RetryWaitMin, opts.RetryWaitMax),
		gitlab.WithCustomBackoff(backoff),
		// The transport paces; an unlimited limiter keeps client-go's own,
		// which would allow only two thirds of the rate (pacer.go).
		gitlab.WithCustomLimiter(rate.NewLimiter(rate.Inf, 0)),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("create gitlab client for %s: %w", redactBase(baseURL), err)
	}
	return client, counter, nil
}

// backoff returns the wait before a retry. A 429 or 503 that says how long
// to wait (Retry-After in seconds or as a date, else RateLimit-Reset as a
// unix time,
// https://docs.gitlab.com/administration/settings/user_and_ip_rate_limits/#response-headers)
// is retried at once: the pacer holds the retry, and every other request,
// for as long as GitLab asked (pacer.holdFor). Without those headers
// (GitLab's application limiter sends none), and for 5xx, it backs off
// exponentially from min to max with jitter. client-go's own backoff
// ignores Retry-After and waits a fixed 0.7–0.9 s on 5xx.
func backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if _, ok := serverWait(resp.Header, time.Time{}); ok {
			return 0
		}
	}
	d := time.Duration(float64(min) * math.Pow(2, float64(attempt)))
	if d > max || d <= 0 {
		d = max
	}
	// Up to 25% jitter keeps concurrent workers from retrying in step.
	return d - time.Duration(rand.Float64()*float64(d)/4)
}

// redactBase is a base URL fit for an error message: without user info
// or query, or nothing when it does not parse.
func redactBase(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return redactURL(u)
}

// serverWait reads how long the server asked the client to wait.
func serverWait(h http.Header, now time.Time) (time.Duration, bool) {
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
			if s > math.MaxInt64/int64(time.Second) {
				return math.MaxInt64, true // centuries; the Duration would overflow
			}
			return time.Duration(s) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	if v := h.Get("RateLimit-Reset"); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 {
			return max(time.Unix(s, 0).Sub(now), 0), true
		}
	}
	return 0, false
}
