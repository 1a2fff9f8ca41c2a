package cli

import (
	"strings"
	"testing"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// TestAuditAdminModeWithoutScope runs the audit an administrator would run
// on an instance with Admin Mode on, with a token that lacks the admin_mode
// scope: GitLab says is_admin but serves the lists as to anyone. The audit
// must not pass for complete: exit 2, one line that names the scope and the
// fix, no report.
func TestAuditAdminModeWithoutScope(t *testing.T) {
	w, err := gitlabsim.Generate("tiny", 1, gitlabsim.WithAdminMode())
	if err != nil {
		t.Fatal(err)
	}
	cleanEnv(t)
	srv := serve(t, w, gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", w.AdminToken())
	res := run(t, "audit", "--gitlab-url", srv.URL(), "--format", "json")
	if res.code != ExitCannotRun {
		t.Fatalf("exit %d, want %d; stderr:\n%s", res.code, ExitCannotRun, res.stderr)
	}
	if res.stdout != "" {
		t.Errorf("a report was written although the audit could not run:\n%.300s", res.stdout)
	}
	msg := strings.TrimSpace(res.stderr)
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "admin_mode scope") || !strings.Contains(msg, "Admin Mode") {
		t.Errorf("stderr is not one line naming Admin Mode and the admin_mode scope:\n%s", res.stderr)
	}

	t.Setenv("GITLAB_TOKEN", w.AdminModeToken())
	if res := run(t, "audit", "--gitlab-url", srv.URL(), "--format", "json", "--fail-on", "none"); res.code != ExitOK {
		t.Errorf("with the admin_mode scope: exit %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
}
