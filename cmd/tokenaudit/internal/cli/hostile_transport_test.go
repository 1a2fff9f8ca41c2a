package cli

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/internal/secrettest"
)

// elsewhere is the server a hostile GitLab redirects to; it counts the
// requests that reach it carrying a token.
type elsewhere struct {
	srv       *httptest.Server
	mu        sync.Mutex
	withToken int
}

func newElsewhere(t *testing.T) *elsewhere {
	e := &elsewhere{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		if r.Header.Get("PRIVATE-TOKEN") != "" || r.Header.Get("Authorization") != "" {
			e.withToken++
		}
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":1,"username":"root","is_admin":true}`))
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *elsewhere) tokens() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.withToken
}

// redirecting serves the simulator, but answers path with a 307 to target
// (the same path, and a query that must not show).
func redirecting(sim *gitlabsim.Server, path, target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			w.Header().Set("Location", target+r.URL.Path+"?X-Amz-Signature=s3cr3t")
			w.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
		sim.Handler().ServeHTTP(w, r)
	})
}

// TestRedirectOfUserStopsTheAudit: GitLab redirecting /api/v4/user to
// another port, or from https to plain http, stops the audit with exit 2
// and one line naming both URLs, without their query or the token; the
// other server never sees the token.
func TestRedirectOfUserStopsTheAudit(t *testing.T) {
	for _, tt := range []struct {
		name string
		tls  bool
		why  string
	}{
		{"another port", false, "another port"},
		{"https to http", true, "plain http"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := cleanEnv(t)
			w := cleanWorld()
			sim := serve(t, w, gitlabsim.Options{})
			other := newElsewhere(t)
			h := redirecting(sim, "/api/v4/user", other.srv.URL)
			args := []string{"audit", "--format", "json"}
			var front *httptest.Server
			if tt.tls {
				front = httptest.NewTLSServer(h)
				ca := filepath.Join(dir, "ca.pem")
				writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: front.Certificate().Raw})), 0o600)
				args = append(args, "--ca-file", ca)
			} else {
				front = httptest.NewServer(h)
			}
			t.Cleanup(front.Close)
			t.Setenv("GITLAB_TOKEN", adminValue)
			res := run(t, append(args, "--gitlab-url", front.URL)...)
			if res.code != ExitCannotRun {
				t.Fatalf("exit %d, want %d; stderr:\n%s", res.code, ExitCannotRun, res.stderr)
			}
			if n := other.tokens(); n != 0 {
				t.Errorf("the other server got the token %d times", n)
			}
			msg := strings.TrimSuffix(res.stderr, "\n")
			if strings.Contains(msg, "\n") {
				t.Errorf("stderr is more than one line:\n%s", res.stderr)
			}
			for _, want := range []string{front.URL + "/api/v4/user", other.srv.URL + "/api/v4/user", tt.why, "gitlab_url"} {
				if !strings.Contains(msg, want) {
					t.Errorf("stderr does not name %q:\n%s", want, res.stderr)
				}
			}
			if strings.Contains(msg, "s3cr3t") {
				t.Errorf("stderr shows the redirect's query:\n%s", res.stderr)
			}
			secrettest.Scan(t, "tokenaudit's output", []byte(res.stdout+res.stderr), secrettest.WorldSecrets(w))
		})
	}
}

// TestRedirectOfAListIsAnErrorGap: a redirect elsewhere on a later list
// is an error gap naming both URLs (exit 3, the report incomplete), not a
// permission gap, and the other server never sees the token.
func TestRedirectOfAListIsAnErrorGap(t *testing.T) {
	cleanEnv(t)
	w := cleanWorld()
	sim := serve(t, w, gitlabsim.Options{})
	other := newElsewhere(t)
	front := httptest.NewServer(redirecting(sim, "/api/v4/deploy_tokens", other.srv.URL))
	t.Cleanup(front.Close)
	t.Setenv("GITLAB_TOKEN", adminValue)
	res := run(t, "audit", "--format", "json", "--gitlab-url", front.URL)
	if res.code != ExitIncomplete {
		t.Fatalf("exit %d, want %d; stderr:\n%s", res.code, ExitIncomplete, res.stderr)
	}
	if n := other.tokens(); n != 0 {
		t.Errorf("the other server got the token %d times", n)
	}
	var rep struct {
		Gaps []struct{ What, Kind, Reason string } `json:"gaps"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("stdout is no JSON report (%v); stderr:\n%s", err, res.stderr)
	}
	found := false
	for _, g := range rep.Gaps {
		if g.What != "deploy tokens" {
			continue
		}
		found = true
		if g.Kind != "error" {
			t.Errorf("gap kind %q, want error", g.Kind)
		}
		for _, want := range []string{front.URL + "/api/v4/deploy_tokens", other.srv.URL + "/api/v4/deploy_tokens"} {
			if !strings.Contains(g.Reason, want) {
				t.Errorf("gap reason %q does not name %s", g.Reason, want)
			}
		}
	}
	if !found {
		t.Errorf("no gap for the redirected deploy token list: %+v", rep.Gaps)
	}
	if strings.Contains(res.stdout+res.stderr, "s3cr3t") {
		t.Error("the output shows the redirect's query")
	}
	secrettest.Scan(t, "tokenaudit's output", []byte(res.stdout+res.stderr), secrettest.WorldSecrets(w))
}

// TestMalformedLinkOnUserIsOneLine: a Link header client-go would panic on
// stops the audit with exit 2 and one line naming the header.
func TestMalformedLinkOnUserIsOneLine(t *testing.T) {
	cleanEnv(t)
	w := cleanWorld()
	sim := serve(t, w, gitlabsim.Options{})
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v4/user" {
			rw.Header().Set("Link", `<http://x/>; rel`)
		}
		sim.Handler().ServeHTTP(rw, r)
	}))
	t.Cleanup(front.Close)
	t.Setenv("GITLAB_TOKEN", adminValue)
	res := run(t, "audit", "--gitlab-url", front.URL)
	if res.code != ExitCannotRun {
		t.Fatalf("exit %d, want %d; stderr:\n%s", res.code, ExitCannotRun, res.stderr)
	}
	if msg := strings.TrimSuffix(res.stderr, "\n"); strings.Contains(msg, "\n") || !strings.Contains(msg, "malformed Link header") {
		t.Errorf("stderr is not one line naming the Link header:\n%s", res.stderr)
	}
	secrettest.Scan(t, "tokenaudit's output", []byte(res.stdout+res.stderr), secrettest.WorldSecrets(w))
}
