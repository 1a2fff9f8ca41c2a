package audit

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/tokenaudit/tokenaudit/inventory"
)

func TestDefaultPolicyValidates(t *testing.T) {
	t.Parallel()
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatalf("DefaultPolicy().Validate() = %v", err)
	}
}

func TestValidateMessages(t *testing.T) {
	t.Parallel()
	good := Exception{Rule: "TA-011", Kind: "personal", ID: 5, Reason: "migration", Expires: "2027-01-31"}
	cases := []struct {
		name  string
		edit  func(p *Policy)
		wants []string // substrings, each must appear
	}{
		{"zero threshold", func(p *Policy) { p.StaleDays = 0 }, []string{"policy stale_days: 0 is not allowed (want a whole number above 0)"}},
		{"negative thresholds, every one reported", func(p *Policy) { p.MaxLifetimeDays = -1; p.RotationDays = -5 },
			[]string{"max_lifetime_days: -1", "rotation_days: -5"}},
		{"soon below urgent", func(p *Policy) { p.ExpiringSoonDays = 5 }, []string{"expiring_soon_days: 5 is below expiring_urgent_days 7"}},
		{"bad bot pattern", func(p *Policy) { p.LegacyBotUsers = []string{"ci-[", ""} },
			[]string{`legacy_bot_users[0]: "ci-["`, `legacy_bot_users[1]: ""`}},
		{"unknown rule", func(p *Policy) { p.Rules = map[string]RuleSetting{"TA-999": {Disabled: true}} }, []string{`unknown rule "TA-999"`}},
		{"bad severity", func(p *Policy) { p.Rules = map[string]RuleSetting{"ta-011": {Severity: "urgent"}} },
			[]string{`rules.ta-011.severity: "urgent" is not allowed (want critical, high, medium, low or info)`}},
		{"severity none", func(p *Policy) { p.Rules = map[string]RuleSetting{"TA-011": {Severity: "none"}} }, []string{`"none" is not allowed`}},
		{"exception without reason and expiry", func(p *Policy) {
			e := good
			e.Reason, e.Expires = " ", ""
			p.Exceptions = []Exception{e}
		}, []string{"exceptions[0]: reason is required", "exceptions[0]: expires is required"}},
		{"exception bad date", func(p *Policy) { e := good; e.Expires = "31/01/2027"; p.Exceptions = []Exception{e} },
			[]string{`exceptions[0]: expires "31/01/2027" is not a date (want YYYY-MM-DD)`}},
		{"exception unknown rule and kind", func(p *Policy) { e := good; e.Rule = "TA-900"; e.Kind = "ssh"; p.Exceptions = []Exception{good, e} },
			[]string{`exceptions[1]: rule "TA-900" is unknown`, `exceptions[1]: kind "ssh" is unknown (want one of personal, impersonation`}},
		{"exception id without kind", func(p *Policy) { e := good; e.Kind = ""; p.Exceptions = []Exception{e} }, []string{"id needs kind"}},
		{"exception names nothing", func(p *Policy) { e := good; e.Kind, e.ID = "", 0; p.Exceptions = []Exception{e} }, []string{"names nothing"}},
		{"exception star with pattern", func(p *Policy) { e := good; e.Rule = "*"; e.ID = 0; e.Owner = "ci-*"; p.Exceptions = []Exception{e} },
			[]string{`rule "*" needs one token named by kind and id`}},
		{"exception both id and pattern", func(p *Policy) { e := good; e.Name = "x"; p.Exceptions = []Exception{e} }, []string{"either by kind and id or by owner/name patterns"}},
		{"exception bad pattern", func(p *Policy) { e := good; e.Kind, e.ID, e.Owner = "", 0, "[a"; p.Exceptions = []Exception{e} },
			[]string{`owner "[a" is not a valid glob pattern`}},
		{"exception resource with kind", func(p *Policy) { e := good; e.ID = 0; e.Resource = "instance"; p.Exceptions = []Exception{e} },
			[]string{"resource names an instance or project finding"}},
		{"exception without rule", func(p *Policy) { e := good; e.Rule = ""; p.Exceptions = []Exception{e} }, []string{"rule is required"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := DefaultPolicy()
			tc.edit(&p)
			err := p.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q\nwant it to contain %q", err, w)
				}
			}
			if _, err := Evaluate(&inventory.Inventory{}, p, now); err == nil || !strings.Contains(err.Error(), "invalid policy") {
				t.Errorf("Evaluate with the invalid policy: err = %v, want invalid policy", err)
			}
		})
	}
	p := DefaultPolicy()
	p.Exceptions = []Exception{good,
		{Rule: "*", Kind: "deploy", ID: 9, Reason: "break-glass", Expires: "2027-01-01"},
		{Rule: "TA-072", Resource: "project acme/*", Reason: "no CI", Expires: "2027-01-01"},
		{Rule: "TA-030", Kind: "project_access", Name: "nightly-*", Reason: "runs yearly", Expires: "2027-01-01"}}
	p.Rules = map[string]RuleSetting{"ta-050": {Disabled: true}, "TA-011": {Severity: "Medium"}}
	if err := p.Validate(); err != nil {
		t.Errorf("valid policy: Validate() = %v", err)
	}
}

// TestThresholds: the thresholds table covers every numeric field of
// Policy once, under the key the configuration file decodes, and Validate
// checks each row: a value below its minimum is reported under its key.
func TestThresholds(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, th := range thresholds {
		if seen[th.key] {
			t.Errorf("threshold %s listed twice", th.key)
		}
		seen[th.key] = true
		if th.meaning == "" || th.unit == "" {
			t.Errorf("threshold %s: no meaning or unit for docs/rules.md", th.key)
		}
	}
	for f := range reflect.TypeFor[Policy]().Fields() {
		if f.Type.Kind() != reflect.Int {
			continue
		}
		key := f.Tag.Get("mapstructure")
		if !seen[key] {
			t.Errorf("Policy.%s (%s) has no row in thresholds: no default, no validation, no docs", f.Name, key)
		}
		if y := f.Tag.Get("yaml"); y != key {
			t.Errorf("Policy.%s: yaml tag %q, mapstructure tag %q", f.Name, y, key)
		}
	}
	for _, th := range thresholds {
		for _, v := range []int{th.min - 1, -7} {
			p := DefaultPolicy()
			*th.field(&p) = v
			want := fmt.Sprintf("policy %s: %d is not allowed (want a whole number above %d", th.key, v, th.min-1)
			if err := p.Validate(); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s = %d: Validate() = %v, want %q", th.key, v, err, want)
			}
		}
		p := DefaultPolicy()
		*th.field(&p) = th.min
		if th.atLeast == "" {
			if err := p.Validate(); err != nil {
				t.Errorf("%s = its minimum %d: Validate() = %v", th.key, th.min, err)
			}
		}
	}
	// expiring_soon_days 0 is one mistake, not also "below expiring_urgent_days".
	p := DefaultPolicy()
	p.ExpiringSoonDays = 0
	if err := p.Validate(); err == nil || strings.Contains(err.Error(), "below") {
		t.Errorf("expiring_soon_days 0: Validate() = %v, want only the range message", err)
	}
}

func TestPolicyOverrides(t *testing.T) {
	t.Parallel()
	tok := healthy(inventory.KindPersonal, 1)
	tok.Scopes = []string{"api"}
	tok.CreatedAt = now.Add(-400 * day)
	tok.Expires = daysFrom(now, 60)
	def := evalOne(t, tok, DefaultPolicy(), now)
	if got := ruleIDs(def.Findings); strings.Join(got, ",") != "TA-002,TA-011,TA-050" {
		t.Fatalf("default findings %v, want TA-002, TA-011, TA-050", got)
	}

	p := DefaultPolicy()
	// Viper lower-cases keys, so overrides match case-insensitively.
	p.Rules = map[string]RuleSetting{"ta-011": {Severity: "critical"}, "ta-002": {Disabled: true}, "TA-050": {Severity: "high"}}
	tr := evalOne(t, tok, p, now)
	if got := ruleIDs(tr.Findings); strings.Join(got, ",") != "TA-011,TA-050" {
		t.Errorf("findings %v, want TA-011 then TA-050 (severity order)", got)
	}
	if f, _ := finding(tr, "TA-011"); f.Severity != SeverityCritical {
		t.Errorf("TA-011 severity %s, want the override critical", f.Severity)
	}
	if f, _ := finding(tr, "TA-050"); f.Severity != SeverityHigh {
		t.Errorf("TA-050 severity %s, want the override high", f.Severity)
	}
	if tr.Severity != SeverityCritical {
		t.Errorf("token severity %s, want critical", tr.Severity)
	}
	if contains(tr.Unknown, "TA-002") {
		t.Error("a disabled rule is reported unknown; it should not be evaluated at all")
	}
}

func TestExceptions(t *testing.T) {
	t.Parallel()
	api := healthy(inventory.KindPersonal, 1)
	api.Scopes = []string{"api"}
	api.Owner.Username = "ci-deployer"
	api.Name = "deploy-bot"
	other := healthy(inventory.KindPersonal, 2)
	other.Scopes = []string{"api"}
	inv := &inventory.Inventory{
		Tokens:   []inventory.Token{api, other},
		Settings: &inventory.Settings{RequirePersonalAccessTokenExpiry: boolp(false), MaxPersonalAccessTokenLifetime: intp(100)},
	}

	cases := []struct {
		name           string
		exc            Exception
		suppressed     []bool // per token id 1, 2: is TA-011 suppressed
		instance       bool   // TA-070 suppressed
		expired        bool
		worst          Severity
		wantSuppressed int
	}{
		{name: "by kind and id", exc: Exception{Rule: "TA-011", Kind: "personal", ID: 1, Reason: "vendor tool needs api", Expires: "2026-12-31"},
			suppressed: []bool{true, false}, worst: SeverityHigh, wantSuppressed: 1},
		{name: "by owner pattern", exc: Exception{Rule: "ta-011", Owner: "ci-*", Reason: "vendor tool needs api", Expires: "2026-12-31"},
			suppressed: []bool{true, false}, worst: SeverityHigh, wantSuppressed: 1},
		{name: "by name pattern and kind", exc: Exception{Rule: "TA-011", Kind: "personal", Name: "*", Reason: "all accepted", Expires: "2026-12-31"},
			suppressed: []bool{true, true}, worst: SeverityHigh, wantSuppressed: 2},
		{name: "kind does not match", exc: Exception{Rule: "TA-011", Kind: "deploy", Name: "*", Reason: "x", Expires: "2026-12-31"},
			suppressed: []bool{false, false}, worst: SeverityHigh},
		{name: "other rule", exc: Exception{Rule: "TA-010", Kind: "personal", ID: 1, Reason: "x", Expires: "2026-12-31"},
			suppressed: []bool{false, false}, worst: SeverityHigh},
		{name: "every rule of one token", exc: Exception{Rule: "*", Kind: "personal", ID: 2, Reason: "break-glass", Expires: "2026-12-31"},
			suppressed: []bool{false, true}, worst: SeverityHigh, wantSuppressed: 1},
		{name: "resource", exc: Exception{Rule: "TA-070", Resource: "inst*", Reason: "expiry enforced by the IdP", Expires: "2026-12-31"},
			suppressed: []bool{false, false}, instance: true, worst: SeverityHigh, wantSuppressed: 1},
		// The exception stops at 00:00 UTC on its date, like a GitLab token:
		// at now (2026-11-27 12:00) one dated 2026-11-27 has expired.
		{name: "expired today", exc: Exception{Rule: "TA-011", Kind: "personal", ID: 1, Reason: "old", Expires: "2026-11-27"},
			suppressed: []bool{false, false}, expired: true, worst: SeverityHigh},
		{name: "valid through today", exc: Exception{Rule: "TA-011", Kind: "personal", ID: 1, Reason: "old", Expires: "2026-11-28"},
			suppressed: []bool{true, false}, worst: SeverityHigh, wantSuppressed: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := DefaultPolicy()
			p.Exceptions = []Exception{tc.exc}
			res, err := Evaluate(inv, p, now)
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range res.Tokens {
				f, ok := finding(tr, "TA-011")
				if !ok {
					t.Fatalf("token %d: TA-011 missing: a suppressed finding must stay visible", tr.Token.ID)
				}
				want := tc.suppressed[tr.Token.ID-1]
				if f.Suppressed != want {
					t.Errorf("token %d: TA-011 suppressed %v, want %v", tr.Token.ID, f.Suppressed, want)
				}
				if want && f.SuppressionReason != tc.exc.Reason {
					t.Errorf("token %d: reason %q, want %q", tr.Token.ID, f.SuppressionReason, tc.exc.Reason)
				}
				wantSev := SeverityHigh
				if want {
					wantSev = SeverityNone
				}
				if tr.Severity != wantSev {
					t.Errorf("token %d: severity %s, want %s", tr.Token.ID, tr.Severity, wantSev)
				}
			}
			for _, f := range res.Findings {
				if f.Rule == "TA-070" && f.Suppressed != tc.instance {
					t.Errorf("TA-070 suppressed %v, want %v", f.Suppressed, tc.instance)
				}
			}
			if got := len(res.ExpiredExceptions) == 1; got != tc.expired {
				t.Errorf("expired exceptions %+v, want expired=%v", res.ExpiredExceptions, tc.expired)
			}
			if tc.expired {
				e := res.ExpiredExceptions[0]
				if e.Rule != "TA-011" || e.Token != "kind=personal id=1" || e.Reason != "old" || !e.Expired.Equal(midnight) {
					t.Errorf("expired exception %+v", e)
				}
			}
			if res.Worst() != tc.worst {
				t.Errorf("Worst() = %s, want %s", res.Worst(), tc.worst)
			}
			if res.Summary.Suppressed != tc.wantSuppressed {
				t.Errorf("Summary.Suppressed = %d, want %d", res.Summary.Suppressed, tc.wantSuppressed)
			}
		})
	}
}

// TestSuppressedNotCountedInWorst: with every finding suppressed, Worst is
// none although the findings are there.
func TestSuppressedNotCountedInWorst(t *testing.T) {
	t.Parallel()
	tok := healthy(inventory.KindPersonal, 1)
	tok.Scopes = []string{"sudo"}
	tok.Expires = inventory.Expiry{}
	p := DefaultPolicy()
	p.Exceptions = []Exception{{Rule: "*", Kind: "personal", ID: 1, Reason: "break-glass account", Expires: "2027-01-01"}}
	res, err := Evaluate(&inventory.Inventory{Tokens: []inventory.Token{tok}}, p, now)
	if err != nil {
		t.Fatal(err)
	}
	tr := res.Tokens[0]
	if len(tr.Findings) != 2 {
		t.Fatalf("findings %v, want TA-001 and TA-010 kept, suppressed", ruleIDs(tr.Findings))
	}
	for _, f := range tr.Findings {
		if !f.Suppressed {
			t.Errorf("%s not suppressed", f.Rule)
		}
	}
	if res.Worst() != SeverityNone || tr.Severity != SeverityNone {
		t.Errorf("Worst() = %s, token severity %s; want none", res.Worst(), tr.Severity)
	}
	if res.Summary.Findings[SeverityCritical] != 0 || res.Summary.Suppressed != 2 {
		t.Errorf("summary %+v: want no critical finding counted and 2 suppressed", res.Summary)
	}
	if tr.RiskScore == 0 {
		t.Error("risk score 0: an exception accepts the risk, it must not hide it")
	}
}

// TestPolicyFromYAML decodes a configuration written with the documented
// keys onto DefaultPolicy, as cmd does, and checks every key lands.
func TestPolicyFromYAML(t *testing.T) {
	t.Parallel()
	doc := `
max_lifetime_days: 180
expiring_urgent_days: 3
expiring_soon_days: 14
large_group_projects: 10
person_reach_projects: 25
stale_days: 60
never_used_days: 14
rotation_days: 200
trigger_unused_days: 45
legacy_bot_users: [renovate, "ci-*"]
rules:
  TA-011: {severity: medium}
  ta-050: {disabled: true}
exceptions:
  - rule: TA-001
    kind: personal
    id: 42
    reason: legacy integration, replaced in Q1
    expires: 2027-03-31
  - rule: TA-072
    resource: "project acme/*"
    reason: no CI in these projects
    expires: 2027-01-31
`
	p := DefaultPolicy()
	if err := yaml.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	want := Policy{
		MaxLifetimeDays: 180, ExpiringUrgentDays: 3, ExpiringSoonDays: 14, LargeGroupProjects: 10,
		PersonReachProjects: 25, StaleDays: 60, NeverUsedDays: 14, RotationDays: 200, TriggerUnusedDays: 45,
		LegacyBotUsers: []string{"renovate", "ci-*"},
		Rules:          map[string]RuleSetting{"TA-011": {Severity: "medium"}, "ta-050": {Disabled: true}},
		Exceptions: []Exception{
			{Rule: "TA-001", Kind: "personal", ID: 42, Reason: "legacy integration, replaced in Q1", Expires: "2027-03-31"},
			{Rule: "TA-072", Resource: "project acme/*", Reason: "no CI in these projects", Expires: "2027-01-31"},
		},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("decoded policy mismatch (-want +got):\n%s", diff)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}
