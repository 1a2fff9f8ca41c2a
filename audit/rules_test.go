package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// outcome is what a rule case expects of its rule.
type outcome int

const (
	passes     outcome = iota // no finding, not unknown
	trips                     // a finding of the rule
	unknowable                // listed in TokenResult.Unknown, no finding
)

// tokenCase is a token (built from a healthy one), the time and policy of
// its audit, and what one rule must conclude.
type tokenCase struct {
	rule   string
	name   string
	kind   inventory.Kind
	edit   func(t *inventory.Token)
	at     time.Time       // zero: now
	policy func(p *Policy) // nil: default policy
	want   outcome
	detail string // when tripping, a substring of the finding's detail
}

func tokenCases() []tokenCase {
	pat := inventory.KindPersonal
	return []tokenCase{
		// TA-001
		{rule: "TA-001", name: "no expiry", kind: pat, edit: func(t *inventory.Token) { t.Expires = inventory.Expiry{} }, want: trips, detail: "no expiry date"},
		{rule: "TA-001", name: "project token without expiry", kind: inventory.KindProjectAccess, edit: func(t *inventory.Token) { t.Expires = inventory.Expiry{} }, want: trips},
		{rule: "TA-001", name: "expiry set", kind: pat, want: passes},
		{rule: "TA-001", name: "deploy token is TA-060's", kind: inventory.KindDeploy, edit: func(t *inventory.Token) { t.Expires = inventory.Expiry{} }, want: passes},

		// TA-002: GitLab counts lifetime in dates; created any time on
		// 2026-01-01, an expiry of 2027-01-01 is exactly 365 days.
		{rule: "TA-002", name: "exactly 365 days, created late in the day", kind: pat, edit: func(t *inventory.Token) {
			t.CreatedAt = time.Date(2026, 1, 1, 23, 59, 0, 0, time.UTC)
			t.Expires = dateExpiry(2027, 1, 1)
		}, want: passes},
		{rule: "TA-002", name: "366 days", kind: pat, edit: func(t *inventory.Token) {
			t.CreatedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			t.Expires = dateExpiry(2027, 1, 2)
		}, want: trips, detail: "366 days after its creation on 2026-01-01"},
		{rule: "TA-002", name: "trigger expiring exactly 365 days from now", kind: inventory.KindPipelineTrigger, edit: func(t *inventory.Token) {
			t.CreatedAt = now.Add(-300 * day) // its expiry may have been set later
			t.Expires = inventory.Expiry{At: now.Add(365 * day)}
		}, want: unknowable},
		{rule: "TA-002", name: "trigger expiring 365 days and a second from now", kind: inventory.KindPipelineTrigger, edit: func(t *inventory.Token) {
			t.Expires = inventory.Expiry{At: now.Add(365*day + time.Second)}
		}, want: trips, detail: "365 days from now"},
		{rule: "TA-002", name: "deploy token expiring in 400 days", kind: inventory.KindDeploy, edit: func(t *inventory.Token) {
			t.Expires = inventory.Expiry{At: now.Add(400 * day)}
		}, want: trips},
		{rule: "TA-002", name: "deploy token expiring in 100 days", kind: inventory.KindDeploy, want: unknowable},
		{rule: "TA-002", name: "policy maximum 90", kind: pat, policy: func(p *Policy) { p.MaxLifetimeDays = 90 }, want: trips},
		{rule: "TA-002", name: "creation unknown", kind: pat, edit: func(t *inventory.Token) { t.CreatedAt = time.Time{} }, want: unknowable},
		{rule: "TA-002", name: "never expires is TA-001's", kind: pat, edit: func(t *inventory.Token) { t.Expires = inventory.Expiry{} }, want: passes},

		// TA-003: the token stops at 00:00 UTC on its date.
		{rule: "TA-003", name: "6.5 days left", kind: pat, edit: func(t *inventory.Token) { t.Expires = dateExpiry(2026, 12, 4) }, want: trips, detail: "expires 2026-12-04, in 6 days"},
		{rule: "TA-003", name: "7.5 days left", kind: pat, edit: func(t *inventory.Token) { t.Expires = dateExpiry(2026, 12, 5) }, want: passes},
		{rule: "TA-003", name: "exactly 7 days at midnight", kind: pat, at: midnight, edit: func(t *inventory.Token) { t.Expires = dateExpiry(2026, 12, 4) }, want: trips},
		{rule: "TA-003", name: "exactly 8 days at midnight", kind: pat, at: midnight, edit: func(t *inventory.Token) { t.Expires = dateExpiry(2026, 12, 5) }, want: passes},
		{rule: "TA-003", name: "one second left", kind: pat, at: time.Date(2026, 11, 27, 23, 59, 59, 0, time.UTC), edit: func(t *inventory.Token) { t.Expires = dateExpiry(2026, 11, 28) }, want: trips, detail: "less than a day"},
		{rule: "TA-003", name: "expired at this very instant", kind: pat, at: midnight, edit: func(t *inventory.Token) { t.Expires = dateExpiry(2026, 11, 27) }, want: passes},
		{rule: "TA-003", name: "deploy token", kind: inventory.KindDeploy, edit: func(t *inventory.Token) { t.Expires = inventory.Expiry{At: now.Add(2 * day)} }, want: trips},

		// TA-004
		{rule: "TA-004", name: "exactly 30 days at midnight", kind: pat, at: midnight, edit: func(t *inventory.Token) { t.Expires = daysFrom(midnight, 30) }, want: trips},
		{rule: "TA-004", name: "exactly 31 days at midnight", kind: pat, at: midnight, edit: func(t *inventory.Token) { t.Expires = daysFrom(midnight, 31) }, want: passes},
		{rule: "TA-004", name: "7.5 days left", kind: pat, edit: func(t *inventory.Token) { t.Expires = dateExpiry(2026, 12, 5) }, want: trips, detail: "in 7 days"},
		{rule: "TA-004", name: "within 7 days is TA-003's", kind: pat, edit: func(t *inventory.Token) { t.Expires = dateExpiry(2026, 12, 4) }, want: passes},
		{rule: "TA-004", name: "within 7 days with TA-003 off", kind: pat, edit: func(t *inventory.Token) { t.Expires = dateExpiry(2026, 12, 4) },
			policy: func(p *Policy) { p.Rules = map[string]RuleSetting{"ta-003": {Disabled: true}} }, want: trips},

		// TA-005: expired tokens are judged by this rule alone.
		{rule: "TA-005", name: "revoked", kind: pat, edit: func(t *inventory.Token) { t.Revoked = true; t.Active = false }, want: trips, detail: "revoked"},
		{rule: "TA-005", name: "expired at this very instant", kind: pat, at: midnight, edit: func(t *inventory.Token) { t.Expires = dateExpiry(2026, 11, 27) }, want: trips, detail: "expired 2026-11-27"},
		{rule: "TA-005", name: "one second before expiry", kind: pat, at: midnight.Add(-time.Second), edit: func(t *inventory.Token) { t.Expires = dateExpiry(2026, 11, 27) }, want: passes},
		{rule: "TA-005", name: "reported inactive", kind: inventory.KindDeploy, edit: func(t *inventory.Token) { t.Active = false }, want: trips},

		// TA-010
		{rule: "TA-010", name: "sudo", kind: pat, edit: func(t *inventory.Token) { t.Scopes = []string{"read_api", "sudo"} }, want: trips, detail: "sudo"},
		{rule: "TA-010", name: "admin_mode", kind: inventory.KindServiceAccount, edit: func(t *inventory.Token) { t.Scopes = []string{"api", "admin_mode"} }, want: trips, detail: "admin_mode"},
		{rule: "TA-010", name: "read_api", kind: pat, want: passes},

		// TA-011
		{rule: "TA-011", name: "api", kind: inventory.KindProjectAccess, edit: func(t *inventory.Token) { t.Scopes = []string{"api"} }, want: trips},
		{rule: "TA-011", name: "read_api", kind: inventory.KindProjectAccess, want: passes},

		// TA-012
		{rule: "TA-012", name: "mcp", kind: pat, edit: func(t *inventory.Token) { t.Scopes = []string{"read_api", "mcp"} }, want: trips, detail: "mcp"},
		{rule: "TA-012", name: "known scopes", kind: pat, edit: func(t *inventory.Token) { t.Scopes = []string{"read_api", "write_repository", "self_rotate"} }, want: passes},
		{rule: "TA-012", name: "deploy package scopes", kind: inventory.KindDeploy, edit: func(t *inventory.Token) { t.Scopes = []string{"read_package_registry"} }, want: passes},

		// TA-020
		{rule: "TA-020", name: "administrator with api", kind: pat, edit: func(t *inventory.Token) { t.Owner.Admin = true; t.Scopes = []string{"api"} }, want: trips, detail: "administrator"},
		{rule: "TA-020", name: "administrator impersonated with sudo", kind: inventory.KindImpersonation, edit: func(t *inventory.Token) { t.Owner.Admin = true; t.Scopes = []string{"read_api", "sudo"} }, want: trips},
		{rule: "TA-020", name: "administrator with read_api", kind: pat, edit: func(t *inventory.Token) { t.Owner.Admin = true }, want: passes},
		{rule: "TA-020", name: "non-administrator with api", kind: pat, edit: func(t *inventory.Token) { t.Scopes = []string{"api"} }, want: passes},
		{rule: "TA-020", name: "owner unknown", kind: pat, edit: func(t *inventory.Token) { t.Owner = nil }, want: unknowable},

		// TA-021
		{rule: "TA-021", name: "group token", kind: inventory.KindGroupAccess, want: trips, detail: "group acme (5)"},
		{rule: "TA-021", name: "project token", kind: inventory.KindProjectAccess, want: passes},

		// TA-022
		{rule: "TA-022", name: "21 projects", kind: inventory.KindGroupAccess, edit: func(t *inventory.Token) { t.Resource.Projects = 21 }, want: trips, detail: "21 projects"},
		{rule: "TA-022", name: "20 projects", kind: inventory.KindGroupAccess, edit: func(t *inventory.Token) { t.Resource.Projects = 20 }, want: passes},
		{rule: "TA-022", name: "policy large from 10", kind: inventory.KindGroupAccess, edit: func(t *inventory.Token) { t.Resource.Projects = 11 }, policy: func(p *Policy) { p.LargeGroupProjects = 10 }, want: trips},
		{rule: "TA-022", name: "size unknown", kind: inventory.KindGroupAccess, edit: func(t *inventory.Token) { t.Resource.Projects = -1 }, want: unknowable},

		// TA-023
		{rule: "TA-023", name: "Owner", kind: inventory.KindProjectAccess, edit: func(t *inventory.Token) { t.AccessLevel = 50 }, want: trips},
		{rule: "TA-023", name: "Maintainer", kind: inventory.KindGroupAccess, edit: func(t *inventory.Token) { t.AccessLevel = 40 }, want: passes},
		{rule: "TA-023", name: "level unknown", kind: inventory.KindProjectAccess, edit: func(t *inventory.Token) { t.AccessLevel = 0 }, want: unknowable},

		// TA-024
		{rule: "TA-024", name: "51 projects", kind: pat, edit: func(t *inventory.Token) { t.Owner.ProjectsReachable = 51 }, want: trips},
		{rule: "TA-024", name: "50 projects", kind: pat, edit: func(t *inventory.Token) { t.Owner.ProjectsReachable = 50 }, want: passes},
		{rule: "TA-024", name: "reach unknown", kind: pat, edit: func(t *inventory.Token) { t.Owner.ProjectsReachable = -1 }, want: unknowable},

		// TA-030
		{rule: "TA-030", name: "90 days and a second", kind: pat, edit: func(t *inventory.Token) { t.LastUsedAt = now.Add(-90*day - time.Second) }, want: trips, detail: "90 days ago"},
		{rule: "TA-030", name: "exactly 90 days", kind: pat, edit: func(t *inventory.Token) { t.LastUsedAt = now.Add(-90 * day) }, want: passes},
		{rule: "TA-030", name: "never used is TA-031's", kind: pat, edit: func(t *inventory.Token) { t.LastUsedAt = time.Time{} }, want: passes},
		{rule: "TA-030", name: "usage not reported", kind: pat, edit: func(t *inventory.Token) { t.UsageReported = false; t.LastUsedAt = time.Time{} }, want: unknowable},
		{rule: "TA-030", name: "deploy tokens are not judged", kind: inventory.KindDeploy, want: passes},

		// TA-031
		{rule: "TA-031", name: "never used, 30 days and a second", kind: pat, edit: func(t *inventory.Token) { t.LastUsedAt = time.Time{}; t.CreatedAt = now.Add(-30*day - time.Second) }, want: trips},
		{rule: "TA-031", name: "never used, exactly 30 days", kind: pat, edit: func(t *inventory.Token) { t.LastUsedAt = time.Time{}; t.CreatedAt = now.Add(-30 * day) }, want: passes},
		{rule: "TA-031", name: "used", kind: pat, want: passes},
		{rule: "TA-031", name: "usage not reported", kind: pat, edit: func(t *inventory.Token) { t.UsageReported = false; t.LastUsedAt = time.Time{} }, want: unknowable},

		// TA-040
		{rule: "TA-040", name: "listed by pattern", kind: pat, edit: func(t *inventory.Token) { t.Owner.Username = "ci-deployer" },
			policy: func(p *Policy) { p.LegacyBotUsers = []string{"renovate", "ci-*"} }, want: trips, detail: "ci-*"},
		{rule: "TA-040", name: "listed by name", kind: pat, edit: func(t *inventory.Token) { t.Owner.Username = "renovate" },
			policy: func(p *Policy) { p.LegacyBotUsers = []string{"renovate", "ci-*"} }, want: trips},
		{rule: "TA-040", name: "not listed", kind: pat, policy: func(p *Policy) { p.LegacyBotUsers = []string{"renovate", "ci-*"} }, want: passes},

		// TA-041
		{rule: "TA-041", name: "blocked owner", kind: pat, edit: func(t *inventory.Token) { t.Owner.State = "blocked" }, want: trips, detail: "alice is blocked"},
		{rule: "TA-041", name: "deactivated owner", kind: inventory.KindServiceAccount, edit: func(t *inventory.Token) { t.Owner.State = "deactivated" }, want: trips},
		{rule: "TA-041", name: "active owner", kind: pat, want: passes},
		{rule: "TA-041", name: "state not visible", kind: pat, edit: func(t *inventory.Token) { t.Owner.State = "" }, want: unknowable},

		// TA-050
		{rule: "TA-050", name: "365 days and a second", kind: pat, edit: func(t *inventory.Token) { t.CreatedAt = now.Add(-365*day - time.Second) }, want: trips},
		{rule: "TA-050", name: "exactly 365 days", kind: pat, edit: func(t *inventory.Token) { t.CreatedAt = now.Add(-365 * day) }, want: passes},
		{rule: "TA-050", name: "deploy creation unknown", kind: inventory.KindDeploy, want: passes},

		// TA-060
		{rule: "TA-060", name: "deploy without expiry", kind: inventory.KindDeploy, edit: func(t *inventory.Token) { t.Expires = inventory.Expiry{} }, want: trips},
		{rule: "TA-060", name: "deploy with expiry", kind: inventory.KindDeploy, want: passes},

		// TA-061
		{rule: "TA-061", name: "write_registry", kind: inventory.KindDeploy, edit: func(t *inventory.Token) { t.Scopes = []string{"read_registry", "write_registry"} }, want: trips, detail: "write_registry"},
		{rule: "TA-061", name: "read only", kind: inventory.KindDeploy, want: passes},

		// TA-062
		{rule: "TA-062", name: "owner deleted", kind: inventory.KindPipelineTrigger, edit: func(t *inventory.Token) { t.Owner = nil }, want: trips, detail: "deleted"},
		{rule: "TA-062", name: "owner blocked", kind: inventory.KindPipelineTrigger, edit: func(t *inventory.Token) { t.Owner.State = "blocked" }, want: trips},
		{rule: "TA-062", name: "owner active", kind: inventory.KindPipelineTrigger, want: passes},
		{rule: "TA-062", name: "owner state not visible", kind: inventory.KindPipelineTrigger, edit: func(t *inventory.Token) { t.Owner.State = "" }, want: unknowable},

		// TA-063
		{rule: "TA-063", name: "last used 90 days and a second", kind: inventory.KindPipelineTrigger, edit: func(t *inventory.Token) { t.LastUsedAt = now.Add(-90*day - time.Second) }, want: trips},
		{rule: "TA-063", name: "last used exactly 90 days", kind: inventory.KindPipelineTrigger, edit: func(t *inventory.Token) { t.LastUsedAt = now.Add(-90 * day) }, want: passes},
		{rule: "TA-063", name: "never used, old", kind: inventory.KindPipelineTrigger, edit: func(t *inventory.Token) {
			t.LastUsedAt = time.Time{}
			t.CreatedAt = now.Add(-91 * day)
		}, want: trips, detail: "never used"},
		{rule: "TA-063", name: "never used, new", kind: inventory.KindPipelineTrigger, edit: func(t *inventory.Token) {
			t.LastUsedAt = time.Time{}
			t.CreatedAt = now.Add(-10 * day)
		}, want: passes},
	}
}

// TestTokenRules runs every token rule on a token that trips it and a
// neighbour that does not, through Evaluate.
func TestTokenRules(t *testing.T) {
	t.Parallel()
	for _, tc := range tokenCases() {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			tok := healthy(tc.kind, 1)
			if tc.edit != nil {
				tc.edit(&tok)
			}
			p := DefaultPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			at := tc.at
			if at.IsZero() {
				at = now
			}
			tr := evalOne(t, tok, p, at)
			f, found := finding(tr, tc.rule)
			isUnknown := contains(tr.Unknown, tc.rule)
			switch tc.want {
			case trips:
				if !found {
					t.Fatalf("%s did not trip; findings %v, unknown %v", tc.rule, ruleIDs(tr.Findings), tr.Unknown)
				}
				rule, _ := RuleByID(tc.rule)
				if f.Severity != rule.Severity || f.Title != rule.Title || f.Remediation != rule.Remediation {
					t.Errorf("finding = %+v, want the catalogue's severity %s, title and remediation", f, rule.Severity)
				}
				if !strings.Contains(f.Detail, tc.detail) {
					t.Errorf("detail %q does not contain %q", f.Detail, tc.detail)
				}
			case passes:
				if found || isUnknown {
					t.Fatalf("%s: found %v (detail %q), unknown %v; want a pass", tc.rule, found, f.Detail, isUnknown)
				}
			case unknowable:
				if found || !isUnknown {
					t.Fatalf("%s: found %v, unknown %v (%v); want unknown", tc.rule, found, isUnknown, tr.Unknown)
				}
			}
		})
	}
}

// TestHealthyTokensTripNothing checks the neighbours of the rule cases: a
// healthy token of every kind has no finding at all.
func TestHealthyTokensTripNothing(t *testing.T) {
	t.Parallel()
	for i, k := range inventory.Kinds {
		tr := evalOne(t, healthy(k, int64(i+1)), DefaultPolicy(), now)
		wantSev := SeverityNone
		if k == inventory.KindGroupAccess {
			wantSev = SeverityMedium // every active group access token is TA-021
		}
		if tr.Severity != wantSev {
			t.Errorf("healthy %s: severity %s, findings %v; want %s", k, tr.Severity, ruleIDs(tr.Findings), wantSev)
		}
	}
}

// TestEveryTokenRuleHasCases keeps the table honest: every token rule has a
// case that trips it and one that does not.
func TestEveryTokenRuleHasCases(t *testing.T) {
	t.Parallel()
	tripped, passed := map[string]bool{}, map[string]bool{}
	for _, tc := range tokenCases() {
		if tc.want == trips {
			tripped[tc.rule] = true
		} else {
			passed[tc.rule] = true
		}
	}
	for _, r := range Rules {
		if r.Target != TargetToken {
			continue
		}
		if !tripped[r.ID] || !passed[r.ID] {
			t.Errorf("%s: tripping case %v, passing case %v; want both", r.ID, tripped[r.ID], passed[r.ID])
		}
	}
}

func boolp(b bool) *bool { return &b }
func intp(i int) *int    { return &i }

// TestResourceRules covers the instance and project rules.
func TestResourceRules(t *testing.T) {
	t.Parallel()
	good := &inventory.Settings{RequirePersonalAccessTokenExpiry: boolp(true), MaxPersonalAccessTokenLifetime: intp(365)}
	cases := []struct {
		name     string
		settings *inventory.Settings
		projects []inventory.Project
		want     []string // rule:resource
	}{
		{name: "good settings", settings: good},
		{name: "settings not readable", settings: nil},
		{name: "expiry not required", settings: &inventory.Settings{RequirePersonalAccessTokenExpiry: boolp(false), MaxPersonalAccessTokenLifetime: intp(30)},
			want: []string{"TA-070:instance"}},
		{name: "expiry setting not sent", settings: &inventory.Settings{MaxPersonalAccessTokenLifetime: intp(30)}},
		{name: "lifetime unset", settings: &inventory.Settings{RequirePersonalAccessTokenExpiry: boolp(true)}, want: []string{"TA-071:instance"}},
		{name: "lifetime 366", settings: &inventory.Settings{RequirePersonalAccessTokenExpiry: boolp(true), MaxPersonalAccessTokenLifetime: intp(366)},
			want: []string{"TA-071:instance"}},
		{name: "projects", projects: []inventory.Project{
			{Resource: inventory.Resource{Type: inventory.ResourceProject, ID: 1, Path: "acme/open"}, JobTokenScope: &inventory.JobTokenScope{InboundEnabled: false}},
			{Resource: inventory.Resource{Type: inventory.ResourceProject, ID: 2, Path: "acme/closed"}, JobTokenScope: &inventory.JobTokenScope{InboundEnabled: true}},
			{Resource: inventory.Resource{Type: inventory.ResourceProject, ID: 3, Path: "acme/unread"}},
		}, want: []string{"TA-072:project acme/open"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Evaluate(&inventory.Inventory{Settings: tc.settings, Projects: tc.projects}, DefaultPolicy(), now)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Findings {
				got = append(got, f.Rule+":"+f.Resource)
				rule, _ := RuleByID(f.Rule)
				if f.Severity != rule.Severity || f.Detail == "" {
					t.Errorf("%s: severity %s detail %q; want %s and a detail", f.Rule, f.Severity, f.Detail, rule.Severity)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("findings %v, want %v", got, tc.want)
			}
		})
	}
}
