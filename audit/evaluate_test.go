package audit

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// syntheticInventory builds n tokens of every kind with a deterministic mix
// of risks, for determinism tests and the benchmark.
func syntheticInventory(n int, seed uint64) *inventory.Inventory {
	r := rand.New(rand.NewPCG(seed, 1))
	scopes := [][]string{{"read_api"}, {"api"}, {"read_repository", "write_repository"}, {"sudo", "api"}, {"read_api", "mcp"}, {"read_registry"}}
	states := []string{"active", "active", "active", "blocked", ""}
	inv := &inventory.Inventory{}
	for i := range n {
		kind := inventory.Kinds[r.IntN(len(inventory.Kinds))]
		t := healthy(kind, int64(i+1))
		if kind != inventory.KindPipelineTrigger {
			t.Scopes = scopes[r.IntN(len(scopes))]
		}
		t.CreatedAt = now.Add(-time.Duration(r.IntN(500*24)) * time.Hour)
		switch r.IntN(6) {
		case 0:
			t.Expires = inventory.Expiry{}
		case 1:
			t.Expires = daysFrom(now, r.IntN(40)-5)
		default:
			t.Expires = daysFrom(t.CreatedAt, 1+r.IntN(400))
		}
		if t.UsageReported {
			if r.IntN(5) == 0 {
				t.LastUsedAt = time.Time{}
			} else {
				t.LastUsedAt = now.Add(-time.Duration(r.IntN(200*24)) * time.Hour)
			}
		}
		t.Revoked = r.IntN(20) == 0
		t.Active = !t.Revoked
		if t.Owner != nil {
			t.Owner.State = states[r.IntN(len(states))]
			t.Owner.Admin = r.IntN(50) == 0
			t.Owner.ProjectsReachable = r.IntN(80) - 1
		}
		if kind == inventory.KindGroupAccess {
			t.Resource.Projects = r.IntN(40) - 1
		}
		if t.AccessLevel != 0 {
			t.AccessLevel = []int{10, 20, 30, 40, 50}[r.IntN(5)]
		}
		inv.Tokens = append(inv.Tokens, t)
	}
	for i := range n / 10 {
		inv.Projects = append(inv.Projects, inventory.Project{
			Resource:      inventory.Resource{Type: inventory.ResourceProject, ID: int64(i + 1), Path: fmt.Sprintf("acme/p%d", i+1)},
			JobTokenScope: &inventory.JobTokenScope{InboundEnabled: r.IntN(2) == 0},
		})
	}
	inv.Settings = &inventory.Settings{RequirePersonalAccessTokenExpiry: boolp(false)}
	inv.Gaps = []inventory.Gap{
		{Resource: "group acme", What: "group access tokens", Kind: inventory.GapPermission, Reason: "401 Unauthorized"},
		{Resource: "project acme/p1", What: "pipeline triggers", Kind: inventory.GapError, Reason: "500"},
	}
	return inv
}

func TestEvaluateDeterministic(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	p.Exceptions = []Exception{{Rule: "TA-011", Owner: "alice", Reason: "r", Expires: "2027-01-01"}}
	inv := syntheticInventory(2000, 7)
	first, err := Evaluate(inv, p, now)
	if err != nil {
		t.Fatal(err)
	}
	// The same tokens in another order give the same result.
	shuffled := *inv
	shuffled.Tokens = append([]inventory.Token(nil), inv.Tokens...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled.Tokens), func(i, j int) {
		shuffled.Tokens[i], shuffled.Tokens[j] = shuffled.Tokens[j], shuffled.Tokens[i]
	})
	second, err := Evaluate(&shuffled, p, now)
	if err != nil {
		t.Fatal(err)
	}
	second.Inventory = first.Inventory
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("Evaluate is not deterministic (-first +second):\n%s", diff)
	}
	// Evaluate must not change its input.
	if diff := cmp.Diff(syntheticInventory(2000, 7), inv); diff != "" {
		t.Errorf("Evaluate changed the inventory:\n%s", diff)
	}
}

func TestEvaluateOrderAndSummary(t *testing.T) {
	t.Parallel()
	inv := syntheticInventory(3000, 11)
	res, err := Evaluate(inv, DefaultPolicy(), now)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(res.Tokens); i++ {
		if compareTokenResults(res.Tokens[i-1], res.Tokens[i]) >= 0 {
			a, b := res.Tokens[i-1], res.Tokens[i]
			t.Fatalf("tokens %d and %d out of order: %s/%d/%s/%d then %s/%d/%s/%d", i-1, i,
				a.Severity, a.RiskScore, a.Token.Kind, a.Token.ID, b.Severity, b.RiskScore, b.Token.Kind, b.Token.ID)
		}
	}
	if res.Tokens[0].Severity != SeverityCritical {
		t.Errorf("first token severity %s, want critical", res.Tokens[0].Severity)
	}
	// Recount independently.
	bySev, byKind, findings := map[Severity]int{}, map[inventory.Kind]int{}, map[Severity]int{}
	for _, tr := range res.Tokens {
		worst := SeverityNone
		for j, f := range tr.Findings {
			if j > 0 {
				prev := tr.Findings[j-1]
				if prev.Severity < f.Severity || (prev.Severity == f.Severity && prev.Rule >= f.Rule) {
					t.Fatalf("token %s/%d: findings out of order: %v", tr.Token.Kind, tr.Token.ID, ruleIDs(tr.Findings))
				}
			}
			findings[f.Severity]++
			worst = max(worst, f.Severity)
		}
		if tr.Severity != worst {
			t.Fatalf("token %s/%d severity %s, worst finding %s", tr.Token.Kind, tr.Token.ID, tr.Severity, worst)
		}
		if tr.RiskScore < 0 || tr.RiskScore > 100 {
			t.Fatalf("token %s/%d risk score %d out of 0..100", tr.Token.Kind, tr.Token.ID, tr.RiskScore)
		}
		bySev[tr.Severity]++
		byKind[tr.Token.Kind]++
	}
	for _, f := range res.Findings {
		findings[f.Severity]++
	}
	s := res.Summary
	if s.Tokens != 3000 || s.Gaps != 2 || s.GapErrors != 1 || s.Complete || s.Suppressed != 0 {
		t.Errorf("summary tokens %d gaps %d errors %d complete %v suppressed %d; want 3000 2 1 false 0",
			s.Tokens, s.Gaps, s.GapErrors, s.Complete, s.Suppressed)
	}
	for sev := SeverityNone; sev <= SeverityCritical; sev++ {
		if s.BySeverity[sev] != bySev[sev] {
			t.Errorf("BySeverity[%s] = %d, want %d", sev, s.BySeverity[sev], bySev[sev])
		}
		if sev != SeverityNone && s.Findings[sev] != findings[sev] {
			t.Errorf("Findings[%s] = %d, want %d", sev, s.Findings[sev], findings[sev])
		}
	}
	for _, k := range inventory.Kinds {
		if s.ByKind[k] != byKind[k] || byKind[k] == 0 {
			t.Errorf("ByKind[%s] = %d, want %d (and some)", k, s.ByKind[k], byKind[k])
		}
	}
	if len(res.Findings) == 0 || res.Findings[0].Rule != "TA-070" || res.Findings[0].Resource != "instance" {
		t.Errorf("first resource finding %+v, want TA-070 on the instance (high, first)", res.Findings[:1])
	}
	if res.Worst() != SeverityCritical {
		t.Errorf("Worst() = %s, want critical", res.Worst())
	}
}

func TestEvaluateEmptyAndNil(t *testing.T) {
	t.Parallel()
	if _, err := Evaluate(nil, DefaultPolicy(), now); err == nil {
		t.Error("Evaluate(nil) succeeded")
	}
	res, err := Evaluate(&inventory.Inventory{}, DefaultPolicy(), now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Worst() != SeverityNone || res.Summary.Tokens != 0 || !res.Summary.Complete || res.Summary.BySeverity[SeverityHigh] != 0 {
		t.Errorf("empty inventory: worst %s summary %+v", res.Worst(), res.Summary)
	}
	if _, ok := res.Summary.BySeverity[SeverityCritical]; !ok {
		t.Error("summary omits zero severities; reports want stable columns")
	}
}

// TestScore checks the documented formula on a few tokens.
func TestScore(t *testing.T) {
	t.Parallel()
	pat := healthy(inventory.KindPersonal, 1) // read_api 10, 3 projects -> 1, no hygiene
	admin := healthy(inventory.KindPersonal, 2)
	admin.Owner.Admin = true
	admin.Scopes = []string{"sudo", "api"}
	admin.Expires = inventory.Expiry{}
	admin.LastUsedAt = now.Add(-200 * day)
	group := healthy(inventory.KindGroupAccess, 3)
	group.Resource.Projects = 60
	group.AccessLevel = 50
	group.Scopes = []string{"api"}
	revoked := admin
	revoked.Revoked = true
	deploy := healthy(inventory.KindDeploy, 4)
	trigger := healthy(inventory.KindPipelineTrigger, 5)
	cases := []struct {
		name string
		tok  inventory.Token
		want int
	}{
		{"healthy personal", pat, 10 + 1},
		// exposure 40, blast 35, hygiene TA-001 15 + TA-030 10 = 25.
		{"administrator's never-expiring sudo token", admin, 100},
		// exposure api 30 + Owner 10 = 40, blast 15 + 60/5 = 27.
		{"Owner group token in a large group", group, 40 + 27},
		{"revoked", revoked, 0},
		{"project deploy token", deploy, 5 + 5},
		{"trigger", trigger, 20 + 5},
	}
	for _, tc := range cases {
		tr := evalOne(t, tc.tok, DefaultPolicy(), now)
		if tr.RiskScore != tc.want {
			t.Errorf("%s: risk score %d, want %d (findings %v)", tc.name, tr.RiskScore, tc.want, ruleIDs(tr.Findings))
		}
	}
}

// TestHygienePoints: a finding adds its rule's Hygiene points to the risk
// score and a rule without points adds none, so the points docs/rules.md
// lists are the ones Score counts; together they stop at maxHygiene.
func TestHygienePoints(t *testing.T) {
	t.Parallel()
	tok := healthy(inventory.KindPersonal, 1)
	base := Score(&tok, nil, true)
	var all []Finding
	for _, r := range Rules {
		if got := Score(&tok, []Finding{{Rule: r.ID}}, true) - base; got != r.Hygiene {
			t.Errorf("a %s finding adds %d to the score, want its Hygiene %d", r.ID, got, r.Hygiene)
		}
		if r.Hygiene > 0 {
			all = append(all, Finding{Rule: r.ID})
			if want := fmt.Sprintf("- %s %s: %d\n", r.ID, r.Title, r.Hygiene); !strings.Contains(scoreFormula(), want) {
				t.Errorf("the score formula lacks %q", want)
			}
		}
	}
	if len(all) < 2 {
		t.Fatalf("%d rules with hygiene points", len(all))
	}
	if got := Score(&tok, all, true) - base; got != maxHygiene {
		t.Errorf("every hygiene finding at once adds %d, want the cap %d", got, maxHygiene)
	}
}

// BenchmarkEvaluate measures evaluation throughput on 100,000 synthetic
// tokens; it reports tokens/s.
func BenchmarkEvaluate(b *testing.B) {
	inv := syntheticInventory(100_000, 42)
	p := DefaultPolicy()
	p.LegacyBotUsers = []string{"ci-*", "renovate"}
	p.Exceptions = []Exception{
		{Rule: "TA-011", Owner: "alice", Reason: "r", Expires: "2027-01-01"},
		{Rule: "TA-030", Kind: "personal", Name: "nightly-*", Reason: "r", Expires: "2027-01-01"},
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Evaluate(inv, p, now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(inv.Tokens))/b.Elapsed().Seconds(), "tokens/s")
}

// TestEvaluateJudgesActiveAtNow checks that whether a token works is judged
// at Evaluate's now, from GitLab's facts alone: the inventory keeps a
// trigger active (GitLab sends no flag for triggers) and its expiry, and one
// inventory audited before and after that expiry gives both answers.
func TestEvaluateJudgesActiveAtNow(t *testing.T) {
	trigger := healthy(inventory.KindPipelineTrigger, 1)
	trigger.Expires = daysFrom(now, 30)
	pat := healthy(inventory.KindPersonal, 2)
	pat.Expires = daysFrom(now, 30)
	inv := &inventory.Inventory{Tokens: []inventory.Token{pat, trigger}}
	for _, c := range []struct {
		at     time.Time
		active bool
	}{
		{now, true},
		{now.AddDate(0, 0, 29), true},
		{now.AddDate(0, 0, 30), false},
		{now.AddDate(2, 0, 0), false},
	} {
		res, err := Evaluate(inv, DefaultPolicy(), c.at)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range res.Tokens {
			if tr.Active != c.active {
				t.Errorf("%s %d at %s: active %v, want %v", tr.Token.Kind, tr.Token.ID, c.at.Format(time.DateOnly), tr.Active, c.active)
			}
			if !tr.Token.Active {
				t.Errorf("%s %d: Evaluate changed the inventory's flag", tr.Token.Kind, tr.Token.ID)
			}
		}
	}
}
