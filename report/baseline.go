package report

import (
	"math"
	"strconv"
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// The JSON shapes of the comparison with a baseline (audit.BaselineDiff)
// and of a merged report's sources (audit.Source), spelt out field by
// field like the rest of the report.

type jsonBaselineCounts struct {
	NewTokens         int           `json:"new_tokens"`
	UnchangedTokens   int           `json:"unchanged_tokens"`
	DisappearedTokens int           `json:"disappeared_tokens"`
	NewFindings       orderedCounts `json:"new_findings"`
	UnchangedFindings orderedCounts `json:"unchanged_findings"`
	ResolvedFindings  orderedCounts `json:"resolved_findings"`
}

type jsonBaselineReport struct {
	GeneratedAt       string                `json:"generated_at"`
	GitLabURL         string                `json:"gitlab_url"`
	ResolvedFindings  []jsonResolvedFinding `json:"resolved_findings"`
	DisappearedTokens []jsonTokenRef        `json:"disappeared_tokens"`
}

type jsonRefResource struct {
	Type inventory.ResourceType `json:"type"`
	ID   int64                  `json:"id"`
	Path string                 `json:"path"`
}

// jsonTokenRef names a token of the baseline; a disappeared token adds
// its severity and risk score there.
type jsonTokenRef struct {
	Kind          inventory.Kind  `json:"kind"`
	ID            int64           `json:"id"`
	Name          string          `json:"name"`
	OwnerUsername *string         `json:"owner_username"`
	Resource      jsonRefResource `json:"resource"`
	Severity      *audit.Severity `json:"severity,omitempty"`
	RiskScore     *int            `json:"risk_score,omitempty"`
	GitLabURL     string          `json:"gitlab_url,omitempty"` // merged reports only
}

type jsonResolvedFinding struct {
	Rule       string         `json:"rule"`
	Severity   audit.Severity `json:"severity"`
	Title      string         `json:"title"`
	Suppressed bool           `json:"suppressed"`
	Token      *jsonTokenRef  `json:"token"`    // null for a finding of no token
	Resource   *string        `json:"resource"` // null for a finding of a token
	GitLabURL  string         `json:"gitlab_url,omitempty"`
}

type jsonSource struct {
	GitLab          jsonInstance `json:"gitlab"`
	GeneratedAt     string       `json:"generated_at"`
	Tokens          int          `json:"tokens"`
	Complete        bool         `json:"complete"`
	Requests        int          `json:"requests"`
	DurationSeconds float64      `json:"duration_seconds"`
}

// changeName is the JSON value of a change: null without a baseline.
func changeName(c audit.Change) *string {
	if c == audit.ChangeNone {
		return nil
	}
	s := c.String()
	return &s
}

func durationSeconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1000) / 1000
}

func baselineCounts(d *audit.BaselineDiff) *jsonBaselineCounts {
	if d == nil {
		return nil
	}
	c := &d.Counts
	return &jsonBaselineCounts{
		NewTokens: c.NewTokens, UnchangedTokens: c.UnchangedTokens, DisappearedTokens: c.DisappearedTokens,
		NewFindings:       severityCounts(c.NewFindings, false),
		UnchangedFindings: severityCounts(c.UnchangedFindings, false),
		ResolvedFindings:  severityCounts(c.ResolvedFindings, false),
	}
}

func tokenRef(t *audit.TokenRef) jsonTokenRef {
	ref := jsonTokenRef{
		Kind: t.Kind, ID: t.ID, Name: t.Name,
		Resource:  jsonRefResource{Type: t.Resource.Type, ID: t.Resource.ID, Path: t.Resource.Path},
		GitLabURL: t.GitLabURL,
	}
	if t.Owner != "" {
		ref.OwnerUsername = &t.Owner
	}
	return ref
}

func baselineReport(d *audit.BaselineDiff) *jsonBaselineReport {
	if d == nil {
		return nil
	}
	out := &jsonBaselineReport{
		GeneratedAt:       d.GeneratedAt.UTC().Format(time.RFC3339),
		GitLabURL:         d.GitLabURL,
		ResolvedFindings:  make([]jsonResolvedFinding, 0, len(d.Resolved)),
		DisappearedTokens: make([]jsonTokenRef, 0, len(d.Disappeared)),
	}
	for i := range d.Resolved {
		f := &d.Resolved[i]
		jf := jsonResolvedFinding{Rule: f.Rule, Severity: f.Severity, Title: f.Title, Suppressed: f.Suppressed, GitLabURL: f.GitLabURL}
		if f.Token != nil {
			ref := tokenRef(f.Token)
			ref.GitLabURL = "" // the finding says it
			jf.Token = &ref
		} else {
			jf.Resource = &f.Resource
		}
		out.ResolvedFindings = append(out.ResolvedFindings, jf)
	}
	for i := range d.Disappeared {
		t := &d.Disappeared[i]
		ref := tokenRef(&t.TokenRef)
		ref.Severity, ref.RiskScore = &t.Severity, &t.RiskScore
		out.DisappearedTokens = append(out.DisappearedTokens, ref)
	}
	return out
}

func sources(ss []audit.Source) []jsonSource {
	out := make([]jsonSource, 0, len(ss))
	for _, s := range ss {
		out = append(out, jsonSource{
			GitLab:      jsonInstance{URL: s.GitLab.URL, Version: s.GitLab.Version, Mode: s.GitLab.Mode, Admin: s.GitLab.Admin},
			GeneratedAt: s.GeneratedAt.UTC().Format(time.RFC3339),
			Tokens:      s.Tokens, Complete: s.Complete, Requests: s.Requests,
			DurationSeconds: durationSeconds(s.Duration),
		})
	}
	return out
}

// appendTokenBaseline appends the token's keys of the comparison and of
// a merge ("baseline", "baseline_id", in merged reports "gitlab_url") as
// appendToken writes its other keys, each after a comma and in.
func appendTokenBaseline(b []byte, tr *audit.TokenResult, in string) []byte {
	b = append(b, ","+in+`"baseline": `...)
	if tr.Baseline == audit.ChangeNone {
		b = append(b, "null"...)
	} else {
		b = appendString(b, tr.Baseline.String())
	}
	b = append(b, ","+in+`"baseline_id": `...)
	if tr.Baseline == audit.ChangeUnchanged {
		b = strconv.AppendInt(b, tr.BaselineID, 10)
	} else {
		b = append(b, "null"...)
	}
	if tr.GitLabURL != "" {
		b = append(b, ","+in+`"gitlab_url": `...)
		b = appendString(b, tr.GitLabURL)
	}
	return b
}

// appendFindingBaseline appends a finding's "baseline" key.
func appendFindingBaseline(b []byte, f *audit.Finding, in string) []byte {
	b = append(b, ","+in+`"baseline": `...)
	if f.Baseline == audit.ChangeNone {
		return append(b, "null"...)
	}
	return appendString(b, f.Baseline.String())
}

// newRuleIDs appends the rule IDs of the unsuppressed findings marked new,
// joined by ";".
func newRuleIDs(b []byte, fs []audit.Finding) []byte {
	for i := range fs {
		if fs[i].Suppressed || fs[i].Baseline != audit.ChangeNew {
			continue
		}
		if len(b) > 0 {
			b = append(b, ';')
		}
		b = append(b, fs[i].Rule...)
	}
	return b
}

// resolvedIndex maps a baseline token (by instance, kind and id) to the
// rule IDs of its resolved findings, joined by ";", for the CSV's
// resolved_findings column of the current token that matches it.
func resolvedIndex(d *audit.BaselineDiff) map[resolvedKey]string {
	if d == nil {
		return nil
	}
	m := map[resolvedKey]string{}
	for i := range d.Resolved {
		f := &d.Resolved[i]
		if f.Token == nil {
			continue
		}
		k := resolvedKey{audit.NormalizeURL(f.GitLabURL), f.Token.Kind, f.Token.ID}
		if m[k] != "" {
			m[k] += ";"
		}
		m[k] += f.Rule
	}
	return m
}

type resolvedKey struct {
	url  string
	kind inventory.Kind
	id   int64
}

// instanceOf is the GitLab a token of r lives on, as the reports name it.
func instanceOf(r *audit.Result, tr *audit.TokenResult) string {
	if tr.GitLabURL != "" {
		return tr.GitLabURL
	}
	if r.Inventory != nil {
		return r.Inventory.GitLab.URL
	}
	return ""
}
