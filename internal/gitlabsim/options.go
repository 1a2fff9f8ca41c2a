package gitlabsim

import (
	"net/http"
	"time"
)

// Options configure a Server. The zero value serves the World as it is:
// no rate limit, no faults, no added latency.
type Options struct {
	// RateLimit is a per-token Rack::Attack-style throttle; zero: off.
	RateLimit RateLimit
	// EndpointLimits turns on GitLab.com's per-endpoint application limits
	// (GET /groups 50/min, GET /projects 2,000/10 min, GET /users/:id
	// 300/10 min, ...), answered with the JSON 429 body and no headers.
	EndpointLimits bool
	// Faults injects failures, deterministically under Seed; zero: off.
	Faults Faults
	// Seed makes fault injection reproducible.
	Seed int64
	// Clock is the wall clock for rate-limit windows; nil: time.Now.
	// (World.Now, not Clock, decides token expiry.)
	Clock func() time.Time
	// Addr is the host:port to listen on; "" means DefaultAddr, a free
	// port on 127.0.0.1. The server's own URLs (URL, web_url) name it.
	// It must be a loopback address unless AllowRemote is set: the
	// simulator answers anyone who presents the tokens it hands out.
	Addr string
	// AllowRemote lets Addr be any address, such as ":8080".
	AllowRemote bool
	// NoGraphQL serves a GitLab without /api/graphql, as one behind a
	// proxy that does not pass it on, or one older than the GraphQL API:
	// the path answers Rails' 404 page (graphql.go).
	NoGraphQL bool
}

// DefaultAddr is where a server listens when Options.Addr is empty.
const DefaultAddr = "127.0.0.1:0"

// RateLimit is a fixed-window throttle per authenticated token, like
// GitLab's throttle_authenticated_api.
type RateLimit struct {
	Requests int           // allowed per Period; 0: off
	Period   time.Duration // window length, rounded up to whole seconds (at least 1); windows are aligned to the epoch
	// HeadersOnAll sends RateLimit-Limit/-Name/-Observed/-Remaining/-Reset
	// on every response, not only on 429s (GitLab MR !209485, GitLab.com).
	HeadersOnAll bool
	// ResponseText is the 429 body without the trailing newline; "" means
	// GitLab's default "Retry later".
	ResponseText string
}

// Faults describe injected failures. Rates are shares of requests, 0 to 1.
// The n-th request on Routes gets faults that are a hash of (Seed, n), so
// the same seed and request order give the same faults (faults.go).
type Faults struct {
	Latency time.Duration // added to every request
	Jitter  time.Duration // uniform extra latency in [0, Jitter)
	// ErrorRate answers that share of requests with one of ErrorStatuses
	// (default 500, 502, 503).
	ErrorRate     float64
	ErrorStatuses []int
	// Burst429 answers runs of BurstLength consecutive requests with 429 and
	// Retry-After (RateLimit-* headers too unless Burst429NoHeaders), a run
	// starting on that share of requests. Retry-After is 1 s; BurstLength
	// 0 means 1.
	Burst429          float64
	BurstLength       int
	Burst429NoHeaders bool
	// SlowBodyRate sends that share of bodies slowly (in pieces with pauses).
	SlowBodyRate float64
	SlowBodyTime time.Duration
	// TruncateRate cuts that share of JSON bodies short: half the body is
	// sent under the whole body's Content-Length, so reading it fails.
	TruncateRate float64
	// DropRate closes that share of connections without an answer.
	DropRate float64
	// Routes limits faults to these route templates ("GET /projects/:id/access_tokens");
	// empty means every route.
	Routes []string
}

// Middleware wraps a handler; the server chains counting, rate limiting and
// faults around its routes.
type Middleware func(http.Handler) http.Handler
