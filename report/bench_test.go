package report

import (
	"io"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

var ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

// syntheticResult has n tokens of every kind, worst first, about half of
// them with findings, as a large instance gives.
func syntheticResult(n int) *audit.Result {
	r := richResult()
	sevs := []audit.Severity{audit.SeverityCritical, audit.SeverityHigh, audit.SeverityMedium, audit.SeverityLow, audit.SeverityInfo, audit.SeverityNone}
	r.Tokens = make([]audit.TokenResult, n)
	r.Summary.Tokens = n
	for i := range r.Tokens {
		kind := inventory.Kinds[i%len(inventory.Kinds)]
		sev := sevs[min(i*len(sevs)/n, len(sevs)-1)]
		tr := audit.TokenResult{
			Token: inventory.Token{
				Kind: kind, ID: int64(i + 1), Name: "token-" + strconv.Itoa(i),
				Resource:  inventory.Resource{Type: inventory.ResourceProject, ID: int64(i%5000 + 1), Path: "acme/team-" + strconv.Itoa(i%300) + "/service-" + strconv.Itoa(i%5000)},
				Scopes:    []string{"api", "read_repository"},
				CreatedAt: fixedNow.Add(-time.Duration(i) * time.Minute),
				Expires:   inventory.Expiry{At: day(2027, 1, 1+i%28), DateOnly: true},
				Active:    true,
			},
			RiskScore: 100 - i*100/n,
			Severity:  sev,
		}
		if kind == inventory.KindDeploy {
			tr.Unknown = []string{"TA-002", "TA-050"} // GitLab reports no creation or usage
		} else {
			tr.Token.Owner = &inventory.Owner{ID: int64(i%20000 + 1), Username: "user" + strconv.Itoa(i%20000), Type: inventory.OwnerHuman, State: "active"}
			tr.Token.LastUsedAt = fixedNow.Add(-time.Duration(i) * time.Second)
		}
		if sev != audit.SeverityNone {
			tr.Findings = []audit.Finding{
				{Rule: "TA-004", Severity: sev, Title: "Token expires too late", Detail: "Expires in more than a year.", Remediation: "Set an expiry of at most 365 days."},
				{Rule: "TA-010", Severity: audit.SeverityLow, Title: "Token never used", Detail: "Never used.", Remediation: "Revoke it.", Suppressed: i%7 == 0, SuppressionReason: "ticket SEC-1"},
			}
		}
		r.Tokens[i] = tr
	}
	return r
}

// countWriter counts bytes, for MB/s.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkWrite renders 100,000 tokens in each format: the "evaluation
// and all three reports of 100,000 tokens in under a second" budget.
func BenchmarkWrite(b *testing.B) {
	r := syntheticResult(100_000)
	for _, format := range Formats() {
		b.Run(format, func(b *testing.B) {
			var c countWriter
			if err := Write(&c, format, r, Options{}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(c.n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := Write(io.Discard, format, r, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
