package report

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenaudit/tokenaudit/audit"
)

// TestFindingsCSV: the findings of no single token read back one a row,
// under the header, with formula cells neutralised and controls escaped as
// the token CSV does.
func TestFindingsCSV(t *testing.T) {
	r := richResult()
	r.Findings = append(r.Findings, audit.ResourceFinding{
		Finding: audit.Finding{
			Rule: "TA-900", Severity: audit.SeverityLow, Title: "=HYPERLINK(\"x\")",
			Detail: "line one\x1b[31m, red", Remediation: "@fix it",
			Suppressed: true, SuppressionReason: "-accepted",
		},
		Resource: "project acme/api",
	})
	rd := csv.NewReader(bytes.NewReader(render(t, "findings-csv", r, Options{})))
	rd.FieldsPerRecord = len(FindingsCSVHeader)
	rows, err := rd.ReadAll()
	if err != nil {
		t.Fatalf("findings CSV does not read back: %v", err)
	}
	want := []string{"rule", "severity", "resource", "title", "detail", "remediation", "suppressed", "suppression_reason"}
	if diff := cmp.Diff(want, rows[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if len(rows) != 1+len(r.Findings) {
		t.Fatalf("%d rows, want a header and %d findings", len(rows), len(r.Findings))
	}
	got := rows[len(rows)-1]
	wantRow := []string{"TA-900", "low", "project acme/api", `'=HYPERLINK("x")`, `line one\x1b[31m, red`, "'@fix it", "true", "'-accepted"}
	if diff := cmp.Diff(wantRow, got); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
}

// TestFindingsCSVEmpty: no findings still give the header.
func TestFindingsCSVEmpty(t *testing.T) {
	got := string(render(t, "findings-csv", &audit.Result{}, Options{}))
	if want := "rule,severity,resource,title,detail,remediation,suppressed,suppression_reason\n"; got != want {
		t.Errorf("empty findings CSV = %q, want %q", got, want)
	}
}
