package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// The reflection-based reference for appendToken: a token element as
// plain structs, encoded by encoding/json.

type jsonOwner struct {
	ID       int64               `json:"id"`
	Username string              `json:"username"`
	Type     inventory.OwnerType `json:"type"`
	Admin    bool                `json:"admin"`
	State    string              `json:"state"`
	Email    *string             `json:"email"`
}

type jsonResource struct {
	Type inventory.ResourceType `json:"type"`
	ID   int64                  `json:"id"`
	Path string                 `json:"path"`
}

type jsonFinding struct {
	Rule              string         `json:"rule"`
	Severity          audit.Severity `json:"severity"`
	Title             string         `json:"title"`
	Detail            string         `json:"detail"`
	Remediation       string         `json:"remediation"`
	Suppressed        bool           `json:"suppressed"`
	SuppressionReason *string        `json:"suppression_reason,omitempty"` // present when suppressed
	Baseline          *string        `json:"baseline"`
}

type jsonToken struct {
	Kind     inventory.Kind `json:"kind"`
	ID       int64          `json:"id"`
	Name     string         `json:"name"`
	Owner    *jsonOwner     `json:"owner"`
	Resource jsonResource   `json:"resource"`
	Scopes   []string       `json:"scopes"`
	// AccessLevel is null where it does not apply or is unknown (GitLab's
	// 10 Guest … 50 Owner never is 0).
	AccessLevel *int           `json:"access_level"`
	CreatedAt   *string        `json:"created_at"`
	ExpiresAt   *string        `json:"expires_at"`
	LastUsedAt  *string        `json:"last_used_at"`
	Active      bool           `json:"active"`
	Revoked     bool           `json:"revoked"`
	RiskScore   int            `json:"risk_score"`
	Severity    audit.Severity `json:"severity"`
	Findings    []jsonFinding  `json:"findings"`
	Unknown     []string       `json:"unknown"`
	WebURL      *string        `json:"web_url"`
	Baseline    *string        `json:"baseline"`
	BaselineID  *int64         `json:"baseline_id"`
	GitLabURL   string         `json:"gitlab_url,omitempty"`
}

func referenceToken(tr *audit.TokenResult, webURL string) jsonToken {
	t := &tr.Token
	jt := jsonToken{
		Kind: t.Kind, ID: t.ID, Name: t.Name,
		Resource: jsonResource{Type: t.Resource.Type, ID: t.Resource.ID, Path: t.Resource.Path},
		Scopes:   t.Scopes, Active: tr.Active, Revoked: t.Revoked,
		RiskScore: tr.RiskScore, Severity: tr.Severity, Findings: []jsonFinding{},
		Unknown:  append([]string{}, tr.Unknown...),
		Baseline: changeName(tr.Baseline), GitLabURL: tr.GitLabURL,
	}
	if tr.Baseline == audit.ChangeUnchanged {
		jt.BaselineID = &tr.BaselineID
	}
	if jt.Scopes == nil {
		jt.Scopes = []string{}
	}
	if o := t.Owner; o != nil {
		jt.Owner = &jsonOwner{ID: o.ID, Username: o.Username, Type: o.Type, Admin: o.Admin, State: o.State}
		if o.Email != "" {
			jt.Owner.Email = &o.Email
		}
	}
	if webURL != "" {
		jt.WebURL = &webURL
	}
	if t.AccessLevel != 0 {
		jt.AccessLevel = &t.AccessLevel
	}
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	jt.CreatedAt = opt(formatTime(t.CreatedAt))
	jt.ExpiresAt = opt(t.Expires.String())
	jt.LastUsedAt = opt(formatTime(t.LastUsedAt))
	for i := range tr.Findings {
		f := &tr.Findings[i]
		jt.Findings = append(jt.Findings, jsonFinding{
			Rule: f.Rule, Severity: f.Severity, Title: f.Title, Detail: f.Detail,
			Remediation: f.Remediation, Suppressed: f.Suppressed,
			SuppressionReason: suppressionReason(f),
			Baseline:          changeName(f.Baseline),
		})
	}
	return jt
}

// encodeReference is what the JSON report writes for v: encoding/json's
// encoding with the extra escapes.
func encodeReference(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("    ", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return withJSONExtras(strings.TrimSuffix(buf.String(), "\n"))
}

// jsonExtras are the characters the JSON report escapes beyond
// encoding/json, listed one by one: the C1 controls and the bidi controls.
var jsonExtras = func() []rune {
	var rs []rune
	for r := rune(0x80); r <= 0x9f; r++ {
		rs = append(rs, r)
	}
	return append(rs, 0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069)
}()

// withJSONExtras escapes the jsonExtras in encoding/json's output.
func withJSONExtras(s string) string {
	for _, r := range jsonExtras {
		s = strings.ReplaceAll(s, string(r), fmt.Sprintf(`\u%04x`, r))
	}
	return s
}

// TestAppendTokenMatchesEncoder: the hand-written encoder writes what
// encoding/json writes, for every token of the fixtures, with odd strings
// in every string field.
func TestAppendTokenMatchesEncoder(t *testing.T) {
	r := richResult()
	for _, s := range []string{oddFormula, oddMixed, "<script>&amp;</script>", "ctl \x00\x01\x1f\x7f \b\f", "sep \u2028 \u2029", "bidi \u202e\u2066\u200f\u061c c1 \u0085\u009b[2J", "bad \xff\xfe utf8", `back\slash "q"`} {
		tr := r.Tokens[len(r.Tokens)%4]
		tr.Token.Name, tr.Token.Resource.Path = s, s
		tr.Token.Scopes = []string{s, "api"}
		tr.Token.Owner = &inventory.Owner{Username: s, State: s, Email: s, Type: inventory.OwnerUnknown}
		tr.Token.WebURL = s
		tr.Findings = []audit.Finding{{Rule: s, Title: s, Detail: s, Remediation: s, Suppressed: true, SuppressionReason: s}}
		tr.Unknown = []string{s, "TA-030"}
		r.Tokens = append(r.Tokens, tr)
	}
	for i := range r.Tokens {
		tr := &r.Tokens[i]
		u := TokenWebURL(r, tr)
		want := encodeReference(t, referenceToken(tr, u))
		got := string(appendToken(nil, tr, u))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("token %s %d (-encoding/json +appendToken):\n%s", tr.Token.Kind, tr.Token.ID, diff)
		}
	}
}

// FuzzAppendString: appendString agrees with encoding/json on any string,
// but for the extra escapes, and reads back as encoding/json's string.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", oddFormula, oddMixed, "\x00\x1f\x7f\u2028\u2029", "\xff\xc3", "<>&\"\\", "\u202e\u009b\u0080\u2069"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		plain := strings.TrimSuffix(buf.String(), "\n")
		want := withJSONExtras(plain)
		got := string(appendString(nil, s))
		if got != want {
			t.Errorf("appendString(%q) = %s, encoding/json %s", s, got, want)
		}
		var back, ref string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Fatalf("appendString(%q) = %s: not JSON: %v", s, got, err)
		}
		_ = json.Unmarshal([]byte(plain), &ref)
		if back != ref {
			t.Errorf("appendString(%q) reads back as %q, encoding/json's as %q", s, back, ref)
		}
		if !utf8.ValidString(want) {
			t.Errorf("encoding/json wrote invalid UTF-8 for %q", s)
		}
	})
}
