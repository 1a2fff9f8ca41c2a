package collect

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// tokenCatcher is the server a hostile redirect points at. It answers
// like GitLab would (a user, an empty list) so that a client that follows
// gets a believable answer, and counts the requests that carry a token.
type tokenCatcher struct {
	srv       *httptest.Server
	mu        sync.Mutex
	requests  int
	withToken int
}

func newTokenCatcher(t *testing.T) *tokenCatcher {
	c := &tokenCatcher{}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *tokenCatcher) serve(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.requests++
	if r.Header.Get("PRIVATE-TOKEN") != "" || r.Header.Get("Authorization") != "" {
		c.withToken++
	}
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/api/v4/user" {
		w.Write([]byte(`{"id":1,"username":"root","is_admin":true}`))
		return
	}
	w.Write([]byte(`[]`))
}

func (c *tokenCatcher) counts() (requests, withToken int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests, c.withToken
}

// redirector answers path with status and a Location of target plus the
// request's path and a secret query, and passes everything else to next.
func redirector(path string, status int, target string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			w.Header().Set("Location", target+r.URL.Path+"?signature=s3cr3t-in-query")
			w.WriteHeader(status)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestRedirectToAnotherOriginIsRefused: GitLab redirecting /api/v4/user to
// another port, to localhost instead of 127.0.0.1, or from https to plain
// http never gets the token there: the audit stops with ErrRedirect naming
// both URLs (without the query), and the other server sees no token.
func TestRedirectToAnotherOriginIsRefused(t *testing.T) {
	const token = "glpat-RedirectTest000000001"
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		for _, tt := range []struct {
			name string
			tls  bool
			why  string
			// target is the redirect's origin, given the catcher's URL.
			target func(catcher *url.URL) string
		}{
			{name: "another port", why: "another port", target: func(c *url.URL) string { return c.String() }},
			{name: "localhost for 127.0.0.1", why: "another host", target: func(c *url.URL) string { return "http://localhost:" + c.Port() }},
			{name: "https to http", tls: true, why: "plain http", target: func(c *url.URL) string { return c.String() }},
		} {
			t.Run(http.StatusText(status)+"/"+tt.name, func(t *testing.T) {
				catcher := newTokenCatcher(t)
				cu, _ := url.Parse(catcher.srv.URL)
				target := tt.target(cu)
				h := redirector("/api/v4/user", status, target, http.NotFoundHandler())
				var front *httptest.Server
				var opts ClientOptions
				if tt.tls {
					front = httptest.NewTLSServer(h)
					opts.HTTPClient = front.Client() // trusts the test server's certificate
				} else {
					front = httptest.NewServer(h)
				}
				t.Cleanup(front.Close)
				opts.RetryMax, opts.RetryWaitMin, opts.RetryWaitMax = 3, time.Millisecond, time.Millisecond
				client := testClient(t, front.URL, token, opts)
				_, err := Collect(context.Background(), client, Options{})
				if n, withToken := catcher.counts(); withToken != 0 || n != 0 {
					t.Errorf("the other origin got %d requests, %d with the token; want none", n, withToken)
				}
				if !errors.Is(err, ErrRedirect) {
					t.Fatalf("Collect: %v, want ErrRedirect", err)
				}
				var re *RedirectError
				if !errors.As(err, &re) {
					t.Fatalf("no *RedirectError in %v", err)
				}
				msg := re.Error()
				for _, want := range []string{front.URL + "/api/v4/user", target + "/api/v4/user", tt.why} {
					if !strings.Contains(msg, want) {
						t.Errorf("message %q does not name %q", msg, want)
					}
				}
				if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), token) {
					t.Errorf("error %q shows the redirect's query or the token", err)
				}
			})
		}
	}
}

// TestRedirectOnAListIsAnErrorGap: a redirect elsewhere on a later list is
// an error gap naming both URLs, not a permission gap and not a read of
// the other server; the rest of the inventory is read.
func TestRedirectOnAListIsAnErrorGap(t *testing.T) {
	w := generate(t, "tiny", 1)
	sim := gitlabsim.NewServer(w, gitlabsim.Options{})
	t.Cleanup(sim.Close)
	catcher := newTokenCatcher(t)
	front := httptest.NewServer(redirector("/api/v4/deploy_tokens", http.StatusFound, catcher.srv.URL, sim.Handler()))
	t.Cleanup(front.Close)
	client := testClient(t, front.URL, w.AdminToken(), testClientOptions)
	inv, err := Collect(context.Background(), client, Options{})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if n, withToken := catcher.counts(); n != 0 {
		t.Errorf("the other origin got %d requests, %d with the token; want none", n, withToken)
	}
	var gap *inventory.Gap
	for i, g := range inv.Gaps {
		if g.What == "deploy tokens" {
			gap = &inv.Gaps[i]
		}
	}
	if gap == nil {
		t.Fatalf("no gap for the redirected deploy token list: %+v", inv.Gaps)
	}
	if gap.Kind != inventory.GapError {
		t.Errorf("gap kind %s, want %s", gap.Kind, inventory.GapError)
	}
	for _, want := range []string{front.URL + "/api/v4/deploy_tokens", catcher.srv.URL + "/api/v4/deploy_tokens"} {
		if !strings.Contains(gap.Reason, want) {
			t.Errorf("gap reason %q does not name %s", gap.Reason, want)
		}
	}
	if strings.Contains(gap.Reason, "s3cr3t") {
		t.Errorf("gap reason %q shows the redirect's query", gap.Reason)
	}
	if len(inv.Tokens) == 0 {
		t.Error("no token read: the redirect of one list stopped the others")
	}
}

// TestSameOriginRedirectIsFollowed: a redirect within GitLab's origin (a
// renamed path) is followed, with the token.
func TestSameOriginRedirectIsFollowed(t *testing.T) {
	w := generate(t, "tiny", 1)
	sim := gitlabsim.NewServer(w, gitlabsim.Options{})
	t.Cleanup(sim.Close)
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v4/user" {
			http.Redirect(rw, r, "/api/v4/user/", http.StatusFound)
			return
		}
		if r.URL.Path == "/api/v4/user/" {
			r.URL.Path = "/api/v4/user"
		}
		sim.Handler().ServeHTTP(rw, r)
	}))
	t.Cleanup(front.Close)
	client := testClient(t, front.URL, w.AdminToken(), testClientOptions)
	inv, err := Collect(context.Background(), client, Options{})
	if err != nil {
		t.Fatalf("Collect through a same-origin redirect: %v", err)
	}
	if !inv.GitLab.Admin {
		t.Error("the caller read through the redirect is no administrator")
	}
}

func TestOriginOf(t *testing.T) {
	same := [][2]string{
		{"https://gitlab.example.com/api/v4", "https://GitLab.Example.com:443/x"},
		{"http://127.0.0.1/api/v4", "http://127.0.0.1:80/"},
		{"https://[::1]:8443/", "https://[::1]:8443/api/v4/user"},
	}
	differ := [][2]string{
		{"https://gitlab.example.com/", "http://gitlab.example.com/"},
		{"https://gitlab.example.com/", "https://gitlab.example.com:8443/"},
		{"http://127.0.0.1:8080/", "http://localhost:8080/"},
		{"https://gitlab.example.com/", "https://gitlab.example.com.evil.test/"},
	}
	for _, c := range same {
		a, _ := url.Parse(c[0])
		b, _ := url.Parse(c[1])
		if originOf(a) != originOf(b) {
			t.Errorf("%s and %s: different origins, want the same", c[0], c[1])
		}
	}
	for _, c := range differ {
		a, _ := url.Parse(c[0])
		b, _ := url.Parse(c[1])
		if originOf(a) == originOf(b) {
			t.Errorf("%s and %s: the same origin, want different", c[0], c[1])
		}
	}
}
