package gitlabsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// statusSequence serves n requests in order and returns their statuses.
func statusSequence(h http.Handler, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = mwDo(h, "GET", "/api/v4/projects", mwTokenA).Code
	}
	return out
}

func TestFaultsDeterministic(t *testing.T) {
	f := Faults{ErrorRate: 0.2, Burst429: 0.05, BurstLength: 3}
	a := statusSequence(newFaultInjector(Options{Faults: f, Seed: 42}, mwRoute)(okBackend), 300)
	b := statusSequence(newFaultInjector(Options{Faults: f, Seed: 42}, mwRoute)(okBackend), 300)
	c := statusSequence(newFaultInjector(Options{Faults: f, Seed: 43}, mwRoute)(okBackend), 300)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("the same seed gave different faults:\n%v\n%v", a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Error("seeds 42 and 43 gave the same 300 statuses")
	}
	// Jitter is part of the plan too.
	fi1 := newFaultInjectorState(Options{Faults: Faults{Jitter: time.Second}, Seed: 7}, mwRoute)
	fi2 := newFaultInjectorState(Options{Faults: Faults{Jitter: time.Second}, Seed: 7}, mwRoute)
	distinct := map[time.Duration]bool{}
	for n := uint64(0); n < 50; n++ {
		d1, d2 := fi1.decide(fi1.cfg.Load(), n), fi2.decide(fi2.cfg.Load(), n)
		if d1.delay != d2.delay || d1.delay < 0 || d1.delay >= time.Second {
			t.Fatalf("request %d: delays %v and %v, want equal and in [0, 1s)", n, d1.delay, d2.delay)
		}
		distinct[d1.delay] = true
	}
	if len(distinct) < 45 {
		t.Errorf("jitter took only %d distinct values over 50 requests", len(distinct))
	}
}

// TestFaultRates checks the share of each fault over many requests and
// several seeds, within five standard deviations of the binomial.
func TestFaultRates(t *testing.T) {
	const n = 4000
	within := func(what string, got int, p float64) {
		t.Helper()
		mean := n * p
		sd := math.Sqrt(n * p * (1 - p))
		if math.Abs(float64(got)-mean) > 5*sd {
			t.Errorf("%s: %d of %d, want about %.0f (±%.0f)", what, got, n, mean, 5*sd)
		}
	}
	for seed := int64(1); seed <= 3; seed++ {
		f := Faults{ErrorRate: 0.1, DropRate: 0.02, SlowBodyRate: 0.05, TruncateRate: 0.07, Burst429: 0.01, BurstLength: 4}
		fi := newFaultInjectorState(Options{Faults: f, Seed: seed}, mwRoute)
		c := fi.cfg.Load()
		var errs, drops, slow, trunc, burst int
		statuses := map[int]int{}
		run := 0
		for i := uint64(0); i < n; i++ {
			d := fi.decide(c, i)
			if d.status != 0 {
				errs++
				statuses[d.status]++
			}
			if d.drop {
				drops++
			}
			if d.slow {
				slow++
			}
			if d.truncate {
				trunc++
			}
			if d.burst {
				burst++
				run++
			} else {
				if run > 0 && run < 4 {
					t.Errorf("seed %d: a 429 run of %d ended before request %d, want runs of at least 4", seed, run, i)
				}
				run = 0
			}
		}
		within("5xx", errs, 0.1)
		within("drops", drops, 0.02)
		within("slow bodies", slow, 0.05)
		within("truncations", trunc, 0.07)
		// A request is in a run when one of the 4 requests up to it started one.
		within("429s", burst, 1-math.Pow(0.99, 4))
		for _, s := range defaultFaultStatuses {
			if statuses[s] < errs/6 {
				t.Errorf("seed %d: status %d drawn %d times of %d 5xx", seed, s, statuses[s], errs)
			}
		}
	}
}

func TestFault5xxBodies(t *testing.T) {
	for _, status := range []int{500, 502, 503} {
		h := newFaultInjector(Options{Faults: Faults{ErrorRate: 1, ErrorStatuses: []int{status}}}, mwRoute)(okBackend)
		rec := mwDo(h, "GET", "/api/v4/projects", mwTokenA)
		if rec.Code != status {
			t.Fatalf("status %d, want %d", rec.Code, status)
		}
		ct := rec.Header().Get("Content-Type")
		switch status {
		case 500:
			var body struct{ Message string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Message != "500 Internal Server Error" || ct != "application/json" {
				t.Errorf("500: %s body %q (%v)", ct, rec.Body.String(), err)
			}
		case 502:
			if ct != "text/plain" || rec.Body.String() != "GitLab is not responding" {
				t.Errorf("502: %s body %q", ct, rec.Body.String())
			}
		case 503:
			if ct != "text/html" || !strings.Contains(rec.Body.String(), "503 Service Unavailable") {
				t.Errorf("503: %s body %q", ct, rec.Body.String())
			}
		}
	}
}

func TestFaultBurst429Headers(t *testing.T) {
	clock := &mwClock{t: time.Unix(5000, 0)}
	h := newFaultInjector(Options{Faults: Faults{Burst429: 1, BurstLength: 2}, Clock: clock.now}, mwRoute)(okBackend)
	rec := mwDo(h, "GET", "/api/v4/projects", mwTokenA)
	if rec.Code != http.StatusTooManyRequests || rec.Body.String() != "Retry later\n" || rec.Header().Get("Content-Type") != "text/plain" {
		t.Fatalf("status %d, %s body %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	for k, v := range map[string]string{
		"Retry-After":         "1",
		"RateLimit-Name":      "throttle_authenticated_api",
		"RateLimit-Limit":     "2000", // GitLab.com's authenticated API limit
		"RateLimit-Remaining": "0",
		"RateLimit-Reset":     "5001",
		"RateLimit-ResetTime": "Thu, 01 Jan 1970 01:23:21 GMT",
	} {
		if got := hdr(t, rec.Header(), k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}

	h = newFaultInjector(Options{Faults: Faults{Burst429: 1, Burst429NoHeaders: true}, Clock: clock.now}, mwRoute)(okBackend)
	rec = mwDo(h, "GET", "/api/v4/projects", mwTokenA)
	if rec.Code != http.StatusTooManyRequests || hdr(t, rec.Header(), "Retry-After") != "1" {
		t.Fatalf("no-headers burst: status %d, Retry-After %q", rec.Code, hdr(t, rec.Header(), "Retry-After"))
	}
	for k := range rec.Header() {
		if strings.HasPrefix(strings.ToLower(k), "ratelimit") {
			t.Errorf("header %s with Burst429NoHeaders", k)
		}
	}
}

// bigJSON answers a JSON array large enough to be cut and sent in pieces.
var bigJSON = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	items := make([]map[string]any, 200)
	for i := range items {
		items[i] = map[string]any{"id": i + 1, "name": fmt.Sprintf("token-%d", i+1)}
	}
	_ = json.NewEncoder(w).Encode(items)
})

// fresh is a client that opens a new connection per request, so a
// connection the server closes cannot be silently retried on another.
func fresh() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func TestFaultTruncateBreaksJSON(t *testing.T) {
	fi := newFaultInjectorState(Options{Faults: Faults{TruncateRate: 1}}, mwRoute)
	srv := httptest.NewServer(fi.middleware(bigJSON))
	defer srv.Close()

	resp, err := fresh().Get(srv.URL + "/api/v4/personal_access_tokens")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var items []map[string]any
	err = json.NewDecoder(resp.Body).Decode(&items)
	if err == nil {
		t.Fatal("a truncated body decoded")
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("decode error: %v", err) // any error will do; unexpected EOF is the usual one
	}
	if got := fi.Stats().Truncated; got != 1 {
		t.Errorf("Stats().Truncated = %d, want 1", got)
	}

	// Bodies that are not JSON are left whole.
	text := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "plain text answer")
	})
	srv2 := httptest.NewServer(newFaultInjector(Options{Faults: Faults{TruncateRate: 1}}, mwRoute)(text))
	defer srv2.Close()
	resp2, err := fresh().Get(srv2.URL + "/api/v4/version")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	if b, err := io.ReadAll(resp2.Body); err != nil || string(b) != "plain text answer" {
		t.Errorf("text body: %q, %v", b, err)
	}
}

func TestFaultDropIsAClientError(t *testing.T) {
	fi := newFaultInjectorState(Options{Faults: Faults{DropRate: 1}}, mwRoute)
	var reached atomic.Bool
	srv := httptest.NewServer(fi.middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Store(true) })))
	defer srv.Close()
	resp, err := fresh().Get(srv.URL + "/api/v4/projects")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a dropped connection answered %d", resp.StatusCode)
	}
	if reached.Load() {
		t.Error("the backend handled a dropped request")
	}
	if got := fi.Stats().Dropped; got != 1 {
		t.Errorf("Stats().Dropped = %d, want 1", got)
	}
}

// writeCounter records how a handler's answer was written.
type writeCounter struct {
	*httptest.ResponseRecorder
	writes, flushes int
}

func (w *writeCounter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		w.writes++
	}
	return w.ResponseRecorder.Write(p)
}

func (w *writeCounter) Flush() { w.flushes++; w.ResponseRecorder.Flush() }

func TestFaultSlowBody(t *testing.T) {
	h := newFaultInjector(Options{Faults: Faults{SlowBodyRate: 1, SlowBodyTime: 8 * time.Millisecond}}, mwRoute)(bigJSON)
	whole := httptest.NewRecorder()
	bigJSON.ServeHTTP(whole, httptest.NewRequest("GET", "/api/v4/personal_access_tokens", nil))

	w := &writeCounter{ResponseRecorder: httptest.NewRecorder()}
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/v4/personal_access_tokens", nil))
	if w.Body.String() != whole.Body.String() {
		t.Error("a slow body arrived changed")
	}
	if w.writes != slowPieces || w.flushes < slowPieces {
		t.Errorf("%d writes and %d flushes, want %d pieces each flushed", w.writes, w.flushes, slowPieces)
	}
	if got := w.Header().Get("Content-Length"); got != fmt.Sprint(whole.Body.Len()) {
		t.Errorf("Content-Length %q, want %d", got, whole.Body.Len())
	}

	// A client that leaves ends the slow answer early.
	h = newFaultInjector(Options{Faults: Faults{SlowBodyRate: 1, SlowBodyTime: time.Hour}}, mwRoute)(bigJSON)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w = &writeCounter{ResponseRecorder: httptest.NewRecorder()}
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/v4/personal_access_tokens", nil).WithContext(ctx))
	if w.writes != 0 {
		t.Errorf("%d pieces written to a client that had left", w.writes)
	}
}

func TestFaultLatencyHonoursCancellation(t *testing.T) {
	var reached atomic.Bool
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Store(true) })
	// An hour of latency: only the cancelled context can end the sleep
	// before the test's own deadline.
	h := newFaultInjector(Options{Faults: Faults{Latency: time.Hour}}, mwRoute)(backend)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v4/projects", nil).WithContext(ctx))
	}()
	cancel()
	<-done
	if reached.Load() {
		t.Error("the backend ran for a request whose client had left")
	}

	// Latency that has elapsed lets the request through.
	h = newFaultInjector(Options{Faults: Faults{Latency: time.Millisecond}}, mwRoute)(backend)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v4/projects", nil))
	if !reached.Load() {
		t.Error("the backend never ran after a short latency")
	}
}

func TestFaultRoutesAndSet(t *testing.T) {
	fi := newFaultInjectorState(Options{Faults: Faults{ErrorRate: 1, ErrorStatuses: []int{503}, Routes: []string{"GET /projects/:id/access_tokens"}}}, mwRoute)
	h := fi.middleware(okBackend)
	if rec := mwDo(h, "GET", "/api/v4/projects/12/access_tokens", mwTokenA); rec.Code != 503 {
		t.Errorf("listed route: status %d, want 503", rec.Code)
	}
	if rec := mwDo(h, "GET", "/api/v4/projects/12", mwTokenA); rec.Code != 200 {
		t.Errorf("unlisted route: status %d, want 200", rec.Code)
	}
	// Faults switched while running apply from the next request on.
	fi.Set(Faults{})
	if rec := mwDo(h, "GET", "/api/v4/projects/12/access_tokens", mwTokenA); rec.Code != 200 {
		t.Errorf("after Set(Faults{}): status %d, want 200", rec.Code)
	}
	fi.Set(Faults{ErrorRate: 1, ErrorStatuses: []int{500}})
	if rec := mwDo(h, "GET", "/api/v4/projects/12", mwTokenA); rec.Code != 500 {
		t.Errorf("after Set on every route: status %d, want 500", rec.Code)
	}
	st := fi.Stats()
	if st.Requests != 2 || st.Errors != 2 {
		t.Errorf("Stats() = %+v, want 2 requests and 2 errors (requests off the routes or with faults off are not counted)", st)
	}
}

// BenchmarkFaultInjector is the injector's cost per request when it
// decides every fault but none fires.
func BenchmarkFaultInjector(b *testing.B) {
	h := newFaultInjector(Options{Faults: Faults{ErrorRate: 1e-12, Burst429: 1e-12, BurstLength: 3, DropRate: 1e-12}, Seed: 1}, mwRoute)(okBackend)
	req := httptest.NewRequest("GET", "/api/v4/projects", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
