package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/internal/secrettest"
)

// TestFaultExitCodes runs the whole command under the faults of issue 7's
// matrix (internal/e2e/faults_test.go holds the collector to the ground
// truth under the same faults): a fault the retries absorb leaves the run
// green; one that outlives them makes an error gap and exit 3, with the
// report still written and saying it is incomplete.
func TestFaultExitCodes(t *testing.T) {
	only := func(f gitlabsim.Faults, routes ...string) gitlabsim.Options {
		f.Routes = routes
		return gitlabsim.Options{Seed: 1, Faults: f}
	}
	tests := []struct {
		name  string
		opts  gitlabsim.Options
		args  []string
		want  int
		what  string // with exit 3: the What of the error gap
		fault func(gitlabsim.FaultStats) int64
	}{
		{name: "5xx within the retries", opts: only(gitlabsim.Faults{ErrorRate: 0.3}, "GET /personal_access_tokens", "GET /users"),
			args: []string{"--retries", "10"}, want: ExitOK, fault: func(s gitlabsim.FaultStats) int64 { return s.Errors }},
		{name: "5xx outage", opts: only(gitlabsim.Faults{ErrorRate: 1}, "GET /personal_access_tokens"),
			args: []string{"--retries", "1"}, want: ExitIncomplete, what: "personal access tokens", fault: func(s gitlabsim.FaultStats) int64 { return s.Errors }},
		{name: "429 storm past the retries", opts: only(gitlabsim.Faults{Burst429: 1, BurstLength: 20}, "GET /deploy_tokens"),
			args: []string{"--retries", "1"}, want: ExitIncomplete, what: "deploy tokens", fault: func(s gitlabsim.FaultStats) int64 { return s.Throttled }},
		{name: "429 without headers past the retries", opts: only(gitlabsim.Faults{Burst429: 1, BurstLength: 20, Burst429NoHeaders: true}, "GET /users"),
			args: []string{"--retries", "1"}, want: ExitIncomplete, what: "users", fault: func(s gitlabsim.FaultStats) int64 { return s.Throttled }},
		{name: "latency past the timeout", opts: only(gitlabsim.Faults{Latency: 3 * time.Second}, "GET /deploy_tokens"),
			args: []string{"--timeout", "500ms"}, want: ExitIncomplete, what: "deploy tokens", fault: func(s gitlabsim.FaultStats) int64 { return s.Requests }},
		{name: "dropped connections", opts: only(gitlabsim.Faults{DropRate: 1}, "GET /personal_access_tokens"),
			args: []string{"--retries", "1"}, want: ExitIncomplete, what: "personal access tokens", fault: func(s gitlabsim.FaultStats) int64 { return s.Dropped }},
		{name: "truncated JSON", opts: only(gitlabsim.Faults{TruncateRate: 1}, "GET /personal_access_tokens"),
			want: ExitIncomplete, what: "personal access tokens", fault: func(s gitlabsim.FaultStats) int64 { return s.Truncated }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			srv := serve(t, cleanWorld(), tt.opts)
			t.Setenv("GITLAB_TOKEN", adminValue)
			res := run(t, append([]string{"audit", "--gitlab-url", srv.URL(), "--format", "json"}, tt.args...)...)
			if n := tt.fault(srv.FaultStats()); n == 0 {
				t.Fatalf("no fault was injected (%+v); the case proves nothing", srv.FaultStats())
			}
			if res.code != tt.want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", res.code, tt.want, res.stderr)
			}
			var rep struct {
				Summary struct {
					Complete bool `json:"complete"`
				} `json:"summary"`
				Gaps []struct{ What, Kind, Reason string } `json:"gaps"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
				t.Fatalf("stdout is no JSON report (%v); stderr:\n%s", err, res.stderr)
			}
			errorGap := false
			for _, g := range rep.Gaps {
				if g.Kind == "error" && g.What == tt.what {
					errorGap = true
				}
			}
			if tt.want == ExitOK {
				if !rep.Summary.Complete {
					t.Errorf("faults within the retries left the report incomplete: %+v", rep.Gaps)
				}
				return
			}
			if rep.Summary.Complete || !errorGap {
				t.Errorf("complete %v, gaps %+v; want incomplete with an error gap for %q", rep.Summary.Complete, rep.Gaps, tt.what)
			}
			if !strings.Contains(res.stderr, "incomplete") {
				t.Errorf("stderr does not say the audit is incomplete:\n%s", res.stderr)
			}
		})
	}
}

// TestSecretsUnderFaultsAndTriggerOwners extends TestSecretsNeverWritten
// to the runs it leaves out: callers who own pipeline triggers (GitLab
// returns a trigger's value in full to its owner, so the collector really
// receives secrets), every format on stdout and in files, a run that fails
// under faults (error strings and gap reasons at debug level), and runs
// with a rejected token and an unreachable GitLab. Every byte written is
// searched for every token value of the World.
func TestSecretsUnderFaultsAndTriggerOwners(t *testing.T) {
	dir := cleanEnv(t)
	w, err := gitlabsim.Generate("small", 6)
	if err != nil {
		t.Fatal(err)
	}
	admin := w.AdminToken()
	owner, group := w.GroupOwnerToken()
	userOf := func(value string) int64 {
		for _, tk := range w.Tokens {
			if tk.Value == value {
				return tk.UserID
			}
		}
		t.Fatal("token not in the World")
		return 0
	}
	adminID, ownerID := userOf(admin), userOf(owner)
	// Give the group owner the triggers of their group's projects, and the
	// administrator every fifth of the others.
	inGroup := map[int64]bool{}
	for _, g := range w.Groups {
		if g.ParentID == 0 && g.Path == group {
			inGroup[g.ID] = true
		}
	}
	for range w.Groups { // parents come before children in ID order, but not necessarily
		for _, g := range w.Groups {
			if inGroup[g.ParentID] {
				inGroup[g.ID] = true
			}
		}
	}
	groupProject := map[int64]bool{}
	for _, p := range w.Projects {
		groupProject[p.ID] = inGroup[p.GroupID]
	}
	var ownerTrigger, adminTrigger *gitlabsim.Trigger
	for i, tr := range w.Triggers {
		switch {
		case groupProject[tr.ProjectID]:
			tr.OwnerID = ownerID
			ownerTrigger = tr
		case i%5 == 0:
			tr.OwnerID = adminID
			adminTrigger = tr
		}
	}
	if ownerTrigger == nil || adminTrigger == nil {
		t.Fatal("no trigger for the group owner or the administrator; the scan would prove little")
	}
	var revoked string
	for _, tk := range w.Tokens {
		if tk.Revoked {
			revoked = tk.Value
			break
		}
	}

	srv := serve(t, w, gitlabsim.Options{})
	// The simulator does hand these callers their triggers' values.
	for _, c := range []struct {
		token string
		tr    *gitlabsim.Trigger
	}{{owner, ownerTrigger}, {admin, adminTrigger}} {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v4/projects/%d/triggers", srv.URL(), c.tr.ProjectID), nil)
		req.Header.Set("PRIVATE-TOKEN", c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), c.tr.Value) {
			t.Fatal("the simulator does not return a trigger's value to its owner; the scan would prove little")
		}
	}
	faulty := serve(t, w, gitlabsim.Options{Seed: 2, Faults: gitlabsim.Faults{
		ErrorRate: 1, Routes: []string{"GET /projects/:id/triggers", "GET /deploy_tokens"},
	}})
	gone := serve(t, cleanWorld(), gitlabsim.Options{})
	goneURL := gone.URL()
	gone.Close()

	type runSpec struct {
		token, url string
		args       []string
		want       int
	}
	runs := []runSpec{
		{admin, srv.URL(), []string{"--format", "table", "--output", "json=a.json", "--output", "csv=a.csv", "--output", "table=a.txt"}, -1},
		{admin, srv.URL(), []string{"--format", "csv"}, -1},
		{admin, srv.URL(), []string{"--format", "json"}, -1},
		{owner, srv.URL(), []string{"--group", group, "--format", "json", "--output", "csv=b.csv", "--output", "table=b.txt"}, -1},
		{owner, srv.URL(), []string{"--group", group, "--format", "table", "--output", "json=b.json"}, -1},
		{admin, faulty.URL(), []string{"--format", "json", "--retries", "1", "--fail-on", "none", "--output", "json=c.json"}, ExitIncomplete},
		{revoked, srv.URL(), []string{"--format", "json"}, ExitCannotRun},
		{"glpat-unknown-token-value-0001", srv.URL(), nil, ExitCannotRun},
		{admin, goneURL, []string{"--timeout", "2s"}, ExitCannotRun},
	}
	var written strings.Builder
	for _, r := range runs {
		t.Setenv("GITLAB_TOKEN", r.token)
		res := run(t, append([]string{"audit", "--gitlab-url", r.url, "--log-level", "debug", "--progress"}, r.args...)...)
		if r.want >= 0 && res.code != r.want {
			t.Errorf("audit %v: exit %d, want %d", r.args, res.code, r.want)
		}
		written.WriteString(res.stdout)
		written.WriteString(res.stderr)
	}
	entries, _ := os.ReadDir(dir)
	files := 0
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		written.Write(data)
		files++
	}
	if files < 7 {
		t.Errorf("%d report files written, want 7", files)
	}
	out := written.String()
	for _, want := range []string{"level=DEBUG", "pipeline_trigger", "pipeline triggers"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the output never mentions %q; the scan proves little", want)
		}
	}
	secrets := append([]string{"glpat-unknown-token-value-0001"}, secrettest.WorldSecrets(w)...)
	secrettest.Scan(t, "tokenaudit's output", []byte(out), secrets)
}
