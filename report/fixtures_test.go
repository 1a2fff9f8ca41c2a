package report

import (
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// The odd strings that every format must carry through unharmed.
const (
	oddFormula = `=cmd|' /C calc'!A0`
	oddMixed   = "quote \"q\", comma, new\nline — ünïcödé ✓ 令牌"
)

var fixedNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// richResult is a hand-built result with every kind, every severity, a
// deploy token without owner, a never-expiring token, suppressed findings,
// rules that could not judge three tokens (four checks), resource
// findings, gaps of both kinds, an expired exception and odd strings.
// Tokens are worst first, as audit.Evaluate orders them.
func richResult() *audit.Result {
	inv := &inventory.Inventory{
		GitLab: inventory.Instance{
			URL: "https://gitlab.example.com", Version: "17.5.1-ee",
			Mode: inventory.ModeInstance, Admin: true, Caller: "auditor",
		},
		Gaps: []inventory.Gap{
			{Resource: "group acme/legacy", What: "group access tokens", Kind: inventory.GapPermission, Reason: "403 Forbidden: the caller is not an Owner of the group"},
			{Resource: "project acme/platform/backend/services/api-gateway", What: "pipeline triggers", Kind: inventory.GapError, Reason: "GET /api/v4/projects/42/triggers: 502 Bad Gateway after 3 retries"},
		},
		Stats: inventory.Stats{Requests: 1234, Duration: 2345678 * time.Microsecond},
	}
	root := &inventory.Owner{ID: 1, Username: "root", Type: inventory.OwnerHuman, Admin: true, State: "active", Email: "root@example.com", ProjectsReachable: -1}
	tokens := []audit.TokenResult{
		{
			Token: inventory.Token{
				Kind: inventory.KindPersonal, ID: 101, Name: "admin-automation", Owner: root,
				Resource:  inventory.Resource{Type: inventory.ResourceInstance},
				Scopes:    []string{"api", "sudo", "admin_mode"},
				CreatedAt: time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC),
				// Read in another zone: the report must print UTC.
				LastUsedAt:    time.Date(2026, 11, 26, 9, 15, 0, 0, time.FixedZone("CET", 3600)),
				UsageReported: true, Active: true,
			},
			RiskScore: 96, Severity: audit.SeverityCritical,
			Findings: []audit.Finding{
				{Rule: "TA-001", Severity: audit.SeverityCritical, Title: "Administrator token with sudo scope", Detail: "root's token can act as any user.", Remediation: "Drop sudo and admin_mode; use a service account."},
				{Rule: "TA-004", Severity: audit.SeverityHigh, Title: "Token never expires", Detail: "No expiry date.", Remediation: "Set an expiry of at most 365 days."},
			},
		},
		{
			Token: inventory.Token{
				Kind: inventory.KindProjectAccess, ID: 2201, Name: "ci-release-bot-token-with-a-rather-long-descriptive-name",
				Owner:    &inventory.Owner{ID: 501, Username: "project_42_bot_8f3a2c1d9e0b4a7f", Type: inventory.OwnerProjectBot, State: "active"},
				Resource: inventory.Resource{Type: inventory.ResourceProject, ID: 42, Path: "acme/platform/backend/services/api-gateway"},
				Scopes:   []string{"api", "write_repository"}, AccessLevel: 40,
				CreatedAt:     time.Date(2025, 11, 2, 14, 30, 5, 0, time.UTC),
				Expires:       inventory.Expiry{At: day(2027, 11, 1), DateOnly: true},
				UsageReported: true, Active: true,
			},
			RiskScore: 71, Severity: audit.SeverityHigh,
			Findings: []audit.Finding{
				{Rule: "TA-007", Severity: audit.SeverityHigh, Title: "Maintainer token with api scope", Detail: "Role Maintainer and scope api on acme/platform/backend/services/api-gateway.", Remediation: "Use read_api or a narrower role."},
				{Rule: "TA-010", Severity: audit.SeverityLow, Title: "Token never used", Detail: "Created a year ago, never used.", Remediation: "Revoke it.", Suppressed: true, SuppressionReason: "release token, used once a year (SEC-42)"},
			},
		},
		{
			Token: inventory.Token{
				Kind: inventory.KindDeploy, ID: 31, Name: "gitlab-deploy-token",
				Resource: inventory.Resource{Type: inventory.ResourceProject, ID: 77, Path: "acme/web"},
				Scopes:   []string{"read_registry", "read_repository"},
				Expires:  inventory.Expiry{At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
				Active:   true,
			},
			RiskScore: 40, Severity: audit.SeverityMedium,
			// GitLab reports neither creation nor usage of deploy tokens.
			Unknown: []string{"TA-002", "TA-050"},
			Findings: []audit.Finding{
				{Rule: "TA-012", Severity: audit.SeverityMedium, Title: "Deploy token without owner", Detail: "Nobody answers for it.", Remediation: "Replace with a project access token."},
			},
		},
		{
			Token: inventory.Token{
				Kind: inventory.KindImpersonation, ID: 400, Name: "@support-impersonation",
				Owner:     &inventory.Owner{ID: 9, Username: "carol", Type: inventory.OwnerHuman, State: "blocked"},
				Resource:  inventory.Resource{Type: inventory.ResourceInstance},
				Scopes:    []string{"read_api"},
				CreatedAt: time.Date(2026, 3, 3, 3, 3, 3, 0, time.UTC),
				Expires:   inventory.Expiry{At: day(2026, 12, 31), DateOnly: true},
				Active:    true,
			},
			RiskScore: 35, Severity: audit.SeverityMedium,
			Findings: []audit.Finding{
				{Rule: "TA-014", Severity: audit.SeverityMedium, Title: "Impersonation token of a blocked user", Detail: "carol is blocked.", Remediation: "Revoke it."},
			},
		},
		{
			Token: inventory.Token{
				Kind: inventory.KindPipelineTrigger, ID: 5, Name: oddFormula,
				Owner:     &inventory.Owner{ID: 12, Username: "alice", Type: inventory.OwnerHuman, State: "active", Email: "alice@example.com"},
				Resource:  inventory.Resource{Type: inventory.ResourceProject, ID: 77, Path: "acme/web"},
				CreatedAt: time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC),
				Active:    true,
			},
			RiskScore: 20, Severity: audit.SeverityLow, Unknown: []string{"TA-062"},
			Findings: []audit.Finding{
				{Rule: "TA-015", Severity: audit.SeverityLow, Title: "Trigger token never expires", Detail: "Trigger tokens cannot expire.", Remediation: "Rotate it yearly."},
			},
		},
		{
			Token: inventory.Token{
				Kind: inventory.KindGroupAccess, ID: 900, Name: oddMixed,
				Owner:    &inventory.Owner{ID: 700, Username: "group_7_bot_0a1b2c3d", Type: inventory.OwnerGroupBot, State: "active"},
				Resource: inventory.Resource{Type: inventory.ResourceGroup, ID: 7, Path: "acme", Projects: 120},
				Scopes:   []string{"read_api"}, AccessLevel: 50,
				CreatedAt:  time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
				Expires:    inventory.Expiry{At: day(2026, 12, 15), DateOnly: true},
				LastUsedAt: time.Date(2026, 11, 20, 7, 0, 0, 0, time.UTC), UsageReported: true,
				Active: true,
			},
			RiskScore: 10, Severity: audit.SeverityInfo,
			Findings: []audit.Finding{
				{Rule: "TA-020", Severity: audit.SeverityInfo, Title: "Owner role on a group", Detail: "Owner of acme (120 projects).", Remediation: "Use Maintainer unless it manages members."},
			},
		},
		{
			Token: inventory.Token{
				Kind: inventory.KindPersonal, ID: 102, Name: "laptop",
				Owner:     &inventory.Owner{ID: 2, Username: "bob", Type: inventory.OwnerHuman, State: "active"},
				Resource:  inventory.Resource{Type: inventory.ResourceInstance},
				Scopes:    []string{"read_repository"},
				CreatedAt: time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC),
				Expires:   inventory.Expiry{At: day(2027, 1, 15), DateOnly: true},
				Active:    true,
			},
			RiskScore: 0, Severity: audit.SeverityNone, Findings: []audit.Finding{}, Unknown: []string{"TA-041"},
		},
		{
			Token: inventory.Token{
				Kind: inventory.KindServiceAccount, ID: 300, Name: "+sa-token",
				Owner:     &inventory.Owner{ID: 600, Username: "-svc", Type: inventory.OwnerServiceAccount, State: "active"},
				Resource:  inventory.Resource{Type: inventory.ResourceGroup, ID: 7, Path: "acme"},
				Scopes:    []string{"read_registry"},
				CreatedAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
				Expires:   inventory.Expiry{At: day(2027, 2, 1), DateOnly: true},
				Active:    false, Revoked: true,
			},
			RiskScore: 5, Severity: audit.SeverityNone,
			Findings: []audit.Finding{
				{Rule: "TA-010", Severity: audit.SeverityLow, Title: "Token never used", Detail: "Never used.", Remediation: "Revoke it.", Suppressed: true},
			},
		},
	}
	// The audit's judgement of active, as Evaluate would make it for these
	// GitLab flags (none of them is past its expiry at fixedNow).
	for i := range tokens {
		tokens[i].Active = tokens[i].Token.Active && !tokens[i].Token.Revoked
		// GitLab reports the usage of every kind but deploy tokens.
		tokens[i].Token.UsageReported = tokens[i].Token.Kind != inventory.KindDeploy
	}
	return &audit.Result{
		Inventory: inv,
		Now:       fixedNow,
		Tokens:    tokens,
		Findings: []audit.ResourceFinding{
			{Resource: "instance", Finding: audit.Finding{Rule: "TA-030", Severity: audit.SeverityHigh, Title: "Personal access token expiry is not required", Detail: "require_personal_access_token_expiry is false.", Remediation: "Enable it in Admin > Settings > General."}},
			{Resource: "project acme/platform/backend/services/api-gateway", Finding: audit.Finding{Rule: "TA-031", Severity: audit.SeverityMedium, Title: "CI job token scope allows every project", Detail: "Inbound access is not limited.", Remediation: "Enable the job token allowlist."}},
			{Resource: "project acme/web", Finding: audit.Finding{Rule: "TA-031", Severity: audit.SeverityMedium, Title: "CI job token scope allows every project", Detail: "Inbound access is not limited.", Remediation: "Enable the job token allowlist.", Suppressed: true, SuppressionReason: "public mirror"}},
		},
		ExpiredExceptions: []audit.ExpiredException{
			{Rule: "TA-004", Token: "personal:101", Reason: "legacy automation (SEC-12)", Expired: day(2026, 10, 1)},
		},
		Summary: audit.Summary{
			Tokens: 8,
			BySeverity: map[audit.Severity]int{
				audit.SeverityCritical: 1, audit.SeverityHigh: 1, audit.SeverityMedium: 2,
				audit.SeverityLow: 1, audit.SeverityInfo: 1, audit.SeverityNone: 2,
			},
			ByKind: map[inventory.Kind]int{
				inventory.KindPersonal: 2, inventory.KindImpersonation: 1, inventory.KindServiceAccount: 1,
				inventory.KindProjectAccess: 1, inventory.KindGroupAccess: 1, inventory.KindDeploy: 1,
				inventory.KindPipelineTrigger: 1,
			},
			Findings: map[audit.Severity]int{
				audit.SeverityCritical: 1, audit.SeverityHigh: 3, audit.SeverityMedium: 3,
				audit.SeverityLow: 1, audit.SeverityInfo: 1,
			},
			Suppressed: 3, Gaps: 2, GapErrors: 1, Complete: false,
		},
	}
}

// emptyResult is an audit that found nothing and missed nothing; its maps
// are nil, as a zero Summary's are.
func emptyResult() *audit.Result {
	return &audit.Result{
		Inventory: &inventory.Inventory{
			GitLab: inventory.Instance{URL: "https://gitlab.example.com", Version: "17.5.1", Mode: inventory.ModeSelf},
			Stats:  inventory.Stats{Requests: 3, Duration: 120 * time.Millisecond},
		},
		Now:     fixedNow,
		Summary: audit.Summary{Complete: true},
	}
}

// unavailableInventory is what the collector reads from a GitLab 16.0
// Community Edition as a group owner: one permission gap and two gaps of
// features that GitLab does not have, no error.
func unavailableInventory() *inventory.Inventory {
	return &inventory.Inventory{
		GitLab: inventory.Instance{URL: "https://gitlab.example.com", Version: "16.0.5", Mode: inventory.ModeGroups},
		Gaps: []inventory.Gap{
			{Resource: "group acme", What: "service accounts", Kind: inventory.GapUnavailable, Reason: "not in GitLab Community Edition: service accounts needs GitLab Premium or Ultimate 17.1 or later (https://docs.gitlab.com/api/service_accounts/)"},
			{Resource: "group acme/legacy", What: "group access tokens", Kind: inventory.GapPermission, Reason: "403 Forbidden: the caller is not an Owner of the group"},
			{Resource: "project acme/api", What: "job token scope", Kind: inventory.GapUnavailable, Reason: "not in GitLab 16.0: job token scope came in GitLab 16.1 (https://docs.gitlab.com/api/project_job_token_scopes/)"},
		},
		Stats: inventory.Stats{Requests: 12, Duration: 340 * time.Millisecond},
	}
}

// unavailableResult is the audit of unavailableInventory: no tokens,
// three gaps, two of them unavailable, complete.
func unavailableResult() *audit.Result {
	return &audit.Result{
		Inventory: unavailableInventory(),
		Now:       fixedNow,
		Summary:   audit.Summary{Gaps: 3, GapUnavailable: 2, Complete: true},
	}
}
