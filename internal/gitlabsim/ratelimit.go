package gitlabsim

import (
	"crypto/sha256"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Rate limiting, as GitLab does it in two layers
// (https://docs.gitlab.com/administration/settings/user_and_ip_rate_limits/):
//
//   - Rack::Attack throttles (newRateLimiter): a fixed window per user or
//     IP, 429 with a text/plain "Retry later\n" body and RateLimit-* plus
//     Retry-After headers computed as in Gitlab::RackAttack.throttled_response_headers
//     (gitlabhq lib/gitlab/rack_attack.rb@056dd422).
//   - Application limits on single endpoints (newEndpointLimiter): the
//     Gitlab::ApplicationRateLimiter limits GitLab.com sets on the projects,
//     groups and users APIs, 429 with a JSON body and no RateLimit headers
//     ("Rate limiting responses for the Projects, Groups, and Users APIs do
//     not include informational headers", doc/user/gitlab_com/rate_limits.md).
//
// Both count every request, throttled ones included, and throttle once the
// count exceeds the limit; this is why GitLab can report
// RateLimit-Observed above RateLimit-Limit (testdata/fixtures/errors/429_rack_attack_headers.txt).

// The throttle names GitLab sends in RateLimit-Name. An unauthenticated API
// request falls under the unauthenticated throttle, keyed by IP.
const (
	throttleAuthenticatedAPI   = "throttle_authenticated_api"
	throttleUnauthenticatedAPI = "throttle_unauthenticated_api"
)

// endpointLimitBody is GitLab's application-limiter 429 body
// (testdata/fixtures/errors/429_application_rate_limiter.json).
const endpointLimitBody = `{"message":{"error":"This endpoint has been requested too many times. Try again later."}}`

// clientKey identifies who a request counts against: a SHA-256 of the token
// (the token itself is never kept), or the remote IP for a request without
// one. GitLab keys authenticated throttles by user ID; without the World the
// limiter cannot map a token to its user, so two tokens of one user get two
// buckets here, and an invalid token counts as its own "user" rather than as
// its IP.
func clientKey(r *http.Request) (key string, authenticated bool) {
	if t := callerSecret(r); t != "" {
		sum := sha256.Sum256([]byte(t))
		return "t:" + string(sum[:]), true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + host, false
}

// wholeSeconds is a period in whole seconds, at least 1: Rack::Attack and
// the application limiter count in integer seconds.
func wholeSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// windowCounter counts requests per key in fixed windows aligned to the
// epoch, like Rack::Attack's cache key "#{prefix}:#{epoch_time / period}:#{key}".
type windowCounter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	window int64 // epoch seconds / period
	count  int
}

// maxBuckets bounds the map; past it, buckets of ended windows are dropped.
const maxBuckets = 4096

// hit counts one request of key at nowSec in windows of periodSec and
// returns the count in the current window, this request included, and the
// unix time the window ends.
func (c *windowCounter) hit(key string, nowSec, periodSec int64) (count int, windowEnd int64) {
	window := floorDiv(nowSec, periodSec)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buckets == nil {
		c.buckets = make(map[string]*bucket)
	}
	b := c.buckets[key]
	if b == nil {
		if len(c.buckets) >= maxBuckets {
			for k, old := range c.buckets {
				if old.window != window {
					delete(c.buckets, k)
				}
			}
		}
		b = &bucket{window: window}
		c.buckets[key] = b
	}
	if b.window != window {
		b.window, b.count = window, 0
	}
	b.count++
	return b.count, (window + 1) * periodSec
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// clockOf returns opts.Clock or time.Now.
func clockOf(opts Options) func() time.Time {
	if opts.Clock != nil {
		return opts.Clock
	}
	return time.Now
}

// rateLimiter is the Rack::Attack-style throttle behind newRateLimiter.
type rateLimiter struct {
	limit     int
	periodSec int64
	headers   bool // RateLimit-* on every response
	body      string
	now       func() time.Time
	counter   windowCounter
	throttled atomic.Int64
}

// newRateLimiter returns the per-token throttle of opts.RateLimit, or a
// pass-through when RateLimit.Requests is 0. It applies to API paths
// (/api/...), as throttle_authenticated_api does. route is unused: the
// throttle covers every API route alike.
func newRateLimiter(opts Options, route func(*http.Request) string) Middleware {
	rl := newRateLimiterState(opts)
	if rl == nil {
		return func(next http.Handler) http.Handler { return next }
	}
	return rl.middleware
}

// newRateLimiterState builds the throttle; nil when it is off. The server
// may keep it to read Throttled.
func newRateLimiterState(opts Options) *rateLimiter {
	if opts.RateLimit.Requests <= 0 {
		return nil
	}
	text := opts.RateLimit.ResponseText
	if text == "" {
		text = "Retry later"
	}
	return &rateLimiter{
		limit:     opts.RateLimit.Requests,
		periodSec: wholeSeconds(opts.RateLimit.Period),
		headers:   opts.RateLimit.HeadersOnAll,
		body:      text + "\n",
		now:       clockOf(opts),
	}
}

// Throttled is the number of requests answered 429 so far.
func (rl *rateLimiter) Throttled() int64 {
	if rl == nil {
		return 0
	}
	return rl.throttled.Load()
}

func (rl *rateLimiter) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		key, authenticated := clientKey(r)
		name := throttleAuthenticatedAPI
		if !authenticated {
			name = throttleUnauthenticatedAPI
		}
		now := rl.now().Unix()
		observed, reset := rl.counter.hit(key, now, rl.periodSec)
		if observed > rl.limit {
			rl.throttled.Add(1)
			h := w.Header()
			setRateLimitHeaders(h, name, rl.limit, rl.periodSec, observed, reset)
			// Retry-After = period - now % period, so that now + Retry-After
			// is the window end (rack_attack.rb throttled_response_headers).
			setHeader(h, "RateLimit-ResetTime", time.Unix(reset, 0).UTC().Format(http.TimeFormat))
			setHeader(h, "Retry-After", strconv.FormatInt(reset-now, 10))
			h.Set("Content-Type", "text/plain")
			h.Set("Content-Length", strconv.Itoa(len(rl.body)))
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(rl.body))
			return
		}
		if rl.headers {
			setRateLimitHeaders(w.Header(), name, rl.limit, rl.periodSec, observed, reset)
		}
		next.ServeHTTP(w, r)
	})
}

// setRateLimitHeaders sets the RateLimit-* headers GitLab sends on every
// response once MR !209485 is on: the limit normalised to a minute (rounded
// up), and Remaining computed with the raw limit, as rack_attack.rb does.
func setRateLimitHeaders(h http.Header, name string, limit int, periodSec int64, observed int, reset int64) {
	perMinute := (int64(limit)*60 + periodSec - 1) / periodSec
	remaining := limit - observed
	if remaining < 0 {
		remaining = 0
	}
	setHeader(h, "RateLimit-Name", name)
	setHeader(h, "RateLimit-Limit", strconv.FormatInt(perMinute, 10))
	setHeader(h, "RateLimit-Observed", strconv.Itoa(observed))
	setHeader(h, "RateLimit-Remaining", strconv.Itoa(remaining))
	setHeader(h, "RateLimit-Reset", strconv.FormatInt(reset, 10))
}

// setHeader stores a header under GitLab's spelling ("RateLimit-Reset", not
// Go's canonical "Ratelimit-Reset") so the wire shows what GitLab sends;
// header names are case-insensitive, so clients read either. Any canonical
// copy is removed so the header is not sent twice.
func setHeader(h http.Header, name, value string) {
	if c := http.CanonicalHeaderKey(name); c != name {
		delete(h, c)
	}
	h[name] = []string{value}
}

// endpointLimit is one GitLab.com application limit.
type endpointLimit struct {
	requests  int
	periodSec int64
}

// gitLabComEndpointLimits are GitLab.com's per-endpoint application limits
// for the routes the simulator serves, per user
// (https://docs.gitlab.com/user/gitlab_com/rate_limits/, "Current rate
// limits"). Unauthenticated GET /projects has its own, per-IP limit.
var gitLabComEndpointLimits = map[string]endpointLimit{
	"GET /groups":              {50, 60},
	"GET /projects":            {2000, 600},
	"GET /groups/:id/projects": {600, 60},
	"GET /projects/:id":        {400, 60},
	"GET /groups/:id":          {400, 60},
	"GET /users/:id":           {300, 600},
}

var unauthenticatedProjectsLimit = endpointLimit{400, 600}

// endpointLimiter is the application limiter behind newEndpointLimiter.
type endpointLimiter struct {
	route     func(*http.Request) string
	limits    map[string]endpointLimit
	now       func() time.Time
	counter   windowCounter
	throttled atomic.Int64
}

// newEndpointLimiter returns GitLab.com's per-endpoint application limits
// when opts.EndpointLimits is set, else a pass-through. route names a
// request's route template ("GET /groups/:id").
//
// The 429 carries GitLab's JSON body and no RateLimit-* headers. It carries
// no Retry-After either: the application limiter's API helper
// (lib/api/helpers/rate_limiter.rb, render_api_error!) sets none in the code
// read, and no GitLab documentation says whether it sends one; a
// client must then fall back to its own backoff, the harder case to handle.
func newEndpointLimiter(opts Options, route func(*http.Request) string) Middleware {
	el := newEndpointLimiterState(opts, route)
	if el == nil {
		return func(next http.Handler) http.Handler { return next }
	}
	return el.middleware
}

// newEndpointLimiterState builds the limiter; nil when it is off.
func newEndpointLimiterState(opts Options, route func(*http.Request) string) *endpointLimiter {
	if !opts.EndpointLimits || route == nil {
		return nil
	}
	return &endpointLimiter{route: route, limits: gitLabComEndpointLimits, now: clockOf(opts)}
}

// Throttled is the number of requests answered 429 so far.
func (el *endpointLimiter) Throttled() int64 {
	if el == nil {
		return 0
	}
	return el.throttled.Load()
}

func (el *endpointLimiter) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tmpl := el.route(r)
		lim, ok := el.limits[tmpl]
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		key, authenticated := clientKey(r)
		if !authenticated && tmpl == "GET /projects" {
			lim = unauthenticatedProjectsLimit
		}
		count, _ := el.counter.hit(tmpl+"\x00"+key, el.now().Unix(), lim.periodSec)
		if count > lim.requests {
			el.throttled.Add(1)
			writeJSONBody(w, http.StatusTooManyRequests, []byte(endpointLimitBody))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeJSONBody answers with a JSON body as Grape does.
func writeJSONBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
