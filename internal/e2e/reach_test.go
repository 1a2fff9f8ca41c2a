package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/collect"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// TestPersonReachRule runs the pipeline with PersonReach on a small instance
// where one person was made a member of enough top-level groups to reach
// more projects than the default policy allows: TA-024 flags that person's
// active tokens, and no token of anyone at or below the threshold.
func TestPersonReachRule(t *testing.T) {
	w, err := gitlabsim.Generate("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	policy := audit.DefaultPolicy()
	limit := policy.PersonReachProjects

	users := map[int64]*gitlabsim.User{}
	for _, u := range w.Users {
		users[u.ID] = u
	}
	// The wide person: the owner of the first active personal token.
	var wide *gitlabsim.User
	for _, tok := range w.Tokens {
		if u := users[tok.UserID]; u != nil && u.UserType == gitlabsim.UserTypeHuman && w.TokenActive(tok) && !tok.Impersonation {
			wide = u
			break
		}
	}
	if wide == nil {
		t.Fatal("small/1 has no active personal token")
	}
	reach := w.ProjectsReached()
	for _, g := range w.Groups {
		if len(reach[wide.ID]) > limit {
			break
		}
		if g.ParentID != 0 || memberOf(g, wide.ID) {
			continue
		}
		g.Members = append(g.Members, gitlabsim.Membership{UserID: wide.ID, AccessLevel: 30})
		reach = w.ProjectsReached()
	}
	if len(reach[wide.ID]) <= limit {
		t.Fatalf("%s reaches %d projects after joining every top-level group, want more than %d", wide.Username, len(reach[wide.ID]), limit)
	}

	srv := gitlabsim.NewServer(w, gitlabsim.Options{})
	defer srv.Close()
	client, _, err := collect.NewClient(srv.URL()+"/api/v4", w.AdminToken(), faultClient)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inv, err := collect.Collect(ctx, client, collect.Options{
		Concurrency: 8, SkipTriggers: true, SkipJobTokenScope: true, PersonReach: true,
	})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	res, err := audit.Evaluate(inv, policy, w.Now)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}

	wideFlagged, belowChecked := 0, 0
	for _, tr := range res.Tokens {
		tok := tr.Token
		if tok.Kind != inventory.KindPersonal && tok.Kind != inventory.KindImpersonation {
			continue
		}
		if !tok.Active || tok.Revoked || (!tok.Expires.Never() && !w.Now.Before(tok.Expires.At)) {
			continue // TA-024 judges working tokens only
		}
		u := users[tok.Owner.ID]
		if u == nil || u.UserType != gitlabsim.UserTypeHuman {
			continue
		}
		n := len(reach[u.ID])
		f := finding(tr, "TA-024")
		switch {
		case n > limit && f == nil:
			t.Errorf("%s token %d of %s (%d projects) has no TA-024 finding", tok.Kind, tok.ID, u.Username, n)
		case n > limit:
			if want := fmt.Sprintf("member of %d projects", n); !strings.Contains(f.Detail, want) {
				t.Errorf("TA-024 detail %q does not say %q", f.Detail, want)
			}
			if f.Severity != audit.SeverityMedium {
				t.Errorf("TA-024 severity %s, want medium", f.Severity)
			}
			if u.ID == wide.ID {
				wideFlagged++
			}
		case f != nil:
			t.Errorf("%s token %d of %s (%d projects, limit %d) has a TA-024 finding: %s", tok.Kind, tok.ID, u.Username, n, limit, f.Detail)
		default:
			belowChecked++
		}
		for _, id := range tr.Unknown {
			if id == "TA-024" {
				t.Errorf("%s token %d of %s: TA-024 unknown with PersonReach on", tok.Kind, tok.ID, u.Username)
			}
		}
	}
	if wideFlagged == 0 {
		t.Errorf("no token of %s (%d projects) was judged by TA-024", wide.Username, len(reach[wide.ID]))
	}
	if belowChecked == 0 {
		t.Error("no token of an owner at or below the threshold was judged")
	}
}

func memberOf(g *gitlabsim.Group, uid int64) bool {
	for _, m := range g.Members {
		if m.UserID == uid {
			return true
		}
	}
	return false
}

func finding(tr audit.TokenResult, rule string) *audit.Finding {
	for i := range tr.Findings {
		if tr.Findings[i].Rule == rule {
			return &tr.Findings[i]
		}
	}
	return nil
}
