package audit

import (
	"slices"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// now is the audit time of most tests: mid-day, so that GitLab's
// midnight-UTC expiry is distinguishable from "now plus whole days".
var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// midnight is the start of now's day.
var midnight = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// dateExpiry is a GitLab YYYY-MM-DD expiry: the token stops at 00:00 UTC.
func dateExpiry(y int, m time.Month, d int) inventory.Expiry {
	return inventory.Expiry{At: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), DateOnly: true}
}

// daysFrom returns a date-only expiry n days after the date of t.
func daysFrom(t time.Time, n int) inventory.Expiry {
	d := t.UTC().Truncate(day).Add(time.Duration(n) * day)
	return inventory.Expiry{At: d, DateOnly: true}
}

// healthy returns an active token of the kind that trips no rule at now
// under the default policy: expires in ~100 days, created 100 days ago,
// used yesterday, narrow scopes, an active non-administrator owner.
func healthy(kind inventory.Kind, id int64) inventory.Token {
	t := inventory.Token{
		Kind:          kind,
		ID:            id,
		Name:          "ci-reader",
		Scopes:        []string{"read_api", "read_repository"},
		CreatedAt:     now.Add(-100 * day),
		Expires:       daysFrom(now, 100),
		LastUsedAt:    now.Add(-1 * day),
		UsageReported: true,
		Active:        true,
		Owner: &inventory.Owner{
			ID: 10 + id, Username: "alice", Type: inventory.OwnerHuman,
			State: "active", ProjectsReachable: 3,
		},
		Resource: inventory.Resource{Type: inventory.ResourceInstance},
	}
	switch kind {
	case inventory.KindServiceAccount:
		t.Owner.Type = inventory.OwnerServiceAccount
		t.Owner.Username = "service_account_1"
	case inventory.KindProjectAccess:
		t.Owner.Type = inventory.OwnerProjectBot
		t.Owner.Username = "project_7_bot_0123456789abcdef0123456789abcdef"
		t.Resource = inventory.Resource{Type: inventory.ResourceProject, ID: 7, Path: "acme/api"}
		t.AccessLevel = 30
	case inventory.KindGroupAccess:
		t.Owner.Type = inventory.OwnerGroupBot
		t.Owner.Username = "group_3_bot_0123456789abcdef0123456789abcdef"
		t.Resource = inventory.Resource{Type: inventory.ResourceGroup, ID: 3, Path: "acme", Projects: 5}
		t.AccessLevel = 30
	case inventory.KindDeploy:
		t.Owner = nil
		t.Scopes = []string{"read_repository", "read_registry"}
		t.CreatedAt = time.Time{}
		t.LastUsedAt = time.Time{}
		t.UsageReported = false
		t.Expires = inventory.Expiry{At: now.Add(100 * day)}
		t.Resource = inventory.Resource{Type: inventory.ResourceProject, ID: 7, Path: "acme/api"}
	case inventory.KindPipelineTrigger:
		t.Scopes = nil
		t.Expires = inventory.Expiry{}
		t.Resource = inventory.Resource{Type: inventory.ResourceProject, ID: 7, Path: "acme/api"}
	}
	return t
}

// evalOne evaluates a single token and returns its result.
func evalOne(t *testing.T, tok inventory.Token, p Policy, at time.Time) TokenResult {
	t.Helper()
	res, err := Evaluate(&inventory.Inventory{Tokens: []inventory.Token{tok}}, p, at)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if len(res.Tokens) != 1 {
		t.Fatalf("Evaluate returned %d tokens, want 1", len(res.Tokens))
	}
	return res.Tokens[0]
}

// finding returns the token's finding of the rule.
func finding(tr TokenResult, rule string) (Finding, bool) {
	for _, f := range tr.Findings {
		if f.Rule == rule {
			return f, true
		}
	}
	return Finding{}, false
}

// ruleIDs lists the rule IDs of the findings.
func ruleIDs(fs []Finding) []string {
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.Rule
	}
	return ids
}

func contains(ids []string, id string) bool { return slices.Contains(ids, id) }
