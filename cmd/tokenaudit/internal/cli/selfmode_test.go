package cli

import (
	"strings"
	"testing"
)

// TestAuditAdminWithGroup: an administrator who names a group gets that
// group's tree, and the report says why, rather than the whole instance
// with --group silently ignored.
func TestAuditAdminWithGroup(t *testing.T) {
	w, url := smallSim(t)
	_, group := w.GroupOwnerToken()
	t.Setenv("GITLAB_TOKEN", w.AdminToken())
	whole := readFiltered(t, run(t, "audit", "--gitlab-url", url, "--format", "json", "--fail-on", "none"))
	rep := readFiltered(t, run(t, "audit", "--gitlab-url", url, "--format", "json", "--fail-on", "none", "--group", group))
	if rep.GitLab.Mode != "groups" || !strings.Contains(rep.GitLab.ModeReason, "administrator") || !strings.Contains(rep.GitLab.ModeReason, group) {
		t.Errorf("gitlab = %+v, want groups mode with a reason naming the administrator and %s", rep.GitLab, group)
	}
	if len(rep.Tokens) == 0 || len(rep.Tokens) >= len(whole.Tokens) {
		t.Fatalf("%d tokens with --group, %d without", len(rep.Tokens), len(whole.Tokens))
	}
	for _, tok := range rep.Tokens {
		// The caller's own tokens belong to the instance; all else to the tree.
		if p := tok.Resource.Path; p != "" && p != group && !strings.HasPrefix(p, group+"/") {
			t.Errorf("a %s token of %s is outside %s", tok.Kind, p, group)
		}
	}
}

// TestAuditSelfNote: a non-administrator naming no group is told, in the
// report and in one line on stderr, that only their own tokens were
// audited and how to audit groups; in CI that stops the run (exit 2, no
// report) unless --mode self says it is meant.
func TestAuditSelfNote(t *testing.T) {
	w, url := smallSim(t)
	owner, _ := w.GroupOwnerToken()
	t.Setenv("GITLAB_TOKEN", owner)
	args := []string{"audit", "--gitlab-url", url, "--format", "json", "--fail-on", "none"}

	res := run(t, args...)
	rep := readFiltered(t, res)
	if res.code != ExitOK || rep.GitLab.Mode != "self" {
		t.Fatalf("exit %d, mode %s; stderr:\n%s", res.code, rep.GitLab.Mode, res.stderr)
	}
	for _, where := range []string{rep.GitLab.ModeReason, res.stderr} {
		if !strings.Contains(where, "only the caller's own tokens were audited") || !strings.Contains(where, "--group PATH") {
			t.Errorf("no self-mode note with the way out in %q", where)
		}
	}
	if n := strings.Count(res.stderr, "own tokens were audited"); n != 1 {
		t.Errorf("the note is on stderr %d times:\n%s", n, res.stderr)
	}

	t.Setenv("CI", "true")
	res = run(t, args...)
	if res.code != ExitCannotRun || res.stdout != "" {
		t.Errorf("in CI: exit %d, stdout %.200q; want 2 and no report", res.code, res.stdout)
	}
	if msg := strings.TrimSpace(res.stderr); strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "--group PATH") || !strings.Contains(msg, "--mode self") {
		t.Errorf("in CI: stderr is not one line naming --group PATH and --mode self:\n%s", res.stderr)
	}
	if res := run(t, append(args, "--mode", "self")...); res.code != ExitOK {
		t.Errorf("in CI with --mode self: exit %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
}
