// Package e2e holds end-to-end tests that run tokenaudit's pipeline against
// the GitLab simulator: generate an instance, serve it, collect it as a real
// caller would, and judge the result against the generator's ground truth.
package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/collect"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// expectation is what the default policy must conclude about a token the
// generator planted a label in: the token's severity and the rule that
// carries it. A zero rule marks a healthy label, which must stay below
// medium.
type expectation struct {
	severity audit.Severity
	rule     string
}

// planted maps every label of the generator (gitlabsim Plant* constants) to
// the severity the rule catalogue gives it by default.
var planted = map[string]expectation{
	gitlabsim.PlantHealthy:         {},
	gitlabsim.PlantNeverExpires:    {audit.SeverityCritical, "TA-001"},
	gitlabsim.PlantLongLifetime:    {audit.SeverityHigh, "TA-002"},
	gitlabsim.PlantExpiring7d:      {audit.SeverityMedium, "TA-003"},
	gitlabsim.PlantExpiring30d:     {audit.SeverityLow, "TA-004"},
	gitlabsim.PlantExpired:         {audit.SeverityInfo, "TA-005"},
	gitlabsim.PlantRevoked:         {audit.SeverityInfo, "TA-005"},
	gitlabsim.PlantAPIScope:        {audit.SeverityHigh, "TA-011"},
	gitlabsim.PlantSudoScope:       {audit.SeverityCritical, "TA-010"},
	gitlabsim.PlantAdminModeScope:  {audit.SeverityCritical, "TA-010"},
	gitlabsim.PlantUnknownScope:    {audit.SeverityLow, "TA-012"},
	gitlabsim.PlantStale:           {audit.SeverityMedium, "TA-030"},
	gitlabsim.PlantNeverUsedOld:    {audit.SeverityMedium, "TA-031"},
	gitlabsim.PlantAdminAPI:        {audit.SeverityCritical, "TA-020"},
	gitlabsim.PlantBlockedOwner:    {audit.SeverityHigh, "TA-041"},
	gitlabsim.PlantOwnerAccess:     {audit.SeverityHigh, "TA-023"},
	gitlabsim.PlantSmallGroupToken: {audit.SeverityMedium, "TA-021"},
	gitlabsim.PlantLargeGroupToken: {audit.SeverityHigh, "TA-022"},

	gitlabsim.PlantDeployHealthy:      {},
	gitlabsim.PlantDeployNeverExpires: {audit.SeverityHigh, "TA-060"},
	gitlabsim.PlantDeployWrite:        {audit.SeverityMedium, "TA-061"},

	gitlabsim.PlantTriggerHealthy:      {},
	gitlabsim.PlantTriggerNoOwner:      {audit.SeverityHigh, "TA-062"},
	gitlabsim.PlantTriggerBlockedOwner: {audit.SeverityHigh, "TA-062"},
	gitlabsim.PlantTriggerStale:        {audit.SeverityMedium, "TA-063"},
}

// simToken is one token of the World, as the audit should report it.
type simToken struct {
	key   inventory.Key
	plant string
}

// worldTokens lists every token of the World with its inventory identity.
func worldTokens(w *gitlabsim.World) []simToken {
	users := make(map[int64]*gitlabsim.User, len(w.Users))
	for _, u := range w.Users {
		users[u.ID] = u
	}
	var out []simToken
	for _, t := range w.Tokens {
		kind := inventory.Kind(gitlabsim.TokenKind(users[t.UserID], t))
		out = append(out, simToken{inventory.Key{Kind: kind, ID: t.ID}, t.Plant})
	}
	for _, d := range w.DeployTokens {
		out = append(out, simToken{inventory.Key{Kind: inventory.KindDeploy, ID: d.ID}, d.Plant})
	}
	for _, tr := range w.Triggers {
		out = append(out, simToken{inventory.Key{Kind: inventory.KindPipelineTrigger, ID: tr.ID}, tr.Plant})
	}
	return out
}

// collectWorld serves the World and collects it with the token; groups, when
// set, audits those top-level groups (groups mode).
func collectWorld(t *testing.T, w *gitlabsim.World, token string, groups ...string) *inventory.Inventory {
	t.Helper()
	if token == "" {
		t.Fatal("the World has no well-known token for this caller")
	}
	srv := gitlabsim.NewServer(w, gitlabsim.Options{})
	t.Cleanup(srv.Close)
	client, _, err := collect.NewClient(srv.URL()+"/api/v4", token, collect.ClientOptions{RetryMax: -1})
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	inv, err := collect.Collect(ctx, client, collect.Options{Groups: groups})
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	if !inv.Complete() {
		t.Fatalf("collect: inventory incomplete: %+v", inv.Gaps)
	}
	return inv
}

// TestPlantedRisks audits generated medium instances as their
// administrator with the default policy: every token of the World is in the
// result, every planted one at its expected severity and rule, every healthy
// one below medium; the resource findings match the World; evaluation is
// deterministic.
func TestPlantedRisks(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		t.Run(fmt.Sprintf("medium/seed%d", seed), func(t *testing.T) {
			w, err := gitlabsim.Generate("medium", seed)
			if err != nil {
				t.Fatal(err)
			}
			inv := collectWorld(t, w, w.AdminToken())
			// An administrator may read everything: not even a permission gap.
			if len(inv.Gaps) != 0 {
				t.Fatalf("collect as administrator: gaps %+v", inv.Gaps)
			}
			res, err := audit.Evaluate(inv, audit.DefaultPolicy(), w.Now)
			if err != nil {
				t.Fatal(err)
			}
			tallies := judge(t, w, inv, res, true)
			// Every label was exercised (the medium preset plants all of
			// them), so the test cannot pass vacuously.
			for label := range planted {
				if tallies[label] == 0 {
					t.Errorf("label %s: no token planted with it", label)
				}
			}
			if got, want := len(res.Tokens), len(worldTokens(w)); got != want {
				t.Errorf("result has %d tokens, the World %d", got, want)
			}
			checkResourceFindings(t, w, res)
			checkDeterministic(t, inv, res, w.Now)
		})
	}
}

// TestPlantedRisksGroupOwner audits the largest top-level group of a
// medium instance as its Owner, who is no administrator and sees less: the
// tokens it does see are judged as the administrator's audit judges them,
// and missing data never raises a healthy token to medium.
func TestPlantedRisksGroupOwner(t *testing.T) {
	w, err := gitlabsim.Generate("medium", 1)
	if err != nil {
		t.Fatal(err)
	}
	token, group := w.GroupOwnerToken()
	inv := collectWorld(t, w, token, group)
	if inv.GitLab.Admin || len(inv.Tokens) == 0 {
		t.Fatalf("groups-mode inventory: admin %v, %d tokens; want a non-administrator seeing some tokens", inv.GitLab.Admin, len(inv.Tokens))
	}
	res, err := audit.Evaluate(inv, audit.DefaultPolicy(), w.Now)
	if err != nil {
		t.Fatal(err)
	}
	tallies := judge(t, w, inv, res, false)
	seen := 0
	for _, n := range tallies {
		seen += n
	}
	if seen != len(res.Tokens) {
		t.Errorf("judged %d tokens, the result has %d: some are not in the World", seen, len(res.Tokens))
	}
}

// judge checks the result's token severities against the planted labels
// and returns how many tokens of each label it judged. With all set, every
// token of the World must be in the result; otherwise only the tokens in
// the result are judged.
func judge(t *testing.T, w *gitlabsim.World, inv *inventory.Inventory, res *audit.Result, all bool) map[string]int {
	t.Helper()
	byKey := make(map[inventory.Key]*audit.TokenResult, len(res.Tokens))
	for i := range res.Tokens {
		byKey[res.Tokens[i].Token.Key()] = &res.Tokens[i]
	}
	// The simulator lists impersonation tokens per user, so every kind
	// must match exactly.
	lookup := func(k inventory.Key) *audit.TokenResult { return byKey[k] }

	// Report at most a few mismatches per label, with counts.
	type tally struct {
		total, bad int
		examples   []string
	}
	tallies := map[string]*tally{}
	for _, st := range worldTokens(w) {
		want, ok := planted[st.plant]
		if !ok {
			t.Errorf("token %s/%d: label %q has no expectation in this test", st.key.Kind, st.key.ID, st.plant)
			continue
		}
		tr := lookup(st.key)
		if tr == nil && !all {
			continue
		}
		if !all && tr != nil && want.rule != "" && slices.Contains(tr.Unknown, want.rule) {
			// A caller who is no administrator may not see what the rule
			// needs (an enterprise user's state, for one): the rule says
			// unknown, and the report lists it so.
			continue
		}
		tl := tallies[st.plant]
		if tl == nil {
			tl = &tally{}
			tallies[st.plant] = tl
		}
		tl.total++
		var problem string
		switch {
		case tr == nil:
			problem = "not in the result"
		case want.rule == "" && tr.Severity >= audit.SeverityMedium:
			problem = fmt.Sprintf("healthy but %s %v", tr.Severity, findingIDs(tr))
		case want.rule != "" && tr.Severity != want.severity:
			problem = fmt.Sprintf("severity %s %v, want %s", tr.Severity, findingIDs(tr), want.severity)
		case want.rule != "" && !hasFinding(tr, want.rule, want.severity):
			problem = fmt.Sprintf("no %s finding at %s: %v", want.rule, want.severity, findingIDs(tr))
		}
		if problem != "" {
			tl.bad++
			if len(tl.examples) < 3 {
				tl.examples = append(tl.examples, fmt.Sprintf("%s/%d %s", st.key.Kind, st.key.ID, problem))
			}
		}
	}
	counts := map[string]int{}
	for _, label := range sortedLabels(tallies) {
		tl := tallies[label]
		counts[label] = tl.total
		if tl.bad > 0 {
			t.Errorf("label %s: %d of %d tokens judged wrong, e.g. %s", label, tl.bad, tl.total, strings.Join(tl.examples, "; "))
		}
	}
	return counts
}

// checkResourceFindings compares the instance and project findings with
// the World: generated instances turn require_personal_access_token_expiry
// off and leave max_personal_access_token_lifetime unset, and some projects
// keep their inbound job token allowlist off.
func checkResourceFindings(t *testing.T, w *gitlabsim.World, res *audit.Result) {
	t.Helper()
	want := map[string]bool{}
	if !w.Settings.RequirePersonalAccessTokenExpiry {
		want["TA-070 instance"] = true
	}
	if w.Settings.MaxPersonalAccessTokenLifetime == nil || *w.Settings.MaxPersonalAccessTokenLifetime > 365 {
		want["TA-071 instance"] = true
	}
	open := 0
	for _, p := range w.Projects {
		if !p.JobTokenScope.InboundEnabled {
			open++
		}
	}
	got := map[string]bool{}
	gotOpen := 0
	for _, f := range res.Findings {
		if f.Rule == "TA-072" {
			gotOpen++
			continue
		}
		got[f.Rule+" "+f.Resource] = true
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instance findings mismatch (-want +got):\n%s", diff)
	}
	if open == 0 || gotOpen != open {
		t.Errorf("TA-072 findings: %d, want one per project with the inbound allowlist off (%d)", gotOpen, open)
	}
}

// checkDeterministic evaluates the inventory again, its tokens in reverse
// order, and wants the same result.
func checkDeterministic(t *testing.T, inv *inventory.Inventory, first *audit.Result, now time.Time) {
	t.Helper()
	again := *inv
	again.Tokens = slices.Clone(inv.Tokens)
	slices.Reverse(again.Tokens)
	second, err := audit.Evaluate(&again, audit.DefaultPolicy(), now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, second, cmpopts.IgnoreFields(audit.Result{}, "Inventory")); diff != "" {
		t.Errorf("two evaluations of the same instance differ (-first +second):\n%s", diff)
	}
}

func findingIDs(tr *audit.TokenResult) []string {
	var ids []string
	for _, f := range tr.Findings {
		ids = append(ids, f.Rule+":"+f.Severity.String())
	}
	return ids
}

func hasFinding(tr *audit.TokenResult, rule string, sev audit.Severity) bool {
	return slices.ContainsFunc(tr.Findings, func(f audit.Finding) bool {
		return f.Rule == rule && f.Severity == sev && !f.Suppressed
	})
}

func sortedLabels[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
