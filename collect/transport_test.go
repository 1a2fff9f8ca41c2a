package collect

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// hostileList serves the simulator for w, except that path is answered by
// h: the one list a hostile GitLab breaks.
func hostileList(t *testing.T, w *gitlabsim.World, path string, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	sim := gitlabsim.NewServer(w, gitlabsim.Options{})
	t.Cleanup(sim.Close)
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			h(rw, r)
			return
		}
		sim.Handler().ServeHTTP(rw, r)
	}))
	t.Cleanup(front.Close)
	return front
}

// gapFor returns the gap of what, failing the test when there is none or
// it is no error gap holding reason.
func gapFor(t *testing.T, inv *inventory.Inventory, what, reason string) {
	t.Helper()
	for _, g := range inv.Gaps {
		if g.What != what {
			continue
		}
		if g.Kind != inventory.GapError || !strings.Contains(g.Reason, reason) {
			t.Errorf("gap for %s: kind %s, reason %q; want an error gap saying %q", what, g.Kind, g.Reason, reason)
		}
		return
	}
	t.Errorf("no gap for %s; gaps: %+v", what, inv.Gaps)
}

// userAnswer serves /api/v4/user with extra headers.
func userAnswer(h map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range h {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":1,"username":"root","is_admin":true}`))
	}
}

// TestMalformedHeadersAreErrors: a Link header client-go's
// populateLinkValues panics on, and pagination headers that are no sane
// count, fail the request with an error naming the header: on /user the
// audit stops, on a list the list is an error gap. Never a panic.
func TestMalformedHeadersAreErrors(t *testing.T) {
	cases := []struct{ header, value string }{
		{"Link", `<http://x/>; rel`},
		{"Link", `<http://x/a;b>; rel="next"`},
		{"Link", `<http://x/>;`},
		{"X-Total-Pages", "-1"},
		{"X-Next-Page", "two"},
		{"X-Total", "1000000001"},
		{"X-Page", "99999999999999999999999"},
		{"X-Per-Page", "1e3"},
		{"X-Prev-Page", "+1"},
	}
	w := generate(t, "tiny", 1)
	for _, c := range cases {
		t.Run(c.header+"="+c.value, func(t *testing.T) {
			front := httptest.NewServer(userAnswer(map[string]string{c.header: c.value}))
			t.Cleanup(front.Close)
			client := testClient(t, front.URL, "x", testClientOptions)
			_, err := Collect(context.Background(), client, Options{})
			var he *HeaderError
			if !errors.As(err, &he) || he.Header != c.header {
				t.Fatalf("Collect with %s: %q: %v, want a *HeaderError for %s", c.header, c.value, err, c.header)
			}
			if !strings.Contains(err.Error(), "malformed "+c.header+" header") {
				t.Errorf("error %q does not name the header", err)
			}

			front = hostileList(t, w, "/api/v4/deploy_tokens", func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set(c.header, c.value)
				rw.Header().Set("Content-Type", "application/json")
				rw.Write([]byte(`[]`))
			})
			client = testClient(t, front.URL, w.AdminToken(), testClientOptions)
			inv, err := Collect(context.Background(), client, Options{})
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			gapFor(t, inv, "deploy tokens", "malformed "+c.header+" header")
		})
	}
}

func TestCheckCount(t *testing.T) {
	for _, ok := range []string{"", "0", "1", "100", "1000000000", "0007"} {
		if p := checkCount(ok); p != "" {
			t.Errorf("%q refused: %s", ok, p)
		}
	}
	for _, bad := range []string{"-1", "-0", "x", "1.5", "1e3", "+1", " 1", "1000000001", "18446744073709551616", "٣"} {
		if checkCount(bad) == "" {
			t.Errorf("%q accepted", bad)
		}
	}
}

// linkCorpus are Link values: GitLab's own (offset and keyset pages) and
// RFC 8288's examples, which must pass, and malformed or client-go-crashing
// ones, which must not.
var linkCorpus = struct{ good, bad []string }{
	good: []string{
		`<https://gitlab.example.com/api/v4/projects?page=2&per_page=100>; rel="next", <https://gitlab.example.com/api/v4/projects?page=1&per_page=100>; rel="first", <https://gitlab.example.com/api/v4/projects?page=10&per_page=100>; rel="last"`,
		`<https://gitlab.example.com/api/v4/projects?id_after=42&pagination=keyset&per_page=100>; rel="next"`,
		`<http://example.com/TheBook/chapter2>; rel="previous"; title="previous chapter"`,
		`</>; rel="http://example.net/foo"`,
		`</terms>; rel="copyright"; anchor="#foo"`,
		`</TheBook/chapter2>; rel="previous"; title*=UTF-8'de'letztes%20Kapitel, </TheBook/chapter4>; rel="next"; title*=UTF-8'de'n%c3%a4chstes%20Kapitel`,
		`<http://x/>; rel=next`,
		`<http://x/>;rel="next",,<http://y/>;rel="prev"`,
		`<http://x/>; rel="next"; hreflang`,
		`<http://x/>; rel="a, b"`,
		`<http://x/>; rel="next \"quoted\""`,
	},
	bad: []string{
		`<http://x/>; rel`,
		`<http://x/>;`,
		`<http://x/>; ; rel="next"`,
		`<http://x/a;b>; rel="next"`,
		`<http://x/>; title="a,;b"`,
		`<http://x/>; rel=`,
		`<http://x/>; rel="next`,
		`<http://x/> rel="next"`,
		`http://x/; rel="next"`,
		`<http://x/; rel="next"`,
		`<http://x y/>; rel="next"`,
		`<http://x/>; rel="next" junk`,
		`<http://x/>; =next`,
		`<http://x/>; rel="a\`,
		`,`,
		` `,
		`<>;`,
	},
}

func TestCheckLink(t *testing.T) {
	for _, v := range linkCorpus.good {
		if p := checkLink(v); p != "" {
			t.Errorf("%s refused: %s", v, p)
		}
	}
	for _, v := range linkCorpus.bad {
		if checkLink(v) == "" {
			t.Errorf("%s accepted", v)
		}
	}
}

// FuzzLinkHeaderSafeForClientGo: a Link value checkLink accepts never
// panics client-go's own parsing (a client built without NewClient's
// guard, answered by a canned response).
func FuzzLinkHeaderSafeForClientGo(f *testing.F) {
	for _, v := range append(linkCorpus.good, linkCorpus.bad...) {
		f.Add(v)
	}
	var link atomic.Value
	link.Store("")
	canned := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		h := http.Header{"Content-Type": {"application/json"}}
		h.Set("Link", link.Load().(string))
		return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
	})
	raw, err := gitlab.NewClient("x", gitlab.WithBaseURL("http://gitlab.invalid/api/v4"),
		gitlab.WithHTTPClient(&http.Client{Transport: canned}), gitlab.WithoutRetries())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if checkLink(v) != "" {
			return
		}
		link.Store(v)
		req, err := raw.NewRequest(http.MethodGet, "user", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("checkLink accepted %q, on which client-go panics: %v", v, p)
			}
		}()
		raw.Do(req, nil)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// endlessArray writes a JSON array of PAT-like objects of about n bytes,
// never closing it: to the client, an endless list. (It stops at n so that
// a client without a limit fails the test instead of filling the memory.)
func endlessArray(w io.Writer, n int) {
	item := []byte(`{"id":1,"name":"` + strings.Repeat("x", 200) + `","scopes":["api"],"active":true},`)
	w.Write([]byte("["))
	for written := 0; written < n; written += len(item) {
		if _, err := w.Write(item); err != nil {
			return // the client stopped reading
		}
	}
}

// gzipBomb is one gzip member of n bytes of endlessArray: written k times
// it is k·n bytes decompressed (a gzip reader reads concatenated members
// as one stream) from about k·n/1000 on the wire.
func gzipBomb(t testing.TB, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	endlessArray(zw, n)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const testBodyLimit = 1 << 20

// allocDuring is the bytes allocated while f runs.
func allocDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestAnswerLargerThanTheLimit: an endless JSON array, a gzip bomb
// (decompressed by Go's transport, which asked for gzip) and the same bomb
// sent to a client that asked for gzip itself or turned compression off
// (so Go passes it on compressed) all end at MaxBodyBytes of decompressed
// body: an error for the request, about the limit in memory, and on a
// list an error gap "answer larger than 1 MiB".
func TestAnswerLargerThanTheLimit(t *testing.T) {
	bomb := gzipBomb(t, 2<<20)
	const bombCopies = 64 // 128 MiB decompressed from about 130 KB
	endless := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		endlessArray(w, 64*testBodyLimit)
	}
	gzipped := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		for range bombCopies {
			if _, err := w.Write(bomb); err != nil {
				return
			}
		}
	}
	base := func() http.RoundTripper { return http.DefaultTransport.(*http.Transport).Clone() }
	explicit := func() http.RoundTripper {
		next := base()
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			r = r.Clone(r.Context())
			r.Header.Set("Accept-Encoding", "gzip")
			return next.RoundTrip(r)
		})
	}
	uncompressing := func() http.RoundTripper {
		t := base().(*http.Transport)
		t.DisableCompression = true
		return t
	}
	fits := allocOfAnswer(t, testBodyLimit)
	w := generate(t, "tiny", 1)
	for _, tt := range []struct {
		name      string
		handler   http.HandlerFunc
		transport func() http.RoundTripper
	}{
		{"endless JSON array", endless, base},
		{"gzip bomb, Go decompresses", gzipped, base},
		{"gzip bomb, Accept-Encoding set explicitly", gzipped, explicit},
		{"gzip bomb, compression turned off", gzipped, uncompressing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			front := hostileList(t, w, "/api/v4/deploy_tokens", tt.handler)
			opts := testClientOptions
			opts.MaxBodyBytes = testBodyLimit
			opts.HTTPClient = &http.Client{Transport: tt.transport()}
			client := testClient(t, front.URL, w.AdminToken(), opts)
			// One request, measured alone, read as the collector reads
			// answers: into a buffer.
			var doErr error
			alloc := allocDuring(func() {
				req, err := client.NewRequest(http.MethodGet, "deploy_tokens", nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				_, doErr = client.Do(req, new(bytes.Buffer))
			})
			var tooLarge *BodyTooLargeError
			if !errors.As(doErr, &tooLarge) || tooLarge.Limit != testBodyLimit {
				t.Fatalf("Do: %v, want a *BodyTooLargeError of %d bytes", doErr, testBodyLimit)
			}
			// Refusing the answer costs about what reading an answer of the
			// limit's size does (a doubling buffer: about 4 × the limit,
			// twice that under the race detector); without the limit it
			// would be 128 × the limit and more.
			if alloc > 2*fits {
				t.Errorf("reading the answer allocated %d KiB, want at most twice the %d KiB an answer of the limit's size takes", alloc>>10, fits>>10)
			}
			inv, err := Collect(context.Background(), client, Options{})
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			gapFor(t, inv, "deploy tokens", "answer larger than 1 MiB")
		})
	}
}

// allocOfAnswer is the bytes allocated while a client limited to n reads
// an answer of n bytes, as the collector does: into a buffer.
func allocOfAnswer(t *testing.T, n int) uint64 {
	body := []byte(`["` + strings.Repeat("x", n-4) + `"]`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	client := testClient(t, srv.URL, "x", ClientOptions{MaxBodyBytes: int64(n)})
	req, err := client.NewRequest(http.MethodGet, "deploy_tokens", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var doErr error
	alloc := allocDuring(func() { _, doErr = client.Do(req, new(bytes.Buffer)) })
	if doErr != nil {
		t.Fatalf("an answer of exactly the limit: %v", doErr)
	}
	return alloc
}

// TestCompressedAnswerWithinTheLimit: a gzip answer the client did not let
// Go decompress is decompressed by the guard and decodes.
func TestCompressedAnswerWithinTheLimit(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(`{"id":7,"username":"root","is_admin":true}`))
	zw.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
		w.Write(b.Bytes())
	}))
	t.Cleanup(front.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	client := testClient(t, front.URL, "x", ClientOptions{HTTPClient: &http.Client{Transport: tr}})
	u, _, err := client.Users.CurrentUser()
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != 7 || u.Username != "root" {
		t.Errorf("decoded %+v", u)
	}
}

// TestAnswerOfExactlyTheLimit is read whole.
func TestAnswerOfExactlyTheLimit(t *testing.T) {
	body := `{"id":7,"username":"` + strings.Repeat("r", 100) + `"}`
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}))
	t.Cleanup(front.Close)
	for _, limit := range []int64{int64(len(body)), int64(len(body) - 1)} {
		client := testClient(t, front.URL, "x", ClientOptions{MaxBodyBytes: limit, RetryMax: -1})
		_, _, err := client.Users.CurrentUser()
		if fits := limit == int64(len(body)); fits != (err == nil) {
			t.Errorf("body of %d bytes, limit %d: %v", len(body), limit, err)
		}
	}
}

// testClient is NewClient for the server at base (without /api/v4).
func testClient(t *testing.T, base, token string, opts ClientOptions) *gitlab.Client {
	t.Helper()
	client, _, err := NewClient(base+"/api/v4", token, opts)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// TestTransportErrorIsNotATimeout: a failure of the exchange itself (here
// a certificate no one trusts) keeps its own error; only the attempt's
// timer makes a *TimeoutError.
func TestTransportErrorIsNotATimeout(t *testing.T) {
	srv := httptest.NewTLSServer(userAnswer(nil))
	t.Cleanup(srv.Close)
	client := testClient(t, srv.URL, "x", ClientOptions{RetryMax: -1})
	_, _, err := client.Users.CurrentUser()
	var te *TimeoutError
	var ve *tls.CertificateVerificationError
	if errors.As(err, &te) || !errors.As(err, &ve) {
		t.Errorf("%v, want the certificate error, not a timeout", err)
	}
}
