package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestMaxResponseMiB: an answer larger than max_response_mib (here a
// deploy token list of 2 MiB against a limit of 1) is an error gap and
// exit 3, from the flag and from the environment; an impossible value is
// refused with one line naming the key.
func TestMaxResponseMiB(t *testing.T) {
	big := func(rw http.ResponseWriter, _ *http.Request, _ http.Handler) {
		rw.Header().Set("Content-Type", "application/json")
		rw.Write([]byte("[" + strings.Repeat(`{"id":1,"name":"padding-padding-padding"},`, 50_000) + `{"id":2}]`))
	}
	for _, how := range []string{"flag", "env"} {
		t.Run(how, func(t *testing.T) {
			cleanEnv(t)
			srv := serveHostile(t, cleanWorld(), map[string]answer{"/api/v4/deploy_tokens": big})
			t.Setenv("GITLAB_TOKEN", adminValue)
			args := []string{"audit", "--gitlab-url", srv.url, "--format", "json", "--fail-on", "none"}
			if how == "flag" {
				args = append(args, "--max-response-mib", "1")
			} else {
				t.Setenv("TOKENAUDIT_MAX_RESPONSE_MIB", "1")
			}
			res := run(t, args...)
			if res.code != ExitIncomplete {
				t.Fatalf("exit %d, want %d; stderr:\n%s", res.code, ExitIncomplete, res.stderr)
			}
			var rep struct {
				Gaps []struct{ What, Kind, Reason string } `json:"gaps"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, g := range rep.Gaps {
				found = found || g.What == "deploy tokens" && g.Kind == "error" && strings.Contains(g.Reason, "larger than 1 MiB")
			}
			if !found {
				t.Errorf("no error gap saying the deploy token answer is larger than 1 MiB: %+v", rep.Gaps)
			}
		})
	}
	// The default (32 MiB) reads the same answer.
	cleanEnv(t)
	srv := serveHostile(t, cleanWorld(), map[string]answer{"/api/v4/deploy_tokens": big})
	t.Setenv("GITLAB_TOKEN", adminValue)
	if res := run(t, "audit", "--gitlab-url", srv.url, "--format", "json", "--fail-on", "none"); res.code == ExitIncomplete || res.code == ExitCannotRun {
		t.Errorf("default limit: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	for _, v := range []string{"0", "5000"} {
		res := run(t, "audit", "--gitlab-url", srv.url, "--max-response-mib", v)
		if res.code != ExitCannotRun || !strings.Contains(res.stderr, "max_response_mib") || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 {
			t.Errorf("max_response_mib %s: exit %d, stderr %q; want 2 and one line naming the key", v, res.code, res.stderr)
		}
	}
}

// TestMaxWait: a 429 whose Retry-After is beyond max_wait (3 s against 2 s;
// the default 5 minutes would wait and retry) ends that read at once as an
// error gap saying how long GitLab asked; impossible values are refused.
func TestMaxWait(t *testing.T) {
	cleanEnv(t)
	slow := func(rw http.ResponseWriter, _ *http.Request, _ http.Handler) {
		rw.Header().Set("Retry-After", "3")
		rw.Header().Set("Content-Type", "text/plain")
		rw.WriteHeader(http.StatusTooManyRequests)
		rw.Write([]byte("Retry later\n"))
	}
	srv := serveHostile(t, cleanWorld(), map[string]answer{"/api/v4/deploy_tokens": slow})
	t.Setenv("GITLAB_TOKEN", adminValue)
	res := run(t, "audit", "--gitlab-url", srv.url, "--format", "json", "--fail-on", "none", "--max-wait", "2s")
	if res.code != ExitIncomplete {
		t.Fatalf("exit %d, want %d; stderr:\n%s", res.code, ExitIncomplete, res.stderr)
	}
	if !strings.Contains(res.stdout, "wait 3 seconds") {
		t.Errorf("no gap saying GitLab asked to wait 3 seconds:\n%.2000s", res.stdout)
	}
	for _, v := range []string{"0s", "2h"} {
		res := run(t, "audit", "--gitlab-url", srv.url, "--max-wait", v)
		if res.code != ExitCannotRun || !strings.Contains(res.stderr, "max_wait") {
			t.Errorf("max_wait %s: exit %d, stderr %q; want 2 naming the key", v, res.code, res.stderr)
		}
	}
}
