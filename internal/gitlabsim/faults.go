package gitlabsim

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Fault injection: what a client of a real GitLab meets between it and
// Rails: latency, 5xx answers from Rails, Workhorse or a load balancer,
// bursts of 429s, slow and truncated bodies, connections closed without an
// answer.
//
// Determinism: the injector numbers the requests it sees (those on
// Faults.Routes) 0, 1, 2, ... in arrival order, and every decision about
// request n is a hash of (Seed, n, kind of fault). The same seed and the same
// request order give the same faults, whatever the timing; concurrent
// clients whose requests arrive in a different order get the same sequence
// of faults by position, spread over different requests. Being a function of
// n alone, a decision needs no shared PRNG state, and a burst of 429s (a run
// of BurstLength requests from a start) is found by looking back
// BurstLength-1 positions.

// Bodies of injected 5xx answers. GitLab does not document its 5xx
// bodies; these follow what answers each status in front of a GitLab:
// Rails' own 500 (Grape's render_api_error! shape), Workhorse's badgateway
// round tripper ("GitLab is not responding", text/plain,
// workhorse/internal/badgateway/roundtripper.go), and a load balancer's
// (HAProxy's default error pages) 503 and 504.
var faultBodies = map[int]struct{ contentType, body string }{
	500: {"application/json", `{"message":"500 Internal Server Error"}`},
	502: {"text/plain", "GitLab is not responding"},
	503: {"text/html", "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"},
	504: {"text/html", "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n"},
}

var defaultFaultStatuses = []int{500, 502, 503}

// burstRetryAfter is the Retry-After of an injected 429, in seconds: the
// shortest a whole-second header can say, so tests that wait it out stay
// fast.
const burstRetryAfter = 1

// FaultStats count what the injector did; Requests are those it saw on
// Faults.Routes.
type FaultStats struct {
	Requests  int64
	Dropped   int64
	Errors    int64 // injected 5xx
	Throttled int64 // injected 429
	Slow      int64
	Truncated int64
}

// faultConfig is a Faults prepared for lookups.
type faultConfig struct {
	f        Faults
	routes   map[string]bool // nil: every route
	statuses []int
	burstLen int
}

func newFaultConfig(f Faults) *faultConfig {
	c := &faultConfig{f: f, statuses: f.ErrorStatuses, burstLen: f.BurstLength}
	if len(c.statuses) == 0 {
		c.statuses = defaultFaultStatuses
	}
	if c.burstLen < 1 {
		c.burstLen = 1
	}
	if len(f.Routes) > 0 {
		c.routes = make(map[string]bool, len(f.Routes))
		for _, r := range f.Routes {
			c.routes[r] = true
		}
	}
	return c
}

func (c *faultConfig) active() bool {
	f := c.f
	return f.Latency > 0 || f.Jitter > 0 || f.ErrorRate > 0 || f.Burst429 > 0 ||
		f.SlowBodyRate > 0 || f.TruncateRate > 0 || f.DropRate > 0
}

// faultInjector is the middleware behind newFaultInjector. Its Faults sit
// behind an atomic pointer so a test can change them while clients run
// (Set); the request numbering carries on across changes.
type faultInjector struct {
	seed  uint64
	route func(*http.Request) string
	now   func() time.Time
	rl    RateLimit // the throttle injected 429s claim in their headers
	cfg   atomic.Pointer[faultConfig]
	seq   atomic.Uint64

	requests, dropped, errors, throttled, slow, truncated atomic.Int64
}

// newFaultInjector returns the fault injector of opts.Faults under
// opts.Seed. route names a request's route template, for Faults.Routes.
func newFaultInjector(opts Options, route func(*http.Request) string) Middleware {
	return newFaultInjectorState(opts, route).middleware
}

// newFaultInjectorState builds the injector; the server keeps it to switch
// faults at run time (Set) and to read Stats.
func newFaultInjectorState(opts Options, route func(*http.Request) string) *faultInjector {
	fi := &faultInjector{seed: uint64(opts.Seed), route: route, now: clockOf(opts), rl: opts.RateLimit}
	fi.Set(opts.Faults)
	return fi
}

// Set replaces the faults injected from the next request on.
func (fi *faultInjector) Set(f Faults) {
	f.ErrorStatuses = append([]int(nil), f.ErrorStatuses...)
	f.Routes = append([]string(nil), f.Routes...)
	fi.cfg.Store(newFaultConfig(f))
}

// Stats returns what the injector has done so far.
func (fi *faultInjector) Stats() FaultStats {
	return FaultStats{
		Requests:  fi.requests.Load(),
		Dropped:   fi.dropped.Load(),
		Errors:    fi.errors.Load(),
		Throttled: fi.throttled.Load(),
		Slow:      fi.slow.Load(),
		Truncated: fi.truncated.Load(),
	}
}

// Salts separate the independent draws made for one request.
const (
	saltDrop uint64 = iota + 1
	saltBurst
	saltError
	saltStatus
	saltJitter
	saltSlow
	saltTruncate
)

// faultDecision is what happens to one request.
type faultDecision struct {
	delay    time.Duration
	drop     bool
	burst    bool
	status   int // injected 5xx; 0: none
	slow     bool
	truncate bool
}

// splitmix64 is the SplitMix64 finaliser: a cheap, well-mixed hash.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// draw is a uniform number in [0, 1) for request n and a salt.
func (fi *faultInjector) draw(n, salt uint64) float64 {
	h := splitmix64(splitmix64(fi.seed^salt*0xd1b54a32d192ed03) + n)
	return float64(h>>11) / (1 << 53)
}

// decide is the fault plan for request number n.
func (fi *faultInjector) decide(c *faultConfig, n uint64) faultDecision {
	f := c.f
	d := faultDecision{delay: f.Latency}
	if f.Jitter > 0 {
		d.delay += time.Duration(fi.draw(n, saltJitter) * float64(f.Jitter))
	}
	d.drop = fi.draw(n, saltDrop) < f.DropRate
	if f.Burst429 > 0 {
		for k := uint64(0); k < uint64(c.burstLen) && k <= n; k++ {
			if fi.draw(n-k, saltBurst) < f.Burst429 {
				d.burst = true
				break
			}
		}
	}
	if fi.draw(n, saltError) < f.ErrorRate {
		h := splitmix64(splitmix64(fi.seed^saltStatus) + n)
		d.status = c.statuses[h%uint64(len(c.statuses))]
	}
	d.slow = fi.draw(n, saltSlow) < f.SlowBodyRate
	d.truncate = fi.draw(n, saltTruncate) < f.TruncateRate
	return d
}

func (fi *faultInjector) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := fi.cfg.Load()
		if !c.active() || (c.routes != nil && (fi.route == nil || !c.routes[fi.route(r)])) {
			next.ServeHTTP(w, r)
			return
		}
		fi.requests.Add(1)
		d := fi.decide(c, fi.seq.Add(1)-1)
		if d.delay > 0 && !sleepCtx(r.Context(), d.delay) {
			return // the client is gone
		}
		switch {
		case d.drop:
			fi.dropped.Add(1)
			dropConnection(w)
		case d.burst:
			fi.throttled.Add(1)
			fi.write429(w, c.f.Burst429NoHeaders)
		case d.status != 0:
			fi.errors.Add(1)
			write5xx(w, d.status)
		case d.slow || d.truncate:
			buf := &bufferedWriter{header: w.Header(), status: http.StatusOK}
			next.ServeHTTP(buf, r)
			fi.replay(w, r, buf, c.f, d)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// sleepCtx sleeps for d unless ctx ends first; it reports whether it slept
// the whole time.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// dropConnection closes the connection without a byte of answer. Where the
// connection cannot be hijacked (HTTP/2), aborting the handler resets the
// stream instead.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// write429 answers like a Rack::Attack throttle (ratelimit.go), with a
// Retry-After of burstRetryAfter seconds and RateLimit-* headers claiming
// the configured throttle, or GitLab.com's 2,000 requests a minute.
func (fi *faultInjector) write429(w http.ResponseWriter, noHeaders bool) {
	h := w.Header()
	now := fi.now().Unix()
	reset := now + burstRetryAfter
	if !noHeaders {
		limit, period := 2000, int64(60)
		if fi.rl.Requests > 0 {
			limit, period = fi.rl.Requests, wholeSeconds(fi.rl.Period)
		}
		setRateLimitHeaders(h, throttleAuthenticatedAPI, limit, period, limit+1, reset)
		setHeader(h, "RateLimit-ResetTime", time.Unix(reset, 0).UTC().Format(http.TimeFormat))
	}
	setHeader(h, "Retry-After", strconv.Itoa(burstRetryAfter))
	text := fi.rl.ResponseText
	if text == "" {
		text = "Retry later"
	}
	body := text + "\n"
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(body))
}

// write5xx answers with status and the body of faultBodies.
func write5xx(w http.ResponseWriter, status int) {
	b, ok := faultBodies[status]
	if !ok {
		b.contentType, b.body = "text/plain", http.StatusText(status)
	}
	h := w.Header()
	h.Set("Content-Type", b.contentType)
	h.Set("Content-Length", strconv.Itoa(len(b.body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.body))
}

// bufferedWriter holds a handler's answer so it can be sent slowly or cut
// short. Headers go straight to the real writer's map.
type bufferedWriter struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(status int) {
	if !b.wroteHeader {
		b.status, b.wroteHeader = status, true
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.wroteHeader = true
	return b.body.Write(p)
}

// slowPieces is how many pieces a slow body is sent in.
const slowPieces = 8

// replay sends a buffered answer, cut short and/or slowly.
//
// A truncated body keeps the Content-Length of the whole body and stops at
// half of it: the server then closes the connection, and the client's read
// of the body fails with an unexpected EOF, as when a proxy dies mid-answer
// (a chunked answer cut short would need a broken chunk encoding to be
// noticed; a declared length makes every HTTP client notice). Only JSON
// bodies are cut; others are sent whole and not counted.
//
// A slow body goes out in slowPieces pieces, each flushed after a pause of
// SlowBodyTime/slowPieces; a client that gives up ends the answer early.
func (fi *faultInjector) replay(w http.ResponseWriter, r *http.Request, buf *bufferedWriter, f Faults, d faultDecision) {
	body := buf.body.Bytes()
	send := body
	if d.truncate && len(body) >= 2 && isJSON(buf.header.Get("Content-Type")) {
		fi.truncated.Add(1)
		send = body[:len(body)/2]
	}
	buf.header.Set("Content-Length", strconv.Itoa(len(body)))
	if !d.slow || f.SlowBodyTime <= 0 || len(send) == 0 {
		w.WriteHeader(buf.status)
		_, _ = w.Write(send)
		return
	}
	fi.slow.Add(1)
	rc := http.NewResponseController(w)
	w.WriteHeader(buf.status)
	_ = rc.Flush()
	pause := f.SlowBodyTime / slowPieces
	size := (len(send) + slowPieces - 1) / slowPieces
	for len(send) > 0 {
		if !sleepCtx(r.Context(), pause) {
			return
		}
		n := min(size, len(send))
		if _, err := w.Write(send[:n]); err != nil {
			return
		}
		_ = rc.Flush()
		send = send[n:]
	}
}

func isJSON(contentType string) bool {
	return strings.Contains(strings.ToLower(contentType), "json")
}

// mwState is a Server's throttles and fault injector, kept so tests can
// read what they did and switch faults while clients run.
type mwState struct {
	rl *rateLimiter     // nil: off
	el *endpointLimiter // nil: off
	fi *faultInjector
}

// middlewares builds the chain inside the server's request counting, in
// this order: the Rack::Attack-style throttle (ratelimit.go),
// GitLab.com's per-endpoint limits, then faults; and keeps their state.
func (s *Server) middlewares() []Middleware {
	st := &mwState{
		rl: newRateLimiterState(s.opts),
		el: newEndpointLimiterState(s.opts, s.routeOf),
		fi: newFaultInjectorState(s.opts, s.routeOf),
	}
	s.mw = st
	pass := func(next http.Handler) http.Handler { return next }
	mws := []Middleware{pass, pass, st.fi.middleware}
	if st.rl != nil {
		mws[0] = st.rl.middleware
	}
	if st.el != nil {
		mws[1] = st.el.middleware
	}
	return mws
}

// SetFaults replaces the injected faults from the next request on; the
// request numbering that makes faults reproducible carries on.
func (s *Server) SetFaults(f Faults) { s.mw.fi.Set(f) }

// FaultStats returns what the fault injector has done so far.
func (s *Server) FaultStats() FaultStats { return s.mw.fi.Stats() }

// ThrottleStats count the 429s the server's rate limits answered.
type ThrottleStats struct {
	RateLimited     int64 // by the per-token throttle (Options.RateLimit)
	EndpointLimited int64 // by the per-endpoint limits (Options.EndpointLimits)
}

// ThrottleStats returns the 429s answered so far by the rate limits
// (injected 429 bursts are in FaultStats).
func (s *Server) ThrottleStats() ThrottleStats {
	return ThrottleStats{RateLimited: s.mw.rl.Throttled(), EndpointLimited: s.mw.el.Throttled()}
}
