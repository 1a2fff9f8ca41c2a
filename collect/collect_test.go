package collect

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/tokenaudit/tokenaudit/internal/bench"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

type gitlabUser = gitlab.User

func diffToken(want, got inventory.Token) string { return gocmp.Diff(want, got) }

// testClientOptions retry quickly so fault tests stay fast.
var testClientOptions = ClientOptions{
	RetryMax: 8, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
	Sleep: skipWaits, Timeout: 10 * time.Second,
}

// skipWaits stands in for the waits GitLab asks for (the simulator's 1 s
// Retry-After): the tests check what is read, not how long it takes.
func skipWaits(ctx context.Context, _ time.Duration) error { return ctx.Err() }

type simRun struct {
	world *gitlabsim.World
	srv   *gitlabsim.Server
	inv   *inventory.Inventory
	req   *RequestCounter
}

// asGitLabCom serves w as GitLab.com (on) or as the generator's default
// self-managed GitLab: GitLab.com runs the newest version, which has the
// credentials inventory.
func asGitLabCom(w *gitlabsim.World, on bool) {
	w.GitLabCom, w.Version = on, gitlabsim.GeneratorVersion
	if on {
		w.Version = gitlabsim.GeneratorGitLabComVersion
	}
}

func generate(t testing.TB, preset string, seed int64) *gitlabsim.World {
	t.Helper()
	w, err := gitlabsim.Generate(preset, seed)
	if err != nil {
		t.Fatalf("generate %s/%d: %v", preset, seed, err)
	}
	return w
}

// collect serves w and runs Collect with token.
func collect(t testing.TB, w *gitlabsim.World, so gitlabsim.Options, token string, opts Options) (*simRun, error) {
	t.Helper()
	srv := gitlabsim.NewServer(w, so)
	t.Cleanup(srv.Close)
	client, counter, err := NewClient(srv.URL()+"/api/v4", token, testClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	inv, err := Collect(ctx, client, opts)
	return &simRun{world: w, srv: srv, inv: inv, req: counter}, err
}

// hasImpersonationRoute asks a fault-free server for the world whether it
// lists impersonation tokens per user.
func hasImpersonationRoute(t testing.TB, srv *gitlabsim.Server, token string) bool {
	clean := gitlabsim.NewServer(srv.World(), gitlabsim.Options{})
	defer clean.Close()
	req, _ := http.NewRequest(http.MethodGet, clean.URL()+"/api/v4/users/1/impersonation_tokens", nil)
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusNotFound
}

func checkTokens(t *testing.T, want, got []inventory.Token) {
	t.Helper()
	if d := tokenDiffs(want, got, 10); len(d) > 0 {
		t.Errorf("collected %d tokens, want %d; first differences:\n%s", len(got), len(want), joinDiffs(d))
	}
}

func checkProjects(t *testing.T, want, got []inventory.Project) {
	t.Helper()
	if diff := gocmp.Diff(want, got); diff != "" {
		if len(diff) > 4000 {
			diff = diff[:4000] + "…"
		}
		t.Errorf("projects mismatch (-want +got):\n%s", diff)
	}
}

func checkSorted(t *testing.T, inv *inventory.Inventory) {
	t.Helper()
	order := map[inventory.Kind]int{}
	for i, k := range inventory.Kinds {
		order[k] = i
	}
	if !slices.IsSortedFunc(inv.Tokens, func(a, b inventory.Token) int {
		if c := order[a.Kind] - order[b.Kind]; c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	}) {
		t.Error("tokens are not in kind, id order")
	}
}

// selfManagedGroupsGaps is what groups mode on self-managed GitLab says it
// did not read: the credentials inventory, which only GitLab.com serves
// (and only it lists the enterprise users' own tokens).
func selfManagedGroupsGaps(path string) []inventory.Gap {
	return []inventory.Gap{{Resource: "group " + path, What: "credentials inventory", Kind: inventory.GapUnavailable}}
}

func instanceGaps(impersonationRoute bool) []inventory.Gap {
	if impersonationRoute {
		return nil
	}
	return []inventory.Gap{{Resource: "instance", What: "impersonation tokens", Kind: inventory.GapPermission}}
}

func checkGaps(t *testing.T, want, got []inventory.Gap) {
	t.Helper()
	var strip []inventory.Gap
	for _, g := range got {
		g.Reason = ""
		strip = append(strip, g)
	}
	if diff := gocmp.Diff(want, strip); diff != "" {
		t.Errorf("gaps mismatch (-want +got, reasons ignored):\n%s", diff)
	}
}

func TestCollectInstanceMatchesWorld(t *testing.T) {
	// large runs without the per-project reads (14,000 of its 21,000
	// requests, already covered on small) to keep -race runs short; it is
	// here for its 16,000 PATs and 10,000 users, lists without count headers.
	cases := []struct {
		preset     string
		seed       int64
		perProject bool
	}{{"small", 1, true}, {"small", 2, true}, {"small", 3, true}, {"large", 4, false}}
	for _, tc := range cases {
		t.Run(tc.preset, func(t *testing.T) {
			w := generate(t, tc.preset, tc.seed)
			skip := !tc.perProject
			run, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{Concurrency: 8, SkipTriggers: skip, SkipJobTokenScope: skip})
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			inv := run.inv
			if inv.GitLab.Mode != inventory.ModeInstance || !inv.GitLab.Admin || inv.GitLab.Version != w.Version {
				t.Errorf("gitlab = %+v, want instance mode as admin, version %s", inv.GitLab, w.Version)
			}
			imp := hasImpersonationRoute(t, run.srv, w.AdminToken())
			want, projects := newTruth(w).instanceTruth(imp, tc.perProject, tc.perProject)
			checkTokens(t, want, inv.Tokens)
			checkProjects(t, projects, inv.Projects)
			checkGaps(t, instanceGaps(imp), inv.Gaps)
			checkSorted(t, inv)
			if tc.preset == "large" {
				// More than 10,000 PATs: GitLab drops the count headers
				// and the list is followed by X-Next-Page alone.
				n := 0
				for _, tok := range inv.Tokens {
					if isPATKind(tok.Kind) {
						n++
					}
				}
				if n <= 10000 {
					t.Errorf("large world has %d PATs, want > 10,000 to test count-less pagination", n)
				}
			}
			if inv.Settings == nil || inv.Settings.RequirePersonalAccessTokenExpiry == nil ||
				*inv.Settings.RequirePersonalAccessTokenExpiry != w.Settings.RequirePersonalAccessTokenExpiry {
				t.Errorf("settings = %+v, want require expiry %v", inv.Settings, w.Settings.RequirePersonalAccessTokenExpiry)
			}
			if inv.Stats.Requests != run.srv.TotalRequests() || inv.Stats.Requests == 0 {
				t.Errorf("stats count %d requests, server saw %d", inv.Stats.Requests, run.srv.TotalRequests())
			}
		})
	}
}

func TestCollectGroupsMatchesWorld(t *testing.T) {
	// On large (a tree of 1,100 projects) the per-project trigger and job
	// token scope reads, covered on small, are off to keep -race runs short.
	for _, tc := range []struct {
		preset     string
		seed       int64
		perProject bool
	}{{"small", 1, true}, {"small", 2, true}, {"small", 3, true}, {"large", 5, false}} {
		w := generate(t, tc.preset, tc.seed)
		token, path := w.GroupOwnerToken()
		if token == "" {
			t.Fatal("world has no group owner token")
		}
		skip := !tc.perProject
		run, err := collect(t, w, gitlabsim.Options{}, token, Options{Groups: []string{path}, SkipTriggers: skip, SkipJobTokenScope: skip})
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		tr := newTruth(w)
		top, me := groupAndHolder(t, w, path, token)
		if run.inv.GitLab.Mode != inventory.ModeGroups || run.inv.GitLab.Admin {
			t.Errorf("gitlab = %+v, want groups mode, no admin", run.inv.GitLab)
		}
		want, projects := tr.groupsTruth(top, me, tc.perProject)
		checkTokens(t, want, run.inv.Tokens)
		checkProjects(t, projects, run.inv.Projects)
		checkGaps(t, selfManagedGroupsGaps(path), run.inv.Gaps)
	}
}

// groupAndHolder is the ID of w's top-level group at path and of the user
// holding token; either missing fails the test.
func groupAndHolder(t *testing.T, w *gitlabsim.World, path, token string) (top, holder int64) {
	t.Helper()
	g, holder := bench.TopGroup(w, path), bench.TokenHolder(w, token)
	if g == nil || holder == 0 {
		t.Fatalf("world has no top-level group %q or no holder of the group owner's token", path)
	}
	return g.ID, holder
}

func TestCollectUnauthorized(t *testing.T) {
	w := generate(t, "tiny", 1)
	_, err := collect(t, w, gitlabsim.Options{}, "glpat-not-a-token-at-all", Options{})
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Collect with an unknown token: err = %v, want ErrUnauthorized", err)
	}
}

func TestCollectUnknownGroup(t *testing.T) {
	w := generate(t, "tiny", 1)
	token, _ := w.GroupOwnerToken()
	_, err := collect(t, w, gitlabsim.Options{}, token, Options{Groups: []string{"no-such-group"}})
	if !errors.Is(err, ErrGroupNotFound) || !strings.Contains(err.Error(), "no-such-group") {
		t.Fatalf("err = %v, want ErrGroupNotFound naming the group", err)
	}
}

// TestCollectGroupsGitLabCom: on GitLab.com the credentials inventory adds
// the enterprise users' PATs, and its resource-token list replaces the
// per-group and per-project access token lists: the same records, without
// a request per group and project.
func TestCollectGroupsGitLabCom(t *testing.T) {
	w := generate(t, "small", 4)
	asGitLabCom(w, true)
	token, path := w.GroupOwnerToken()
	run, err := collect(t, w, gitlabsim.Options{}, token, Options{Groups: []string{path}})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	checkTokens(t, gitLabComTruth(t, w, path, token, true), run.inv.Tokens)
	checkGaps(t, nil, run.inv.Gaps)
	counts := run.srv.Counts()
	for _, route := range []string{"GET /projects/:id/access_tokens", "GET /groups/:id/access_tokens"} {
		if n := counts[route]; n != 0 {
			t.Errorf("%s called %d times, want 0: the credentials inventory lists those tokens", route, n)
		}
	}
	if n := counts["GET /groups/:id/manage/resource_access_tokens"]; n == 0 {
		t.Error("the credentials inventory's resource tokens were not read")
	}
}

// TestCollectGroupsGitLabComResourceListFails: when the credentials
// inventory answers for PATs but its resource-token list keeps failing, the
// per-resource lists read the same tokens, and nothing is a gap: every
// group's, and those of the projects with a bot member (a project's list
// holds its bot members' tokens only).
func TestCollectGroupsGitLabComResourceListFails(t *testing.T) {
	w := generate(t, "small", 4)
	asGitLabCom(w, true)
	token, path := w.GroupOwnerToken()
	run, err := collect(t, w, gitlabsim.Options{Faults: gitlabsim.Faults{
		ErrorRate: 1, Routes: []string{"GET /groups/:id/manage/resource_access_tokens"},
	}}, token, Options{Groups: []string{path}})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	checkTokens(t, gitLabComTruth(t, w, path, token, false), run.inv.Tokens)
	checkGaps(t, nil, run.inv.Gaps)
	counts := run.srv.Counts()
	groups, projects := 0, 0
	top, _ := groupAndHolder(t, w, path, token)
	tr := newTruth(w)
	for _, g := range w.Groups {
		if tr.inTree(g.ID, top) {
			groups++
		}
	}
	for _, p := range w.Projects {
		if p.GroupID != 0 && tr.inTree(p.GroupID, top) && hasBotMember(w, p) {
			projects++
		}
	}
	if projects == 0 {
		t.Fatal("no project of the group has a bot member; the test checks nothing")
	}
	if counts["GET /projects/:id/access_tokens"] != projects || counts["GET /groups/:id/access_tokens"] != groups {
		t.Errorf("per-resource access token lists read %d project and %d group times, want %d and %d",
			counts["GET /projects/:id/access_tokens"], counts["GET /groups/:id/access_tokens"], projects, groups)
	}
}

// hasBotMember reports whether one of p's direct members is a bot.
func hasBotMember(w *gitlabsim.World, p *gitlabsim.Project) bool {
	bots := map[int64]bool{}
	for _, u := range w.Users {
		bots[u.ID] = u.Bot()
	}
	for _, m := range p.Members {
		if bots[m.UserID] {
			return true
		}
	}
	return false
}

// gitLabComTruth is what groups mode reports as the Owner (holding token)
// of the top-level group at path of a GitLab.com world: the groups-mode
// truth plus the enterprise users' PATs of the credentials inventory, with
// the resource access tokens sourced from the inventory's list when
// manageResource, else from the per-resource lists.
func gitLabComTruth(t *testing.T, w *gitlabsim.World, path, token string, manageResource bool) []inventory.Token {
	t.Helper()
	tr := newTruth(w)
	top, me := groupAndHolder(t, w, path, token)
	want, _ := tr.groupsTruth(top, me, true)
	// The simulator counts as enterprise users the humans with a direct
	// membership in the group's hierarchy.
	enterprise := map[int64]bool{}
	for _, g := range w.Groups {
		if tr.inTree(g.ID, top) {
			for _, m := range g.Members {
				enterprise[m.UserID] = true
			}
		}
	}
	for _, p := range w.Projects {
		if p.GroupID != 0 && tr.inTree(p.GroupID, top) {
			for _, m := range p.Members {
				enterprise[m.UserID] = true
			}
		}
	}
	byID := map[int64]int{}
	for i, tok := range want {
		if isPATKind(tok.Kind) {
			byID[tok.ID] = i
		}
		if manageResource && (tok.Kind == inventory.KindProjectAccess || tok.Kind == inventory.KindGroupAccess) {
			want[i].Sources = []string{srcManageResource}
		}
	}
	for _, tok := range w.Tokens {
		u := tr.users[tok.UserID]
		if !enterprise[tok.UserID] || u.UserType != gitlabsim.UserTypeHuman || tok.Impersonation {
			continue
		}
		if i, ok := byID[tok.ID]; ok {
			want[i].Sources = append(want[i].Sources, srcManagePATs)
			slices.Sort(want[i].Sources)
			continue
		}
		want = append(want, tr.pat(tok, inventory.KindPersonal, &inventory.Owner{ID: u.ID, Type: inventory.OwnerUnknown, ProjectsReachable: -1},
			inventory.Resource{Type: inventory.ResourceInstance}, srcManagePATs))
	}
	sortTokens(want)
	return want
}

// TestCollectDeterministic: the inventory does not depend on concurrency
// or on the order answers arrive in.
func TestCollectDeterministic(t *testing.T) {
	w := generate(t, "small", 8)
	var invs []*inventory.Inventory
	for _, n := range []int{1, 16} {
		run, err := collect(t, w, gitlabsim.Options{Seed: int64(n), Faults: gitlabsim.Faults{Jitter: time.Millisecond}},
			w.AdminToken(), Options{Concurrency: n})
		if err != nil {
			t.Fatal(err)
		}
		run.inv.Stats, run.inv.GitLab.URL = inventory.Stats{}, "" // two servers, two URLs
		invs = append(invs, run.inv)
	}
	if diff := gocmp.Diff(invs[0], invs[1]); diff != "" {
		t.Errorf("concurrency 1 and 16 differ (-1 +16):\n%s", diff)
	}
}
