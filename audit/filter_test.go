package audit

import (
	"slices"
	"testing"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// filterResult is a hand-made result: what Filter keeps depends only on
// the tokens' kinds, owners, resources and findings, not on the rules.
func filterResult() *Result {
	tok := func(kind inventory.Kind, id int64, owner, path string, fs ...Finding) TokenResult {
		t := TokenResult{Token: inventory.Token{Kind: kind, ID: id, Resource: inventory.Resource{Type: inventory.ResourceProject, Path: path}}, Findings: fs}
		if owner != "" {
			t.Token.Owner = &inventory.Owner{Username: owner}
		} else {
			t.Token.Username = "gitlab+deploy-token-" + path
		}
		for _, f := range fs {
			if !f.Suppressed && f.Severity > t.Severity {
				t.Severity = f.Severity
			}
		}
		return t
	}
	crit := Finding{Rule: "TA-001", Severity: SeverityCritical}
	low := Finding{Rule: "TA-002", Severity: SeverityLow}
	supp := Finding{Rule: "TA-003", Severity: SeverityHigh, Suppressed: true}
	r := &Result{
		Inventory: &inventory.Inventory{Gaps: []inventory.Gap{{Resource: "project acme/x", What: "pipeline triggers", Kind: inventory.GapError}}},
		Tokens: []TokenResult{
			tok(inventory.KindPersonal, 1, "alice", "", crit),
			tok(inventory.KindDeploy, 2, "", "acme/api", low),
			tok(inventory.KindProjectAccess, 3, "project_7_bot_abc", "acme-labs/web", supp),
			tok(inventory.KindDeploy, 4, "", "other/app"),
		},
		Findings: []ResourceFinding{
			{Finding: Finding{Rule: "TA-030", Severity: SeverityHigh}, Resource: "instance"},
			{Finding: Finding{Rule: "TA-031", Severity: SeverityLow}, Resource: "project acme/api"},
		},
	}
	r.Summary = summarize(r)
	return r
}

func ids(r *Result) []int64 {
	var out []int64
	for _, t := range r.Tokens {
		out = append(out, t.Token.ID)
	}
	return out
}

func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		name      string
		f         Filter
		tokens    []int64
		resources int
	}{
		{"none", Filter{}, []int64{1, 2, 3, 4}, 2},
		{"min severity", Filter{MinSeverity: SeverityHigh}, []int64{1}, 1},
		{"kind", Filter{Kinds: []inventory.Kind{inventory.KindDeploy}}, []int64{2, 4}, 2},
		{"owner glob", Filter{Owners: []string{"project_*_bot_*"}}, []int64{3}, 2},
		{"deploy token username", Filter{Owners: []string{"gitlab+deploy-token-other/*"}}, []int64{4}, 2},
		{"resource prefix by segment", Filter{Resources: []string{"acme"}}, []int64{2}, 1},
		{"rule, suppressed too", Filter{Rules: []string{"TA-003", "TA-030"}}, []int64{3}, 1},
		{"all must match", Filter{Kinds: []inventory.Kind{inventory.KindDeploy}, MinSeverity: SeverityLow}, []int64{2}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := filterResult()
			got := r.Filter(tc.f)
			if g := ids(got); !slices.Equal(g, tc.tokens) {
				t.Errorf("tokens %v, want %v", g, tc.tokens)
			}
			if len(got.Findings) != tc.resources {
				t.Errorf("%d resource findings, want %d", len(got.Findings), tc.resources)
			}
			if got.Summary.Tokens != len(tc.tokens) {
				t.Errorf("summary counts %d tokens, want %d", got.Summary.Tokens, len(tc.tokens))
			}
			if got.Summary.Gaps != 1 || got.Summary.Complete {
				t.Errorf("gaps were filtered: %+v", got.Summary)
			}
			if (got.Applied == nil) != tc.f.IsZero() {
				t.Errorf("Applied = %v for filter %+v", got.Applied, tc.f)
			}
			if len(r.Tokens) != 4 || r.Summary.Tokens != 4 {
				t.Error("Filter changed its receiver")
			}
		})
	}
}

// TestFilterWorst checks that the gate sees the filtered result: with only
// the deploy tokens and the low project finding left, nothing is high.
func TestFilterWorst(t *testing.T) {
	r := filterResult().Filter(Filter{Kinds: []inventory.Kind{inventory.KindDeploy}, Resources: []string{"acme"}})
	if w := r.Worst(); w != SeverityLow {
		t.Errorf("Worst = %s, want low", w)
	}
	if n := r.Summary.Findings[SeverityCritical] + r.Summary.Findings[SeverityHigh]; n != 0 {
		t.Errorf("summary still counts %d high or critical findings", n)
	}
}

func TestFilterValidate(t *testing.T) {
	if err := (Filter{Kinds: []inventory.Kind{"deploy"}, Owners: []string{"a*"}, Rules: []string{"TA-001"}}).Validate(); err != nil {
		t.Errorf("valid filter: %v", err)
	}
	for _, f := range []Filter{
		{Kinds: []inventory.Kind{"deploys"}},
		{Owners: []string{"["}},
		{Rules: []string{"TA-999"}},
	} {
		if err := f.Validate(); err == nil {
			t.Errorf("%+v validated", f)
		}
	}
}
