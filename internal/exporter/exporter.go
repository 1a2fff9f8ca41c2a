// Package exporter turns tokenaudit's audits into Prometheus metrics. An
// Exporter is a prometheus.Collector over the last good audit: each
// successful audit replaces one immutable snapshot, and a scrape reads
// whichever snapshot is current when it starts, so it never sees half of
// one audit and half of another. The snapshot keeps only what the metrics
// show (label values and numbers), not the audit.Result: a serving process
// holds one audit's metrics plus, while it runs, the audit in progress.
//
// Names follow Prometheus's conventions
// (https://prometheus.io/docs/practices/naming/): the tokenaudit_ prefix,
// base units (seconds, Unix timestamps), _total for counters only.
package exporter

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/internal/redact"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// TokenSeries says which tokens get series of their own.
type TokenSeries string

// The choices of serve.token_series.
const (
	// TokenSeriesAll exports every token of the audit.
	TokenSeriesAll TokenSeries = "all"
	// TokenSeriesFindings exports the tokens with an unsuppressed finding
	// of severity low or above: the ones someone has to act on. A token
	// whose only finding is informational (an inactive token still
	// listed) is left out.
	TokenSeriesFindings TokenSeries = "findings"
	// TokenSeriesNone exports no per-token series, only the counts.
	TokenSeriesNone TokenSeries = "none"
)

// TokenSeriesChoices lists the choices in the order the help shows them.
var TokenSeriesChoices = []TokenSeries{TokenSeriesAll, TokenSeriesFindings, TokenSeriesNone}

// Reasons an audit failed: the values of the reason label. They are a
// fixed set so the label's cardinality stays bounded whatever the error.
const (
	ReasonUnauthorized = "unauthorized" // GitLab refused the token, its scope or its admin rights
	ReasonTLS          = "tls"          // GitLab's certificate is not trusted
	ReasonUnreachable  = "unreachable"  // no connection: DNS, refused, reset
	ReasonTimeout      = "timeout"      // a request or the whole audit ran out of time
	ReasonConfig       = "config"       // a group or mode the settings name is not there
	ReasonEvaluate     = "evaluate"     // the policy could not be applied
	ReasonOther        = "other"        // anything else, such as 5xx after the retries
)

// Reasons lists every reason; failure counters start at 0 for each, so
// rate() and increase() see the first failure.
var Reasons = []string{ReasonUnauthorized, ReasonTLS, ReasonUnreachable, ReasonTimeout, ReasonConfig, ReasonEvaluate, ReasonOther}

// gapKinds are the gap kinds, each exported even when 0.
var gapKinds = []inventory.GapKind{inventory.GapPermission, inventory.GapError, inventory.GapUnavailable}

// MaxLabel bounds a label value from GitLab, in characters: GitLab's own
// names stay under it (a token name is at most 255); a longer value is cut
// rather than let one series grow without bound.
const MaxLabel = 256

// Options configure an Exporter.
type Options struct {
	// TokenSeries picks the tokens with series of their own; "" means
	// TokenSeriesFindings.
	TokenSeries TokenSeries
	// Redact removes secrets (the caller's token) from text that came from
	// GitLab; every label value from GitLab passes through it, then
	// through redact.Line, which removes token shapes, makes the value one
	// line of valid UTF-8 and bounds it. Nil: token shapes only.
	Redact func(string) string
	// Requests, when set, returns the HTTP requests made to GitLab so far,
	// over every audit: tokenaudit_gitlab_requests_total.
	Requests func() int
}

// Exporter is a prometheus.Collector over the last good audit. Its methods
// are safe for concurrent use.
type Exporter struct {
	opts Options

	mu    sync.Mutex
	snap  *snapshot // nil until the first good audit; never changed once published
	state state
}

// state is what the exporter knows of its audits besides the last good
// one. It is small and copied whole under the lock.
type state struct {
	running     bool
	attempts    int
	failures    map[string]int // by reason; replaced, never changed, once shared
	lastOK      bool           // the most recent finished audit succeeded
	finished    bool           // an audit has finished
	lastReason  string         // the most recent failure's reason, while lastOK is false
	lastFailure time.Time
}

// snapshot is one good audit as the metrics show it.
type snapshot struct {
	tokens     []tokenRow
	byKind     []countRow // kind, severity
	findings   []countRow // rule, severity
	suppressed []countRow // rule, severity
	expired    int        // exceptions past their date
	gaps       [3]int     // in gapKinds order
	complete   bool
	duration   time.Duration
	requests   int
	at         time.Time
	gitlab     [3]string // url, version, mode
}

// tokenRow is one token's series.
type tokenRow struct {
	labels   [5]string // kind, id, name, owner, resource
	expiry   float64   // Unix seconds; 0: no series (never expires, or inactive)
	lastUsed float64   // Unix seconds; 0: no series (never used, or not reported)
	risk     float64
	severity audit.Severity
}

type countRow struct {
	labels [2]string
	n      int
}

// Descriptions of every metric; Describe sends them all.
var (
	tokenLabels = []string{"kind", "id", "name", "owner", "resource"}

	descTokenExpiry = prometheus.NewDesc("tokenaudit_token_expiry_timestamp_seconds",
		"When the token stops working, as a Unix time; only active tokens that expire have one.", tokenLabels, nil)
	descTokenLastUsed = prometheus.NewDesc("tokenaudit_token_last_used_timestamp_seconds",
		"When GitLab last saw the token used, as a Unix time; absent when never used or not reported.", tokenLabels, nil)
	descTokenRisk = prometheus.NewDesc("tokenaudit_token_risk_score",
		"The token's risk score, 0 (none) to 100.", tokenLabels, nil)
	descTokenSeverity = prometheus.NewDesc("tokenaudit_token_severity",
		"The token's worst unsuppressed finding, in the severity label and as the value: 0 none, 1 info, 2 low, 3 medium, 4 high, 5 critical.",
		append(slices.Clone(tokenLabels), "severity"), nil)

	descTokens = prometheus.NewDesc("tokenaudit_tokens",
		"Tokens in the last good audit by kind and severity.", []string{"kind", "severity"}, nil)
	descFindings = prometheus.NewDesc("tokenaudit_findings",
		"Unsuppressed findings (of tokens, projects and the instance) in the last good audit by rule and severity.", []string{"rule", "severity"}, nil)
	descSuppressed = prometheus.NewDesc("tokenaudit_findings_suppressed",
		"Findings an exception of the policy suppresses, in the last good audit, by rule and severity.", []string{"rule", "severity"}, nil)
	descExpiredExceptions = prometheus.NewDesc("tokenaudit_policy_expired_exceptions",
		"Exceptions of the policy past their date, which suppress nothing, in the last good audit.", nil, nil)

	descDuration = prometheus.NewDesc("tokenaudit_audit_duration_seconds",
		"Wall time of the last good audit: collection and evaluation.", nil, nil)
	descRequests = prometheus.NewDesc("tokenaudit_audit_requests",
		"HTTP requests to GitLab the last good audit made, retries included.", nil, nil)
	descGaps = prometheus.NewDesc("tokenaudit_audit_gaps",
		"What the last good audit could not read, by kind: permission (the role may not see it), error (a read failed), unavailable (not in this GitLab).", []string{"kind"}, nil)
	descComplete = prometheus.NewDesc("tokenaudit_audit_complete",
		"1 when the last good audit read everything it could (no gap of kind error), else 0.", nil, nil)
	descLastSuccess = prometheus.NewDesc("tokenaudit_audit_last_success_timestamp_seconds",
		"When the last good audit finished, as a Unix time.", nil, nil)
	descGitLab = prometheus.NewDesc("tokenaudit_gitlab_info",
		"The GitLab the last good audit read: URL, version and the mode of the audit; always 1.", []string{"url", "version", "mode"}, nil)

	descSuccess = prometheus.NewDesc("tokenaudit_audit_success",
		"1 when the most recent audit succeeded, 0 when it failed; absent before the first one ends.", nil, nil)
	descFailing = prometheus.NewDesc("tokenaudit_audit_failing",
		"Present, with value 1, while the most recent audit failed; the reason label says why.", []string{"reason"}, nil)
	descLastFailure = prometheus.NewDesc("tokenaudit_audit_last_failure_timestamp_seconds",
		"When the most recent failed audit ended, as a Unix time.", nil, nil)
	descAudits = prometheus.NewDesc("tokenaudit_audits_total",
		"Audits that ended, successful or not.", nil, nil)
	descFailures = prometheus.NewDesc("tokenaudit_audit_failures_total",
		"Audits that failed, by reason.", []string{"reason"}, nil)
	descRunning = prometheus.NewDesc("tokenaudit_audit_running",
		"1 while an audit runs, else 0.", nil, nil)
	descGitLabRequests = prometheus.NewDesc("tokenaudit_gitlab_requests_total",
		"HTTP requests made to GitLab over every audit, retries included.", nil, nil)
)

// New returns an Exporter with no audit yet.
func New(opts Options) *Exporter {
	if opts.TokenSeries == "" {
		opts.TokenSeries = TokenSeriesFindings
	}
	failures := make(map[string]int, len(Reasons))
	for _, r := range Reasons {
		failures[r] = 0
	}
	return &Exporter{opts: opts, state: state{failures: failures}}
}

// Started records that an audit began.
func (e *Exporter) Started() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.state.running = true
}

// Succeeded publishes r, the result of a good audit that ended at `at`
// after d, in place of the previous one. The exporter keeps no reference
// to r: the caller may drop it.
func (e *Exporter) Succeeded(r *audit.Result, at time.Time, d time.Duration) {
	snap := e.snapshot(r, at, d) // outside the lock: scrapes go on meanwhile
	e.mu.Lock()
	defer e.mu.Unlock()
	e.snap = snap
	e.state.running = false
	e.state.attempts++
	e.state.finished, e.state.lastOK, e.state.lastReason = true, true, ""
}

// Failed records a failed audit that ended at `at`, for reason (one of
// Reasons; anything else counts as ReasonOther). The last good audit's
// series stay.
func (e *Exporter) Failed(reason string, at time.Time) {
	if !slices.Contains(Reasons, reason) {
		reason = ReasonOther
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	failures := maps.Clone(e.state.failures) // a scrape may hold the old map
	failures[reason]++
	e.state.failures = failures
	e.state.running = false
	e.state.attempts++
	e.state.finished, e.state.lastOK, e.state.lastReason = true, false, reason
	e.state.lastFailure = at
}

// Ready reports whether a good audit has been published.
func (e *Exporter) Ready() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.snap != nil
}

// Describe sends the description of every metric.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descTokenExpiry, descTokenLastUsed, descTokenRisk, descTokenSeverity,
		descTokens, descFindings, descSuppressed, descExpiredExceptions,
		descDuration, descRequests, descGaps, descComplete, descLastSuccess, descGitLab,
		descSuccess, descFailing, descLastFailure, descAudits, descFailures, descRunning, descGitLabRequests,
	} {
		ch <- d
	}
}

// Collect sends the metrics of the current snapshot and state. It holds
// the lock only to take them: the snapshot is immutable, so the scrape
// reads one audit whole while a new one may be published.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	snap, st := e.snap, e.state
	e.mu.Unlock()

	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- constMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- constMetric(d, prometheus.CounterValue, v, labels...)
	}

	gauge(descRunning, boolValue(st.running))
	counter(descAudits, float64(st.attempts))
	for _, r := range Reasons {
		counter(descFailures, float64(st.failures[r]), r)
	}
	if st.finished {
		gauge(descSuccess, boolValue(st.lastOK))
	}
	if st.finished && !st.lastOK {
		gauge(descFailing, 1, st.lastReason)
	}
	if !st.lastFailure.IsZero() {
		gauge(descLastFailure, unixSeconds(st.lastFailure))
	}
	if e.opts.Requests != nil {
		counter(descGitLabRequests, float64(e.opts.Requests()))
	}
	if snap == nil {
		return
	}

	gauge(descLastSuccess, unixSeconds(snap.at))
	gauge(descDuration, snap.duration.Seconds())
	gauge(descRequests, float64(snap.requests))
	gauge(descComplete, boolValue(snap.complete))
	for i, k := range gapKinds {
		gauge(descGaps, float64(snap.gaps[i]), string(k))
	}
	gauge(descGitLab, 1, snap.gitlab[:]...)
	gauge(descExpiredExceptions, float64(snap.expired))
	for _, c := range snap.byKind {
		gauge(descTokens, float64(c.n), c.labels[:]...)
	}
	for _, c := range snap.findings {
		gauge(descFindings, float64(c.n), c.labels[:]...)
	}
	for _, c := range snap.suppressed {
		gauge(descSuppressed, float64(c.n), c.labels[:]...)
	}
	for i := range snap.tokens {
		t := &snap.tokens[i]
		l := t.labels[:]
		if t.expiry != 0 {
			gauge(descTokenExpiry, t.expiry, l...)
		}
		if t.lastUsed != 0 {
			gauge(descTokenLastUsed, t.lastUsed, l...)
		}
		gauge(descTokenRisk, t.risk, l...)
		ch <- constMetric(descTokenSeverity, prometheus.GaugeValue, float64(t.severity),
			t.labels[0], t.labels[1], t.labels[2], t.labels[3], t.labels[4], t.severity.String())
	}
}

// constMetric is prometheus.NewConstMetric; an error (which the label
// cleaning rules out) becomes an invalid metric that fails the scrape
// visibly instead of a panic.
func constMetric(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}

// snapshot builds the metrics' view of r.
func (e *Exporter) snapshot(r *audit.Result, at time.Time, d time.Duration) *snapshot {
	clean := func(s string) string {
		if e.opts.Redact != nil {
			s = e.opts.Redact(s)
		}
		return redact.Line(s, MaxLabel)
	}
	s := &snapshot{
		at:       at,
		duration: d,
		complete: r.Inventory.Complete(),
		requests: r.Inventory.Stats.Requests,
		expired:  len(r.ExpiredExceptions),
		gitlab: [3]string{
			clean(r.Inventory.GitLab.URL), clean(r.Inventory.GitLab.Version), string(r.Inventory.GitLab.Mode),
		},
	}
	for _, g := range r.Inventory.Gaps {
		if i := slices.Index(gapKinds, g.Kind); i >= 0 {
			s.gaps[i]++
		}
	}

	byKind := map[[2]string]int{}
	findings := map[[2]string]int{}
	suppressed := map[[2]string]int{}
	countFinding := func(f audit.Finding) {
		key := [2]string{f.Rule, f.Severity.String()}
		if f.Suppressed {
			suppressed[key]++
		} else {
			findings[key]++
		}
	}
	n := 0
	for i := range r.Tokens {
		if e.exports(&r.Tokens[i]) {
			n++
		}
	}
	s.tokens = make([]tokenRow, 0, n)
	for i := range r.Tokens {
		t := &r.Tokens[i]
		byKind[[2]string{string(t.Token.Kind), t.Severity.String()}]++
		for _, f := range t.Findings {
			countFinding(f)
		}
		if !e.exports(t) {
			continue
		}
		row := tokenRow{risk: float64(t.RiskScore), severity: t.Severity}
		owner := ""
		if t.Token.Owner != nil {
			owner = t.Token.Owner.Username
		}
		row.labels = [5]string{
			string(t.Token.Kind), strconv.FormatInt(t.Token.ID, 10),
			clean(t.Token.Name), clean(owner), clean(audit.ResourceName(t.Token.Resource)),
		}
		if t.Active && !t.Token.Expires.Never() {
			row.expiry = unixSeconds(t.Token.Expires.At)
		}
		if t.Token.UsageReported && !t.Token.LastUsedAt.IsZero() {
			row.lastUsed = unixSeconds(t.Token.LastUsedAt)
		}
		s.tokens = append(s.tokens, row)
	}
	for _, f := range r.Findings {
		countFinding(f.Finding)
	}
	s.byKind = countRows(byKind)
	s.findings = countRows(findings)
	s.suppressed = countRows(suppressed)
	return s
}

// exports says whether t gets series of its own.
func (e *Exporter) exports(t *audit.TokenResult) bool {
	switch e.opts.TokenSeries {
	case TokenSeriesAll:
		return true
	case TokenSeriesNone:
		return false
	default:
		return t.Severity >= audit.SeverityLow
	}
}

// countRows turns counts into rows in label order, so scrapes list them
// the same way every time.
func countRows(m map[[2]string]int) []countRow {
	rows := make([]countRow, 0, len(m))
	for k, n := range m {
		rows = append(rows, countRow{k, n})
	}
	slices.SortFunc(rows, func(a, b countRow) int {
		if c := cmp.Compare(a.labels[0], b.labels[0]); c != 0 {
			return c
		}
		return cmp.Compare(a.labels[1], b.labels[1])
	})
	return rows
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unixSeconds is t as Prometheus timestamps go: seconds since the epoch,
// with fractions.
func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
