package gitlabsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// pythonForCheck is Debian's python, where the python3-gitlab package
// installs; the pyenv python first on PATH does not see it.
const pythonForCheck = "/usr/bin/python3"

// requirePygitlabEnv, set by scripts/test, turns a missing python-gitlab
// from a skip into a failure, so that the README's test command never
// passes without the independent check.
const requirePygitlabEnv = "TOKENAUDIT_REQUIRE_PYGITLAB"

// pygitlabOutput is what scripts/pygitlab_check.py prints.
type pygitlabOutput struct {
	Version string `json:"python_gitlab"`
	Lists   map[string]struct {
		Count    int     `json:"count"`
		Unique   int     `json:"unique"`
		IDs      []int64 `json:"ids"`
		Pages    int     `json:"pages"`
		Requests int     `json:"requests"`
	} `json:"lists"`
	Statuses   map[string]int `json:"statuses"`
	RetryAfter []string       `json:"retry_after"`
	Requests   int            `json:"requests"`
}

// TestPythonGitlabAgreesWithGroundTruth is the independent client check of
// issue 2: python-gitlab, which shares no code with tokenaudit or
// client-go, lists every PAT, one project's and one group's access tokens
// over several pages, waits out a throttle's 429 by its Retry-After, and
// must list exactly the World's tokens.
func TestPythonGitlabAgreesWithGroundTruth(t *testing.T) {
	if out, err := exec.Command(pythonForCheck, "-c", "import gitlab").CombinedOutput(); err != nil {
		if os.Getenv(requirePygitlabEnv) == "" {
			t.Skipf("python-gitlab is missing (%s cannot import gitlab); scripts/test, the README's test command, installs it and runs everything", pythonForCheck)
		}
		t.Fatalf("python-gitlab is not importable by %s (%v: %s) and %s is set; install Debian's python3-gitlab", pythonForCheck, err, bytes.TrimSpace(out), requirePygitlabEnv)
	}
	w, err := Generate("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	admin := w.AdminToken()
	if admin == "" {
		t.Fatal("the small world has no administrator token")
	}

	// Ground truth, from the World alone: an administrator sees every token
	// stored as a PAT; a project's (group's) access tokens are the tokens of
	// its bot users.
	allPATs := make([]int64, 0, len(w.Tokens))
	for _, tk := range w.Tokens {
		allPATs = append(allPATs, tk.ID)
	}
	botSource := map[int64][2]any{}
	for _, u := range w.Users {
		if u.UserType == UserTypeProjectBot {
			botSource[u.ID] = [2]any{u.BotSourceType, u.BotSourceID}
		}
	}
	byProject, byGroup := map[int64][]int64{}, map[int64][]int64{}
	for _, tk := range w.Tokens {
		src, ok := botSource[tk.UserID]
		if !ok {
			continue
		}
		switch src[0] {
		case "project":
			byProject[src[1].(int64)] = append(byProject[src[1].(int64)], tk.ID)
		case "group":
			byGroup[src[1].(int64)] = append(byGroup[src[1].(int64)], tk.ID)
		}
	}
	projectID, projectTokens := largest(byProject)
	groupID, groupTokens := largest(byGroup)
	if len(projectTokens) < 3 || len(groupTokens) < 3 {
		t.Fatalf("the small world's largest token lists are too short to page: project %d, group %d", len(projectTokens), len(groupTokens))
	}
	// The group goes by its URL-encoded full path, the project by its ID:
	// both forms of :id.
	groupPath := fullGroupPath(w, groupID)

	// Pages small enough that each resource list takes at least 3 pages.
	perPage := min(5, max(1, (min(len(projectTokens), len(groupTokens))-1)/2))
	const patPerPage = 100
	pages := func(n, per int) int { return max(1, (n+per-1)/per) }
	want := pages(len(allPATs), patPerPage) + pages(len(projectTokens), perPage) + pages(len(groupTokens), perPage)

	// A throttle of about half the requests in a one-second window. The
	// clock stays at the start of a window until the request after the
	// limit, then moves to the next window, so exactly one request is
	// throttled, with Retry-After 1, however slowly the script runs.
	limit := (want + 1) / 2
	t0 := time.Unix(1_900_000_000, 0)
	var srvRef atomic.Pointer[Server]
	clock := func() time.Time {
		if s := srvRef.Load(); s != nil && s.TotalRequests() > limit+1 {
			return t0.Add(time.Second)
		}
		return t0
	}
	srv := NewServer(w, Options{RateLimit: RateLimit{Requests: limit, Period: time.Second}, Clock: clock})
	srvRef.Store(srv)
	defer srv.Close()

	plan, err := json.Marshal(map[string]any{
		"project":      projectID,
		"group":        groupPath,
		"per_page":     perPage,
		"pat_per_page": patPerPage,
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pythonForCheck, filepath.Join("..", "..", "scripts", "pygitlab_check.py"), srv.URL(), string(plan))
	// The token goes through the environment, not argv, so it never shows
	// in ps; nothing below prints it.
	cmd.Env = append(os.Environ(), "GITLAB_TOKEN="+admin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pygitlab_check.py: %v\nstderr: %s", err, redact(stderr.String(), admin))
	}
	var got pygitlabOutput
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("decode script output: %v\n%s", err, redact(stdout.String(), admin))
	}
	t.Logf("python-gitlab %s: %d requests, statuses %v", got.Version, got.Requests, got.Statuses)

	for _, c := range []struct {
		name     string
		want     []int64
		per      int
		resource string
	}{
		{"personal_access_tokens", allPATs, patPerPage, "all PATs"},
		{"project_access_tokens", projectTokens, perPage, fmt.Sprintf("project %d", projectID)},
		{"group_access_tokens", groupTokens, perPage, "group " + groupPath},
	} {
		l, ok := got.Lists[c.name]
		if !ok {
			t.Errorf("%s: not listed", c.name)
			continue
		}
		slices.Sort(c.want)
		if l.Count != len(c.want) || l.Unique != l.Count || !slices.Equal(l.IDs, c.want) {
			t.Errorf("%s (%s): python-gitlab listed %d (%d unique), ground truth %d; IDs equal: %v",
				c.name, c.resource, l.Count, l.Unique, len(c.want), slices.Equal(l.IDs, c.want))
		}
		if wantPages := pages(len(c.want), c.per); l.Pages != wantPages {
			t.Errorf("%s: %d pages, want %d", c.name, l.Pages, wantPages)
		}
	}
	if got.Lists["project_access_tokens"].Pages < 3 || got.Lists["group_access_tokens"].Pages < 3 {
		t.Errorf("resource lists took %d and %d pages, want several", got.Lists["project_access_tokens"].Pages, got.Lists["group_access_tokens"].Pages)
	}

	// The throttle answered once, python-gitlab saw that 429 with
	// Retry-After 1, waited, and repeated the request.
	if st := srv.ThrottleStats(); st.RateLimited != 1 {
		t.Errorf("server throttled %d requests, want 1", st.RateLimited)
	}
	if got.Statuses["429"] != 1 || !slices.Equal(got.RetryAfter, []string{"1"}) {
		t.Errorf("script saw %d 429s with Retry-After %v, want one with 1", got.Statuses["429"], got.RetryAfter)
	}
	if got.Statuses["200"] != want || got.Requests != want+1 || srv.TotalRequests() != want+1 {
		t.Errorf("%d answers 200 of %d requests (server counted %d), want %d pages plus one repeat",
			got.Statuses["200"], got.Requests, srv.TotalRequests(), want)
	}
}

// largest returns the key with the longest list, the lowest key on a tie.
func largest(m map[int64][]int64) (int64, []int64) {
	var best int64
	for k, v := range m {
		if len(v) > len(m[best]) || (len(v) == len(m[best]) && k < best) {
			best = k
		}
	}
	return best, m[best]
}

// fullGroupPath joins a group's path with its ancestors'.
func fullGroupPath(w *World, id int64) string {
	groups := map[int64]*Group{}
	for _, g := range w.Groups {
		groups[g.ID] = g
	}
	var parts []string
	for g := groups[id]; g != nil && len(parts) <= len(groups); g = groups[g.ParentID] {
		parts = append([]string{g.Path}, parts...)
	}
	return strings.Join(parts, "/")
}

// redact hides a token in text shown on failure.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[token]")
}

// pygraphqlOutput is the "graphql" part of scripts/pygitlab_check.py's output.
type pygraphqlOutput struct {
	Projects map[string]struct {
		Inbound   *bool `json:"inbound"`
		Count     int   `json:"count"`
		BotMember *bool `json:"bot_member"`
		Triggers  []*struct {
			ID          int64   `json:"id"`
			Description string  `json:"description"`
			Owner       int64   `json:"owner"`
			LastUsed    *string `json:"last_used"`
		} `json:"triggers"`
	} `json:"projects"`
	// Reach is each person's direct memberships ("project 3", "group 7"),
	// from the collector's person_reach queries.
	Reach map[string][]string `json:"reach"`
	Users map[string]struct {
		Bot         bool     `json:"bot"`
		Memberships []string `json:"memberships"`
	} `json:"users"`
	Errors []struct {
		Message string `json:"message"`
		Path    []any  `json:"path"`
	} `json:"errors"`
	Statuses map[string]int `json:"statuses"`
}

// TestPythonGraphQLAgreesWithGroundTruth is the independent check of the
// GraphQL API: the script posts the queries with plain HTTP (urllib), reads
// every project's inbound job token setting and triggers of the small
// World in batches of 100 (one project holds 130 triggers, so its
// connection is paged by cursor), and the bot users' memberships, and must
// find the World's. It runs twice: with the script's own queries, and with
// the very queries tokenaudit's collector sends (testdata/collector_queries.json).
func TestPythonGraphQLAgreesWithGroundTruth(t *testing.T) {
	if _, err := os.Stat(pythonForCheck); err != nil {
		if os.Getenv(requirePygitlabEnv) == "" {
			t.Skipf("%s is missing; scripts/test, the README's test command, runs this check", pythonForCheck)
		}
		t.Fatalf("%s is missing and %s is set", pythonForCheck, requirePygitlabEnv)
	}
	w, err := Generate("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	admin := w.AdminToken()
	big := w.Projects[0]
	for i := range 130 {
		id := int64(900_000 + i)
		w.Triggers = append(w.Triggers, &Trigger{ID: id, ProjectID: big.ID, OwnerID: 1, Description: fmt.Sprintf("bulk %d", i),
			CreatedAt: w.Now, UpdatedAt: w.Now, Value: fmt.Sprintf("glptt-bulk%030d", id)})
	}
	// A person with more than a page of project memberships, for the
	// collector's further pages of them.
	var person *User
	for _, u := range w.Users {
		if u.UserType == UserTypeHuman && u.State == "active" {
			person = u
			break
		}
	}
	for i := range 130 {
		id := int64(800_000 + i)
		w.Projects = append(w.Projects, &Project{ID: id, Name: fmt.Sprintf("reach-%d", i), Path: fmt.Sprintf("reach-%d", i),
			UserID: person.ID, Visibility: "private", CreatedAt: w.Now, LastActivityAt: w.Now,
			Members: []Membership{{UserID: person.ID, AccessLevel: 30}}})
	}
	srv := NewServer(w, Options{})
	defer srv.Close()

	var projectIDs, botIDs, humanIDs []int64
	for _, u := range w.Users {
		if u.UserType == UserTypeHuman {
			humanIDs = append(humanIDs, u.ID)
		}
	}
	for _, p := range w.Projects {
		projectIDs = append(projectIDs, p.ID)
	}
	for _, u := range w.Users {
		if u.UserType == UserTypeProjectBot {
			botIDs = append(botIDs, u.ID)
		}
	}
	// First the script's own queries, then the collector's, which
	// collect.TestGraphQLQueriesFile keeps in testdata/collector_queries.json.
	collectorQueries := map[string]string{}
	b, err := os.ReadFile(filepath.Join("testdata", "collector_queries.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &collectorQueries); err != nil {
		t.Fatal(err)
	}
	batches := (len(projectIDs) + 99) / 100
	for _, run := range []struct {
		name     string
		queries  map[string]string
		requests int // answers 200
	}{
		// A batch of projects, the big project's second page of triggers,
		// the batches of bots.
		{"own queries", nil, batches + 1 + (len(botIDs)+99)/100},
		// The collector's count query, groups mode's and the trigger query
		// per batch, and the
		// people's memberships: a batch, and a further page for the person
		// with 130 projects.
		{"collector's queries", collectorQueries, 3*batches + 1 + (len(botIDs)+99)/100 + (len(humanIDs)+99)/100 + 1},
	} {
		t.Run(run.name, func(t *testing.T) {
			srv.ResetCounts()
			plan := map[string]any{"project_ids": projectIDs, "user_ids": botIDs, "batch": 100}
			if run.queries != nil {
				plan["queries"] = run.queries
				plan["reach_ids"] = humanIDs
			}
			got := runPythonGraphQL(t, srv, admin, plan)
			checkPythonGraphQL(t, w, got, botIDs, run.queries == nil)
			if run.queries != nil {
				checkPythonReach(t, w, got, humanIDs)
				checkPythonBotMembers(t, w, got)
			}
			if got.Statuses["200"] != run.requests || srv.Counts()["POST /api/graphql"] != run.requests {
				t.Errorf("statuses %v, server counted %d; want %d answers 200", got.Statuses, srv.Counts()["POST /api/graphql"], run.requests)
			}
		})
	}
}

// runPythonGraphQL runs the script's GraphQL part with plan.
func runPythonGraphQL(t *testing.T, srv *Server, token string, plan map[string]any) pygraphqlOutput {
	t.Helper()
	b, err := json.Marshal(map[string]any{"rest": false, "graphql": plan})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pythonForCheck, filepath.Join("..", "..", "scripts", "pygitlab_check.py"), srv.URL(), string(b))
	cmd.Env = append(os.Environ(), "GITLAB_TOKEN="+token)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pygitlab_check.py: %v\nstderr: %s", err, redact(stderr.String(), token))
	}
	var out struct {
		GraphQL pygraphqlOutput `json:"graphql"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("decode script output: %v", err)
	}
	return out.GraphQL
}

// checkPythonGraphQL compares what the script read with the World; own
// says whether it ran its own queries, which ask users for their bot flag
// and triggers with their owners, so that an ownerless trigger is a null
// node. The collector's queries ask the owners apart from the triggers:
// an ownerless trigger comes back without an owner.
func checkPythonGraphQL(t *testing.T, w *World, got pygraphqlOutput, botIDs []int64, own bool) {
	bots := own
	t.Helper()
	byProject := map[int64][]*Trigger{}
	ownerless := 0
	for _, tr := range w.Triggers {
		byProject[tr.ProjectID] = append(byProject[tr.ProjectID], tr)
		if tr.OwnerID == 0 {
			ownerless++
		}
	}
	if len(got.Projects) != len(w.Projects) {
		t.Errorf("python read %d projects, World has %d", len(got.Projects), len(w.Projects))
	}
	for _, p := range w.Projects {
		gp, ok := got.Projects[strconv.FormatInt(p.ID, 10)]
		if !ok {
			t.Errorf("project %d not read", p.ID)
			continue
		}
		if gp.Inbound == nil || *gp.Inbound != p.JobTokenScope.InboundEnabled {
			t.Errorf("project %d: inbound %v, World %v", p.ID, gp.Inbound, p.JobTokenScope.InboundEnabled)
		}
		want := slices.Clone(byProject[p.ID])
		slices.SortFunc(want, func(a, b *Trigger) int { return compareInt64(b.ID, a.ID) })
		if gp.Count != len(want) || len(gp.Triggers) != len(want) {
			t.Errorf("project %d: %d triggers (count %d), World %d", p.ID, len(gp.Triggers), gp.Count, len(want))
			continue
		}
		for i, tr := range want {
			g := gp.Triggers[i]
			if tr.OwnerID == 0 && own {
				if g != nil {
					t.Errorf("project %d: ownerless trigger %d came back as %+v", p.ID, tr.ID, g)
				}
				continue
			}
			var lu *string
			if tr.LastUsed != nil {
				s := tr.LastUsed.UTC().Format(time.RFC3339)
				lu = &s
			}
			if g == nil || g.ID != tr.ID || g.Description != tr.Description || g.Owner != tr.OwnerID ||
				(g.LastUsed == nil) != (lu == nil) || lu != nil && *g.LastUsed != *lu {
				t.Errorf("project %d: trigger %d: python %+v", p.ID, tr.ID, g)
			}
		}
	}
	if len(got.Errors) != ownerless {
		t.Errorf("%d GraphQL errors, want one per ownerless trigger (%d)", len(got.Errors), ownerless)
	}
	for _, e := range got.Errors {
		if e.Message != "Cannot return null for non-nullable field PipelineTrigger.owner" {
			t.Errorf("GraphQL error %q at %v", e.Message, e.Path)
		}
	}

	want := worldMemberships(w)
	if len(got.Users) != len(botIDs) {
		t.Errorf("python read %d bots, World has %d", len(got.Users), len(botIDs))
	}
	for _, id := range botIDs {
		gu := got.Users[strconv.FormatInt(id, 10)]
		wm := slices.Clone(want[id])
		slices.Sort(wm)
		if gu.Bot != bots || !slices.Equal(gu.Memberships, wm) {
			t.Errorf("bot %d: python %v (bot %v), World %v", id, gu.Memberships, gu.Bot, wm)
		}
	}
}

// checkPythonReach compares the people's memberships the collector's reach
// queries gave the script with the World's direct memberships.
func checkPythonReach(t *testing.T, w *World, got pygraphqlOutput, humanIDs []int64) {
	t.Helper()
	want := map[int64][]string{}
	for _, g := range w.Groups {
		for _, m := range g.Members {
			want[m.UserID] = append(want[m.UserID], fmt.Sprintf("group %d", g.ID))
		}
	}
	for _, p := range w.Projects {
		for _, m := range p.Members {
			want[m.UserID] = append(want[m.UserID], fmt.Sprintf("project %d", p.ID))
		}
	}
	if len(got.Reach) != len(humanIDs) {
		t.Errorf("python read the memberships of %d people, want %d", len(got.Reach), len(humanIDs))
	}
	paged := false
	for _, id := range humanIDs {
		wm := want[id]
		slices.Sort(wm)
		gm := got.Reach[strconv.FormatInt(id, 10)]
		paged = paged || len(gm) > 100
		if !slices.Equal(gm, wm) {
			t.Errorf("user %d: python %d memberships, World %d", id, len(gm), len(wm))
		}
	}
	if !paged {
		t.Error("no one's memberships took more than a page; the further pages are not checked")
	}
}

// checkPythonBotMembers compares whether groups mode's query found a bot
// among each project's direct members with the World.
func checkPythonBotMembers(t *testing.T, w *World, got pygraphqlOutput) {
	t.Helper()
	users := map[int64]*User{}
	for _, u := range w.Users {
		users[u.ID] = u
	}
	withBots := 0
	for _, p := range w.Projects {
		want := false
		for _, m := range p.Members {
			want = want || users[m.UserID] != nil && users[m.UserID].Bot()
		}
		if want {
			withBots++
		}
		gp := got.Projects[strconv.FormatInt(p.ID, 10)]
		if gp.BotMember == nil || *gp.BotMember != want {
			t.Errorf("project %d: bot member %v, World %v", p.ID, gp.BotMember, want)
		}
	}
	if withBots == 0 || withBots == len(w.Projects) {
		t.Errorf("%d of %d projects have a bot member: the check tells nothing apart", withBots, len(w.Projects))
	}
}
