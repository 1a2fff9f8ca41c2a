package audit

import (
	"path"
	"strings"
	"time"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// Token kinds by what GitLab tells about them.
var (
	// patKinds are the tokens GitLab stores as personal access tokens: they
	// have scopes, created_at, expires_at as a date and last_used_at.
	patKinds = []inventory.Kind{
		inventory.KindPersonal, inventory.KindImpersonation, inventory.KindServiceAccount,
		inventory.KindProjectAccess, inventory.KindGroupAccess,
	}
	// scopedKinds have scopes: PAT-type tokens and deploy tokens.
	scopedKinds = append(slicesClone(patKinds), inventory.KindDeploy)
	// createdKinds report created_at: every kind but deploy tokens.
	createdKinds = append(slicesClone(patKinds), inventory.KindPipelineTrigger)
)

func slicesClone(k []inventory.Kind) []inventory.Kind { return append([]inventory.Kind(nil), k...) }

// Scope sets. GitLab's scopes are listed at
// https://docs.gitlab.com/user/profile/personal_access_tokens/#personal-access-token-scopes
// and, for deploy tokens, https://docs.gitlab.com/user/project/deploy_tokens/#scope.
var (
	knownScopes = set(
		"api", "read_api", "read_user", "read_repository", "write_repository",
		"read_registry", "write_registry", "read_virtual_registry", "write_virtual_registry",
		"read_package_registry", "write_package_registry",
		"sudo", "admin_mode", "create_runner", "manage_runner", "ai_features", "k8s_proxy",
		"self_rotate", "read_service_ping", "read_observability", "write_observability",
	)
	adminScopes       = set("sudo", "admin_mode")
	apiScope          = set("api")
	adminReachScopes  = set("api", "sudo")
	deployWriteScopes = set("write_repository", "write_registry", "write_package_registry", "write_virtual_registry")
)

// Rules is tokenaudit's rule catalogue, one entry per rule, sorted by ID.
// IDs are permanent: add new rules with new IDs (groups of ten leave room
// next to their neighbours), never renumber or reuse one, and retire a rule
// by keeping its entry. docs/rules.md is generated from this table.
var Rules = []Rule{
	// Expiry.
	{
		ID:          "TA-001",
		Title:       "Token never expires",
		Principle:   PrincipleExpiryVisibility,
		Severity:    SeverityCritical,
		Hygiene:     15,
		Rationale:   "A leaked token without an expiry date works until someone notices and revokes it, and nobody is ever reminded to review it. GitLab 16.0 stopped creating such tokens, but older ones survive upgrades and instances may turn require_personal_access_token_expiry off.",
		Remediation: "Rotate the token with an expiry date within the maximum lifetime (365 days by default) and turn on require_personal_access_token_expiry; for a service account, service_access_tokens_expiration_enforced.",
		Target:      TargetToken,
		Kinds:       patKinds,
		Token: func(t *inventory.Token, _ *Context) (Outcome, string) {
			if t.Expires.Never() {
				return fail("no expiry date: it works until someone revokes it")
			}
			return pass()
		},
	},
	{
		ID:          "TA-002",
		Title:       "Token lifetime longer than the maximum",
		Principle:   PrincipleBestPractice,
		Severity:    SeverityHigh,
		Hygiene:     8,
		Rationale:   "The token guide's best practice is to keep token lifetimes under 365 days; a longer lifetime leaves a leaked token working longer and rotation rarer. GitLab caps new tokens at 365 days (400 with a feature flag), so a longer one predates the cap or the cap is off. Deploy tokens report no creation time and a trigger's expiry may be set after its creation, so for them only an expiry further away than the maximum is flagged.",
		Remediation: "Rotate the token with an expiry date no later than the maximum lifetime after today, and revoke the old one.",
		Target:      TargetToken,
		Kinds:       inventory.Kinds,
		Token:       checkLifetime,
	},
	{
		ID:          "TA-003",
		Title:       "Token expires within days",
		Principle:   PrincipleExpiryVisibility,
		Severity:    SeverityMedium,
		Rationale:   "Whatever uses the token breaks when it expires (GitLab tokens with an expiry date stop working at 00:00 UTC on that date). Expiry must be visible before it causes an outage.",
		Remediation: "Rotate the token now (POST /personal_access_tokens/:id/rotate or the project/group token rotate endpoints) and update where it is stored; make sure its expiry emails reach someone (a shared address for bot users).",
		Target:      TargetToken,
		Kinds:       inventory.Kinds,
		Token:       checkExpiringUrgent,
	},
	{
		ID:          "TA-004",
		Title:       "Token expires within weeks",
		Principle:   PrincipleExpiryVisibility,
		Severity:    SeverityLow,
		Rationale:   "A token that expires within the month needs a planned rotation so that its expiry causes no outage.",
		Remediation: "Plan the rotation: rotate it through the API before it expires and update where it is stored.",
		Target:      TargetToken,
		Kinds:       inventory.Kinds,
		Token:       checkExpiringSoon,
	},
	{
		ID:          "TA-005",
		Title:       "Expired or revoked token still listed",
		Principle:   PrincipleBestPractice,
		Severity:    SeverityInfo,
		Rationale:   "An expired or revoked token no longer works, but the automation that used it may be failing, and its value may still sit in CI/CD variables or vaults.",
		Remediation: "Remove the token's value from wherever it was stored and retire or migrate what used it; GitLab deletes inactive project and group tokens after the retention period.",
		Target:      TargetToken,
		Kinds:       inventory.Kinds,
		Inactive:    true,
		Token:       checkInactive,
	},

	// Scope.
	{
		ID:          "TA-010",
		Title:       "Token has sudo or admin_mode scope",
		Principle:   PrincipleSmallestScope,
		Severity:    SeverityCritical,
		Rationale:   "sudo lets the token act as any user; admin_mode lets an administrator's token use administrator rights through the API. A leak hands over the whole instance.",
		Remediation: "Revoke it and create a token with the narrowest scope the job needs; keep administration interactive, or give it to a service account PAT with short expiry.",
		Target:      TargetToken,
		Kinds:       scopedKinds,
		Token: func(t *inventory.Token, _ *Context) (Outcome, string) {
			if found := scopesIn(t, adminScopes); len(found) > 0 {
				return fail("scopes include %s", strings.Join(found, ", "))
			}
			return pass()
		},
	},
	{
		ID:          "TA-011",
		Title:       "Token has api scope",
		Principle:   PrincipleSmallestScope,
		Severity:    SeverityHigh,
		Rationale:   "The token guide: never use api scope unless absolutely necessary. api grants complete read and write access to everything the owner can reach, registries and repositories included.",
		Remediation: "Rotate to a token with read_api or the narrowest scopes the job needs (read_repository, write_repository, read_registry); inside CI/CD use the CI job token, which rotates itself.",
		Target:      TargetToken,
		Kinds:       scopedKinds,
		Token: func(t *inventory.Token, _ *Context) (Outcome, string) {
			if hasAny(t, apiScope) {
				return fail("scopes include api: full read and write API access")
			}
			return pass()
		},
	},
	{
		ID:          "TA-012",
		Title:       "Token has a scope tokenaudit does not know",
		Principle:   PrincipleSmallestScope,
		Severity:    SeverityLow,
		Rationale:   "A scope the rule set does not know (a new GitLab scope, a granular token) cannot be judged; it needs a person to review what it grants.",
		Remediation: "Review what the scope grants in GitLab's documentation and drop it if the job does not need it.",
		Target:      TargetToken,
		Kinds:       scopedKinds,
		Token: func(t *inventory.Token, _ *Context) (Outcome, string) {
			var odd []string
			for _, s := range t.Scopes {
				if !knownScopes[s] {
					odd = append(odd, s)
				}
			}
			if len(odd) > 0 {
				return fail("unknown scopes: %s", strings.Join(odd, ", "))
			}
			return pass()
		},
	},

	// Blast radius.
	{
		ID:          "TA-020",
		Title:       "Administrator's token with api or sudo scope",
		Principle:   PrincipleSmallestScope,
		Severity:    SeverityCritical,
		Rationale:   "An administrator's token with api or sudo reaches every project, group and user of the instance; its blast radius is the whole instance. Only an administrator caller sees who is an administrator: otherwise the rule cannot fire.",
		Remediation: "Give automation a service account PAT with only the memberships it needs; an administrator's own tokens should be short-lived and read-only (read_api).",
		Target:      TargetToken,
		Kinds:       []inventory.Kind{inventory.KindPersonal, inventory.KindImpersonation, inventory.KindServiceAccount},
		Token: func(t *inventory.Token, _ *Context) (Outcome, string) {
			if t.Owner == nil {
				return unknown("owner not known")
			}
			if !t.Owner.Admin {
				return pass()
			}
			if found := scopesIn(t, adminReachScopes); len(found) > 0 {
				return fail("owner %s is an administrator; scopes include %s", ownerName(t.Owner), strings.Join(found, ", "))
			}
			return pass()
		},
	},
	{
		ID:          "TA-021",
		Title:       "Group access token",
		Principle:   PrincipleDecisionTree,
		Severity:    SeverityMedium,
		Rationale:   "The token guide rates group access tokens high risk and rarely recommended: the token reaches every project in the group and its subgroups, now and in the future.",
		Remediation: "Prefer a service account PAT added only to the projects it needs, or a project access token for a single project; keep group access tokens for small, well-defined groups.",
		Target:      TargetToken,
		Kinds:       []inventory.Kind{inventory.KindGroupAccess},
		Token: func(t *inventory.Token, _ *Context) (Outcome, string) {
			if t.Resource.Projects >= 0 {
				return fail("reaches every project of %s (%d)", ResourceName(t.Resource), t.Resource.Projects)
			}
			return fail("reaches every project of %s", ResourceName(t.Resource))
		},
	},
	{
		ID:          "TA-022",
		Title:       "Group access token in a large group",
		Principle:   PrincipleDecisionTree,
		Severity:    SeverityHigh,
		Rationale:   "The token guide: avoid group access tokens for groups of more than 10-20 projects; a leak of one exposes all of them.",
		Remediation: "Replace it with a service account PAT added to the specific projects it needs, the decision tree's answer for large groups.",
		Target:      TargetToken,
		Kinds:       []inventory.Kind{inventory.KindGroupAccess},
		Token: func(t *inventory.Token, c *Context) (Outcome, string) {
			if t.Resource.Projects < 0 {
				return unknown("the group's project count is not known")
			}
			if t.Resource.Projects > c.Policy.LargeGroupProjects {
				return fail("%s holds %d projects, more than %d", ResourceName(t.Resource), t.Resource.Projects, c.Policy.LargeGroupProjects)
			}
			return pass()
		},
	},
	{
		ID:          "TA-023",
		Title:       "Resource token at Owner level",
		Principle:   PrincipleSmallestScope,
		Severity:    SeverityHigh,
		Rationale:   "An Owner-level project or group access token can change settings, members and other tokens, and delete the resource.",
		Remediation: "Recreate it at the lowest role the job needs (Reporter, Developer or Maintainer); automation that must manage tokens belongs to a service account PAT.",
		Target:      TargetToken,
		Kinds:       []inventory.Kind{inventory.KindProjectAccess, inventory.KindGroupAccess},
		Token: func(t *inventory.Token, _ *Context) (Outcome, string) {
			if t.AccessLevel == 0 {
				return unknown("access level not known")
			}
			if t.AccessLevel >= 50 {
				return fail("access level %d (Owner) on %s", t.AccessLevel, ResourceName(t.Resource))
			}
			return pass()
		},
	},
	{
		ID:          "TA-024",
		Title:       "Person's token reaches many projects",
		Principle:   PrincipleDecisionTree,
		Severity:    SeverityMedium,
		Rationale:   "A personal access token reaches every project its owner is a member of; the more projects, the larger the blast radius of a leak.",
		Remediation: "Use a service account PAT added to the specific projects the automation needs, and remove the person from projects they no longer need.",
		Target:      TargetToken,
		Kinds:       []inventory.Kind{inventory.KindPersonal, inventory.KindImpersonation},
		Token: func(t *inventory.Token, c *Context) (Outcome, string) {
			if t.Owner == nil || t.Owner.ProjectsReachable < 0 {
				return unknown("the owner's project count is not known")
			}
			if t.Owner.ProjectsReachable > c.Policy.PersonReachProjects {
				return fail("owner %s is a member of %d projects, more than %d", ownerName(t.Owner), t.Owner.ProjectsReachable, c.Policy.PersonReachProjects)
			}
			return pass()
		},
	},

	// Usage.
	{
		ID:          "TA-030",
		Title:       "Token not used recently",
		Principle:   PrincipleSmallestScope,
		Severity:    SeverityMedium,
		Hygiene:     10,
		Rationale:   "A token nobody uses is access nobody needs; if it leaked, its use would stand out to nobody.",
		Remediation: "Revoke it; if something still needs it rarely, document that and add an exception with an expiry date.",
		Target:      TargetToken,
		Kinds:       patKinds,
		Token: func(t *inventory.Token, c *Context) (Outcome, string) {
			if !t.UsageReported {
				return unknown("GitLab does not report usage for this token")
			}
			if t.LastUsedAt.IsZero() {
				return pass() // never used: TA-031
			}
			if idle := c.Now.Sub(t.LastUsedAt); idle > days(c.Policy.StaleDays) {
				return fail("last used %s, %s ago (more than %d days)", date(t.LastUsedAt), formatDays(idle), c.Policy.StaleDays)
			}
			return pass()
		},
	},
	{
		ID:          "TA-031",
		Title:       "Token never used",
		Principle:   PrincipleSmallestScope,
		Severity:    SeverityMedium,
		Hygiene:     8,
		Rationale:   "A token that was never used since its creation weeks ago is probably not needed: it is risk without purpose.",
		Remediation: "Revoke it, and create a token when the need is real.",
		Target:      TargetToken,
		Kinds:       patKinds,
		Token: func(t *inventory.Token, c *Context) (Outcome, string) {
			if !t.UsageReported {
				return unknown("GitLab does not report usage for this token")
			}
			if !t.LastUsedAt.IsZero() {
				return pass()
			}
			if t.CreatedAt.IsZero() {
				return unknown("creation time not known")
			}
			if age := c.Now.Sub(t.CreatedAt); age > days(c.Policy.NeverUsedDays) {
				return fail("never used since its creation on %s, %s ago", date(t.CreatedAt), formatDays(age))
			}
			return pass()
		},
	},

	// Token type.
	{
		ID:          "TA-040",
		Title:       "Legacy bot-user personal access token",
		Principle:   PrincipleDecisionTree,
		Severity:    SeverityMedium,
		Hygiene:     5,
		Rationale:   "A human-type account used by automation (the token guide's bot user PAT) is the last-resort option: manual rotation only, user-level permissions, expiry mails to whoever set up the account.",
		Remediation: "Move the automation to a service account PAT (or a project access token if it needs one project) and revoke this token.",
		Target:      TargetToken,
		Kinds:       []inventory.Kind{inventory.KindPersonal},
		Token: func(t *inventory.Token, c *Context) (Outcome, string) {
			if t.Owner == nil || t.Owner.Username == "" {
				return unknown("owner not known")
			}
			for _, p := range c.Policy.LegacyBotUsers {
				if ok, _ := path.Match(p, t.Owner.Username); ok {
					return fail("owner %s is listed as a legacy bot user (%s)", t.Owner.Username, p)
				}
			}
			return pass()
		},
	},
	{
		ID:          "TA-041",
		Title:       "Active token of a blocked or deactivated account",
		Principle:   PrincipleEasyRotation,
		Severity:    SeverityHigh,
		Hygiene:     12,
		Rationale:   "Nobody can rotate a token whose owner is blocked or deactivated, and unblocking or reactivating the account silently brings the token back.",
		Remediation: "Revoke the token; if the automation behind it is still needed, move it to a service account PAT.",
		Target:      TargetToken,
		Kinds:       patKinds,
		Token: func(t *inventory.Token, _ *Context) (Outcome, string) {
			if t.Owner == nil {
				return unknown("owner state not visible")
			}
			return ownerActive(t.Owner)
		},
	},

	// Rotation.
	{
		ID:          "TA-050",
		Title:       "Token not rotated for a long time",
		Principle:   PrincipleMinimizeRotation,
		Severity:    SeverityLow,
		Hygiene:     5,
		Rationale:   "A token created long ago has had more time to leak, and a process that does not rotate it is manual; the token guide prefers tokens rotated automatically or through the API.",
		Remediation: "Rotate it through the API (the rotate endpoints keep downtime short) and automate the rotation; in CI/CD prefer the CI job token, which rotates itself.",
		Target:      TargetToken,
		Kinds:       createdKinds,
		Token: func(t *inventory.Token, c *Context) (Outcome, string) {
			if t.CreatedAt.IsZero() {
				return unknown("creation time not known")
			}
			if age := c.Now.Sub(t.CreatedAt); age > days(c.Policy.RotationDays) {
				return fail("created %s, %s ago (more than %d days)", date(t.CreatedAt), formatDays(age), c.Policy.RotationDays)
			}
			return pass()
		},
	},

	// Deploy and trigger tokens.
	{
		ID:          "TA-060",
		Title:       "Deploy token never expires",
		Principle:   PrincipleExpiryVisibility,
		Severity:    SeverityHigh,
		Hygiene:     15,
		Rationale:   "Deploy tokens need no expiry date and GitLab reports neither when they were created nor when they were last used: one without expiry is invisible for ever.",
		Remediation: "Recreate the deploy token with an expiry date and revoke this one; inside CI/CD use the CI job token instead.",
		Target:      TargetToken,
		Kinds:       []inventory.Kind{inventory.KindDeploy},
		Token: func(t *inventory.Token, _ *Context) (Outcome, string) {
			if t.Expires.Never() {
				return fail("no expiry date")
			}
			return pass()
		},
	},
	{
		ID:          "TA-061",
		Title:       "Deploy token with write scopes",
		Principle:   PrincipleSmallestScope,
		Severity:    SeverityMedium,
		Rationale:   "A deploy token with write scopes can push code, images or packages, which is a supply-chain risk if it leaks; deploying usually needs read access only.",
		Remediation: "Use read-only deploy token scopes; publish from CI/CD with the CI job token, which can push to the project's own registries.",
		Target:      TargetToken,
		Kinds:       []inventory.Kind{inventory.KindDeploy},
		Token: func(t *inventory.Token, _ *Context) (Outcome, string) {
			if found := scopesIn(t, deployWriteScopes); len(found) > 0 {
				return fail("write scopes: %s", strings.Join(found, ", "))
			}
			return pass()
		},
	},
	{
		ID:          "TA-062",
		Title:       "Pipeline trigger token whose owner is gone or blocked",
		Principle:   PrincipleEasyRotation,
		Severity:    SeverityHigh,
		Hygiene:     12,
		Rationale:   "A trigger runs pipelines as its owner. With the owner deleted or blocked, nobody owns the token or can rotate it, and reactivating the account revives it.",
		Remediation: "Revoke the trigger and create a new one under an active account (GitLab removed taking over a trigger's ownership in 12.1); to start pipelines from other pipelines, use the CI job token.",
		Target:      TargetToken,
		Kinds:       []inventory.Kind{inventory.KindPipelineTrigger},
		Token: func(t *inventory.Token, _ *Context) (Outcome, string) {
			if t.Owner == nil {
				// GitLab sends "owner": null when the user who owns the
				// trigger was deleted (https://docs.gitlab.com/api/pipeline_triggers/).
				return fail("no owner: the account that owned it was deleted")
			}
			return ownerActive(t.Owner)
		},
	},
	{
		ID:          "TA-063",
		Title:       "Pipeline trigger token not used recently",
		Principle:   PrincipleSmallestScope,
		Severity:    SeverityMedium,
		Hygiene:     10,
		Rationale:   "A trigger token nobody uses can still start pipelines, with their secrets, as its owner.",
		Remediation: "Revoke it if nothing uses it; to start pipelines from other pipelines, use the CI job token.",
		Target:      TargetToken,
		Kinds:       []inventory.Kind{inventory.KindPipelineTrigger},
		Token: func(t *inventory.Token, c *Context) (Outcome, string) {
			if !t.UsageReported {
				return unknown("usage not reported")
			}
			limit := days(c.Policy.TriggerUnusedDays)
			if !t.LastUsedAt.IsZero() {
				if idle := c.Now.Sub(t.LastUsedAt); idle > limit {
					return fail("last used %s, %s ago (more than %d days)", date(t.LastUsedAt), formatDays(idle), c.Policy.TriggerUnusedDays)
				}
				return pass()
			}
			if t.CreatedAt.IsZero() {
				return unknown("creation time not known")
			}
			if age := c.Now.Sub(t.CreatedAt); age > limit {
				return fail("never used since its creation on %s, %s ago", date(t.CreatedAt), formatDays(age))
			}
			return pass()
		},
	},

	// Instance and project policy.
	{
		ID:          "TA-070",
		Title:       "Instance does not require token expiry",
		Principle:   PrincipleExpiryVisibility,
		Severity:    SeverityHigh,
		Rationale:   "With require_personal_access_token_expiry off (GitLab 17.3+), personal, project and group access tokens may again be created without an expiry date.",
		Remediation: "Turn require_personal_access_token_expiry on (Admin > Settings > General > Account and limit, or PUT /application/settings).",
		Target:      TargetInstance,
		Instance: func(s *inventory.Settings, _ *Context) (Outcome, string) {
			if s.RequirePersonalAccessTokenExpiry == nil {
				return unknown("require_personal_access_token_expiry not sent")
			}
			if !*s.RequirePersonalAccessTokenExpiry {
				return fail("require_personal_access_token_expiry is off")
			}
			return pass()
		},
	},
	{
		ID:          "TA-071",
		Title:       "Instance maximum token lifetime unset or too long",
		Principle:   PrincipleBestPractice,
		Severity:    SeverityMedium,
		Rationale:   "max_personal_access_token_lifetime (Ultimate) caps the lifetime of new tokens; unset, GitLab allows 365 days, or 400 with the buffered_token_expiration_limit flag. The instance should enforce the policy's maximum itself.",
		Remediation: "Set max_personal_access_token_lifetime to at most the policy's maximum lifetime (PUT /application/settings).",
		Target:      TargetInstance,
		Instance: func(s *inventory.Settings, c *Context) (Outcome, string) {
			if s.MaxPersonalAccessTokenLifetime == nil {
				return fail("max_personal_access_token_lifetime is unset")
			}
			if v := *s.MaxPersonalAccessTokenLifetime; v > c.Policy.MaxLifetimeDays {
				return fail("max_personal_access_token_lifetime is %d days, more than %d", v, c.Policy.MaxLifetimeDays)
			}
			return pass()
		},
	},
	{
		ID:          "TA-072",
		Title:       "Project's CI/CD job token allowlist is off",
		Principle:   PrincipleSmallestScope,
		Severity:    SeverityMedium,
		Rationale:   "With the inbound job token allowlist off, CI/CD jobs of any project can use their job token to reach this project's repositories, packages and API endpoints.",
		Remediation: "Turn the inbound job token allowlist on in the project's CI/CD job token settings (PATCH /projects/:id/job_token_scope with enabled=true) and allowlist only the projects and groups that need access.",
		Target:      TargetProject,
		Project: func(p *inventory.Project, _ *Context) (Outcome, string) {
			if p.JobTokenScope == nil {
				return unknown("job token scope not read")
			}
			if !p.JobTokenScope.InboundEnabled {
				return fail("inbound job token allowlist is off: any project's CI/CD jobs can reach it")
			}
			return pass()
		},
	},
}

// checkLifetime judges TA-002. For the tokens GitLab stores as personal
// access tokens, the lifetime runs from creation to expiry: their expiry
// cannot change except by rotation, which makes a new token. GitLab caps
// expires_at at the creation date plus the maximum lifetime, both dates
// (https://docs.gitlab.com/user/profile/personal_access_tokens/#access-token-expiration),
// so the lifetime is counted in whole days from the UTC creation date:
// created any time on 2026-01-01, an expiry of 2027-01-01 is 365 days,
// 2027-01-02 is 366.
//
// Deploy tokens have no created_at, and a trigger's expires_at can be set
// long after its creation (https://docs.gitlab.com/api/pipeline_triggers/),
// so for them only a lower bound is known: the time left from now. More
// than the maximum left is a failure; less is unknown.
func checkLifetime(t *inventory.Token, c *Context) (Outcome, string) {
	if t.Expires.Never() {
		return pass() // TA-001 and TA-060 judge that
	}
	limit := days(c.Policy.MaxLifetimeDays)
	if t.Kind == inventory.KindDeploy || t.Kind == inventory.KindPipelineTrigger || t.CreatedAt.IsZero() {
		if left := t.Expires.At.Sub(c.Now); left > limit {
			return fail("expires %s, %s from now (more than %d days)", t.Expires.String(), formatDays(left), c.Policy.MaxLifetimeDays)
		}
		return unknown("lifetime not known: no creation time, or an expiry that may have been set later")
	}
	start := t.CreatedAt
	if t.Expires.DateOnly {
		start = t.CreatedAt.UTC().Truncate(24 * time.Hour)
	}
	if life := t.Expires.At.Sub(start); life > limit {
		return fail("expires %s, %s after its creation on %s (more than %d days)",
			t.Expires.String(), formatDaysCeil(life), date(t.CreatedAt), c.Policy.MaxLifetimeDays)
	}
	return pass()
}

// remaining returns how long the token still works at c.Now, and false for
// a token that never expires.
func remaining(t *inventory.Token, c *Context) (time.Duration, bool) {
	if t.Expires.Never() {
		return 0, false
	}
	return t.Expires.At.Sub(c.Now), true
}

// checkExpiringUrgent judges TA-003: the token stops working within
// ExpiringUrgentDays. A date-only expiry stops the token at 00:00 UTC that
// day, which inventory.Expiry.At already holds.
func checkExpiringUrgent(t *inventory.Token, c *Context) (Outcome, string) {
	left, ok := remaining(t, c)
	if !ok || left <= 0 || left > days(c.Policy.ExpiringUrgentDays) {
		return pass()
	}
	return fail("expires %s, in %s", t.Expires.String(), formatLeft(left))
}

// checkExpiringSoon judges TA-004: the token stops working within
// ExpiringSoonDays but not within ExpiringUrgentDays, unless TA-003 is
// turned off, in which case TA-004 covers those tokens too.
func checkExpiringSoon(t *inventory.Token, c *Context) (Outcome, string) {
	left, ok := remaining(t, c)
	if !ok || left <= 0 || left > days(c.Policy.ExpiringSoonDays) {
		return pass()
	}
	if left <= days(c.Policy.ExpiringUrgentDays) && c.Enabled("TA-003") {
		return pass()
	}
	return fail("expires %s, in %s", t.Expires.String(), formatLeft(left))
}

// checkInactive judges TA-005 on tokens that no longer work.
func checkInactive(t *inventory.Token, c *Context) (Outcome, string) {
	switch {
	case t.Revoked:
		return fail("revoked")
	case !t.Expires.Never() && !c.Now.Before(t.Expires.At):
		return fail("expired %s", t.Expires.String())
	default:
		return fail("inactive")
	}
}

// formatLeft writes the time left before expiry.
func formatLeft(d time.Duration) string {
	if d < 24*time.Hour {
		return "less than a day"
	}
	return formatDays(d)
}

// formatDaysCeil writes a duration as days, rounded up.
func formatDaysCeil(d time.Duration) string {
	day := 24 * time.Hour
	return formatDays((d + day - 1) / day * day)
}
