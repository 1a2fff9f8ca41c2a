package collect

import (
	"slices"
	"strings"
	"testing"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// TestCollectAdminWithGroups checks that an administrator who names a
// group gets that group's tree, not the whole instance with the group
// silently ignored, and that the mode reason says so: what an Owner sees,
// plus every token of the direct members of the tree's groups and
// projects, and no other personal token.
func TestCollectAdminWithGroups(t *testing.T) {
	w := generate(t, "small", 1)
	_, path := w.GroupOwnerToken()
	run, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{Groups: []string{path}})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	gl := run.inv.GitLab
	if gl.Mode != inventory.ModeGroups || !gl.Admin || !strings.Contains(gl.ModeReason, "administrator") || !strings.Contains(gl.ModeReason, path) {
		t.Errorf("gitlab = %+v, want groups mode as an administrator, the reason naming %s", gl, path)
	}
	top, admin := groupAndHolder(t, w, path, w.AdminToken())
	tr := newTruth(w)
	want, _ := tr.groupsTruth(top, admin, true)
	imp := hasImpersonationRoute(t, run.srv, w.AdminToken())
	want = append(want, tr.memberTokens(top, admin, want, imp)...)
	keys := func(ts []inventory.Token) []inventory.Key {
		var out []inventory.Key
		for _, t := range ts {
			out = append(out, t.Key())
		}
		slices.SortFunc(out, func(a, b inventory.Key) int {
			if a.Kind != b.Kind {
				return strings.Compare(string(a.Kind), string(b.Kind))
			}
			return int(a.ID - b.ID)
		})
		return out
	}
	if got, want := keys(run.inv.Tokens), keys(want); !slices.Equal(got, want) {
		t.Errorf("tokens %v\nwant the group tree's %v", got, want)
	}
	members := 0
	for _, tok := range run.inv.Tokens {
		if tok.Kind == inventory.KindPersonal && tok.Owner != nil && tok.Owner.ID != admin {
			members++
			if u := tr.users[tok.Owner.ID]; u == nil || tok.Owner.Username != u.Username || tok.Owner.State != u.State {
				t.Errorf("personal token %d: owner %+v, want the member as the world has it", tok.ID, tok.Owner)
			}
		}
	}
	if members == 0 {
		t.Errorf("no member's personal token collected: the test proves nothing")
	}
	if !strings.Contains(gl.ModeReason, "members") {
		t.Errorf("mode reason %q does not say the members' tokens are included", gl.ModeReason)
	}
	whole, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{})
	if err != nil || whole.inv.GitLab.Mode != inventory.ModeInstance || len(whole.inv.Tokens) <= len(run.inv.Tokens) {
		t.Errorf("without groups: %v, mode %s, want the whole instance", err, whole.inv.GitLab.Mode)
	}
}

// memberTokens is what an administrator adds in groups mode to an Owner's
// view (have): the tokens of every direct member of a group or project of
// top's tree, bots excepted (their tokens are the resource lists'), as
// personal tokens, and as impersonation tokens those the member's
// impersonation list holds (where GitLab has the route: impersonationRoute).
func (tr *truth) memberTokens(top, meID int64, have []inventory.Token, impersonationRoute bool) []inventory.Token {
	seen := map[int64]bool{}
	for _, t := range have {
		if isPATKind(t.Kind) {
			seen[t.ID] = true
		}
	}
	members := map[int64]bool{}
	for _, g := range tr.w.Groups {
		if tr.inTree(g.ID, top) {
			for _, m := range g.Members {
				members[m.UserID] = true
			}
		}
	}
	for _, p := range tr.w.Projects {
		if p.GroupID != 0 && tr.inTree(p.GroupID, top) {
			for _, m := range p.Members {
				members[m.UserID] = true
			}
		}
	}
	var out []inventory.Token
	for _, t := range tr.w.Tokens {
		u := tr.users[t.UserID]
		if seen[t.ID] || !members[t.UserID] || t.UserID == meID || u == nil || u.UserType == gitlabsim.UserTypeProjectBot {
			continue
		}
		owner := &inventory.Owner{ID: u.ID, Username: u.Username, Type: inventory.OwnerHuman, State: u.State, ProjectsReachable: -1}
		if t.Impersonation && impersonationRoute {
			out = append(out, tr.pat(t, inventory.KindImpersonation, owner, inventory.Resource{Type: inventory.ResourceInstance}, srcImpersonation, srcPATs))
			continue
		}
		out = append(out, tr.pat(t, inventory.KindPersonal, owner, inventory.Resource{Type: inventory.ResourceInstance}, srcPATs))
	}
	return out
}
