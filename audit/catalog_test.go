package audit

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tokenaudit/tokenaudit/inventory"
)

var update = flag.Bool("update", false, "rewrite docs/rules.md from the catalogue")

func TestCatalog(t *testing.T) {
	t.Parallel()
	idPattern := regexp.MustCompile(`^TA-\d{3}$`)
	seen := map[string]bool{}
	for i, r := range Rules {
		if !idPattern.MatchString(r.ID) {
			t.Errorf("rule %d: ID %q does not match %s", i, r.ID, idPattern)
		}
		if seen[r.ID] {
			t.Errorf("rule %s: duplicate ID", r.ID)
		}
		seen[r.ID] = true
		if i > 0 && Rules[i-1].ID >= r.ID {
			t.Errorf("rule %s: not sorted after %s", r.ID, Rules[i-1].ID)
		}
		for field, v := range map[string]string{"Title": r.Title, "Rationale": r.Rationale, "Remediation": r.Remediation} {
			if strings.TrimSpace(v) == "" {
				t.Errorf("rule %s: empty %s", r.ID, field)
			}
		}
		if r.Severity < SeverityInfo || r.Severity > SeverityCritical {
			t.Errorf("rule %s: severity %v is not one of info..critical", r.ID, r.Severity)
		}
		if !slices.Contains(Principles, r.Principle) {
			t.Errorf("rule %s: principle %q is not one of %v", r.ID, r.Principle, Principles)
		}
		checks := 0
		for _, set := range []bool{r.Token != nil, r.Instance != nil, r.Project != nil} {
			if set {
				checks++
			}
		}
		if checks != 1 {
			t.Errorf("rule %s: %d check functions, want exactly one", r.ID, checks)
		}
		switch r.Target {
		case TargetToken:
			if r.Token == nil || len(r.Kinds) == 0 {
				t.Errorf("rule %s: token rule needs Token and Kinds", r.ID)
			}
			for _, k := range r.Kinds {
				if !slices.Contains(inventory.Kinds, k) {
					t.Errorf("rule %s: unknown kind %q", r.ID, k)
				}
			}
		case TargetInstance:
			if r.Instance == nil || len(r.Kinds) != 0 {
				t.Errorf("rule %s: instance rule needs Instance and no Kinds", r.ID)
			}
		case TargetProject:
			if r.Project == nil || len(r.Kinds) != 0 {
				t.Errorf("rule %s: project rule needs Project and no Kinds", r.ID)
			}
		default:
			t.Errorf("rule %s: unknown target %q", r.ID, r.Target)
		}
		if r.Inactive && r.Target != TargetToken {
			t.Errorf("rule %s: Inactive on a %s rule", r.ID, r.Target)
		}
	}
	// The minimum catalogue, by the facts each ID stands for.
	for _, id := range []string{"TA-001", "TA-002", "TA-003", "TA-004", "TA-005", "TA-010", "TA-011", "TA-012",
		"TA-020", "TA-021", "TA-022", "TA-023", "TA-024", "TA-030", "TA-031", "TA-040", "TA-041", "TA-050",
		"TA-060", "TA-061", "TA-062", "TA-063", "TA-070", "TA-071", "TA-072"} {
		if !seen[id] {
			t.Errorf("rule %s is missing", id)
		}
	}
}

// TestDecisionTreeRemediations checks that rules whose answer in the
// decision tree is a better token type name it.
func TestDecisionTreeRemediations(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"TA-021", "TA-022", "TA-024", "TA-040", "TA-041"} {
		r, _ := RuleByID(id)
		if !strings.Contains(r.Remediation, "service account PAT") {
			t.Errorf("%s remediation %q does not name a service account PAT", id, r.Remediation)
		}
	}
	for _, id := range []string{"TA-011", "TA-060", "TA-061", "TA-062", "TA-063"} {
		r, _ := RuleByID(id)
		if !strings.Contains(r.Remediation, "CI job token") {
			t.Errorf("%s remediation %q does not name the CI job token", id, r.Remediation)
		}
	}
}

func TestRuleByID(t *testing.T) {
	t.Parallel()
	if r, ok := RuleByID("ta-011"); !ok || r.ID != "TA-011" {
		t.Errorf("RuleByID(ta-011) = %q, %v; want TA-011, true", r.ID, ok)
	}
	if _, ok := RuleByID("TA-999"); ok {
		t.Error("RuleByID(TA-999) found a rule")
	}
}

// TestRulesMarkdown keeps docs/rules.md in step with the catalogue; run
// `go test ./audit -update` after changing a rule.
func TestRulesMarkdown(t *testing.T) {
	path := filepath.Join("..", "docs", "rules.md")
	got := RulesMarkdown()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s (run go test ./audit -update): %v", path, err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s is out of date; run go test ./audit -update (-file +generated):\n%s", path, diff)
	}
	for _, r := range Rules {
		if !strings.Contains(got, "### "+r.ID) || !strings.Contains(got, r.Remediation) {
			t.Errorf("rules.md lacks %s or its remediation", r.ID)
		}
	}
	if !strings.Contains(got, scoreFormula()) {
		t.Error("rules.md lacks the score formula")
	}
}
