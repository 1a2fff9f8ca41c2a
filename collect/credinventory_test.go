package collect

import (
	"strings"
	"testing"

	"github.com/tokenaudit/tokenaudit/internal/bench"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// TestCredentialsInventoryRefusalsAreGaps audits, on GitLab.com, the top-level
// groups whose credentials inventory GitLab refuses: a Premium group (403),
// a group that requires a DPoP proof (401 dpop_error) and a Free group
// (403). Each refusal hides the enterprise users' personal tokens, so each
// is a gap the report shows, never a debug line.
func TestCredentialsInventoryRefusalsAreGaps(t *testing.T) {
	w, err := gitlabsim.Generate("small", 1, gitlabsim.WithGitLabCom())
	if err != nil {
		t.Fatal(err)
	}
	token, _ := w.GroupOwnerToken()
	holder := bench.TokenHolder(w, token)
	owns := func(g *gitlabsim.Group) bool {
		for _, m := range g.Members {
			if m.UserID == holder && m.AccessLevel == 50 {
				return true
			}
		}
		return false
	}
	want := map[string]string{} // group path -> what the reason must say
	for _, g := range w.Groups {
		if g.ParentID != 0 || !owns(g) {
			continue
		}
		switch {
		case g.RequireDPoPForManageAPI:
			want[g.Path] = "DPoP"
		case g.Plan == "premium" || g.Plan == "free":
			want[g.Path] = "Ultimate"
		}
	}
	var groups []string
	for p := range want {
		groups = append(groups, p)
	}
	if len(groups) < 3 {
		t.Fatalf("the GitLab.com world has %d refusing groups (%v), want a Premium, a Free and a DPoP one", len(groups), want)
	}
	run, err := collect(t, w, gitlabsim.Options{}, token, Options{Groups: groups})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	seen := map[string]bool{}
	for _, g := range run.inv.Gaps {
		if g.What != "credentials inventory" {
			continue
		}
		path := strings.TrimPrefix(g.Resource, "group ")
		must, ok := want[path]
		if !ok {
			t.Errorf("unexpected gap %+v", g)
			continue
		}
		seen[path] = true
		if g.Kind != inventory.GapPermission || !strings.Contains(g.Reason, must) || !strings.Contains(g.Reason, "enterprise users") {
			t.Errorf("gap for %s: %s %q, want a permission gap that says %q and what is not audited", path, g.Kind, g.Reason, must)
		}
	}
	for p := range want {
		if !seen[p] {
			t.Errorf("no gap for the refused credentials inventory of %s", p)
		}
	}
	if !run.inv.Complete() {
		t.Error("refusals for the caller's role must leave the audit complete")
	}
}
