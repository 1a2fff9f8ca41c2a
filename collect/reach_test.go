package collect

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// worldReach is what Options.PersonReach must find, from the World's own
// ground truth: per user the projects reached (World.ProjectsReached), the
// number of direct project and group memberships (for the pages of their
// two lists), and whether some project is reached only through a group.
func worldReach(w *gitlabsim.World) (reach map[int64]map[int64]bool, direct map[int64][2]int, viaGroup map[int64]bool) {
	reach, direct, viaGroup = w.ProjectsReached(), map[int64][2]int{}, map[int64]bool{}
	directProject := map[int64]map[int64]bool{}
	for _, p := range w.Projects {
		for _, m := range p.Members {
			d := direct[m.UserID]
			d[0]++
			direct[m.UserID] = d
			if directProject[m.UserID] == nil {
				directProject[m.UserID] = map[int64]bool{}
			}
			directProject[m.UserID][p.ID] = true
		}
	}
	for _, g := range w.Groups {
		for _, m := range g.Members {
			d := direct[m.UserID]
			d[1]++
			direct[m.UserID] = d
		}
	}
	for uid, projects := range reach {
		for pid := range projects {
			if !directProject[uid][pid] {
				viaGroup[uid] = true
				break
			}
		}
	}
	return reach, direct, viaGroup
}

// reachOwnersOf are the owners PersonReach reads, from the expected
// tokens: people and service accounts with an active token of their own.
func reachOwnersOf(tokens []inventory.Token) map[int64]bool {
	ids := map[int64]bool{}
	for _, t := range tokens {
		switch t.Kind {
		case inventory.KindPersonal, inventory.KindImpersonation, inventory.KindServiceAccount:
		default:
			continue
		}
		if t.Active && t.Owner != nil && (t.Owner.Type == inventory.OwnerHuman || t.Owner.Type == inventory.OwnerServiceAccount) {
			ids[t.Owner.ID] = true
		}
	}
	return ids
}

func TestCollectPersonReach(t *testing.T) {
	w := generate(t, "small", 11)
	opts := Options{Concurrency: 8, SkipTriggers: true, SkipJobTokenScope: true}
	off, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), opts)
	if err != nil {
		t.Fatalf("Collect without PersonReach: %v", err)
	}
	opts.PersonReach = true
	on, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), opts)
	if err != nil {
		t.Fatalf("Collect with PersonReach: %v", err)
	}

	imp := hasImpersonationRoute(t, on.srv, w.AdminToken())
	plain, _ := newTruth(w).instanceTruth(imp, false, false)
	// Without the option nothing changes: the truth, every reach unknown.
	checkTokens(t, plain, off.inv.Tokens)
	for _, tok := range off.inv.Tokens {
		if tok.Owner != nil && tok.Owner.ProjectsReachable != -1 {
			t.Fatalf("without PersonReach, %s token %d has ProjectsReachable %d, want -1", tok.Kind, tok.ID, tok.Owner.ProjectsReachable)
		}
	}

	want, _ := newTruth(w).instanceTruth(imp, false, false)
	reach, direct, viaGroup := worldReach(w)
	owners := reachOwnersOf(want)
	checked, withGroups, nonZero := 0, 0, 0
	for i := range want {
		o := want[i].Owner
		if o == nil || !owners[o.ID] {
			continue
		}
		c := *o
		c.ProjectsReachable = len(reach[o.ID])
		want[i].Owner = &c
	}
	for id := range owners {
		checked++
		if viaGroup[id] {
			withGroups++
		}
		if len(reach[id]) > 0 {
			nonZero++
		}
	}
	if checked < 3 || withGroups == 0 || nonZero == 0 {
		t.Fatalf("small/11 has %d token owners to read, %d reaching projects through a group, %d reaching any: too few to test PersonReach", checked, withGroups, nonZero)
	}
	checkTokens(t, want, on.inv.Tokens)
	checkGaps(t, instanceGaps(imp), on.inv.Gaps)

	// The cost: a page of project and a page of group memberships per owner
	// (more past 100 of either), and nothing else.
	extra := 0
	for id := range owners {
		for _, n := range direct[id] {
			extra += max(1, (n+perPage-1)/perPage)
		}
	}
	if got := on.inv.Stats.Requests - off.inv.Stats.Requests; got != extra {
		t.Errorf("PersonReach cost %d requests (%d with, %d without), want %d: two memberships lists per owner of %d",
			got, on.inv.Stats.Requests, off.inv.Stats.Requests, extra, len(owners))
	}
}

func TestCollectPersonReachReadFails(t *testing.T) {
	w := generate(t, "small", 12)
	so := gitlabsim.Options{Seed: 1, Faults: gitlabsim.Faults{
		ErrorRate: 1, ErrorStatuses: []int{http.StatusServiceUnavailable}, Routes: []string{"GET /users/:id/memberships"},
	}}
	run, err := collect(t, w, so, w.AdminToken(), Options{Concurrency: 8, SkipTriggers: true, SkipJobTokenScope: true, PersonReach: true})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	imp := hasImpersonationRoute(t, run.srv, w.AdminToken())
	tr := newTruth(w)
	want, _ := tr.instanceTruth(imp, false, false)
	// Every other token as without the option, every reach unknown.
	checkTokens(t, want, run.inv.Tokens)
	wantGaps := instanceGaps(imp)
	for id := range reachOwnersOf(want) {
		wantGaps = append(wantGaps, inventory.Gap{Resource: "user " + tr.users[id].Username, What: "project memberships", Kind: inventory.GapError})
	}
	slices.SortFunc(wantGaps, func(a, b inventory.Gap) int {
		return strings.Compare(a.Resource+"\x00"+a.What, b.Resource+"\x00"+b.What)
	})
	checkGaps(t, wantGaps, run.inv.Gaps)
	for _, g := range run.inv.Gaps {
		if g.What == "project memberships" && !strings.Contains(g.Reason, "503") {
			t.Errorf("gap reason %q does not name the status", g.Reason)
		}
	}
	if run.inv.Complete() {
		t.Error("inventory with failed memberships reads claims to be complete")
	}
}

// TestCollectPersonReachIncompleteTree: without the group list the projects
// below a group membership are unknown, so no reach is claimed and one gap
// says why, at no request cost.
func TestCollectPersonReachIncompleteTree(t *testing.T) {
	w := generate(t, "small", 13)
	so := gitlabsim.Options{Seed: 1, Faults: gitlabsim.Faults{
		ErrorRate: 1, ErrorStatuses: []int{http.StatusBadGateway}, Routes: []string{"GET /groups"},
	}}
	run, err := collect(t, w, so, w.AdminToken(), Options{Concurrency: 8, SkipTriggers: true, SkipJobTokenScope: true, PersonReach: true})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	for _, tok := range run.inv.Tokens {
		if tok.Owner != nil && tok.Owner.ProjectsReachable != -1 {
			t.Fatalf("%s token %d has ProjectsReachable %d with the group list missing, want -1", tok.Kind, tok.ID, tok.Owner.ProjectsReachable)
		}
	}
	found := false
	for _, g := range run.inv.Gaps {
		if g.What == "project memberships" {
			t.Errorf("memberships read although the tree is incomplete: gap %+v", g)
		}
		found = found || g.Resource == "instance" && g.What == "project reach of token owners" && g.Kind == inventory.GapError
	}
	if !found {
		t.Errorf("no gap for the unknown project reach; gaps: %s", fmt.Sprint(run.inv.Gaps))
	}
	if n := run.srv.Counts()["GET /users/:id/memberships"]; n != 0 {
		t.Errorf("%d memberships requests, want 0", n)
	}
}
