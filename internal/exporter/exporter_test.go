package exporter

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/internal/redact"
	"github.com/tokenaudit/tokenaudit/inventory"
)

var (
	auditEnd = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	expiry   = time.Date(2026, 5, 8, 0, 0, 0, 0, time.UTC)
	used     = time.Date(2026, 5, 3, 12, 30, 0, 0, time.UTC)
)

// sampleResult is an audit of four tokens (a critical one that expires
// and was used, a low one, an info-only inactive one, a clean one), one
// finding of the instance, one suppressed finding and three gaps.
func sampleResult() *audit.Result {
	alice := &inventory.Owner{ID: 2, Username: "alice", Type: inventory.OwnerHuman, State: "active"}
	return &audit.Result{
		Inventory: &inventory.Inventory{
			GitLab: inventory.Instance{URL: "https://gitlab.example.com", Version: "18.5.1-ee", Mode: inventory.ModeInstance},
			Gaps: []inventory.Gap{
				{Resource: "group acme", What: "deploy tokens", Kind: inventory.GapPermission},
				{Resource: "project acme/api", What: "pipeline triggers", Kind: inventory.GapError},
				{Resource: "instance", What: "service accounts", Kind: inventory.GapPermission},
			},
			Stats: inventory.Stats{Requests: 42, Duration: 3 * time.Second},
		},
		Now: auditEnd,
		Tokens: []audit.TokenResult{
			{
				Token: inventory.Token{Kind: inventory.KindPersonal, ID: 11, Name: "ci", Owner: alice,
					Resource: inventory.Resource{Type: inventory.ResourceInstance},
					Expires:  inventory.Expiry{At: expiry, DateOnly: true}, LastUsedAt: used, UsageReported: true},
				Active: true, RiskScore: 90, Severity: audit.SeverityCritical,
				Findings: []audit.Finding{
					{Rule: "TA-010", Severity: audit.SeverityCritical},
					{Rule: "TA-003", Severity: audit.SeverityMedium},
					{Rule: "TA-030", Severity: audit.SeverityMedium, Suppressed: true},
				},
			},
			{
				Token: inventory.Token{Kind: inventory.KindDeploy, ID: 7, Name: "deploy",
					Resource: inventory.Resource{Type: inventory.ResourceProject, ID: 200, Path: "acme/api"}},
				Active: true, RiskScore: 20, Severity: audit.SeverityLow,
				Findings: []audit.Finding{{Rule: "TA-004", Severity: audit.SeverityLow}},
			},
			{
				Token: inventory.Token{Kind: inventory.KindPersonal, ID: 12, Name: "old", Owner: alice, Revoked: true,
					Expires: inventory.Expiry{At: expiry, DateOnly: true}},
				Active: false, RiskScore: 0, Severity: audit.SeverityInfo,
				Findings: []audit.Finding{{Rule: "TA-005", Severity: audit.SeverityInfo}},
			},
			{
				Token: inventory.Token{Kind: inventory.KindGroupAccess, ID: 30, Name: "clean",
					Owner:    &inventory.Owner{Username: "group_100_bot_abc", Type: inventory.OwnerGroupBot},
					Resource: inventory.Resource{Type: inventory.ResourceGroup, ID: 100}, UsageReported: true},
				Active: true, RiskScore: 5, Severity: audit.SeverityNone,
			},
		},
		Findings: []audit.ResourceFinding{
			{Finding: audit.Finding{Rule: "TA-070", Severity: audit.SeverityCritical}, Resource: "instance"},
		},
		ExpiredExceptions: []audit.ExpiredException{{Rule: "TA-011"}},
	}
}

func TestMetricsOfAnAudit(t *testing.T) {
	e := New(Options{TokenSeries: TokenSeriesAll, Requests: func() int { return 1234 }})
	e.Started()
	e.Succeeded(sampleResult(), auditEnd, 4500*time.Millisecond)

	want := `
# HELP tokenaudit_token_expiry_timestamp_seconds When the token stops working, as a Unix time; only active tokens that expire have one.
# TYPE tokenaudit_token_expiry_timestamp_seconds gauge
tokenaudit_token_expiry_timestamp_seconds{id="11",kind="personal",name="ci",owner="alice",resource="instance"} 1.7781984e+09
# HELP tokenaudit_token_last_used_timestamp_seconds When GitLab last saw the token used, as a Unix time; absent when never used or not reported.
# TYPE tokenaudit_token_last_used_timestamp_seconds gauge
tokenaudit_token_last_used_timestamp_seconds{id="11",kind="personal",name="ci",owner="alice",resource="instance"} 1.7778114e+09
# HELP tokenaudit_token_risk_score The token's risk score, 0 (none) to 100.
# TYPE tokenaudit_token_risk_score gauge
tokenaudit_token_risk_score{id="11",kind="personal",name="ci",owner="alice",resource="instance"} 90
tokenaudit_token_risk_score{id="12",kind="personal",name="old",owner="alice",resource="instance"} 0
tokenaudit_token_risk_score{id="30",kind="group_access",name="clean",owner="group_100_bot_abc",resource="group 100"} 5
tokenaudit_token_risk_score{id="7",kind="deploy",name="deploy",owner="",resource="project acme/api"} 20
# HELP tokenaudit_token_severity The token's worst unsuppressed finding, in the severity label and as the value: 0 none, 1 info, 2 low, 3 medium, 4 high, 5 critical.
# TYPE tokenaudit_token_severity gauge
tokenaudit_token_severity{id="11",kind="personal",name="ci",owner="alice",resource="instance",severity="critical"} 5
tokenaudit_token_severity{id="12",kind="personal",name="old",owner="alice",resource="instance",severity="info"} 1
tokenaudit_token_severity{id="30",kind="group_access",name="clean",owner="group_100_bot_abc",resource="group 100",severity="none"} 0
tokenaudit_token_severity{id="7",kind="deploy",name="deploy",owner="",resource="project acme/api",severity="low"} 2
# HELP tokenaudit_tokens Tokens in the last good audit by kind and severity.
# TYPE tokenaudit_tokens gauge
tokenaudit_tokens{kind="deploy",severity="low"} 1
tokenaudit_tokens{kind="group_access",severity="none"} 1
tokenaudit_tokens{kind="personal",severity="critical"} 1
tokenaudit_tokens{kind="personal",severity="info"} 1
# HELP tokenaudit_findings Unsuppressed findings (of tokens, projects and the instance) in the last good audit by rule and severity.
# TYPE tokenaudit_findings gauge
tokenaudit_findings{rule="TA-003",severity="medium"} 1
tokenaudit_findings{rule="TA-004",severity="low"} 1
tokenaudit_findings{rule="TA-005",severity="info"} 1
tokenaudit_findings{rule="TA-010",severity="critical"} 1
tokenaudit_findings{rule="TA-070",severity="critical"} 1
# HELP tokenaudit_findings_suppressed Findings an exception of the policy suppresses, in the last good audit, by rule and severity.
# TYPE tokenaudit_findings_suppressed gauge
tokenaudit_findings_suppressed{rule="TA-030",severity="medium"} 1
# HELP tokenaudit_policy_expired_exceptions Exceptions of the policy past their date, which suppress nothing, in the last good audit.
# TYPE tokenaudit_policy_expired_exceptions gauge
tokenaudit_policy_expired_exceptions 1
# HELP tokenaudit_audit_duration_seconds Wall time of the last good audit: collection and evaluation.
# TYPE tokenaudit_audit_duration_seconds gauge
tokenaudit_audit_duration_seconds 4.5
# HELP tokenaudit_audit_requests HTTP requests to GitLab the last good audit made, retries included.
# TYPE tokenaudit_audit_requests gauge
tokenaudit_audit_requests 42
# HELP tokenaudit_audit_gaps What the last good audit could not read, by kind: permission (the role may not see it), error (a read failed), unavailable (not in this GitLab).
# TYPE tokenaudit_audit_gaps gauge
tokenaudit_audit_gaps{kind="error"} 1
tokenaudit_audit_gaps{kind="permission"} 2
tokenaudit_audit_gaps{kind="unavailable"} 0
# HELP tokenaudit_audit_complete 1 when the last good audit read everything it could (no gap of kind error), else 0.
# TYPE tokenaudit_audit_complete gauge
tokenaudit_audit_complete 0
# HELP tokenaudit_audit_last_success_timestamp_seconds When the last good audit finished, as a Unix time.
# TYPE tokenaudit_audit_last_success_timestamp_seconds gauge
tokenaudit_audit_last_success_timestamp_seconds 1.7778888e+09
# HELP tokenaudit_gitlab_info The GitLab the last good audit read: URL, version and the mode of the audit; always 1.
# TYPE tokenaudit_gitlab_info gauge
tokenaudit_gitlab_info{mode="instance",url="https://gitlab.example.com",version="18.5.1-ee"} 1
# HELP tokenaudit_audit_success 1 when the most recent audit succeeded, 0 when it failed; absent before the first one ends.
# TYPE tokenaudit_audit_success gauge
tokenaudit_audit_success 1
# HELP tokenaudit_audits_total Audits that ended, successful or not.
# TYPE tokenaudit_audits_total counter
tokenaudit_audits_total 1
# HELP tokenaudit_audit_running 1 while an audit runs, else 0.
# TYPE tokenaudit_audit_running gauge
tokenaudit_audit_running 0
# HELP tokenaudit_gitlab_requests_total HTTP requests made to GitLab over every audit, retries included.
# TYPE tokenaudit_gitlab_requests_total counter
tokenaudit_gitlab_requests_total 1234
`
	names := []string{
		"tokenaudit_token_expiry_timestamp_seconds", "tokenaudit_token_last_used_timestamp_seconds",
		"tokenaudit_token_risk_score", "tokenaudit_token_severity", "tokenaudit_tokens",
		"tokenaudit_findings", "tokenaudit_findings_suppressed", "tokenaudit_policy_expired_exceptions",
		"tokenaudit_audit_duration_seconds", "tokenaudit_audit_requests", "tokenaudit_audit_gaps",
		"tokenaudit_audit_complete", "tokenaudit_audit_last_success_timestamp_seconds", "tokenaudit_gitlab_info",
		"tokenaudit_audit_success", "tokenaudit_audits_total", "tokenaudit_audit_running", "tokenaudit_gitlab_requests_total",
		"tokenaudit_audit_failing", "tokenaudit_audit_last_failure_timestamp_seconds",
	}
	if err := testutil.CollectAndCompare(e, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	// Every reason's failure counter is there from the start, at 0.
	if got := testutil.CollectAndCount(e, "tokenaudit_audit_failures_total"); got != len(Reasons) {
		t.Errorf("%d failure counters, want one per reason (%d)", got, len(Reasons))
	}
}

// tokenIDs returns the id label of every tokenaudit_token_severity series.
func tokenIDs(t *testing.T, c prometheus.Collector) []string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, mf := range mfs {
		if mf.GetName() != "tokenaudit_token_severity" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "id" {
					ids = append(ids, l.GetValue())
				}
			}
		}
	}
	slices.Sort(ids)
	return ids
}

func TestTokenSeriesChoices(t *testing.T) {
	for _, tt := range []struct {
		series TokenSeries
		want   []string
	}{
		{TokenSeriesAll, []string{"11", "12", "30", "7"}},
		{TokenSeriesFindings, []string{"11", "7"}}, // critical and low; not info-only, not clean
		{"", []string{"11", "7"}},                  // the default
		{TokenSeriesNone, nil},
	} {
		e := New(Options{TokenSeries: tt.series})
		e.Succeeded(sampleResult(), auditEnd, time.Second)
		if got := tokenIDs(t, e); !slices.Equal(got, tt.want) {
			t.Errorf("token_series %q: tokens %v, want %v", tt.series, got, tt.want)
		}
		// The counts cover every token whatever the choice.
		if got := testutil.CollectAndCount(e, "tokenaudit_tokens"); got != 4 {
			t.Errorf("token_series %q: %d tokenaudit_tokens series, want 4", tt.series, got)
		}
	}
}

func TestNoAuditYet(t *testing.T) {
	e := New(Options{})
	if e.Ready() {
		t.Error("ready before any audit")
	}
	e.Started()
	want := `
# HELP tokenaudit_audit_running 1 while an audit runs, else 0.
# TYPE tokenaudit_audit_running gauge
tokenaudit_audit_running 1
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want), "tokenaudit_audit_running", "tokenaudit_audit_success", "tokenaudit_token_severity", "tokenaudit_audit_last_success_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}

// TestFailedAuditKeepsLastGood: a failure keeps the token series of the
// last good audit, counts itself by reason and says why; the next good
// audit clears the failing series.
func TestFailedAuditKeepsLastGood(t *testing.T) {
	e := New(Options{TokenSeries: TokenSeriesAll})
	e.Succeeded(sampleResult(), auditEnd, time.Second)
	e.Started()
	e.Failed(ReasonUnauthorized, auditEnd.Add(time.Hour))
	e.Started()
	e.Failed("something new", auditEnd.Add(2*time.Hour)) // not a known reason: other

	if !e.Ready() {
		t.Error("not ready after a failure that followed a good audit")
	}
	if got := tokenIDs(t, e); len(got) != 4 {
		t.Errorf("tokens after a failure %v, want the 4 of the last good audit", got)
	}
	want := `
# HELP tokenaudit_audit_success 1 when the most recent audit succeeded, 0 when it failed; absent before the first one ends.
# TYPE tokenaudit_audit_success gauge
tokenaudit_audit_success 0
# HELP tokenaudit_audit_failing Present, with value 1, while the most recent audit failed; the reason label says why.
# TYPE tokenaudit_audit_failing gauge
tokenaudit_audit_failing{reason="other"} 1
# HELP tokenaudit_audits_total Audits that ended, successful or not.
# TYPE tokenaudit_audits_total counter
tokenaudit_audits_total 3
# HELP tokenaudit_audit_last_failure_timestamp_seconds When the most recent failed audit ended, as a Unix time.
# TYPE tokenaudit_audit_last_failure_timestamp_seconds gauge
tokenaudit_audit_last_failure_timestamp_seconds 1.7778960e+09
# HELP tokenaudit_audit_last_success_timestamp_seconds When the last good audit finished, as a Unix time.
# TYPE tokenaudit_audit_last_success_timestamp_seconds gauge
tokenaudit_audit_last_success_timestamp_seconds 1.7778888e+09
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want), "tokenaudit_audit_success", "tokenaudit_audit_failing",
		"tokenaudit_audits_total", "tokenaudit_audit_last_failure_timestamp_seconds", "tokenaudit_audit_last_success_timestamp_seconds"); err != nil {
		t.Error(err)
	}
	failures := map[string]float64{}
	for _, r := range Reasons {
		failures[r] = 0
	}
	failures[ReasonUnauthorized], failures[ReasonOther] = 1, 1
	var b strings.Builder
	b.WriteString("# HELP tokenaudit_audit_failures_total Audits that failed, by reason.\n# TYPE tokenaudit_audit_failures_total counter\n")
	for _, r := range Reasons {
		fmt.Fprintf(&b, "tokenaudit_audit_failures_total{reason=%q} %g\n", r, failures[r])
	}
	if err := testutil.CollectAndCompare(e, strings.NewReader(b.String()), "tokenaudit_audit_failures_total"); err != nil {
		t.Error(err)
	}

	e.Succeeded(sampleResult(), auditEnd.Add(3*time.Hour), time.Second)
	if n := testutil.CollectAndCount(e, "tokenaudit_audit_failing"); n != 0 {
		t.Errorf("%d tokenaudit_audit_failing series after a good audit, want none", n)
	}
	if v := testutil.ToFloat64(gatherOne(t, e, "tokenaudit_audit_success")); v != 1 {
		t.Errorf("tokenaudit_audit_success %v after a good audit, want 1", v)
	}
}

// gatherOne is a collector of the single series called name.
func gatherOne(t *testing.T, e *Exporter, name string) prometheus.Collector {
	t.Helper()
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		all := make(chan prometheus.Metric)
		go func() { e.Collect(all); close(all) }()
		for m := range all {
			if strings.Contains(m.Desc().String(), `"`+name+`"`) {
				ch <- m
			}
		}
	})
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(f, ch) }
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

// TestNewAuditReplacesOld: a new good audit's tokens replace the old
// ones, and the exporter keeps neither audit.Result nor its inventory.
func TestNewAuditReplacesOld(t *testing.T) {
	e := New(Options{TokenSeries: TokenSeriesAll})
	first := sampleResult()
	firstRef, firstInv := weak.Make(first), weak.Make(first.Inventory)
	e.Succeeded(first, auditEnd, time.Second)
	first = nil //nolint:ineffassign,wastedassign // the test's own reference goes

	second := sampleResult()
	second.Tokens = second.Tokens[:1]
	second.Tokens[0].Token.ID = 99
	e.Succeeded(second, auditEnd.Add(time.Hour), time.Second)
	if got := tokenIDs(t, e); !slices.Equal(got, []string{"99"}) {
		t.Errorf("tokens after a new audit %v, want only the new audit's [99]", got)
	}
	secondRef := weak.Make(second)
	second = nil //nolint:ineffassign,wastedassign
	runtime.GC()
	if firstRef.Value() != nil || firstInv.Value() != nil || secondRef.Value() != nil {
		t.Error("the exporter keeps an audit.Result or its inventory alive; it should keep only its snapshot")
	}
	runtime.KeepAlive(e)
}

// TestScrapeSeesOneAudit scrapes while audits of two different shapes
// land in turn: every scrape must show one audit whole, never a mix.
func TestScrapeSeesOneAudit(t *testing.T) {
	const n = 200
	a, b := bigResult(n, audit.SeverityCritical), bigResult(n/2, audit.SeverityLow)
	e := New(Options{TokenSeries: TokenSeriesAll})
	e.Succeeded(a, auditEnd, time.Second)
	reg := prometheus.NewRegistry()
	reg.MustRegister(e)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				e.Succeeded(b, auditEnd, time.Second)
			} else {
				e.Succeeded(a, auditEnd, time.Second)
			}
		}
	})
	for range 50 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				if mf.GetName() == "tokenaudit_token_severity" {
					for _, l := range m.GetLabel() {
						if l.GetName() == "severity" {
							counts["token "+l.GetValue()]++
						}
					}
				}
				if mf.GetName() == "tokenaudit_tokens" {
					for _, l := range m.GetLabel() {
						if l.GetName() == "severity" {
							counts["count "+l.GetValue()] += int(m.GetGauge().GetValue())
						}
					}
				}
			}
		}
		wantA := map[string]int{"token critical": n, "count critical": n}
		wantB := map[string]int{"token low": n / 2, "count low": n / 2}
		if !mapsEqual(counts, wantA) && !mapsEqual(counts, wantB) {
			t.Fatalf("a scrape mixed two audits: %v", counts)
		}
	}
	close(stop)
	wg.Wait()
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestLabelsAreClean: label values from GitLab lose the caller's token,
// token shapes, control characters and invalid UTF-8, and are bounded;
// the scrape stays valid.
func TestLabelsAreClean(t *testing.T) {
	const secret = "caller-secret-value-123"
	r := sampleResult()
	r.Tokens[0].Token.Name = "echo " + secret + " glpat-abcdefghijklmnopqrst\nnext\x1b[31m"
	r.Tokens[0].Token.Owner = &inventory.Owner{Username: "bad\xffutf8"}
	r.Tokens[1].Token.Resource.Path = strings.Repeat("a", 1000)
	red := redact.New(secret)
	e := New(Options{TokenSeries: TokenSeriesAll, Redact: red.String})
	e.Succeeded(r, auditEnd, time.Second)

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("scrape failed: %v", err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				if strings.Contains(v, secret) || strings.Contains(v, "glpat-abcdefghij") {
					t.Errorf("%s{%s} shows a token: %q", mf.GetName(), l.GetName(), v)
				}
				if strings.ContainsAny(v, "\n\x1b") {
					t.Errorf("%s{%s} holds a control character: %q", mf.GetName(), l.GetName(), v)
				}
				if n := len([]rune(v)); n > MaxLabel {
					t.Errorf("%s{%s} is %d characters, want at most %d", mf.GetName(), l.GetName(), n, MaxLabel)
				}
			}
		}
	}
}

// TestLint runs client_golang's metric linter (the naming conventions of
// https://prometheus.io/docs/practices/naming/) over every metric.
func TestLint(t *testing.T) {
	e := New(Options{TokenSeries: TokenSeriesAll, Requests: func() int { return 1 }})
	e.Succeeded(sampleResult(), auditEnd, time.Second)
	e.Failed(ReasonTimeout, auditEnd)
	problems, err := testutil.CollectAndLint(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	// And every described metric shows up in this state.
	described := describedNames(e)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var gathered []string
	for _, mf := range mfs {
		gathered = append(gathered, mf.GetName())
	}
	for _, d := range described {
		if !slices.Contains(gathered, d) {
			t.Errorf("%s is described but not collected", d)
		}
	}
}

var descName = regexp.MustCompile(`fqName: "([^"]+)"`)

// describedNames lists the names of the metrics e describes.
func describedNames(e *Exporter) []string {
	ch := make(chan *prometheus.Desc)
	go func() { e.Describe(ch); close(ch) }()
	var names []string
	for d := range ch {
		if m := descName.FindStringSubmatch(d.String()); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}

// TestAlertRulesNameRealMetrics: every tokenaudit metric the example alert
// rules query is one the exporter serves, so a rename cannot leave the
// rules silently matching nothing.
func TestAlertRulesNameRealMetrics(t *testing.T) {
	described := describedNames(New(Options{}))
	for _, file := range []string{"alerts.yml", "alerts_test.yml"} {
		data, err := os.ReadFile("../../examples/prometheus/" + file)
		if err != nil {
			t.Fatal(err)
		}
		used := regexp.MustCompile(`tokenaudit_[a-z_]+`).FindAllString(string(data), -1)
		if len(used) == 0 {
			t.Errorf("%s names no tokenaudit metric", file)
		}
		for _, name := range used {
			if !slices.Contains(described, name) {
				t.Errorf("%s uses %s, which the exporter does not serve", file, name)
			}
		}
	}
}
