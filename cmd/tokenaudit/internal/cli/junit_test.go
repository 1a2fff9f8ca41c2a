package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
	"github.com/tokenaudit/tokenaudit/report"
)

// TestOutputJUnitFailOn: --fail-on reaches the JUnit report written with
// --output, so its failing cases are the findings that fail the run.
func TestOutputJUnitFailOn(t *testing.T) {
	dir := cleanEnv(t)
	r := &audit.Result{
		Inventory: &inventory.Inventory{GitLab: inventory.Instance{URL: "https://gitlab.example.com", Mode: inventory.ModeInstance}},
		Now:       time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
		Tokens: []audit.TokenResult{{
			Token:  inventory.Token{Kind: inventory.KindPersonal, ID: 7, Name: "ci", Active: true},
			Active: true,
			Findings: []audit.Finding{
				{Rule: "TA-001", Severity: audit.SeverityHigh, Title: "high one"},
				{Rule: "TA-010", Severity: audit.SeverityMedium, Title: "medium one"},
			},
		}},
	}
	var b strings.Builder
	if err := report.Write(&b, "json", r, report.Options{}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "in.json"), b.String(), 0o600)
	for _, tc := range []struct {
		failOn   []string
		failures int
	}{{nil, 1}, {[]string{"--fail-on", "medium"}, 2}, {[]string{"--fail-on", "critical"}, 0}, {[]string{"--fail-on", "none"}, 0}} {
		args := append([]string{"merge", "in.json", "--format", "json", "--output", "junit=out.xml"}, tc.failOn...)
		if res := run(t, args...); res.code != ExitOK && res.code != ExitFindings {
			t.Fatalf("%v: exit %d; stderr:\n%s", args, res.code, res.stderr)
		}
		out, err := os.ReadFile(filepath.Join(dir, "out.xml"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(string(out), "<failure "); got != tc.failures {
			t.Errorf("%v: %d failing cases, want %d:\n%s", tc.failOn, got, tc.failures, out)
		}
	}
}
