package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// TestMaxDuration: a GitLab too slow for max_duration gives a report of
// what was read, with an error gap saying the run exceeded max_duration,
// and exit 3, whether the limit comes from the flag, the environment or the
// file; not exit 2 as an interruption does (TestSignals: SIGINT and
// SIGTERM still exit 2).
func TestMaxDuration(t *testing.T) {
	for _, from := range []string{"flag", "env", "file"} {
		t.Run(from, func(t *testing.T) {
			dir := cleanEnv(t)
			srv := serve(t, cleanWorld(), gitlabsim.Options{Faults: gitlabsim.Faults{
				Latency: 30 * time.Second, Routes: []string{"GET /deploy_tokens"},
			}})
			t.Setenv("GITLAB_TOKEN", adminValue)
			args := []string{"audit", "--gitlab-url", srv.URL(), "--format", "json", "--output", "json=audit.json"}
			switch from {
			case "flag":
				args = append(args, "--max-duration", "1s")
			case "env":
				t.Setenv("TOKENAUDIT_MAX_DURATION", "1s")
			case "file":
				writeFile(t, filepath.Join(dir, "tokenaudit.yaml"), "max_duration: 1s\n", 0o600)
			}
			start := time.Now()
			res := run(t, args...)
			if took := time.Since(start); took > 20*time.Second {
				t.Errorf("the audit took %s with a max_duration of 1s", took)
			}
			if res.code != ExitIncomplete {
				t.Fatalf("exit %d, want 3; stderr:\n%s", res.code, res.stderr)
			}
			for name, out := range map[string]string{"stdout": res.stdout, "audit.json": readFileOr(t, filepath.Join(dir, "audit.json"))} {
				var rep struct {
					Summary struct {
						Complete bool `json:"complete"`
					} `json:"summary"`
					Gaps []struct{ Resource, What, Kind, Reason string } `json:"gaps"`
				}
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatalf("%s is no JSON report (%v); stderr:\n%s", name, err, res.stderr)
				}
				found := false
				for _, g := range rep.Gaps {
					found = found || g.Kind == "error" && strings.Contains(g.Reason, "max_duration (1s)") && strings.Contains(g.Reason, "/deploy_tokens")
				}
				if rep.Summary.Complete || !found {
					t.Errorf("%s: complete %v, gaps %+v; want incomplete with an error gap naming max_duration and /deploy_tokens", name, rep.Summary.Complete, rep.Gaps)
				}
			}
		})
	}
}

func readFileOr(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("report not written: %v", err)
	}
	return string(b)
}

// TestMaxDurationValues: the default is 6h, 0 turns the limit off, and a
// negative limit is refused with exit 2 naming the key.
func TestMaxDurationValues(t *testing.T) {
	configEnv(t, nil, "")
	for _, tt := range []struct {
		args []string
		want time.Duration
	}{{nil, 6 * time.Hour}, {[]string{"--max-duration", "0"}, 0}, {[]string{"--max-duration", "90m"}, 90 * time.Minute}} {
		got, res := parse(t, append([]string{"--gitlab-url", "https://gitlab.example.com"}, tt.args...)...)
		if res.code != ExitOK || got == nil || got.cfg.MaxDuration != tt.want {
			t.Errorf("%v: exit %d, run %+v; want max_duration %s; stderr:\n%s", tt.args, res.code, got != nil, tt.want, res.stderr)
		}
	}
	if _, res := parse(t, "--gitlab-url", "https://gitlab.example.com", "--max-duration", "-1m"); res.code != ExitCannotRun || !strings.Contains(res.stderr, "max_duration: -1m0s is not allowed") {
		t.Errorf("--max-duration -1m: exit %d; stderr:\n%s", res.code, res.stderr)
	}
}

// TestUserAnswerWithoutIdentity: a /user answer without id and username
// stops the audit with exit 2 and one line, rather than an empty self-mode
// audit that passes.
func TestUserAnswerWithoutIdentity(t *testing.T) {
	for _, body := range []string{`{}`, `null`} {
		t.Run(body, func(t *testing.T) {
			cleanEnv(t)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if r.URL.Path == "/api/v4/user" {
					fmt.Fprint(w, body)
					return
				}
				fmt.Fprint(w, "[]")
			}))
			defer srv.Close()
			t.Setenv("GITLAB_TOKEN", adminValue)
			res := run(t, "audit", "--gitlab-url", srv.URL)
			if res.code != ExitCannotRun {
				t.Fatalf("exit %d, want 2; stderr:\n%s", res.code, res.stderr)
			}
			if lines := strings.Split(strings.TrimSpace(res.stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "GitLab's /user answer has no id or username: is the URL a GitLab API?") {
				t.Errorf("stderr is not the one line naming /user:\n%s", res.stderr)
			}
			if res.stdout != "" {
				t.Errorf("a report was written:\n%s", res.stdout)
			}
		})
	}
}
