package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// comparable is an inventory without what may differ between two ways of
// reading the same GitLab: where each token was seen, and the run's
// figures.
func comparable(inv *inventory.Inventory) *inventory.Inventory {
	out := *inv
	out.Tokens = slices.Clone(inv.Tokens)
	for i := range out.Tokens {
		out.Tokens[i].Sources = nil
	}
	out.Stats = inventory.Stats{}
	out.GitLab.ModeReason = ""
	out.GitLab.URL = "" // each run has a server of its own
	return &out
}

// gapKeys is what each gap is about, without its reason's wording.
func gapKeys(inv *inventory.Inventory) []string {
	var out []string
	for _, g := range inv.Gaps {
		out = append(out, g.Resource+" | "+g.What+" | "+string(g.Kind))
	}
	slices.Sort(out)
	return out
}

// sameInventory fails t with the first differences of two inventories.
func sameInventory(t *testing.T, what string, got, want *inventory.Inventory) {
	t.Helper()
	g, w := comparable(got), comparable(want)
	if !reflect.DeepEqual(gapKeys(g), gapKeys(w)) {
		t.Errorf("%s: gaps differ:\n got  %q\n want %q", what, gapKeys(g), gapKeys(w))
	}
	g.Gaps, w.Gaps = nil, nil
	if len(g.Tokens) != len(w.Tokens) {
		t.Fatalf("%s: %d tokens, want %d", what, len(g.Tokens), len(w.Tokens))
	}
	diffs := 0
	for i := range g.Tokens {
		if !reflect.DeepEqual(g.Tokens[i], w.Tokens[i]) && diffs < 3 {
			diffs++
			t.Errorf("%s: token %d differs:\n got  %+v\n want %+v", what, i, g.Tokens[i], w.Tokens[i])
		}
	}
	if !reflect.DeepEqual(g.Projects, w.Projects) {
		t.Errorf("%s: projects differ", what)
	}
	if !reflect.DeepEqual(g.Settings, w.Settings) || g.GitLab != w.GitLab {
		t.Errorf("%s: settings or instance differ: %+v %+v, want %+v %+v", what, g.GitLab, g.Settings, w.GitLab, w.Settings)
	}
}

// TestGraphQLSameInventoryAsREST reads one world through GraphQL and over
// REST alone, in instance and groups mode: the same inventory, with fewer
// requests through GraphQL, and the GraphQL run asks for the per-project
// facts in batches, never per project.
func TestGraphQLSameInventoryAsREST(t *testing.T) {
	w := generate(t, "medium", 3)
	owner, group := w.GroupOwnerToken()
	for _, m := range []struct {
		name  string
		token string
		opts  Options
	}{
		{"instance", w.AdminToken(), Options{}},
		{"groups", owner, Options{Groups: []string{group}}},
	} {
		t.Run(m.name, func(t *testing.T) {
			restOpts := m.opts
			restOpts.RESTOnly = true
			rest, err := collect(t, w, gitlabsim.Options{}, m.token, restOpts)
			if err != nil {
				t.Fatalf("REST: %v", err)
			}
			gql, err := collect(t, w, gitlabsim.Options{}, m.token, m.opts)
			if err != nil {
				t.Fatalf("GraphQL: %v", err)
			}
			sameInventory(t, "GraphQL against REST", gql.inv, rest.inv)
			counts := gql.srv.Counts()
			if counts["POST /api/graphql"] == 0 {
				t.Fatal("no GraphQL request was made")
			}
			if n := counts["GET /projects/:id/job_token_scope"]; n != 0 {
				t.Errorf("%d job token scope reads over REST; GraphQL serves them", n)
			}
			if m.opts.Groups == nil {
				if n := counts["GET /projects/:id/access_tokens"] + counts["GET /groups/:id/access_tokens"]; n != 0 {
					t.Errorf("%d resource token lists read for access levels; GraphQL serves them", n)
				}
			} else {
				// Only the projects with a bot member have an access token
				// list worth reading.
				withBots := 0
				for _, p := range w.Projects {
					if hasBotMember(w, p) && inInventory(rest.inv, p.ID) {
						withBots++
					}
				}
				if n, all := counts["GET /projects/:id/access_tokens"], rest.srv.Counts()["GET /projects/:id/access_tokens"]; n != withBots || n >= all {
					t.Errorf("%d project access token lists read, want %d (the projects with a bot member, of %d)", n, withBots, all)
				}
			}
			if g, r := gql.req.Count(), rest.req.Count(); g >= r {
				t.Errorf("GraphQL made %d requests, REST alone %d", g, r)
			}
			t.Logf("%s: %d requests through GraphQL, %d over REST alone", m.name, gql.req.Count(), rest.req.Count())
		})
	}
}

// inInventory reports whether project pid is among the inventory's
// projects.
func inInventory(inv *inventory.Inventory, pid int64) bool {
	for _, p := range inv.Projects {
		if p.Resource.ID == pid {
			return true
		}
	}
	return false
}

// TestGraphQLUnavailableFallsBackOnce reads a world whose GitLab serves no
// GraphQL: the same inventory as REST alone, with one request more (the
// probe), and an info line that says so.
func TestGraphQLUnavailableFallsBackOnce(t *testing.T) {
	w := generate(t, "small", 4)
	rest, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{RESTOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuf
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	run, err := collect(t, w, gitlabsim.Options{NoGraphQL: true}, w.AdminToken(), Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	sameInventory(t, "without GraphQL", run.inv, rest.inv)
	if got, want := run.req.Count(), rest.req.Count()+1; got != want {
		t.Errorf("%d requests without GraphQL, want REST's %d plus one probe", got, want-1)
	}
	if n := run.srv.Counts()["POST /api/graphql"]; n != 1 {
		t.Errorf("%d GraphQL requests, want the one probe", n)
	}
	for _, f := range factNames {
		if n := strings.Count(logs.String(), "reading "+f+" over REST"); n != 1 {
			t.Errorf("the fallback of %s is said %d times, want once:\n%s", f, n, logs.String())
		}
	}
}

// TestGraphQLFieldMissingFallsBackForThatFact reads a GitLab from before
// Project.pipelineTriggers (16.3): the triggers come over REST, the job
// token setting and the access levels still through GraphQL, and the
// inventory is REST's.
func TestGraphQLFieldMissingFallsBackForThatFact(t *testing.T) {
	w := generate(t, "small", 5)
	w.Version = "16.2.0-ee"
	rest, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{RESTOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	run, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameInventory(t, "16.2", run.inv, rest.inv)
	counts := run.srv.Counts()
	if counts["GET /projects/:id/triggers"] != len(w.Projects) {
		t.Errorf("%d trigger lists over REST, want one per project (%d)", counts["GET /projects/:id/triggers"], len(w.Projects))
	}
	if counts["GET /projects/:id/job_token_scope"] != 0 {
		t.Errorf("the job token setting was read over REST though GraphQL serves it")
	}
}

// complexityLimiter stands in front of a GitLab and refuses, as GitLab's
// complexity limit would, any GraphQL query for more than max ids.
type complexityLimiter struct {
	next    http.Handler
	max     int
	refused atomic.Int64
}

func (l *complexityLimiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/graphql" {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var q struct {
			Variables struct {
				IDs []string `json:"ids"`
			} `json:"variables"`
		}
		if json.Unmarshal(body, &q) == nil && len(q.Variables.IDs) > l.max {
			l.refused.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"errors":[{"message":"Query has complexity of %d, which exceeds max complexity of 250"}]}`, 10*len(q.Variables.IDs))
			return
		}
	}
	l.next.ServeHTTP(w, r)
}

// TestGraphQLHalvesTooComplexBatches: a GitLab that finds batches of 100 too
// complex gets them in halves until they pass, and nothing is lost.
func TestGraphQLHalvesTooComplexBatches(t *testing.T) {
	w := generate(t, "small", 6)
	want, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{RESTOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	sim := gitlabsim.NewServer(w, gitlabsim.Options{})
	defer sim.Close()
	lim := &complexityLimiter{next: sim.Handler(), max: 30}
	front := httptest.NewServer(lim)
	defer front.Close()
	client, _, err := NewClient(front.URL+"/api/v4", w.AdminToken(), testClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inv, err := Collect(ctx, client, Options{BaseURL: sim.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if lim.refused.Load() == 0 {
		t.Fatal("no batch was refused; the test checks nothing")
	}
	inv.GitLab.URL = want.inv.GitLab.URL
	sameInventory(t, "halved batches", inv, want.inv)
	if n := sim.Counts()["GET /projects/:id/job_token_scope"]; n != 0 {
		t.Errorf("%d job token scopes read over REST: halving should have found a size GitLab takes", n)
	}
}

// TestGraphQLGapsAsREST runs groups mode as a Developer, who may not read
// triggers or job token settings: GraphQL's null-with-error answers become
// the same gaps, one per project and fact, as REST's 403s, and the projects
// the caller maintains keep their facts. The Developer may not list a
// project's access tokens either, but may read its members: a project
// without a bot member has no access token, which GraphQL shows, so only
// the projects with one keep REST's gap.
func TestGraphQLGapsAsREST(t *testing.T) {
	w := generate(t, "small", 7)
	token, path := developerToken(w)
	if token == "" {
		t.Fatal("world has no developer with a usable token")
	}
	rest, err := collect(t, w, gitlabsim.Options{}, token, Options{Groups: []string{path}, RESTOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	gql, err := collect(t, w, gitlabsim.Options{}, token, Options{Groups: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	denied := 0
	for _, g := range gql.inv.Gaps {
		if g.What == "pipeline triggers" || g.What == "job token scope" {
			denied++
		}
	}
	if denied == 0 {
		t.Fatal("the developer was refused nothing; the test checks nothing")
	}
	byID := map[int64]*gitlabsim.Project{}
	for _, wp := range w.Projects {
		byID[wp.ID] = wp
	}
	byPath := map[string]*gitlabsim.Project{}
	for _, p := range gql.inv.Projects {
		byPath["project "+p.Resource.Path] = byID[p.Resource.ID]
	}
	kept, dropped := rest.inv.Gaps[:0:0], 0
	for _, g := range rest.inv.Gaps {
		if p := byPath[g.Resource]; g.What == "project access tokens" && p != nil && !hasBotMember(w, p) {
			dropped++
			continue
		}
		kept = append(kept, g)
	}
	if dropped == 0 {
		t.Fatal("every refused project has a bot member; the test checks nothing")
	}
	rest.inv.Gaps = kept
	sameInventory(t, "developer", gql.inv, rest.inv)
}

// TestGraphQLSkips: skip_trigger_created_at reads triggers from GraphQL
// alone (no REST trigger list; the same triggers without creation times),
// and skip_impersonation reads no impersonation lists and says so in a gap.
func TestGraphQLSkips(t *testing.T) {
	w := generate(t, "small", 8)
	// Two ownerless triggers in one project: two errors name its list, and
	// it must still be read over REST once.
	perProject := map[int64][]*gitlabsim.Trigger{}
	for _, tr := range w.Triggers {
		perProject[tr.ProjectID] = append(perProject[tr.ProjectID], tr)
	}
	for _, trs := range perProject {
		if len(trs) >= 2 {
			trs[0].OwnerID, trs[1].OwnerID = 0, 0
			break
		}
	}
	full, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	lean, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{SkipTriggerCreatedAt: true, SkipImpersonation: true})
	if err != nil {
		t.Fatal(err)
	}
	// A trigger whose owner was deleted is a null node where its owner is
	// asked (PipelineTrigger.owner is non-null); an administrator reads it
	// from the list asked without owners, so no project goes to REST.
	ownerless := map[int64]bool{}
	for _, p := range w.Projects {
		ownerless[p.ID] = ownerlessIn(w, p.ID)
	}
	counts := lean.srv.Counts()
	if n := counts["GET /projects/:id/triggers"]; n != 0 {
		t.Errorf("%d trigger lists read over REST with skip_trigger_created_at, want none", n)
	}
	if countTrue(ownerless) == 0 {
		t.Fatal("no project has an ownerless trigger; the test checks nothing")
	}
	if n := counts["GET /users/:id/impersonation_tokens"]; n != 0 {
		t.Errorf("%d impersonation lists read with skip_impersonation", n)
	}
	triggers := func(inv *inventory.Inventory) map[int64]inventory.Token {
		out := map[int64]inventory.Token{}
		for _, tok := range inv.Tokens {
			if tok.Kind == inventory.KindPipelineTrigger {
				// GraphQL's times are whole seconds (Types::TimeType is ISO 8601
				// without a fraction); REST's have milliseconds.
				tok.Sources, tok.CreatedAt, tok.LastUsedAt = nil, time.Time{}, tok.LastUsedAt.Truncate(time.Second)
				out[tok.ID] = tok
			}
		}
		return out
	}
	ft, lt := triggers(full.inv), triggers(lean.inv)
	if len(ft) == 0 || len(ft) != len(lt) {
		t.Errorf("%d triggers from GraphQL alone, %d from REST", len(lt), len(ft))
	}
	for id, want := range ft {
		if got := lt[id]; !reflect.DeepEqual(got, want) {
			t.Errorf("trigger %d from GraphQL alone differs from REST's beyond the creation time:\n got  %+v\n want %+v", id, got, want)
		}
	}
	for _, tok := range lean.inv.Tokens {
		if tok.Kind == inventory.KindPipelineTrigger && !tok.CreatedAt.IsZero() {
			t.Fatalf("trigger %d has a creation time GraphQL does not give", tok.ID)
		}
		if tok.Kind == inventory.KindImpersonation {
			t.Fatalf("impersonation token %d told apart though skipped", tok.ID)
		}
	}
	impersonation := 0
	for _, tok := range full.inv.Tokens {
		if tok.Kind == inventory.KindImpersonation {
			impersonation++
		}
	}
	if impersonation == 0 {
		t.Fatal("the world has no impersonation token; the test checks nothing")
	}
	var said bool
	for _, g := range lean.inv.Gaps {
		said = said || g.What == "impersonation tokens" && strings.Contains(g.Reason, "skip_impersonation")
	}
	if !said {
		t.Errorf("no gap says impersonation tokens were skipped: %+v", lean.inv.Gaps)
	}
	if len(lean.inv.Tokens) != len(full.inv.Tokens) {
		t.Errorf("%d tokens with the skips, %d without: a skip must not lose tokens", len(lean.inv.Tokens), len(full.inv.Tokens))
	}

	// A group Owner may be kept from reading a blocked owner, which GraphQL
	// nulls as it does a deleted one: the projects with a null owner are
	// read over REST, and the triggers are REST's.
	token, path := w.GroupOwnerToken()
	gfull, err := collect(t, w, gitlabsim.Options{}, token, Options{Groups: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	glean, err := collect(t, w, gitlabsim.Options{}, token, Options{Groups: []string{path}, SkipTriggerCreatedAt: true})
	if err != nil {
		t.Fatal(err)
	}
	inGroup := 0
	for _, tok := range gfull.inv.Tokens {
		if tok.Kind == inventory.KindPipelineTrigger && tok.Owner == nil {
			inGroup++
		}
	}
	if inGroup == 0 {
		t.Fatal("the group holds no ownerless trigger; the test checks nothing")
	}
	wantREST := 0
	for _, p := range gfull.inv.Projects {
		if ownerless[p.Resource.ID] {
			wantREST++
		}
	}
	if n := glean.srv.Counts()["GET /projects/:id/triggers"]; n != wantREST {
		t.Errorf("groups mode: %d REST trigger lists, want %d (the group's projects with an ownerless trigger)", n, wantREST)
	}
	gft, glt := triggers(gfull.inv), triggers(glean.inv)
	if len(gft) != len(glt) {
		t.Errorf("groups mode: %d triggers with skip_trigger_created_at, %d without", len(glt), len(gft))
	}
	for id, want := range gft {
		if got := glt[id]; !reflect.DeepEqual(got, want) {
			t.Errorf("groups mode: trigger %d differs beyond the creation time:\n got  %+v\n want %+v", id, glt[id], want)
		}
	}
}

func countTrue(m map[int64]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

// TestGraphQLTriggerPages: a project with more than one page of triggers
// (130, GraphQL's pages hold 100) gets its further pages from GraphQL with
// skip_trigger_created_at, and every trigger is in the inventory.
func TestGraphQLTriggerPages(t *testing.T) {
	w := generate(t, "small", 9)
	var admin int64
	for _, u := range w.Users {
		if u.Admin && u.State == "active" {
			admin = u.ID
			break
		}
	}
	// The project is in the group a group Owner audits below.
	ownerToken, ownerGroup := w.GroupOwnerToken()
	groups := map[int64]*gitlabsim.Group{}
	for _, g := range w.Groups {
		groups[g.ID] = g
	}
	top := func(gid int64) *gitlabsim.Group {
		g := groups[gid]
		for g != nil && g.ParentID != 0 {
			g = groups[g.ParentID]
		}
		return g
	}
	var target int64
	for _, p := range w.Projects {
		if g := top(p.GroupID); g != nil && g.Path == ownerGroup && !ownerlessIn(w, p.ID) {
			target = p.ID
			break
		}
	}
	if target == 0 {
		t.Fatal("no project in the group Owner's group without an ownerless trigger")
	}
	next := int64(1)
	for _, tr := range w.Triggers {
		next = max(next, tr.ID+1)
	}
	// The lowest ID is on the second page (GitLab lists triggers newest
	// first), and its owner is gone.
	for i := range 130 {
		owner := admin
		if i == 0 {
			owner = 0
		}
		w.Triggers = append(w.Triggers, &gitlabsim.Trigger{
			ID: next + int64(i), ProjectID: target, OwnerID: owner, Description: fmt.Sprintf("many-%d", i),
			CreatedAt: w.Now.AddDate(0, -1, 0), UpdatedAt: w.Now.AddDate(0, -1, 0),
			Value: fmt.Sprintf("glptt-many%016d", i),
		})
	}
	run, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{SkipTriggerCreatedAt: true, SkipImpersonation: true})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, tok := range run.inv.Tokens {
		if tok.Kind == inventory.KindPipelineTrigger && tok.Resource.ID == target {
			got++
			if ownerless := tok.ID == next; ownerless != (tok.Owner == nil) || tok.Description == "" {
				t.Errorf("trigger %d: owner %v, description %q (ownerless: %v)", tok.ID, tok.Owner, tok.Description, ownerless)
			}
		}
	}
	want := 0
	for _, tr := range w.Triggers {
		if tr.ProjectID == target {
			want++
		}
	}
	if got != want || want <= 100 {
		t.Errorf("%d triggers of project %d in the inventory, the World has %d", got, target, want)
	}
	// Every trigger came from GraphQL, the ownerless ones too: no REST
	// trigger list, and one GraphQL request more than the batches (the
	// second page).
	counts := run.srv.Counts()
	if n := counts["GET /projects/:id/triggers"]; n != 0 {
		t.Errorf("%d REST trigger lists, want none", n)
	}
	// The projects' batches, and those of the bot users holding tokens.
	bots := map[int64]bool{}
	users := map[int64]*gitlabsim.User{}
	for _, u := range w.Users {
		users[u.ID] = u
	}
	for _, tok := range w.Tokens {
		if u := users[tok.UserID]; u != nil && u.UserType == gitlabsim.UserTypeProjectBot {
			bots[u.ID] = true
		}
	}
	batches := (len(w.Projects)+99)/100 + (len(bots)+99)/100
	if n := counts["POST /api/graphql"]; n != batches+1 {
		t.Errorf("%d GraphQL requests, want %d batches and the second page of triggers", n, batches)
	}

	// A group Owner may be kept from reading an owner GraphQL then nulls:
	// the second page's null owner sends the project to REST, which has
	// every trigger, and no gap is made.
	grun, err := collect(t, w, gitlabsim.Options{}, ownerToken, Options{Groups: []string{ownerGroup}, SkipTriggerCreatedAt: true})
	if err != nil {
		t.Fatal(err)
	}
	got = 0
	for _, tok := range grun.inv.Tokens {
		if tok.Kind == inventory.KindPipelineTrigger && tok.Resource.ID == target {
			got++
		}
	}
	for _, g := range grun.inv.Gaps {
		if g.What == "pipeline triggers" {
			t.Errorf("groups mode: gap %+v", g)
		}
	}
	if got != want {
		t.Errorf("groups mode: %d triggers of project %d, the World has %d", got, target, want)
	}
}

// ownerlessIn reports whether project pid has a trigger whose owner is gone.
func ownerlessIn(w *gitlabsim.World, pid int64) bool {
	users := map[int64]bool{}
	for _, u := range w.Users {
		users[u.ID] = true
	}
	for _, tr := range w.Triggers {
		if tr.ProjectID == pid && !users[tr.OwnerID] {
			return true
		}
	}
	return false
}

// TestGraphQLTriggerCursorLoop: a server whose trigger pages lead back to a
// cursor already followed ends in a gap for that project, not in paging
// forever.
func TestGraphQLTriggerCursorLoop(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cursor := []string{"QQ", "Qg"}[requests.Add(1)%2]
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"data":{"projects":{"nodes":[{"id":"gid://gitlab/Project/7","pipelineTriggers":{"pageInfo":{"hasNextPage":true,"endCursor":%q},"nodes":[]}}]}}}`, cursor)
	}))
	defer srv.Close()
	client, _, err := NewClient(srv.URL+"/api/v4", "glpat-caller00000000000001", testClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector(client, Options{SkipTriggerCreatedAt: true})
	res := inventory.Resource{Type: inventory.ResourceProject, ID: 7, Path: "g/p"}
	n := &gqlProject{ID: "gid://gitlab/Project/7", PipelineTriggers: &gqlTriggers{PageInfo: gqlPageInfo{HasNextPage: true, EndCursor: "QQ"}}}
	if err := c.gqlTriggers(context.Background(), n, res, nil, &restWork{}); err != nil {
		t.Fatal(err)
	}
	if got := requests.Load(); got > 3 {
		t.Errorf("%d requests for a cursor loop, want the loop seen at once", got)
	}
	if len(c.inv.Gaps) != 1 || c.inv.Gaps[0].What != "pipeline triggers" || c.inv.Gaps[0].Kind != inventory.GapError {
		t.Errorf("gaps %+v, want one error gap for the project's triggers", c.inv.Gaps)
	}
}

// collectorQueriesFile holds the GraphQL queries the collector sends, for
// the simulator's independent python check, which posts them as they are
// (internal/gitlabsim/pygitlab_test.go).
const collectorQueriesFile = "../internal/gitlabsim/testdata/collector_queries.json"

// TestGraphQLQueriesFile keeps collectorQueriesFile equal to the queries the
// collector sends; TOKENAUDIT_UPDATE_QUERIES=1 rewrites it.
func TestGraphQLQueriesFile(t *testing.T) {
	count := &collector{opts: Options{}}
	lean := &collector{opts: Options{SkipTriggerCreatedAt: true}}
	queries := map[string]string{
		"projects_count":    count.projectsQuery(setOf(factTriggers, factScope)),
		"projects_groups":   count.projectsQuery(setOf(factTriggers, factScope, factTokens)),
		"projects_triggers": lean.projectsQuery(setOf(factTriggers, factScope)),
		"more_triggers":     moreTriggersQuery,
		"levels":            levelsQuery,
		"reach":             reachQuery,
		"more_reach":        moreReachQuery,
	}
	want, err := json.MarshalIndent(queries, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if os.Getenv("TOKENAUDIT_UPDATE_QUERIES") != "" {
		if err := os.WriteFile(collectorQueriesFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(collectorQueriesFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Errorf("%s differs from the collector's queries; run TOKENAUDIT_UPDATE_QUERIES=1 go test ./collect -run TestGraphQLQueriesFile", collectorQueriesFile)
	}
}
