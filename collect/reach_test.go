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

// TestCollectPersonReach reads the reach through GraphQL (100 owners a
// request) and over REST (two lists per owner): both must find the World's.
func TestCollectPersonReach(t *testing.T) {
	for _, restOnly := range []bool{false, true} {
		name := "graphql"
		if restOnly {
			name = "rest"
		}
		t.Run(name, func(t *testing.T) { testPersonReach(t, restOnly) })
	}
}

func testPersonReach(t *testing.T, restOnly bool) {
	w := generate(t, "small", 11)
	// One owner reaches more than a page of projects directly, so that
	// GraphQL's further pages are read.
	many := addDirectMemberships(t, w, 130)
	opts := Options{Concurrency: 8, SkipTriggers: true, SkipJobTokenScope: true, RESTOnly: restOnly}
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
	if restOnly {
		restSources(plain)
	}
	// Without the option nothing changes: the truth, every reach unknown.
	checkTokens(t, plain, off.inv.Tokens)
	for _, tok := range off.inv.Tokens {
		if tok.Owner != nil && tok.Owner.ProjectsReachable != -1 {
			t.Fatalf("without PersonReach, %s token %d has ProjectsReachable %d, want -1", tok.Kind, tok.ID, tok.Owner.ProjectsReachable)
		}
	}

	want, _ := newTruth(w).instanceTruth(imp, false, false)
	if restOnly {
		restSources(want)
	}
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
	if !owners[many] || direct[many][0] <= perPage {
		t.Fatalf("owner %d: %d direct project memberships, want more than a page", many, direct[many][0])
	}
	checkTokens(t, want, on.inv.Tokens)
	checkGaps(t, instanceGaps(imp), on.inv.Gaps)

	// The cost over REST: a page of project and a page of group memberships
	// per owner (more past 100 of either), and nothing else. Through
	// GraphQL: a request per 100 owners, and per owner one more for each
	// further page of the longer list.
	extra := 0
	for id := range owners {
		pages := [2]int{}
		for i, n := range direct[id] {
			pages[i] = max(1, (n+perPage-1)/perPage)
		}
		if restOnly {
			extra += pages[0] + pages[1]
		} else {
			extra += max(pages[0], pages[1]) - 1
		}
	}
	if !restOnly {
		extra += (len(owners) + perPage - 1) / perPage
		if n := on.srv.Counts()["GET /users/:id/memberships"]; n != 0 {
			t.Errorf("%d REST memberships lists read beside GraphQL", n)
		}
	}
	if got := on.inv.Stats.Requests - off.inv.Stats.Requests; got != extra {
		t.Errorf("PersonReach cost %d requests (%d with, %d without), want %d for %d owners",
			got, on.inv.Stats.Requests, off.inv.Stats.Requests, extra, len(owners))
	}
}

// addDirectMemberships makes the first human holding an active token a
// direct Developer of n more projects (new ones, in no group) and returns
// that human's ID.
func addDirectMemberships(t *testing.T, w *gitlabsim.World, n int) int64 {
	t.Helper()
	users := map[int64]*gitlabsim.User{}
	for _, u := range w.Users {
		users[u.ID] = u
	}
	var uid int64
	for _, tok := range w.Tokens {
		if u := users[tok.UserID]; u != nil && u.UserType == gitlabsim.UserTypeHuman && u.State == "active" && w.TokenActive(tok) {
			uid = u.ID
			break
		}
	}
	if uid == 0 {
		t.Fatal("no active human token holder")
	}
	next := int64(1)
	for _, p := range w.Projects {
		next = max(next, p.ID+1)
	}
	for i := range n {
		id := next + int64(i)
		w.Projects = append(w.Projects, &gitlabsim.Project{
			ID: id, Name: fmt.Sprintf("reach-%d", i), Path: fmt.Sprintf("reach-%d", i), UserID: uid,
			Visibility: "private", CreatedAt: w.Now.AddDate(-1, 0, 0), LastActivityAt: w.Now.AddDate(0, -1, 0),
			Members: []gitlabsim.Membership{{UserID: uid, AccessLevel: 30}},
		})
	}
	return uid
}

func TestCollectPersonReachReadFails(t *testing.T) {
	w := generate(t, "small", 12)
	so := gitlabsim.Options{Seed: 1, Faults: gitlabsim.Faults{
		ErrorRate: 1, ErrorStatuses: []int{http.StatusServiceUnavailable}, Routes: []string{"GET /users/:id/memberships"},
	}}
	// Over REST: GraphQL's batches would not ask the failing route.
	run, err := collect(t, w, so, w.AdminToken(), Options{Concurrency: 8, SkipTriggers: true, SkipJobTokenScope: true, PersonReach: true, RESTOnly: true})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	imp := hasImpersonationRoute(t, run.srv, w.AdminToken())
	tr := newTruth(w)
	want, _ := tr.instanceTruth(imp, false, false)
	restSources(want)
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

// restSources turns the truth's sources into what REST alone reads: a bot
// token's access level from its resource's token list, not from GraphQL.
func restSources(toks []inventory.Token) {
	for i := range toks {
		t := &toks[i]
		j := slices.Index(t.Sources, srcGQLMemberships)
		if j < 0 {
			continue
		}
		src := srcProjectTokens
		if t.Kind == inventory.KindGroupAccess {
			src = srcGroupTokens
		}
		t.Sources = slices.Clone(t.Sources)
		t.Sources[j] = src
		slices.Sort(t.Sources)
	}
}

// TestCollectPersonReachGraphQLFails: when every GraphQL request fails,
// the reach is read over REST and comes out as REST alone reads it.
func TestCollectPersonReachGraphQLFails(t *testing.T) {
	w := generate(t, "small", 11)
	opts := Options{Concurrency: 8, SkipTriggers: true, SkipJobTokenScope: true, PersonReach: true}
	so := gitlabsim.Options{Seed: 1, Faults: gitlabsim.Faults{
		ErrorRate: 1, ErrorStatuses: []int{http.StatusBadGateway}, Routes: []string{"POST /api/graphql"},
	}}
	failing, err := collect(t, w, so, w.AdminToken(), opts)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	opts.RESTOnly = true
	rest, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), opts)
	if err != nil {
		t.Fatalf("Collect over REST: %v", err)
	}
	if failing.srv.Counts()["POST /api/graphql"] == 0 {
		t.Fatal("no GraphQL request was made; the test checks nothing")
	}
	checkTokens(t, rest.inv.Tokens, failing.inv.Tokens)
	checkGaps(t, rest.inv.Gaps, failing.inv.Gaps)
}
