package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tokenaudit/tokenaudit/audit"
)

// compileSARIFSchema compiles the OASIS SARIF 2.1.0 schema that testdata
// holds a copy of (testdata/SOURCES.md).
func compileSARIFSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	return compileSchemaFile(t, "testdata/sarif-schema-2.1.0.json", sarifSchema)
}

// sarifDoc is the part of a SARIF log the tests read.
type sarifDoc struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name  string `json:"name"`
				Rules []struct {
					ID               string    `json:"id"`
					ShortDescription sarifText `json:"shortDescription"`
					FullDescription  sarifText `json:"fullDescription"`
					Help             sarifText `json:"help"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Invocations []struct {
			ExecutionSuccessful bool `json:"executionSuccessful"`
		} `json:"invocations"`
		Results []struct {
			RuleID       string             `json:"ruleId"`
			RuleIndex    int                `json:"ruleIndex"`
			Level        string             `json:"level"`
			Locations    []sarifLocation    `json:"locations"`
			Suppressions []sarifSuppression `json:"suppressions"`
			Properties   sarifResultProps   `json:"properties"`
		} `json:"results"`
	} `json:"runs"`
}

// TestSARIFSchema validates the writer's output against the SARIF 2.1.0
// schema, and shows that the schema is checked: a broken log fails.
func TestSARIFSchema(t *testing.T) {
	sch := compileSARIFSchema(t)
	odd := richResult()
	odd.Tokens[0].Token.Name = oddMixed + "\x1b\u2028"
	for _, tc := range []struct {
		name string
		r    *audit.Result
	}{{"rich", richResult()}, {"evaluated", evaluatedResult(t)}, {"empty", emptyResult()}, {"unavailable", unavailableResult()}, {"baseline", baselineResult()}, {"merged", mergedResult()}, {"odd", odd}} {
		if err := validate(sch, render(t, "sarif", tc.r, Options{})); err != nil {
			t.Errorf("%s: SARIF log does not validate: %v", tc.name, err)
		}
	}
	for _, broken := range []struct{ name, from, to string }{
		{"version", `"version": "2.1.0"`, `"version": "2.0"`},
		{"level", `"level": "error"`, `"level": "fatal"`},
		{"suppression kind", `"kind": "external"`, `"kind": "policy"`},
	} {
		b := render(t, "sarif", richResult(), Options{})
		b2 := bytes.Replace(b, []byte(broken.from), []byte(broken.to), 1)
		if bytes.Equal(b, b2) {
			t.Fatalf("%s: %s not in the log", broken.name, broken.from)
		}
		if validate(sch, b2) == nil {
			t.Errorf("%s: a broken log validates", broken.name)
		}
	}
}

// TestSARIFContent: the driver lists the catalogue; each finding, token or
// resource, suppressed or not, is one result at the right rule, with its
// level and a logical location; the JSON report counts the same findings.
func TestSARIFContent(t *testing.T) {
	r := evaluatedResult(t)
	var doc sarifDoc
	if err := json.Unmarshal(render(t, "sarif", r, Options{}), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.1.0" || doc.Schema != sarifSchema || len(doc.Runs) != 1 {
		t.Fatalf("version %q schema %q runs %d", doc.Version, doc.Schema, len(doc.Runs))
	}
	run := doc.Runs[0]
	if run.Tool.Driver.Name != "tokenaudit" || len(run.Tool.Driver.Rules) != len(audit.Rules) {
		t.Fatalf("driver %q with %d rules, want tokenaudit with %d", run.Tool.Driver.Name, len(run.Tool.Driver.Rules), len(audit.Rules))
	}
	for i, ru := range run.Tool.Driver.Rules {
		want := audit.Rules[i]
		if ru.ID != want.ID || ru.ShortDescription.Text != want.Title || ru.FullDescription.Text != want.Rationale || ru.Help.Text != want.Remediation {
			t.Errorf("rule %d: %+v, want the catalogue's %s", i, ru, want.ID)
		}
	}
	if len(run.Invocations) != 1 || run.Invocations[0].ExecutionSuccessful != r.Summary.Complete {
		t.Errorf("invocations %+v, want one, successful %v", run.Invocations, r.Summary.Complete)
	}

	var findings, suppressed int
	for _, tr := range r.Tokens {
		findings += len(tr.Findings)
	}
	findings += len(r.Findings)
	levels := map[string]string{"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
	for _, res := range run.Results {
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s points at rule %d", res.RuleID, res.RuleIndex)
		}
		if levels[res.Properties.Severity] != res.Level {
			t.Errorf("result %s of severity %s has level %s", res.RuleID, res.Properties.Severity, res.Level)
		}
		if len(res.Locations) != 1 || len(res.Locations[0].LogicalLocations) != 1 || res.Locations[0].LogicalLocations[0].Name == "" {
			t.Errorf("result %s locations %+v, want one logical location", res.RuleID, res.Locations)
		}
		if len(res.Suppressions) > 0 {
			suppressed++
			if s := res.Suppressions[0]; s.Kind != "external" || s.Justification != "break-glass <token> & co" {
				t.Errorf("suppression %+v", s)
			}
		}
	}
	if len(run.Results) != findings || suppressed != r.Summary.Suppressed || suppressed == 0 {
		t.Errorf("%d results, %d suppressed; want %d findings, %d suppressed (and some)", len(run.Results), suppressed, findings, r.Summary.Suppressed)
	}
}
