// Package audit scores an inventory against tokenaudit's rule catalogue,
// built from GitLab's token guidance (https://docs.gitlab.com/security/tokens/). It is pure: no
// I/O and no clock; "now" is a parameter of Evaluate.
package audit

import (
	"fmt"
	"strings"
	"time"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// Severity orders findings. The zero value is SeverityNone.
type Severity int

// Severities, lowest first. Their names are part of the report contract.
const (
	SeverityNone Severity = iota
	SeverityInfo
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"none", "info", "low", "medium", "high", "critical"}

// String returns the severity's lower-case name.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText writes the name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity reads a severity name, case-insensitively.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(name, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of %s)", name, strings.Join(severityNames[:], ", "))
}

// Finding is one rule that a token, project or the instance trips.
type Finding struct {
	Rule        string   `json:"rule"`
	Severity    Severity `json:"severity"`
	Title       string   `json:"title"`
	Detail      string   `json:"detail"`
	Remediation string   `json:"remediation"`
	// Suppressed is set when an exception in the policy covers the finding;
	// a suppressed finding does not count toward --fail-on.
	Suppressed        bool   `json:"suppressed"`
	SuppressionReason string `json:"suppression_reason,omitempty"`
	// Baseline says whether the baseline had the finding (CompareBaseline);
	// ChangeNone without a baseline.
	Baseline Change `json:"-"`
}

// TokenResult is one token with its findings and score.
type TokenResult struct {
	Token inventory.Token
	// Active is whether the token works at the audit's now: GitLab's active
	// flag, not revoked, and not past its expiry. The reports show this
	// judgement, not the flag as collected: a trigger (GitLab sends no flag)
	// or a token read just before midnight is judged here, on one clock.
	Active bool
	// RiskScore is 0 (no risk) to 100; see score.go for the formula.
	RiskScore int
	// Severity is the worst unsuppressed finding, SeverityNone without one.
	Severity Severity
	Findings []Finding
	// Unknown lists, in catalogue order, the rules that could not judge the
	// token for missing data (a deploy token's usage, an owner's state a
	// non-administrator cannot see): neither a pass nor a finding.
	Unknown []string
	// Passed lists, in catalogue order, the rules that judged the token and
	// found nothing, so that a report can show every rule checked (the
	// JUnit report's passing test cases). Findings, Unknown and Passed
	// together are the rules checked. A result read back from a JSON report
	// has none: the JSON lists no passes.
	Passed []string
	// Baseline says whether the baseline had the token (CompareBaseline),
	// and BaselineID is the id it had there: the token's own, or its
	// predecessor's when it was matched as a rotation. ChangeNone and 0
	// without a baseline or for a new token.
	Baseline   Change
	BaselineID int64
	// GitLabURL is the instance the token lives on, set in merged results
	// (Merge) only; otherwise it is Inventory.GitLab.URL.
	GitLabURL string
}

// ResourceFinding is a finding that belongs to no single token: the
// instance's settings, a project's CI job token scope.
type ResourceFinding struct {
	Finding
	// Resource names what it is about: "instance", "project acme/api".
	Resource string `json:"resource"`
	// GitLabURL is the instance, set in merged results only.
	GitLabURL string `json:"-"`
}

// ExpiredException is an exception whose date has passed; the report says so.
type ExpiredException struct {
	Rule    string
	Token   string // how the exception named the token
	Reason  string
	Expired time.Time
}

// Summary counts the result.
type Summary struct {
	Tokens     int
	BySeverity map[Severity]int       // tokens by their severity
	ByKind     map[inventory.Kind]int // tokens by kind
	Findings   map[Severity]int       // unsuppressed findings (token and resource) by severity
	Suppressed int
	Gaps       int
	GapErrors  int // gaps of kind error: failed reads, which make the result incomplete
	// GapUnavailable counts gaps of kind unavailable: features this
	// GitLab's version or edition does not have. They never make the
	// result incomplete.
	GapUnavailable int
	Complete       bool
}

// Result is the outcome of Evaluate: tokens worst first (severity, then risk
// score, then kind and id), resource findings, and the inventory's gaps.
type Result struct {
	Inventory         *inventory.Inventory
	Now               time.Time
	Tokens            []TokenResult
	Findings          []ResourceFinding
	ExpiredExceptions []ExpiredException
	Summary           Summary
	// Baseline is the comparison with an earlier report (CompareBaseline);
	// nil without one.
	Baseline *BaselineDiff
	// Sources are the reports a merged result was made of (Merge); nil for
	// the result of one audit.
	Sources []Source
	// Applied is the filter the result was narrowed by (Result.Filter);
	// nil when it shows everything.
	Applied *Filter
}

// Worst returns the highest severity of any unsuppressed finding, token or
// resource, SeverityNone if there is none. --fail-on compares with it.
func (r *Result) Worst() Severity {
	worst := SeverityNone
	for _, t := range r.Tokens {
		for _, f := range t.Findings {
			if !f.Suppressed && f.Severity > worst {
				worst = f.Severity
			}
		}
	}
	for _, f := range r.Findings {
		if !f.Suppressed && f.Severity > worst {
			worst = f.Severity
		}
	}
	return worst
}
