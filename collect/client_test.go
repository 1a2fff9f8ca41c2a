package collect

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBackoff: a 429 or 503 that says how long to wait is retried at once
// (the pacer holds the retry for as long as GitLab asked); without such
// headers, and on 5xx, the wait grows exponentially within (0, max].
func TestBackoff(t *testing.T) {
	min, max := 10*time.Millisecond, time.Second
	resp := func(code int, h map[string]string) *http.Response {
		r := &http.Response{StatusCode: code, Header: http.Header{}}
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return r
	}
	for _, r := range []*http.Response{
		resp(429, map[string]string{"Retry-After": "7"}),
		resp(503, map[string]string{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
		resp(429, map[string]string{"RateLimit-Reset": "1900000000"}),
	} {
		if got := backoff(min, max, 1, r); got != 0 {
			t.Errorf("%d %v: wait %v, want 0 (the pacer waits)", r.StatusCode, r.Header, got)
		}
	}
	for attempt := range 10 {
		for _, r := range []*http.Response{resp(502, nil), resp(429, nil)} {
			if got := backoff(min, max, attempt, r); got <= 0 || got > max {
				t.Errorf("%d attempt %d: wait %v, want within (0, %v]", r.StatusCode, attempt, got, max)
			}
		}
	}
	if a, c := backoff(min, max, 0, resp(500, nil)), backoff(min, max, 4, resp(500, nil)); c <= a {
		t.Errorf("backoff does not grow: attempt 0 %v, attempt 4 %v", a, c)
	}
}

// TestRetryAfterWaitsInThePacer: a 429 with Retry-After 7 holds its retry
// for 7 s, on the client's Sleep, and the retry gets the answer; the next
// request, after the hold, goes at once.
func TestRetryAfterWaitsInThePacer(t *testing.T) {
	opts, ft := fakeTimeOptions(time.Minute, time.Minute)
	srv, n := countingServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		writeUser(w)
	})
	client := testClient(t, srv.URL, "x", opts)
	if _, _, err := client.Users.CurrentUser(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.Users.CurrentUser(); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 3 {
		t.Errorf("%d requests, want 3 (a 429, its retry, the next)", n.Load())
	}
	if len(ft.slept) != 1 || ft.slept[0] != 7*time.Second {
		t.Errorf("slept %v, want once 7s", ft.slept)
	}
}

// countingServer answers /api/v4/user through h and counts the requests.
func countingServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r, int(n.Add(1)))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func writeUser(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"id":1,"username":"root"}`))
}

// fakeTime is a clock that moves only when the client sleeps for the rate
// limit; every sleep records whether its context had a deadline.
type fakeTime struct {
	mu           sync.Mutex
	t            time.Time
	slept        []time.Duration
	withDeadline int
}

func (f *fakeTime) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeTime) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := ctx.Deadline(); ok {
		f.withDeadline++
	}
	f.slept = append(f.slept, d)
	f.t = f.t.Add(d)
	return ctx.Err()
}

// fakeTimeOptions: a clock years from the test servers' Date headers, so
// the pacer ignores them and judges RateLimit-Reset on the fake clock.
func fakeTimeOptions(timeout, retryAfterMax time.Duration) (ClientOptions, *fakeTime) {
	ft := &fakeTime{t: time.Date(2031, 5, 1, 12, 0, 0, 0, time.UTC)}
	return ClientOptions{
		RetryMax: 5, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond,
		RetryAfterMax: retryAfterMax, Timeout: timeout, Clock: ft.now, Sleep: ft.sleep,
	}, ft
}

// TestRateLimitWaitIsNotTheRequestTimeout: with the window's quota spent,
// the next request waits for the window's end, and that wait is not timed
// by the 50 ms request timeout (it used to be: every request past the
// quota failed with "timeout awaiting headers" without being sent).
func TestRateLimitWaitIsNotTheRequestTimeout(t *testing.T) {
	opts, ft := fakeTimeOptions(50*time.Millisecond, time.Minute)
	reset := ft.now().Add(30 * time.Second)
	srv, n := countingServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("RateLimit-Remaining", "0")
		w.Header().Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		writeUser(w)
	})
	client := testClient(t, srv.URL, "x", opts)
	for i := range 2 {
		if _, _, err := client.Users.CurrentUser(); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	if n.Load() != 2 {
		t.Errorf("%d requests reached the server, want 2", n.Load())
	}
	if len(ft.slept) != 1 || ft.slept[0] != 30*time.Second {
		t.Errorf("slept %v, want once 30s, for the window's end", ft.slept)
	}
	if ft.withDeadline != 0 {
		t.Errorf("%d waits for the rate limit ran under the request timeout", ft.withDeadline)
	}
}

// TestRateLimitWaitLongerThanMaxFails: a window that resets in an hour,
// with RetryAfterMax 50 ms, fails the next request at once, unsent, with
// a reason that says how long GitLab asked to wait.
func TestRateLimitWaitLongerThanMaxFails(t *testing.T) {
	opts, ft := fakeTimeOptions(time.Minute, 50*time.Millisecond)
	reset := ft.now().Add(time.Hour)
	srv, n := countingServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("RateLimit-Remaining", "0")
		w.Header().Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		writeUser(w)
	})
	client := testClient(t, srv.URL, "x", opts)
	if _, _, err := client.Users.CurrentUser(); err != nil {
		t.Fatal(err)
	}
	_, _, err := client.Users.CurrentUser()
	if !errors.Is(err, ErrWaitTooLong) || !strings.Contains(err.Error(), "asked to wait 3600 seconds") {
		t.Fatalf("second request: %v, want a *WaitError saying GitLab asked to wait 3600 seconds", err)
	}
	if n.Load() != 1 {
		t.Errorf("%d requests reached the server, want 1", n.Load())
	}
	if len(ft.slept) != 0 {
		t.Errorf("slept %v, want no sleep", ft.slept)
	}
}

// TestRetryAfterLongerThanMaxFails: a 429 with Retry-After: 999999 fails
// the request after one attempt (it used to wait RetryAfterMax and retry,
// RetryMax times, into the same refusal), and on a list it is an error gap
// saying how long GitLab asked to wait.
func TestRetryAfterLongerThanMaxFails(t *testing.T) {
	opts, _ := fakeTimeOptions(time.Minute, 50*time.Millisecond)
	srv, n := countingServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Retry-After", "999999")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	client := testClient(t, srv.URL, "x", opts)
	_, _, err := client.Users.CurrentUser()
	if !errors.Is(err, ErrWaitTooLong) || !strings.Contains(err.Error(), "asked to wait 999999 seconds") {
		t.Fatalf("request: %v, want a *WaitError saying GitLab asked to wait 999999 seconds", err)
	}
	if n.Load() != 1 {
		t.Errorf("%d requests reached the server, want 1", n.Load())
	}

	w := generate(t, "tiny", 1)
	front := hostileList(t, w, "/api/v4/deploy_tokens", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Retry-After", "999999")
		rw.WriteHeader(http.StatusTooManyRequests)
	})
	opts, _ = fakeTimeOptions(time.Minute, 50*time.Millisecond)
	client = testClient(t, front.URL, w.AdminToken(), opts)
	inv, err := Collect(context.Background(), client, Options{})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	gapFor(t, inv, "deploy tokens", "asked to wait 999999 seconds")
}

// TestRequestTimeoutTimesTheExchange: the timeout still ends an answer
// that does not come, or a body that stops halfway.
func TestRequestTimeoutTimesTheExchange(t *testing.T) {
	for _, tt := range []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request, n int)
	}{
		{"no headers", func(w http.ResponseWriter, r *http.Request, _ int) { <-r.Context().Done() }},
		{"half a body", func(w http.ResponseWriter, r *http.Request, _ int) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id":1,`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := countingServer(t, tt.handler)
			client := testClient(t, srv.URL, "x", ClientOptions{Timeout: 50 * time.Millisecond, RetryMax: -1})
			_, _, err := client.Users.CurrentUser()
			var te *TimeoutError
			if !errors.As(err, &te) {
				t.Fatalf("%v, want a *TimeoutError", err)
			}
			var ue *url.Error
			if !errors.As(err, &ue) || !ue.Timeout() {
				t.Errorf("%v is no *url.Error that timed out", err)
			}
		})
	}
}
