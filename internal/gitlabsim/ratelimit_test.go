package gitlabsim

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// mwRoute maps a test request to a route template the way the server names
// them: "/api/v4/groups/7/projects" -> "GET /groups/:id/projects".
func mwRoute(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, "/api/v4")
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if s != "" && strings.Trim(s, "0123456789") == "" {
			segs[i] = ":id"
		}
	}
	return r.Method + " " + strings.Join(segs, "/")
}

// mwClock is a settable fake clock.
type mwClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *mwClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *mwClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// okBackend answers every request 200 with a small JSON body.
var okBackend = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
})

// The test token is made up; it is never printed.
const (
	mwTokenA = "glpat-test-token-a-000000000000"
	mwTokenB = "glpat-test-token-b-111111111111"
)

// mwDo serves one request through h and returns the recorded answer.
func mwDo(h http.Handler, method, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// hdr reads a header under the exact spelling it was set with (the limiter
// keeps GitLab's "RateLimit-" spelling) and fails if it is also present
// under another spelling.
func hdr(t *testing.T, h http.Header, name string) string {
	t.Helper()
	var vals []string
	for k, v := range h {
		if strings.EqualFold(k, name) {
			if k != name {
				t.Errorf("header %q sent as %q", name, k)
			}
			vals = append(vals, v...)
		}
	}
	if len(vals) > 1 {
		t.Errorf("header %q sent %d times", name, len(vals))
	}
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}

// TestRateLimiterMatchesGitLabFixture replays the situation of GitLab's own
// example 429 (limit 60 per 60 s, 67th request, 30 s before the window
// ends) and compares the bytes on the wire with the fixture.
func TestRateLimiterMatchesGitLabFixture(t *testing.T) {
	fixture, err := readSharedFixture("errors/429_rack_attack_headers.txt")
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	clock := &mwClock{t: time.Unix(1609844400-30, 0)}
	mw := newRateLimiter(Options{RateLimit: RateLimit{Requests: 60, Period: time.Minute}, Clock: clock.now}, mwRoute)
	// Handlers built from one middleware value share its limiter: count 66
	// requests in process, then read the 67th raw from the wire.
	srv := httptest.NewServer(mw(okBackend))
	defer srv.Close()
	h := mw(okBackend)
	for i := 0; i < 66; i++ {
		want := http.StatusOK
		if i >= 60 {
			want = http.StatusTooManyRequests
		}
		if rec := mwDo(h, "GET", "/api/v4/projects", mwTokenA); rec.Code != want {
			t.Fatalf("request %d: status %d, want %d", i+1, rec.Code, want)
		}
	}
	raw := mwRawGet(t, srv.Listener.Addr().String(), "/api/v4/projects", mwTokenA)

	want := map[string]bool{}
	var wantBody string
	lines := strings.Split(strings.TrimRight(string(fixture), "\n"), "\n")
	for i, l := range lines {
		if l == "" {
			wantBody = strings.Join(lines[i+1:], "\n") + "\n"
			break
		}
		want[l] = true
	}
	gotHead, gotBody, _ := strings.Cut(raw, "\r\n\r\n")
	for _, l := range strings.Split(gotHead, "\r\n") {
		if strings.HasPrefix(l, "Date:") || strings.HasPrefix(l, "Content-Length:") || strings.HasPrefix(l, "Connection:") { // transport details, not in the fixture
			continue
		}
		if !want[l] {
			t.Errorf("unexpected line on the wire: %q", l)
		}
		delete(want, l)
	}
	for l := range want {
		t.Errorf("missing line on the wire: %q", l)
	}
	if gotBody != wantBody {
		t.Errorf("body = %q, want %q", gotBody, wantBody)
	}
}

// mwRawGet sends a GET over a fresh connection and returns the raw answer.
func mwRawGet(t *testing.T, addr, path, token string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nPRIVATE-TOKEN: %s\r\nConnection: close\r\n\r\n", path, addr, token)
	b, err := io.ReadAll(bufio.NewReader(conn))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRateLimiterWindowEdges(t *testing.T) {
	clock := &mwClock{t: time.Unix(1000, 0)} // a window [1000, 1010) with Period 10 s
	h := newRateLimiter(Options{RateLimit: RateLimit{Requests: 3, Period: 10 * time.Second}, Clock: clock.now}, mwRoute)(okBackend)

	for i := 1; i <= 3; i++ {
		rec := mwDo(h, "GET", "/api/v4/projects", mwTokenA)
		if rec.Code != http.StatusOK {
			t.Fatalf("request %d: status %d, want 200", i, rec.Code)
		}
		if got := hdr(t, rec.Header(), "RateLimit-Limit"); got != "" {
			t.Errorf("request %d: RateLimit-Limit %q on an unthrottled answer without HeadersOnAll", i, got)
		}
	}

	check := func(step string, rec *httptest.ResponseRecorder, want map[string]string) {
		t.Helper()
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("%s: status %d, want 429", step, rec.Code)
		}
		for k, v := range want {
			if got := hdr(t, rec.Header(), k); got != v {
				t.Errorf("%s: %s = %q, want %q", step, k, got, v)
			}
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/plain" {
			t.Errorf("%s: Content-Type = %q, want text/plain", step, ct)
		}
		if body := rec.Body.String(); body != "Retry later\n" {
			t.Errorf("%s: body = %q", step, body)
		}
	}
	// First second of the window: the whole period to wait.
	check("4th request at 1000", mwDo(h, "GET", "/api/v4/projects", mwTokenA), map[string]string{
		"RateLimit-Name":      "throttle_authenticated_api",
		"RateLimit-Limit":     "18", // ceil(3 * 60 / 10)
		"RateLimit-Observed":  "4",
		"RateLimit-Remaining": "0",
		"RateLimit-Reset":     "1010",
		"RateLimit-ResetTime": "Thu, 01 Jan 1970 00:16:50 GMT",
		"Retry-After":         "10",
	})
	// Last second of the window: one second left.
	clock.set(time.Unix(1009, 999_000_000))
	check("5th request at 1009.999", mwDo(h, "GET", "/api/v4/projects", mwTokenA), map[string]string{
		"RateLimit-Observed": "5",
		"RateLimit-Reset":    "1010",
		"Retry-After":        "1",
	})
	// The next window starts afresh.
	clock.set(time.Unix(1010, 0))
	if rec := mwDo(h, "GET", "/api/v4/projects", mwTokenA); rec.Code != http.StatusOK {
		t.Fatalf("first request of the next window: status %d, want 200", rec.Code)
	}
}

func TestRateLimiterHeadersOnAll(t *testing.T) {
	clock := &mwClock{t: time.Unix(7200+5, 0)}
	h := newRateLimiter(Options{
		RateLimit: RateLimit{Requests: 7200, Period: time.Hour, HeadersOnAll: true},
		Clock:     clock.now,
	}, mwRoute)(okBackend)
	if rec := mwDo(h, "GET", "/api/v4/user", mwTokenA); rec.Code != http.StatusOK {
		t.Fatalf("first request: status %d", rec.Code)
	}
	rec := mwDo(h, "GET", "/api/v4/user", mwTokenA)
	if rec.Code != http.StatusOK {
		t.Fatalf("second request: status %d", rec.Code)
	}
	want := map[string]string{
		"RateLimit-Name":      "throttle_authenticated_api",
		"RateLimit-Limit":     "120", // 7,200 an hour is 120 a minute
		"RateLimit-Observed":  "2",
		"RateLimit-Remaining": "7198", // the raw limit, not the per-minute one
		"RateLimit-Reset":     "10800",
		"RateLimit-ResetTime": "", // 429 only
		"Retry-After":         "", // 429 only
	}
	for k, v := range want {
		if got := hdr(t, rec.Header(), k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if rec.Body.String() != `{"ok":true}` {
		t.Errorf("backend body lost: %q", rec.Body.String())
	}
}

func TestRateLimiterKeys(t *testing.T) {
	clock := &mwClock{t: time.Unix(60, 0)}
	opts := Options{RateLimit: RateLimit{Requests: 1, Period: time.Minute, ResponseText: "Slow down"}, Clock: clock.now}
	rl := newRateLimiterState(opts)
	h := rl.middleware(okBackend)

	if rec := mwDo(h, "GET", "/api/v4/projects", mwTokenA); rec.Code != http.StatusOK {
		t.Fatalf("token A first: %d", rec.Code)
	}
	// The same token as a Bearer header counts against the same bucket.
	req := httptest.NewRequest("GET", "/api/v4/projects", nil)
	req.Header.Set("Authorization", "Bearer "+mwTokenA)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("token A as Bearer: status %d, want 429", rec.Code)
	}
	if rec.Body.String() != "Slow down\n" {
		t.Errorf("ResponseText body = %q", rec.Body.String())
	}
	// Another token has its own bucket.
	if rec := mwDo(h, "GET", "/api/v4/projects", mwTokenB); rec.Code != http.StatusOK {
		t.Errorf("token B: status %d, want 200", rec.Code)
	}
	// Without a token, the remote IP is the key and the throttle is the
	// unauthenticated one.
	if rec := mwDo(h, "GET", "/api/v4/projects", ""); rec.Code != http.StatusOK {
		t.Errorf("anonymous first: %d", rec.Code)
	}
	rec = mwDo(h, "GET", "/api/v4/projects", "")
	if rec.Code != http.StatusTooManyRequests || hdr(t, rec.Header(), "RateLimit-Name") != "throttle_unauthenticated_api" {
		t.Errorf("anonymous second: status %d, RateLimit-Name %q", rec.Code, hdr(t, rec.Header(), "RateLimit-Name"))
	}
	// Paths outside the API are not the API throttle's business.
	if rec := mwDo(h, "GET", "/-/health", mwTokenA); rec.Code != http.StatusOK {
		t.Errorf("non-API path: status %d", rec.Code)
	}
	if got := rl.Throttled(); got != 2 {
		t.Errorf("Throttled() = %d, want 2", got)
	}
	// Tokens are kept hashed, never as given.
	rl.counter.mu.Lock()
	defer rl.counter.mu.Unlock()
	for k := range rl.counter.buckets {
		if strings.Contains(k, mwTokenA) || strings.Contains(k, mwTokenB) {
			t.Error("a bucket key holds a raw token")
		}
	}
}

func TestRateLimiterOff(t *testing.T) {
	h := newRateLimiter(Options{}, mwRoute)(okBackend)
	for i := 0; i < 100; i++ {
		rec := mwDo(h, "GET", "/api/v4/projects", mwTokenA)
		if rec.Code != http.StatusOK || len(rec.Header()) != 1 {
			t.Fatalf("request %d: status %d, headers %v", i, rec.Code, rec.Header())
		}
	}
	if newRateLimiterState(Options{}) != nil {
		t.Error("a zero RateLimit built a limiter")
	}
}

func TestEndpointLimiter(t *testing.T) {
	fixture, err := readSharedFixture("errors/429_application_rate_limiter.json")
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	wantBody := strings.TrimSpace(string(fixture))
	clock := &mwClock{t: time.Unix(6000, 0)} // a window start for 60 s and 600 s alike
	el := newEndpointLimiterState(Options{EndpointLimits: true, Clock: clock.now}, mwRoute)
	h := el.middleware(okBackend)

	cases := []struct {
		path  string
		limit int
	}{
		{"/api/v4/groups", 50},
		{"/api/v4/projects", 2000},
		{"/api/v4/groups/7/projects", 600},
		{"/api/v4/projects/7", 400},
		{"/api/v4/groups/7", 400},
		{"/api/v4/users/7", 300},
	}
	for _, c := range cases {
		for i := 1; i <= c.limit; i++ {
			if rec := mwDo(h, "GET", c.path, mwTokenA); rec.Code != http.StatusOK {
				t.Fatalf("%s request %d: status %d, want 200", c.path, i, rec.Code)
			}
		}
		rec := mwDo(h, "GET", c.path, mwTokenA)
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("%s request %d: status %d, want 429", c.path, c.limit+1, rec.Code)
		}
		if got := rec.Body.String(); got != wantBody {
			t.Errorf("%s: body %q, want the fixture's", c.path, got)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", c.path, ct)
		}
		for k := range rec.Header() {
			if strings.HasPrefix(strings.ToLower(k), "ratelimit") || strings.EqualFold(k, "Retry-After") {
				t.Errorf("%s: header %s on an application-limit 429", c.path, k)
			}
		}
		// Another user is not limited.
		if rec := mwDo(h, "GET", c.path, mwTokenB); rec.Code != http.StatusOK {
			t.Errorf("%s for token B: status %d", c.path, rec.Code)
		}
	}
	// The limit is per endpoint: the same numeric ID on an unlimited route
	// passes.
	if rec := mwDo(h, "GET", "/api/v4/projects/7/access_tokens", mwTokenA); rec.Code != http.StatusOK {
		t.Errorf("unlimited route: status %d", rec.Code)
	}
	// The per-minute windows reset after 60 s; the 10-minute ones do not.
	clock.set(time.Unix(6060, 0))
	if rec := mwDo(h, "GET", "/api/v4/groups", mwTokenA); rec.Code != http.StatusOK {
		t.Errorf("GET /groups in the next minute: status %d", rec.Code)
	}
	if rec := mwDo(h, "GET", "/api/v4/users/7", mwTokenA); rec.Code != http.StatusTooManyRequests {
		t.Errorf("GET /users/:id a minute later: status %d, want 429 (10-minute window)", rec.Code)
	}
	if got, want := el.Throttled(), int64(len(cases)+1); got != want {
		t.Errorf("Throttled() = %d, want %d", got, want)
	}
}

func TestEndpointLimiterUnauthenticatedProjects(t *testing.T) {
	clock := &mwClock{t: time.Unix(6000, 0)}
	h := newEndpointLimiter(Options{EndpointLimits: true, Clock: clock.now}, mwRoute)(okBackend)
	for i := 1; i <= 400; i++ {
		if rec := mwDo(h, "GET", "/api/v4/projects", ""); rec.Code != http.StatusOK {
			t.Fatalf("anonymous request %d: status %d", i, rec.Code)
		}
	}
	if rec := mwDo(h, "GET", "/api/v4/projects", ""); rec.Code != http.StatusTooManyRequests {
		t.Errorf("anonymous request 401: status %d, want 429 (400 per 10 min per IP)", rec.Code)
	}
}

func TestEndpointLimiterOff(t *testing.T) {
	h := newEndpointLimiter(Options{}, mwRoute)(okBackend)
	for i := 0; i < 60; i++ {
		if rec := mwDo(h, "GET", "/api/v4/groups", mwTokenA); rec.Code != http.StatusOK {
			t.Fatalf("request %d: status %d", i+1, rec.Code)
		}
	}
}

// BenchmarkRateLimiter is the throttle's cost per request (counting,
// hashing the token, headers on every answer).
func BenchmarkRateLimiter(b *testing.B) {
	h := newRateLimiter(Options{RateLimit: RateLimit{Requests: 1 << 30, Period: time.Minute, HeadersOnAll: true}}, mwRoute)(okBackend)
	req := httptest.NewRequest("GET", "/api/v4/projects", nil)
	req.Header.Set("PRIVATE-TOKEN", mwTokenA)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
