package audit

import (
	"slices"
	"testing"
)

// TestPassedRules: every rule that applies to a token lands in exactly one
// of Findings, Unknown and Passed, and a disabled rule in none, so a report
// can count the rules checked.
func TestPassedRules(t *testing.T) {
	p := DefaultPolicy()
	p.Rules = map[string]RuleSetting{"TA-001": {Disabled: true}}
	inv := syntheticInventory(300, 7)
	res, err := Evaluate(inv, p, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Tokens {
		var want []string
		for _, r := range Rules {
			if r.Target == TargetToken && r.ID != "TA-001" && r.Inactive != tr.Active && slices.Contains(r.Kinds, tr.Token.Kind) {
				want = append(want, r.ID)
			}
		}
		got := append(ruleIDs(tr.Findings), tr.Unknown...)
		got = append(got, tr.Passed...)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("token %s %d: findings, unknown and passed %v, want each of %v once", tr.Token.Kind, tr.Token.ID, got, want)
		}
	}
}
