package inventory

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// pacer spreads the requests GitLab still allows over the time left until
// its rate-limit window resets, read from the RateLimit-Remaining and
// RateLimit-Reset headers GitLab sends on every response of a throttled API
// (GitLab.com; https://docs.gitlab.com/administration/settings/user_and_ip_rate_limits/#response-headers).
// Without those headers it never waits: self-managed instances send them
// only on 429s, and then the retry backoff honours Retry-After.
//
// Why not client-go's own limiter: it reads RateLimit-Limit once, from the
// first response, and then allows two thirds of it with a burst of a third
// (gitlab.go configureLimiter), so a whole run takes 1.5 times the rate
// bound and never learns what other clients of the same user spend.
//
// Windows are fixed (Rack::Attack counts per period aligned to the epoch),
// so a window's whole quota may be spent inside it: the pacer gives request
// n of the window the slot now + n × (time to reset / remaining), and
// re-reads the quota from every response.
type pacer struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	// maxWait caps one wait, as ClientOptions.RetryAfterMax caps a 429's:
	// past it the request goes and risks a 429.
	maxWait time.Duration

	mu       sync.Mutex
	known    bool      // a response told the current window's quota
	reset    time.Time // end of the current window
	budget   int       // requests still allowed in the window, in-flight ones subtracted
	next     time.Time // earliest slot for the next request
	inflight int       // requests sent and not answered yet
}

func newPacer(maxWait time.Duration) *pacer {
	return &pacer{now: time.Now, sleep: sleepCtx, maxWait: maxWait}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait blocks until the next request may be sent and counts it as in
// flight; every Wait that returns nil must be followed by one Done.
func (p *pacer) Wait(ctx context.Context) error {
	waited := time.Duration(0)
	for {
		p.mu.Lock()
		now := p.now()
		if p.known && !now.Before(p.reset) {
			// The window ended: its successor's quota is unknown until the
			// next response tells it; until then requests go unpaced (at
			// most the collector's concurrency of them).
			p.known = false
		}
		if !p.known {
			p.inflight++
			p.mu.Unlock()
			return nil
		}
		at := now
		if p.next.After(at) {
			at = p.next
		}
		if p.budget <= 0 || !at.Before(p.reset) {
			// Nothing left in this window: wait for the next one.
			wait := p.reset.Sub(now)
			if waited+wait > p.maxWait {
				p.inflight++
				p.mu.Unlock()
				if err := p.sleep(ctx, p.maxWait-waited); err != nil {
					p.Done(nil)
					return err
				}
				return nil
			}
			p.mu.Unlock()
			if err := p.sleep(ctx, wait); err != nil {
				return err
			}
			waited += wait
			continue
		}
		p.next = at.Add(p.reset.Sub(at) / time.Duration(p.budget))
		p.budget--
		p.inflight++
		p.mu.Unlock()
		if err := p.sleep(ctx, min(at.Sub(now), max(p.maxWait-waited, 0))); err != nil {
			p.Done(nil)
			return err
		}
		return nil
	}
}

// Done records the answer to a request Wait let through (h nil when there
// was none) and learns the window's quota from its RateLimit-* headers.
func (p *pacer) Done(h http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	if h == nil {
		return
	}
	remaining, err1 := strconv.Atoi(h.Get("RateLimit-Remaining"))
	resetUnix, err2 := strconv.ParseInt(h.Get("RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil || remaining < 0 || resetUnix <= 0 {
		return
	}
	reset := time.Unix(resetUnix, 0)
	if !reset.After(p.now()) {
		return // a late answer from a window already over
	}
	// remaining was counted when this request arrived; requests still in
	// flight may arrive after it and spend from it too.
	budget := remaining - p.inflight
	switch {
	case !p.known || reset.After(p.reset):
		p.known, p.reset, p.budget = true, reset, budget
		p.next = time.Time{}
	case reset.Equal(p.reset):
		// Another client of the same user may be spending the quota too:
		// believe the smaller figure.
		p.budget = min(p.budget, budget)
	}
}

// pacedTransport waits for the pacer before each attempt, retries included
// (client-go's limiter sees only the first attempt of a request).
type pacedTransport struct {
	p    *pacer
	next http.RoundTripper
}

func (t *pacedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.p.Wait(r.Context()); err != nil {
		return nil, err
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil || resp == nil {
		t.p.Done(nil)
		return resp, err
	}
	t.p.Done(resp.Header)
	return resp, err
}
