package collect

import (
	"context"
	"errors"
	"fmt"
	"math"
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
//
// RateLimit-Reset is a time on GitLab's clock, so the pacer judges it
// against GitLab's time, not the local clock: it estimates the offset
// between the two from each response's Date header (RFC 9110 §6.6.1, the
// time the server generated the answer, to the second). A local clock 30 s
// fast would otherwise end every window 30 s early and send the next
// window's requests unpaced into a 429; one 30 s slow would wait 30 s too
// long per window.
type pacer struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	// maxWait is the longest a request may wait for its slot, as
	// ClientOptions.RetryAfterMax is for a 429's Retry-After: a longer wait
	// fails the request with a *WaitError instead.
	maxWait time.Duration

	mu       sync.Mutex
	hold     time.Time // no request before it: a 429's or 503's Retry-After
	known    bool      // a response told the current window's quota
	reset    time.Time // end of the current window
	budget   int       // requests still allowed in the window, in-flight ones subtracted
	next     time.Time // earliest slot for the next request
	inflight int       // requests sent and not answered yet
	clock    clockOffset
}

// maxClockOffset bounds a believable difference between the local clock and
// the Date of a response: beyond it the header is broken (or a proxy's
// cache), not a clock, and is ignored.
const maxClockOffset = 24 * time.Hour

// clockOffset estimates GitLab's clock minus the local clock from the Date
// headers of responses.
//
// A response generated at server time S, S in [Date, Date+1s) (Date is
// truncated to the second), and received at local time R tells offset >
// Date - R: the answer was generated before it arrived. Each sample is
// such a lower bound, short of the true offset by the truncation (< 1 s)
// plus the answer's latency, so the estimate is the largest sample seen.
// Erring low is the safe side: GitLab's time is then judged a little early,
// so a window is believed to last a little longer than it does, never
// shorter. A sample more than maxStep below the estimate cannot be
// truncation or ordinary latency: a clock was stepped (NTP, or another
// server behind the load balancer), and it replaces the estimate.
type clockOffset struct {
	known  bool
	offset time.Duration
}

// maxStep is how far below the estimate a sample may fall and still be
// read as truncation plus latency.
const maxStep = 2 * time.Second

// observe takes the Date header of a response received at local time recv.
func (c *clockOffset) observe(date string, recv time.Time) {
	if date == "" {
		return
	}
	at, err := http.ParseTime(date)
	if err != nil {
		return
	}
	sample := at.Sub(recv)
	if sample > maxClockOffset || sample < -maxClockOffset {
		return
	}
	if !c.known || sample > c.offset || sample < c.offset-maxStep {
		c.known, c.offset = true, sample
	}
}

// serverNow is GitLab's time now, as well as the responses so far tell it;
// p.mu must be held.
func (p *pacer) serverNow() time.Time {
	return p.now().Add(p.clock.offset)
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
// flight; every Wait that returns nil must be followed by one Done. A wait
// that would take longer than maxWait in all fails with a *WaitError. A
// sleep that returned is taken as the wait done, whatever the clock says,
// so that tests may skip the waits (ClientOptions.Sleep).
func (p *pacer) Wait(ctx context.Context) error {
	waited := time.Duration(0)
	for {
		p.mu.Lock()
		// GitLab's time: hold, reset, next and the slots are all on its
		// clock; only durations leave this function.
		now := p.serverNow()
		if hold := p.hold; now.Before(hold) {
			err := p.sleepLocked(ctx, &waited, hold.Sub(now), "before the next request (Retry-After)", func() {
				if p.hold.Equal(hold) {
					p.hold = time.Time{}
				}
			})
			if err != nil {
				return err
			}
			continue
		}
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
			reset := p.reset
			err := p.sleepLocked(ctx, &waited, reset.Sub(now), "for its rate limit window to end (RateLimit-Remaining ran out until RateLimit-Reset)", func() {
				if p.known && p.reset.Equal(reset) {
					p.known = false // the window is over
				}
			})
			if err != nil {
				return err
			}
			continue
		}
		if wait := at.Sub(now); waited+wait > p.maxWait {
			// So many requests are queued for the window that this one's
			// slot is further off than a request may wait.
			p.mu.Unlock()
			return &WaitError{Wait: waited + wait, Max: p.maxWait, Why: "for a slot in its rate limit window (RateLimit-Remaining, RateLimit-Reset)"}
		}
		p.next = at.Add(p.reset.Sub(at) / time.Duration(p.budget))
		p.budget--
		p.inflight++
		p.mu.Unlock()
		if err := p.sleep(ctx, at.Sub(now)); err != nil {
			p.Done(nil)
			return err
		}
		return nil
	}
}

// sleepLocked sleeps for wait, called with p.mu held, and returns with it
// released. A wait that would make waited more than maxWait fails with a
// *WaitError saying why. After the sleep, over runs under p.mu: the wait
// is over, whatever the clock says.
func (p *pacer) sleepLocked(ctx context.Context, waited *time.Duration, wait time.Duration, why string, over func()) error {
	if *waited+wait > p.maxWait {
		p.mu.Unlock()
		return &WaitError{Wait: *waited + wait, Max: p.maxWait, Why: why}
	}
	p.mu.Unlock()
	if err := p.sleep(ctx, wait); err != nil {
		return err
	}
	*waited += wait
	p.mu.Lock()
	over()
	p.mu.Unlock()
	return nil
}

// Done records the answer to a request Wait let through (h nil when there
// was none), learns GitLab's clock from its Date header and the window's
// quota from its RateLimit-* headers.
func (p *pacer) Done(h http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	if h == nil {
		return
	}
	p.clock.observe(h.Get("Date"), p.now())
	remaining, err1 := strconv.Atoi(h.Get("RateLimit-Remaining"))
	resetUnix, err2 := strconv.ParseInt(h.Get("RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil || remaining < 0 || resetUnix <= 0 {
		return
	}
	reset := time.Unix(resetUnix, 0)
	if !reset.After(p.serverNow()) {
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
//
// A 429 or 503 whose Retry-After (or RateLimit-Reset) asks for a wait holds
// every request until then, the retry of this one included (backoff does
// not wait again): GitLab's throttles count per user or IP, not per
// request (https://docs.gitlab.com/administration/settings/user_and_ip_rate_limits/),
// so the other requests in flight would only meet the same 429. A wait
// longer than the pacer's maxWait becomes a *WaitError instead: retrying
// after a capped wait would meet the same refusal RetryMax times, and
// waiting as long as asked could hold a run for days. The error has no
// response, so client-go does not retry it.
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
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if err := t.p.holdFor(resp); err != nil {
			resp.Body.Close()
			return nil, err
		}
	}
	return resp, err
}

// holdFor holds every request for as long as a 429 or 503 asks, or
// returns a *WaitError when that is longer than maxWait.
func (p *pacer) holdFor(resp *http.Response) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	// RateLimit-Reset and a dated Retry-After are on GitLab's clock.
	now := p.serverNow()
	d, ok := serverWait(resp.Header, now)
	if !ok {
		return nil
	}
	if d > p.maxWait {
		return &WaitError{Wait: d, Max: p.maxWait, Why: "before the next request (" + resp.Status + " with Retry-After or RateLimit-Reset)"}
	}
	if until := now.Add(d); until.After(p.hold) {
		p.hold = until
	}
	return nil
}

// ErrWaitTooLong is what every *WaitError matches (errors.Is).
var ErrWaitTooLong = errors.New("GitLab asked for a longer wait than allowed")

// WaitError is the error of a request GitLab asked to wait longer for than
// ClientOptions.RetryAfterMax allows.
type WaitError struct {
	Wait, Max time.Duration
	Why       string // what the wait is for, and which headers said so
}

func (e *WaitError) Error() string {
	secs := int64(math.Ceil(e.Wait.Seconds()))
	return fmt.Sprintf("GitLab asked to wait %d seconds %s, longer than the %s tokenaudit waits", secs, e.Why, e.Max)
}

// Is makes errors.Is(err, ErrWaitTooLong) true.
func (e *WaitError) Is(target error) bool { return target == ErrWaitTooLong }
