package cli

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// TestErrorsSayWhatToDo (issue 13): each failure that Go or GitLab words
// for programmers is one line that says what was wrong and what to do.
func TestErrorsSayWhatToDo(t *testing.T) {
	sim := serve(t, cleanWorld(), gitlabsim.Options{})
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><html><body><form>Sign in to the proxy</form></body></html>"))
	}))
	t.Cleanup(html.Close)
	blocked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message":"403 Forbidden - Your account has been blocked."}`))
	}))
	t.Cleanup(blocked.Close)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"https to http", []string{"--gitlab-url", strings.Replace(sim.URL(), "http://", "https://", 1)},
			[]string{"plain http", "http://"}},
		{"html page", []string{"--gitlab-url", html.URL}, []string{"web page", "proxy"}},
		{"wrong path", []string{"--gitlab-url", sim.URL() + "/gitlab"}, []string{"404", "base URL"}},
		{"no such group", []string{"--gitlab-url", sim.URL(), "--mode", "groups", "--group", "nosuch"}, []string{`"nosuch"`, "does not exist"}},
		{"blocked account", []string{"--gitlab-url", blocked.URL}, []string{"blocked", "administrator"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			t.Setenv("GITLAB_TOKEN", adminValue)
			res := run(t, append([]string{"audit"}, tc.args...)...)
			if res.code != ExitCannotRun {
				t.Fatalf("exit %d, want %d; stderr:\n%s", res.code, ExitCannotRun, res.stderr)
			}
			msg := strings.TrimSuffix(res.stderr, "\n")
			t.Logf("stderr: %s", msg)
			if strings.Contains(msg, "\n") {
				t.Errorf("stderr is more than one line:\n%s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr lacks %q:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, adminValue) {
				t.Error("stderr holds the token")
			}
		})
	}
}

// TestMalformedYAMLLine: a syntax error names the line it is on, 1-based,
// whether yaml.v3's scanner or its parser found it.
func TestMalformedYAMLLine(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"mode: auto\nformat: [json\nfail_on: high\n", "line 2: did not find expected ',' or ']'"},            // parser
		{"mode: auto\nfail_on: high\nformat: @json\n", "line 3: found character that cannot start any token"}, // scanner
		{"mode: auto\nformat: json\n  fail_on: x\n", "line 3: mapping values are not allowed in this context"},
	} {
		err := checkYAML([]byte(tc.yaml), reflect.TypeOf(Config{}))
		if err == nil || err.Error() != "malformed YAML: "+tc.want {
			t.Errorf("checkYAML(%q) = %v, want malformed YAML: %s", tc.yaml, err, tc.want)
		}
	}
}

// TestUnwritableOutputBeforeAudit: an --output directory that cannot be
// written is refused before any request reaches GitLab. Tests run as root,
// which permission bits do not stop, so the directory is one no one may
// create files in: /proc/self (Linux), and a path under a regular file.
func TestUnwritableOutputBeforeAudit(t *testing.T) {
	dir := cleanEnv(t)
	writeFile(t, filepath.Join(dir, "afile"), "x", 0o600)
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("GITLAB_TOKEN", adminValue)
	paths := map[string]string{filepath.Join(dir, "afile", "r.json"): "does not exist"}
	if runtime.GOOS == "linux" {
		paths["/proc/self/r.json"] = "cannot write in directory /proc/self"
	}
	for path, want := range paths {
		res := run(t, "audit", "--gitlab-url", srv.URL, "--output", "json="+path)
		if res.code != ExitCannotRun || !strings.Contains(res.stderr, want) || strings.Count(res.stderr, "\n") != 1 {
			t.Errorf("--output json=%s: exit %d, stderr %q; want exit %d and one line with %q", path, res.code, res.stderr, ExitCannotRun, want)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests reached GitLab before the output was refused", n)
	}
}
