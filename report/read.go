package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// ErrNotReport is the error of ReadJSON for a document that is no
// tokenaudit JSON report.
var ErrNotReport = errors.New("not a tokenaudit JSON report")

// SchemaVersionError is the error of ReadJSON for a report of another
// schema_version than SchemaVersion.
type SchemaVersionError struct{ Version string }

func (e *SchemaVersionError) Error() string {
	return fmt.Sprintf("a report of schema_version %s; this tokenaudit reads schema_version %d only (use the tokenaudit that wrote it)", e.Version, SchemaVersion)
}

// ReadJSON reads a JSON report back into the result it was written from,
// as far as the report holds it: what --baseline compares with and what
// merge combines. The tokens, findings, gaps, expired exceptions, summary
// and instance come back; the inventory's own token list, settings,
// projects, and what the report never shows (an owner's last activity, a
// token's description) do not. A merged report's instances (gitlab_url)
// and sources come back too; its baseline comparison does not.
//
// It refuses a document of another schema_version (*SchemaVersionError)
// and one that is not a tokenaudit report (ErrNotReport), each with an
// error of one line. Fields it does not know are ignored: schema_version 1
// only ever gains fields.
func ReadJSON(rd io.Reader) (*audit.Result, error) {
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	// schema_version first, alone: a report of another version may not
	// decode into this version's shapes. The probe keeps nothing else, so
	// a report of 100,000 tokens is not held twice.
	var probe struct {
		SchemaVersion json.RawMessage `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("%w: not JSON (%s at byte %d)", ErrNotReport, syn.Error(), syn.Offset)
		}
		return nil, fmt.Errorf("%w: not a JSON object", ErrNotReport)
	}
	if probe.SchemaVersion == nil {
		return nil, fmt.Errorf("%w: it has no schema_version", ErrNotReport)
	}
	// Into any, not json.Number, which would take the string "1" too.
	var v any
	dec := json.NewDecoder(bytes.NewReader(probe.SchemaVersion))
	dec.UseNumber()
	version, isNumber := json.Number(""), false
	if dec.Decode(&v) == nil {
		version, isNumber = v.(json.Number)
	}
	if !isNumber {
		return nil, fmt.Errorf("%w: its schema_version is not a number", ErrNotReport)
	}
	if version.String() != strconv.Itoa(SchemaVersion) {
		return nil, &SchemaVersionError{Version: version.String()}
	}
	var doc readDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotReport, oneLine(err))
	}
	for _, k := range []struct {
		key     string
		present bool
	}{
		{"generated_at", doc.GeneratedAt != nil}, {"gitlab", doc.GitLab != nil},
		{"summary", doc.Summary != nil}, {"tokens", doc.Tokens != nil},
	} {
		if !k.present {
			return nil, fmt.Errorf("%w: it has no %s", ErrNotReport, k.key)
		}
	}
	return doc.result()
}

// What JSONWriter writes, read back: in its own shapes where they read as
// they write (the instance, gaps, expired exceptions, sources), in the
// shapes below where the writer writes by hand (tokens) or a key must
// say whether it was there.

// readDoc's pointers are nil for a key the document lacks.
type readDoc struct {
	GeneratedAt       *string                `json:"generated_at"`
	GitLab            *jsonInstance          `json:"gitlab"`
	Summary           *readSummary           `json:"summary"`
	Tokens            *[]readToken           `json:"tokens"`
	Findings          []readResourceFinding  `json:"findings"`
	Gaps              []jsonGap              `json:"gaps"`
	ExpiredExceptions []jsonExpiredException `json:"expired_exceptions"`
	Sources           []jsonSource           `json:"sources"`
}

type readSummary struct {
	Tokens          int            `json:"tokens"`
	BySeverity      map[string]int `json:"by_severity"`
	ByKind          map[string]int `json:"by_kind"`
	Findings        map[string]int `json:"findings"`
	Suppressed      int            `json:"suppressed"`
	Gaps            int            `json:"gaps"`
	GapErrors       int            `json:"gap_errors"`
	GapUnavailable  int            `json:"gap_unavailable"`
	Complete        bool           `json:"complete"`
	Requests        int            `json:"requests"`
	DurationSeconds float64        `json:"duration_seconds"`
}

type readOwner struct {
	ID       int64               `json:"id"`
	Username string              `json:"username"`
	Type     inventory.OwnerType `json:"type"`
	Admin    bool                `json:"admin"`
	State    string              `json:"state"`
	Email    string              `json:"email"` // null: not visible
}

type readFinding struct {
	Rule              string         `json:"rule"`
	Severity          audit.Severity `json:"severity"`
	Title             string         `json:"title"`
	Detail            string         `json:"detail"`
	Remediation       string         `json:"remediation"`
	Suppressed        bool           `json:"suppressed"`
	SuppressionReason string         `json:"suppression_reason"`
}

func (f readFinding) finding() audit.Finding {
	return audit.Finding{
		Rule: f.Rule, Severity: f.Severity, Title: f.Title, Detail: f.Detail,
		Remediation: f.Remediation, Suppressed: f.Suppressed, SuppressionReason: f.SuppressionReason,
	}
}

type readToken struct {
	Kind     inventory.Kind `json:"kind"`
	ID       int64          `json:"id"`
	Name     string         `json:"name"`
	Owner    *readOwner     `json:"owner"`
	Resource struct {
		Type inventory.ResourceType `json:"type"`
		ID   int64                  `json:"id"`
		Path string                 `json:"path"`
	} `json:"resource"`
	Scopes      []string       `json:"scopes"`
	AccessLevel *int           `json:"access_level"`
	CreatedAt   *string        `json:"created_at"`
	ExpiresAt   *string        `json:"expires_at"`
	LastUsedAt  *string        `json:"last_used_at"`
	Active      bool           `json:"active"`
	Revoked     bool           `json:"revoked"`
	RiskScore   int            `json:"risk_score"`
	Severity    audit.Severity `json:"severity"`
	Findings    []readFinding  `json:"findings"`
	Unknown     []string       `json:"unknown"`
	GitLabURL   string         `json:"gitlab_url"`
	WebURL      string         `json:"web_url"` // null: none known
}

type readResourceFinding struct {
	readFinding
	Resource  string `json:"resource"`
	GitLabURL string `json:"gitlab_url"`
}

func (d *readDoc) result() (*audit.Result, error) {
	now, err := readTime("generated_at", *d.GeneratedAt)
	if err != nil {
		return nil, err
	}
	inv := &inventory.Inventory{
		GitLab: inventory.Instance{URL: d.GitLab.URL, Version: d.GitLab.Version, Mode: d.GitLab.Mode, Admin: d.GitLab.Admin},
		Stats:  inventory.Stats{Requests: d.Summary.Requests, Duration: seconds(d.Summary.DurationSeconds)},
	}
	for _, g := range d.Gaps {
		inv.Gaps = append(inv.Gaps, inventory.Gap{Resource: g.Resource, What: g.What, Kind: g.Kind, Reason: g.Reason, GitLabURL: g.GitLabURL})
	}
	tokens := *d.Tokens
	r := &audit.Result{Inventory: inv, Now: now, Tokens: make([]audit.TokenResult, 0, len(tokens))}
	for i := range tokens {
		tr, err := tokens[i].result()
		if err != nil {
			return nil, fmt.Errorf("%w: token %d: %s", ErrNotReport, i+1, oneLine(err))
		}
		r.Tokens = append(r.Tokens, tr)
	}
	for _, f := range d.Findings {
		r.Findings = append(r.Findings, audit.ResourceFinding{Finding: f.finding(), Resource: f.Resource, GitLabURL: f.GitLabURL})
	}
	for _, e := range d.ExpiredExceptions {
		at, err := readTime("expired_at", e.ExpiredAt)
		if err != nil {
			return nil, err
		}
		r.ExpiredExceptions = append(r.ExpiredExceptions, audit.ExpiredException{Rule: e.Rule, Token: e.Token, Reason: e.Reason, Expired: at})
	}
	for _, s := range d.Sources {
		at, err := readTime("sources generated_at", s.GeneratedAt)
		if err != nil {
			return nil, err
		}
		r.Sources = append(r.Sources, audit.Source{
			GitLab:      inventory.Instance{URL: s.GitLab.URL, Version: s.GitLab.Version, Mode: s.GitLab.Mode, Admin: s.GitLab.Admin},
			GeneratedAt: at, Tokens: s.Tokens, Complete: s.Complete, Requests: s.Requests, Duration: seconds(s.DurationSeconds),
		})
	}
	r.Summary = d.Summary.summary()
	return r, nil
}

func (t *readToken) result() (audit.TokenResult, error) {
	tok := inventory.Token{
		Kind: t.Kind, ID: t.ID, Name: t.Name, Scopes: t.Scopes,
		Resource: inventory.Resource{Type: t.Resource.Type, ID: t.Resource.ID, Path: t.Resource.Path},
		Active:   t.Active, Revoked: t.Revoked, WebURL: t.WebURL,
	}
	if o := t.Owner; o != nil {
		tok.Owner = &inventory.Owner{ID: o.ID, Username: o.Username, Type: o.Type, Admin: o.Admin, State: o.State, Email: o.Email}
	}
	if t.AccessLevel != nil {
		tok.AccessLevel = *t.AccessLevel
	}
	var err error
	if t.CreatedAt != nil {
		if tok.CreatedAt, err = readTime("created_at", *t.CreatedAt); err != nil {
			return audit.TokenResult{}, err
		}
	}
	if t.LastUsedAt != nil {
		if tok.LastUsedAt, err = readTime("last_used_at", *t.LastUsedAt); err != nil {
			return audit.TokenResult{}, err
		}
		tok.UsageReported = true
	}
	// GitLab reports the usage of every kind but deploy tokens (collect):
	// null is "never used" for the others, as the table says before and
	// after a round trip.
	if tok.Kind != inventory.KindDeploy {
		tok.UsageReported = true
	}
	if t.ExpiresAt != nil {
		if at, err := time.Parse(time.DateOnly, *t.ExpiresAt); err == nil {
			tok.Expires = inventory.Expiry{At: at, DateOnly: true}
		} else if tok.Expires.At, err = readTime("expires_at", *t.ExpiresAt); err != nil {
			return audit.TokenResult{}, err
		}
	}
	tr := audit.TokenResult{
		Token: tok, Active: t.Active, RiskScore: t.RiskScore, Severity: t.Severity,
		Unknown: t.Unknown, GitLabURL: t.GitLabURL,
	}
	for _, f := range t.Findings {
		tr.Findings = append(tr.Findings, f.finding())
	}
	return tr, nil
}

func (s readSummary) summary() audit.Summary {
	sum := audit.Summary{
		Tokens: s.Tokens, BySeverity: map[audit.Severity]int{}, ByKind: map[inventory.Kind]int{},
		Findings: map[audit.Severity]int{}, Suppressed: s.Suppressed, Gaps: s.Gaps,
		GapErrors: s.GapErrors, GapUnavailable: s.GapUnavailable, Complete: s.Complete,
	}
	for name, n := range s.BySeverity {
		if sev, err := audit.ParseSeverity(name); err == nil {
			sum.BySeverity[sev] = n
		}
	}
	for name, n := range s.Findings {
		if sev, err := audit.ParseSeverity(name); err == nil {
			sum.Findings[sev] = n
		}
	}
	for kind, n := range s.ByKind {
		sum.ByKind[inventory.Kind(kind)] = n
	}
	return sum
}

func readTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s %q is not an RFC 3339 time", ErrNotReport, field, clip(s))
	}
	return t.UTC(), nil
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond)
}

// clip keeps a quoted value of a report short in an error message.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// oneLine is err's message on one line: encoding/json's messages name Go
// types, which say nothing to a user, but where in the report it failed.
func oneLine(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s is a JSON %s, which the report format does not have there", orTop(te.Field), te.Value)
	}
	b := []byte(err.Error())
	for i, c := range b {
		if c == '\n' || c == '\r' {
			b[i] = ' '
		}
	}
	return string(b)
}

func orTop(field string) string {
	if field == "" {
		return "the report"
	}
	return field
}
