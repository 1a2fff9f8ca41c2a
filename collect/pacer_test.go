package collect

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// fakeClock is a clock that moves only when the pacer sleeps.
type fakeClock struct {
	t     time.Time
	slept []time.Duration
}

func newFakePacer(maxWait time.Duration) (*pacer, *fakeClock) {
	c := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	p := newPacer(maxWait)
	p.now = func() time.Time { return c.t }
	p.sleep = func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.slept = append(c.slept, d)
		c.t = c.t.Add(d)
		return nil
	}
	return p, c
}

func rateHeaders(remaining int, reset time.Time) http.Header {
	h := http.Header{}
	h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	return h
}

func TestPacerWithoutHeadersNeverWaits(t *testing.T) {
	p, c := newFakePacer(time.Minute)
	start := c.t
	for range 1000 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		p.Done(http.Header{"Content-Type": {"application/json"}})
	}
	if c.t != start {
		t.Errorf("paced without RateLimit headers: clock moved %s", c.t.Sub(start))
	}
}

func TestPacerSpreadsRemainingOverWindow(t *testing.T) {
	p, c := newFakePacer(time.Minute)
	reset := c.t.Add(10 * time.Second)
	// A first answer says 10 requests are left for 10 s.
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Done(rateHeaders(10, reset))
	var sent []time.Time
	for range 10 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, c.t)
		p.Done(nil)
	}
	for i, at := range sent {
		if !at.Before(reset) {
			t.Fatalf("request %d of the window's 10 sent at reset+%s", i, at.Sub(reset))
		}
		if i > 0 && at.Sub(sent[i-1]) != time.Second {
			t.Errorf("request %d sent %s after the one before, want 1s (10 s / 10 left)", i, at.Sub(sent[i-1]))
		}
	}
	// The quota is spent: the next request waits for the window's end.
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.t.Before(reset) {
		t.Errorf("an 11th request of a 10-request window went at reset-%s", reset.Sub(c.t))
	}
}

func TestPacerRequestsInFlightSpendTheQuota(t *testing.T) {
	p, c := newFakePacer(time.Minute)
	reset := c.t.Add(4 * time.Second)
	for range 3 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// One answer says 3 left, while two other requests are still out:
	// only one more may go in this window.
	p.Done(rateHeaders(3, reset))
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.t.After(reset.Add(-time.Second)) {
		t.Fatalf("first request after the answer waited until reset-%s", reset.Sub(c.t))
	}
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.t.Before(reset) {
		t.Errorf("a request beyond the quota minus those in flight went at reset-%s", reset.Sub(c.t))
	}
}

// serverHeaders are rateHeaders answered by a server whose clock reads
// server: its Date, truncated to the second as HTTP dates are.
func serverHeaders(remaining int, reset, server time.Time) http.Header {
	h := rateHeaders(remaining, reset)
	h.Set("Date", server.UTC().Format(http.TimeFormat))
	return h
}

// TestPacerJudgesResetOnGitLabsClock: with GitLab's clock 30 s ahead of or
// behind the local one, the pacer spreads a window's quota exactly as when
// the clocks agree: 10 requests left for 10 s go 1 s apart, all inside the
// window, and the 11th waits for the window's end.
func TestPacerJudgesResetOnGitLabsClock(t *testing.T) {
	for _, skew := range []time.Duration{0, 30 * time.Second, -30 * time.Second} {
		t.Run(skew.String(), func(t *testing.T) {
			p, c := newFakePacer(time.Minute)
			server := func() time.Time { return c.t.Add(skew) }
			reset := server().Add(10 * time.Second)
			if err := p.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			p.Done(serverHeaders(10, reset, server()))
			var sent []time.Time
			for range 10 {
				if err := p.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
				sent = append(sent, server())
				p.Done(serverHeaders(10-len(sent), reset, server()))
			}
			for i, at := range sent {
				if !at.Before(reset) {
					t.Fatalf("request %d of the window's 10 sent at reset+%s (GitLab's clock)", i, at.Sub(reset))
				}
				if i > 0 && at.Sub(sent[i-1]) != time.Second {
					t.Errorf("request %d sent %s after the one before, want 1s (10 s / 10 left)", i, at.Sub(sent[i-1]))
				}
			}
			if err := p.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := server(); !got.Equal(reset) {
				t.Errorf("the 11th request went at reset%+v (GitLab's clock), want at reset", got.Sub(reset))
			}
		})
	}
}

// TestPacerClockOffsetSamples: the offset is the largest lower bound the
// Date headers give, absurd or unparsable dates are ignored, and a sample
// far below the estimate (a stepped clock) replaces it.
func TestPacerClockOffsetSamples(t *testing.T) {
	recv := time.Unix(1_800_000_000, 0).Add(300 * time.Millisecond)
	date := func(d time.Duration) string { return recv.Add(d).UTC().Format(http.TimeFormat) }
	var c clockOffset
	steps := []struct {
		name, date string
		want       time.Duration
	}{
		// recv+30.3s truncates to recv+30s-0.3s: a lower bound of 29.7 s.
		{"first sample", date(30 * time.Second), 30*time.Second - 300*time.Millisecond},
		{"a tighter bound raises it", date(30*time.Second + 800*time.Millisecond), 30*time.Second + 700*time.Millisecond},
		{"a looser bound keeps it", date(29*time.Second + 900*time.Millisecond), 30*time.Second + 700*time.Millisecond},
		{"no Date keeps it", "", 30*time.Second + 700*time.Millisecond},
		{"an unparsable Date keeps it", "yesterday", 30*time.Second + 700*time.Millisecond},
		{"a Date days away keeps it", date(72 * time.Hour), 30*time.Second + 700*time.Millisecond},
		{"the epoch keeps it", time.Unix(0, 0).UTC().Format(http.TimeFormat), 30*time.Second + 700*time.Millisecond},
		{"a stepped clock replaces it", date(-10 * time.Second), -10*time.Second - 300*time.Millisecond},
	}
	for _, st := range steps {
		c.observe(st.date, recv)
		if !c.known || c.offset != st.want {
			t.Fatalf("%s: offset %s (known %v), want %s", st.name, c.offset, c.known, st.want)
		}
	}
}

func TestPacerHonoursSmallerRemainingAndIgnoresOldWindows(t *testing.T) {
	p, c := newFakePacer(time.Minute)
	reset := c.t.Add(10 * time.Second)
	for range 3 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	p.Done(rateHeaders(100, reset))
	// Another client of the same user spent the quota: 0 left.
	p.Done(rateHeaders(0, reset))
	// A late answer from a window already over changes nothing.
	p.Done(rateHeaders(500, c.t.Add(-time.Second)))
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.t.Before(reset) {
		t.Errorf("sent at reset-%s with 0 left in the window", reset.Sub(c.t))
	}
}

// TestPacerWaitLongerThanMaxFails: a window that ends further off than
// maxWait fails the request at once with a *WaitError saying how long
// GitLab asked to wait, instead of sleeping the cap and sending anyway; so
// does a slot in the window that is further off. A cancelled context ends
// a wait.
func TestPacerWaitLongerThanMaxFails(t *testing.T) {
	p, c := newFakePacer(2 * time.Second)
	start := c.t
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Done(rateHeaders(0, start.Add(time.Minute))) // nothing left for the next minute
	err := p.Wait(context.Background())
	var we *WaitError
	if !errors.As(err, &we) || !errors.Is(err, ErrWaitTooLong) {
		t.Fatalf("Wait for a window a minute away with a 2s cap: %v, want a *WaitError", err)
	}
	if !strings.Contains(err.Error(), "asked to wait 60 seconds") {
		t.Errorf("error %q does not say GitLab asked to wait 60 seconds", err)
	}
	if len(c.slept) != 0 {
		t.Errorf("slept %v before failing, want no sleep", c.slept)
	}

	// 3 requests left for 9 s: slots 3 s apart, the third 6 s off.
	p, c = newFakePacer(4 * time.Second)
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Done(rateHeaders(3, c.t.Add(9*time.Second)))
	for i, want := range []error{nil, nil, ErrWaitTooLong} {
		// Each request is queued while the ones before are still waiting.
		saved := c.t
		err := p.Wait(context.Background())
		c.t = saved
		if !errors.Is(err, want) && err != want {
			t.Fatalf("request %d: %v, want %v", i, err, want)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, _ = newFakePacer(time.Minute)
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Done(rateHeaders(0, time.Unix(1_800_000_030, 0)))
	if err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled context: %v, want context.Canceled", err)
	}
	if p.inflight != 0 {
		t.Errorf("%d requests in flight after all were answered or cancelled", p.inflight)
	}
}

// TestPacedCollectionAgainstThrottle collects a small instance through a
// throttle of 200 requests per 2 s that sends RateLimit-* headers on every
// response, as GitLab.com does: the pacer keeps the 429s to a few and the
// inventory is complete.
func TestPacedCollectionAgainstThrottle(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few throttle windows")
	}
	w := generate(t, "small", 1)
	srv := gitlabsim.NewServer(w, gitlabsim.Options{
		RateLimit: gitlabsim.RateLimit{Requests: 200, Period: 2 * time.Second, HeadersOnAll: true},
	})
	defer srv.Close()
	// Real retry waits: a 429 waits for its window like in production.
	client, counter, err := NewClient(srv.URL()+"/api/v4", w.AdminToken(), ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := Collect(context.Background(), client, Options{Concurrency: 16})
	if err != nil {
		t.Fatal(err)
	}
	imp := hasImpersonationRoute(t, srv, w.AdminToken())
	want, _ := newTruth(w).instanceTruth(imp, true, true)
	checkTokens(t, want, inv.Tokens)
	if len(inv.Gaps) != len(instanceGaps(imp)) {
		t.Errorf("gaps %v, want only %v", inv.Gaps, instanceGaps(imp))
	}
	throttled := srv.ThrottleStats().RateLimited
	t.Logf("%d requests, %d answered 429", counter.Count(), throttled)
	// At most one window's worth of concurrency may start unpaced at a
	// window's start; a handful, not a storm.
	if throttled > 5 {
		t.Errorf("%d requests answered 429 by the throttle, want a handful (≤ 5)", throttled)
	}
}
