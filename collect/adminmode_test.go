package collect

import (
	"errors"
	"strings"
	"testing"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// TestCollectAdminModeWithoutScope checks the worst silent failure an
// auditor can have: on an instance with Admin Mode on, an administrator's
// token without the admin_mode scope is told is_admin by /user but served
// the non-administrator view of every list. The collection must stop before
// reading any list, not return a handful of tokens as a complete audit.
func TestCollectAdminModeWithoutScope(t *testing.T) {
	w, err := gitlabsim.Generate("small", 1, gitlabsim.WithAdminMode())
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []inventory.Mode{inventory.ModeAuto, inventory.ModeInstance} {
		run, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{Mode: mode})
		if !errors.Is(err, ErrNotServedAsAdmin) {
			t.Fatalf("mode %s: Collect = %v, %v; want ErrNotServedAsAdmin", mode, run.inv, err)
		}
		if !strings.Contains(err.Error(), "admin_mode") {
			t.Errorf("mode %s: error %q does not name the admin_mode scope", mode, err)
		}
		for route, n := range run.srv.Counts() {
			if n > 0 && (strings.Contains(route, "personal_access_tokens") || strings.Contains(route, "/users")) {
				t.Errorf("mode %s: %d requests to %s before Admin Mode was noticed", mode, n, route)
			}
		}
	}
}

// TestCollectAdminModeWithScope checks that the same instance audited with
// a token that has the admin_mode scope is the whole instance.
func TestCollectAdminModeWithScope(t *testing.T) {
	w, err := gitlabsim.Generate("small", 1, gitlabsim.WithAdminMode())
	if err != nil {
		t.Fatal(err)
	}
	run, err := collect(t, w, gitlabsim.Options{}, w.AdminModeToken(), Options{Concurrency: 8})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if run.inv.GitLab.Mode != inventory.ModeInstance {
		t.Fatalf("mode %s, want instance", run.inv.GitLab.Mode)
	}
	imp := hasImpersonationRoute(t, run.srv, w.AdminModeToken())
	want, projects := newTruth(w).instanceTruth(imp, true, true)
	checkTokens(t, want, run.inv.Tokens)
	checkProjects(t, projects, run.inv.Projects)
	checkGaps(t, instanceGaps(imp), run.inv.Gaps)
}
