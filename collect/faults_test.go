package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// TestCollectUnderFaults: 5xx, 429 bursts with Retry-After, latency jitter,
// truncated bodies and dropped connections change nothing in the result.
func TestCollectUnderFaults(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		w := generate(t, "small", seed)
		so := gitlabsim.Options{Seed: seed, Faults: gitlabsim.Faults{
			ErrorRate: 0.1, Burst429: 0.02, BurstLength: 3, Jitter: 2 * time.Millisecond,
			TruncateRate: 0.02, DropRate: 0.01,
		}}
		run, err := collect(t, w, so, w.AdminToken(), Options{Concurrency: 6})
		if err != nil {
			t.Fatalf("Collect under faults: %v", err)
		}
		imp := hasImpersonationRoute(t, run.srv, w.AdminToken())
		want, projects := newTruth(w).instanceTruth(imp, true, true)
		checkTokens(t, want, run.inv.Tokens)
		checkProjects(t, projects, run.inv.Projects)
		checkGaps(t, instanceGaps(imp), run.inv.Gaps)
		if !run.inv.Complete() {
			t.Error("inventory under recoverable faults is not complete")
		}
		if run.srv.TotalRequests() <= len(run.srv.Counts()) {
			t.Error("no request was made")
		}
	}
}

// TestCollectFaultOutlivesRetries: a route that always fails makes each of
// its resources an error gap; everything else stays complete. With GraphQL
// the trigger list is read over REST only for the projects that have
// triggers (for their creation times).
func TestCollectFaultOutlivesRetries(t *testing.T) {
	w := generate(t, "small", 5)
	so := gitlabsim.Options{Seed: 1, Faults: gitlabsim.Faults{
		ErrorRate: 1, ErrorStatuses: []int{http.StatusBadGateway}, Routes: []string{"GET /projects/:id/triggers"},
	}}
	run, err := collect(t, w, so, w.AdminToken(), Options{})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	imp := hasImpersonationRoute(t, run.srv, w.AdminToken())
	tr := newTruth(w)
	want, projects := tr.instanceTruth(imp, false, true)
	checkTokens(t, want, run.inv.Tokens)
	checkProjects(t, projects, run.inv.Projects)
	wantGaps := instanceGaps(imp)
	hasTriggers := map[int64]bool{}
	for _, tg := range w.Triggers {
		hasTriggers[tg.ProjectID] = true
	}
	for _, p := range w.Projects {
		if hasTriggers[p.ID] {
			wantGaps = append(wantGaps, inventory.Gap{Resource: "project " + tr.projectPath(p.ID), What: "pipeline triggers", Kind: inventory.GapError})
		}
	}
	slices.SortFunc(wantGaps, func(a, b inventory.Gap) int {
		return strings.Compare(a.Resource+"\x00"+a.What, b.Resource+"\x00"+b.What)
	})
	checkGaps(t, wantGaps, run.inv.Gaps)
	if run.inv.Complete() {
		t.Error("inventory with failed reads claims to be complete")
	}
	for _, g := range run.inv.Gaps {
		if g.Kind == inventory.GapError && !strings.Contains(g.Reason, "502") {
			t.Errorf("gap reason %q does not name the status", g.Reason)
			break
		}
	}
}

// statusRecorder records the final status of each request path.
type statusRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	last map[string]int
}

func (r *statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.last[req.URL.Path] = resp.StatusCode
		r.mu.Unlock()
	}
	return resp, err
}

// TestCollectGroupsRefusalsAreGaps runs groups mode over REST as a member
// without the Owner role: every path GitLab refused is one permission gap.
// (TestGraphQLGapsAsREST checks that GraphQL's refusals make the same gaps.)
func TestCollectGroupsRefusalsAreGaps(t *testing.T) {
	w := generate(t, "small", 7)
	token, path := developerToken(w)
	if token == "" {
		t.Fatal("world has no developer with a usable token")
	}
	srv := gitlabsim.NewServer(w, gitlabsim.Options{})
	defer srv.Close()
	rec := &statusRecorder{next: http.DefaultTransport, last: map[string]int{}}
	opts := testClientOptions
	opts.HTTPClient = &http.Client{Transport: rec}
	client, _, err := NewClient(srv.URL()+"/api/v4", token, opts)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := Collect(context.Background(), client, Options{Groups: []string{path}, RESTOnly: true})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	refused := 0
	for p, code := range rec.last {
		if (code == 401 || code == 403 || code == 404) && !strings.Contains(p, "/manage/") {
			refused++
		}
	}
	perm := 0
	for _, g := range inv.Gaps {
		switch {
		case g.Kind == inventory.GapUnavailable && g.What == "credentials inventory":
			// Not GitLab.com: not asked, and said so.
		case g.Kind != inventory.GapPermission:
			t.Errorf("unexpected gap %+v", g)
		default:
			perm++
		}
	}
	if refused == 0 || perm != refused {
		t.Errorf("%d refused paths, %d permission gaps; want them equal and not zero", refused, perm)
	}
	if !inv.Complete() {
		t.Error("permission gaps alone must leave the inventory complete")
	}
}

// developerToken finds a non-admin human who is a Developer of a top-level
// group, and one of their usable tokens.
func developerToken(w *gitlabsim.World) (string, string) {
	users := map[int64]*gitlabsim.User{}
	for _, u := range w.Users {
		users[u.ID] = u
	}
	for _, g := range w.Groups {
		if g.ParentID != 0 {
			continue
		}
		for _, m := range g.Members {
			u := users[m.UserID]
			if m.AccessLevel != 30 || u == nil || u.Admin || u.State != "active" || u.UserType != gitlabsim.UserTypeHuman {
				continue
			}
			for _, t := range w.Tokens {
				if t.UserID == u.ID && !t.Impersonation && w.TokenActive(t) && slices.Contains(t.Scopes, "api") {
					return t.Value, g.Path
				}
			}
		}
	}
	return "", ""
}

func TestCollectSelf(t *testing.T) {
	w := generate(t, "small", 3)
	token := plainToken(w)
	run, err := collect(t, w, gitlabsim.Options{}, token, Options{})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if run.inv.GitLab.Mode != inventory.ModeSelf {
		t.Errorf("mode %s, want self", run.inv.GitLab.Mode)
	}
	tr := newTruth(w)
	var me int64
	var selfID int64
	for _, tok := range w.Tokens {
		if tok.Value == token {
			me, selfID = tok.UserID, tok.ID
		}
	}
	owner := tr.adminOwner(me)
	owner.Admin = false
	var want []inventory.Token
	for _, tok := range w.Tokens {
		if tok.UserID == me && !tok.Impersonation {
			src := []string{srcPATs}
			if tok.ID == selfID {
				src = append(src, srcPATSelf)
			}
			want = append(want, tr.pat(tok, inventory.KindPersonal, owner, inventory.Resource{Type: inventory.ResourceInstance}, src...))
		}
	}
	checkTokens(t, want, run.inv.Tokens)
	checkGaps(t, nil, run.inv.Gaps)
}

func TestCollectModes(t *testing.T) {
	w := generate(t, "tiny", 1)
	token := plainToken(w)
	if _, err := collect(t, w, gitlabsim.Options{}, token, Options{Mode: inventory.ModeInstance}); !errors.Is(err, ErrMode) {
		t.Errorf("instance mode as non-admin: err = %v, want ErrMode", err)
	}
	if _, err := collect(t, w, gitlabsim.Options{}, token, Options{Mode: inventory.ModeGroups}); !errors.Is(err, ErrMode) {
		t.Errorf("groups mode without groups: err = %v, want ErrMode", err)
	}
	run, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{Mode: inventory.ModeSelf})
	if err != nil || run.inv.GitLab.Mode != inventory.ModeSelf || run.inv.GitLab.ModeReason == "" {
		t.Errorf("self mode as admin: %v, %+v", err, run.inv)
	}
	for _, tok := range run.inv.Tokens {
		if tok.Owner == nil || tok.Owner.Username != run.inv.GitLab.Caller {
			t.Errorf("self mode as admin collected another user's token %d", tok.ID)
		}
	}
}

func TestCollectProgressAndCancel(t *testing.T) {
	w := generate(t, "small", 1)
	var events []Progress
	var mu sync.Mutex
	run, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{Progress: func(p Progress) {
		mu.Lock()
		events = append(events, p)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if last.Planned == 0 || last.Done != last.Planned || last.Tokens != len(run.inv.Tokens) || last.Requests != run.inv.Stats.Requests {
		t.Errorf("last progress %+v; want done = planned, %d tokens, %d requests", last, len(run.inv.Tokens), run.inv.Stats.Requests)
	}
	for i := 1; i < len(events); i++ {
		if events[i].Done < events[i-1].Done || events[i].Requests < events[i-1].Requests {
			t.Fatalf("progress went backwards: %+v then %+v", events[i-1], events[i])
		}
	}

	srv := gitlabsim.NewServer(w, gitlabsim.Options{})
	defer srv.Close()
	client, _, err := NewClient(srv.URL()+"/api/v4", w.AdminToken(), testClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inv, err := Collect(ctx, client, Options{Progress: func(p Progress) {
		if p.Requests > 20 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || inv != nil {
		t.Errorf("cancelled Collect = %v, %v; want context.Canceled", inv, err)
	}
}

// TestCollectOddData: last_used_ips absent or empty, never-expiring,
// unknown-scope, revoked and expired tokens, and a bot whose project is gone.
func TestCollectOddData(t *testing.T) {
	for _, ips := range []string{"absent", "empty"} {
		w := generate(t, "small", 9)
		w.LastUsedIPs = ips
		run, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{SkipTriggers: true, SkipJobTokenScope: true})
		if err != nil {
			t.Fatal(err)
		}
		imp := hasImpersonationRoute(t, run.srv, w.AdminToken())
		want, _ := newTruth(w).instanceTruth(imp, false, false)
		checkTokens(t, want, run.inv.Tokens)
		for _, tok := range run.inv.Tokens {
			if isPATKind(tok.Kind) && (ips == "absent") != (tok.LastUsedIPs == nil) {
				t.Fatalf("last_used_ips %s: token %d has %#v", ips, tok.ID, tok.LastUsedIPs)
			}
		}
		if n := len(run.world.Projects); len(run.inv.Projects) != n {
			t.Errorf("%d projects listed, want %d", len(run.inv.Projects), n)
		}
	}

	w := generate(t, "medium", 2)
	run, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{SkipTriggers: true, SkipJobTokenScope: true})
	if err != nil {
		t.Fatal(err)
	}
	var never, unknownScope, revoked, expired, orphan bool
	for _, tok := range run.inv.Tokens {
		never = never || tok.Expires.Never()
		unknownScope = unknownScope || slices.ContainsFunc(tok.Scopes, func(s string) bool { return s == "mcp" || s == "granular" })
		revoked = revoked || tok.Revoked
		expired = expired || !tok.Revoked && !tok.Active && !tok.Expires.Never()
		orphan = orphan || tok.Kind == inventory.KindProjectAccess && tok.Resource.Path == "" && tok.Resource.ID != 0
	}
	if !never || !unknownScope || !revoked || !expired || !orphan {
		t.Errorf("odd data not all seen: never %v unknown scope %v revoked %v expired %v orphan bot %v",
			never, unknownScope, revoked, expired, orphan)
	}
	imp := hasImpersonationRoute(t, run.srv, w.AdminToken())
	want, _ := newTruth(w).instanceTruth(imp, false, false)
	checkTokens(t, want, run.inv.Tokens)
}

// plainToken is a usable token of an active human who is no administrator.
func plainToken(w *gitlabsim.World) string {
	admin := map[int64]bool{}
	for _, u := range w.Users {
		admin[u.ID] = u.Admin || u.State != "active" || u.UserType != gitlabsim.UserTypeHuman
	}
	for _, t := range w.Tokens {
		if !admin[t.UserID] && !t.Impersonation && w.TokenActive(t) &&
			(slices.Contains(t.Scopes, "api") || slices.Contains(t.Scopes, "read_api")) {
			return t.Value
		}
	}
	return ""
}

// TestCollectHonoursRetryAfter runs against GitLab's throttle: 429s with
// Retry-After. With tiny backoff waits and few retries only waiting as
// GitLab asks gets the inventory through complete.
func TestCollectHonoursRetryAfter(t *testing.T) {
	w := generate(t, "tiny", 1)
	srv := gitlabsim.NewServer(w, gitlabsim.Options{RateLimit: gitlabsim.RateLimit{Requests: 15, Period: time.Second}})
	defer srv.Close()
	opts := testClientOptions
	opts.RetryMax, opts.RetryAfterMax, opts.Sleep = 3, 2*time.Second, nil
	client, _, err := NewClient(srv.URL()+"/api/v4", w.AdminToken(), opts)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := Collect(context.Background(), client, Options{Concurrency: 4})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	imp := hasImpersonationRoute(t, srv, w.AdminToken())
	want, projects := newTruth(w).instanceTruth(imp, true, true)
	checkTokens(t, want, inv.Tokens)
	checkProjects(t, projects, inv.Projects)
	checkGaps(t, instanceGaps(imp), inv.Gaps)
	if inv.Stats.Requests <= 15 {
		t.Errorf("%d requests: the throttle was never reached", inv.Stats.Requests)
	}
}

// TestCollectRejectedToken: an expired or revoked token stops the audit
// with ErrUnauthorized and GitLab's reason.
func TestCollectRejectedToken(t *testing.T) {
	w := generate(t, "small", 1)
	var revoked string
	for _, tok := range w.Tokens {
		if tok.Revoked && !tok.Impersonation {
			revoked = tok.Value
			break
		}
	}
	_, err := collect(t, w, gitlabsim.Options{}, revoked, Options{})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("revoked token: err = %v, want ErrUnauthorized with GitLab's reason", err)
	}
	if strings.Contains(err.Error(), revoked) {
		t.Fatal("error carries the token value")
	}
}

// TestCollectLogsNoSecrets: debug logs, gaps and the inventory carry no
// token value, trigger tokens included (the admin created none, but the
// owner of a trigger sees its value in full).
func TestCollectLogsNoSecrets(t *testing.T) {
	w := generate(t, "small", 6)
	// A trigger owner who is a member of the trigger's top-level group.
	tr := newTruth(w)
	var owner, group string
	var ownerID int64
	for _, trig := range w.Triggers {
		p := tr.projects[trig.ProjectID]
		if p == nil || p.GroupID == 0 {
			continue
		}
		top := tr.groups[p.GroupID]
		for top.ParentID != 0 {
			top = tr.groups[top.ParentID]
		}
		if level(top.Members, trig.OwnerID) == 0 && top.Visibility == "private" {
			continue
		}
		for _, tok := range w.Tokens {
			if tok.UserID == trig.OwnerID && !tok.Impersonation && w.TokenActive(tok) &&
				(slices.Contains(tok.Scopes, "api") || slices.Contains(tok.Scopes, "read_api")) {
				owner, group, ownerID = tok.Value, top.Path, tok.UserID
			}
		}
	}
	if owner == "" {
		t.Fatal("world has no trigger owner with a usable token in the trigger's group")
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	so := gitlabsim.Options{Seed: 3, Faults: gitlabsim.Faults{ErrorRate: 0.05, TruncateRate: 0.05}}
	for _, token := range []string{w.AdminToken(), owner} {
		run, err := collect(t, w, so, token, Options{Logger: log, Groups: []string{group}})
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		if token == owner && !slices.ContainsFunc(run.inv.Tokens, func(tok inventory.Token) bool {
			return tok.Kind == inventory.KindPipelineTrigger && tok.Owner != nil && tok.Owner.ID == ownerID
		}) {
			t.Error("the owner's own triggers, served with their full value, were not collected")
		}
		out, err := json.Marshal(run.inv)
		if err != nil {
			t.Fatal(err)
		}
		text := buf.String() + string(out)
		for _, tok := range w.Tokens {
			if strings.Contains(text, tok.Value) {
				t.Fatalf("token %d's value appears in logs or inventory", tok.ID)
			}
		}
		for _, trig := range w.Triggers {
			if strings.Contains(text, strings.TrimPrefix(trig.Value, "glptt-")) {
				t.Fatalf("trigger %d's value appears in logs or inventory", trig.ID)
			}
		}
	}
	if !strings.Contains(buf.String(), "level=DEBUG") {
		t.Error("no debug log written")
	}
}

// TestCollectRepeatsTimedOutRequest: one answer slower than the client's
// timeout is asked for again, so a single latency spike costs no data and
// leaves the inventory complete.
func TestCollectRepeatsTimedOutRequest(t *testing.T) {
	w := generate(t, "small", 3)
	srv := gitlabsim.NewServer(w, gitlabsim.Options{})
	t.Cleanup(srv.Close)
	var mu sync.Mutex
	stalled := 0
	slow := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first := r.URL.Path == "/api/v4/deploy_tokens" && stalled == 0
		if first {
			stalled++
		}
		mu.Unlock()
		if first {
			// Past the client's timeout; ends when the client gives up.
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		srv.Handler().ServeHTTP(rw, r)
	}))
	t.Cleanup(slow.Close)

	opts := testClientOptions
	opts.Timeout = 300 * time.Millisecond
	client, _, err := NewClient(slow.URL+"/api/v4", w.AdminToken(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inv, err := Collect(ctx, client, Options{})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if stalled != 1 {
		t.Fatalf("the deploy token list was stalled %d times, want 1", stalled)
	}
	want, projects := newTruth(w).instanceTruth(true, true, true)
	checkTokens(t, want, inv.Tokens)
	checkProjects(t, projects, inv.Projects)
	checkGaps(t, instanceGaps(true), inv.Gaps)
	if !inv.Complete() {
		t.Errorf("one timed-out answer left the inventory incomplete: %+v", inv.Gaps)
	}
}
