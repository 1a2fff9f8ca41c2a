// Package inventory holds tokenaudit's domain model (Token, Owner, Resource,
// Gap, Inventory): GitLab's facts about its tokens, and nothing that judges
// them. Package collect fills it from GitLab; audit judges it.
//
// The model never carries a token's secret value: there is no field for it.
// GitLab returns pipeline trigger tokens in full to their creator; that value
// is dropped where the API answer is mapped to a Token.
package inventory

import (
	"encoding/json"
	"time"
)

// Kind is the type of an access token.
type Kind string

// The token kinds tokenaudit knows. The string values are part of the JSON
// and CSV report contract (README, "Reports").
const (
	KindPersonal        Kind = "personal"
	KindImpersonation   Kind = "impersonation"
	KindServiceAccount  Kind = "service_account"
	KindProjectAccess   Kind = "project_access"
	KindGroupAccess     Kind = "group_access"
	KindDeploy          Kind = "deploy"
	KindPipelineTrigger Kind = "pipeline_trigger"
)

// Kinds lists every kind in report order.
var Kinds = []Kind{
	KindPersonal, KindImpersonation, KindServiceAccount,
	KindProjectAccess, KindGroupAccess, KindDeploy, KindPipelineTrigger,
}

// OwnerType classifies the account a token belongs to.
type OwnerType string

// Owner types. GitLab uses one user_type (project_bot) for the bots behind
// both project and group access tokens; tokenaudit tells them apart by the
// bot's username (project_<id>_bot_<hex> or group_<id>_bot_<hex>).
const (
	OwnerHuman          OwnerType = "human"
	OwnerServiceAccount OwnerType = "service_account"
	OwnerProjectBot     OwnerType = "project_bot"
	OwnerGroupBot       OwnerType = "group_bot"
	OwnerOtherBot       OwnerType = "other_bot"
	OwnerUnknown        OwnerType = "unknown"
)

// Owner is the account a token belongs to, as far as the caller may see it.
type Owner struct {
	ID       int64     `json:"id"`
	Username string    `json:"username"`
	Type     OwnerType `json:"type"`
	// Admin is true for an instance administrator. False when unknown
	// (non-administrators do not see is_admin of other users).
	Admin bool `json:"admin"`
	// State is GitLab's user state: active, blocked, deactivated, banned,
	// ldap_blocked, blocked_pending_approval. Empty when not visible.
	State string `json:"state"`
	// Email is the address GitLab shows the caller: the account's email to
	// an administrator (and to the account itself), else its public_email
	// when the user set one (https://docs.gitlab.com/api/users/). Empty
	// when not visible.
	Email string `json:"-"`
	// LastActivityOn is the last day GitLab saw the account active (a date,
	// midnight UTC). Zero when not visible.
	LastActivityOn time.Time `json:"-"`
	// ProjectsReachable is the number of projects the account is a member of,
	// where the collector knows it; -1 when unknown.
	ProjectsReachable int `json:"-"`
}

// ResourceType says what a token is attached to.
type ResourceType string

// Resource types.
const (
	ResourceInstance ResourceType = "instance"
	ResourceGroup    ResourceType = "group"
	ResourceProject  ResourceType = "project"
)

// Resource is the instance, group or project a token belongs to or gives
// access to. Personal, impersonation and instance service-account tokens
// belong to the instance; project and group access tokens, deploy tokens and
// pipeline triggers to their project or group; group service accounts to
// their top-level group.
type Resource struct {
	Type ResourceType `json:"type"`
	ID   int64        `json:"id"`
	// Path is the full path (group/subgroup/project). Empty for the instance,
	// and when the resource could not be read (a bot whose project is gone).
	Path string `json:"path"`
	// Projects is, for a group, the number of projects below it (subgroups
	// included, shared projects not); -1 when unknown; 0 for other types.
	Projects int  `json:"-"`
	Archived bool `json:"-"`
}

// Expiry is when a token stops working. The zero value means the token never
// expires, which is a value, not an error.
type Expiry struct {
	// At is the instant the token stops working. GitLab's personal, project
	// and group tokens expire at midnight UTC at the start of their
	// expires_at date (https://docs.gitlab.com/user/profile/personal_access_tokens/).
	At time.Time
	// DateOnly is true when GitLab sent a YYYY-MM-DD date (personal, project
	// and group tokens), false for an RFC 3339 time (deploy and trigger tokens).
	DateOnly bool
}

// Never reports whether the token has no expiry.
func (e Expiry) Never() bool { return e.At.IsZero() }

// String returns the expiry in GitLab's own form: YYYY-MM-DD for a date,
// RFC 3339 in UTC for a time, and "" for never.
func (e Expiry) String() string {
	switch {
	case e.Never():
		return ""
	case e.DateOnly:
		return e.At.UTC().Format(time.DateOnly)
	default:
		return e.At.UTC().Format(time.RFC3339)
	}
}

// MarshalJSON writes GitLab's form, or null for never.
func (e Expiry) MarshalJSON() ([]byte, error) {
	if e.Never() {
		return []byte("null"), nil
	}
	return json.Marshal(e.String())
}

// Token is one access token as the auditor sees it. It never carries the
// secret value.
type Token struct {
	Kind        Kind   `json:"kind"`
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Owner is nil for deploy tokens (they belong to no user) and for
	// triggers whose owner GitLab does not name.
	Owner *Owner `json:"owner"`
	// Username is a deploy token's own username (gitlab+deploy-token-5),
	// which a registry or Git login shows; "" for other kinds.
	Username string   `json:"-"`
	Resource Resource `json:"resource"`
	// Scopes as GitLab sent them; unknown scopes are kept as they are.
	Scopes []string `json:"scopes"`
	// AccessLevel is the role of a project or group access token's bot
	// (10 Guest … 50 Owner); 0 where it does not apply or is unknown.
	AccessLevel int `json:"access_level"`
	// CreatedAt is zero when GitLab does not report it (deploy tokens).
	CreatedAt time.Time `json:"created_at"`
	Expires   Expiry    `json:"expires_at"`
	// LastUsedAt is zero when the token was never used, or when GitLab does
	// not report usage for this kind (UsageReported false).
	LastUsedAt    time.Time `json:"last_used_at"`
	UsageReported bool      `json:"-"`
	// LastUsedIPs is nil when GitLab did not send the field, empty when it
	// sent an empty list.
	LastUsedIPs []string `json:"last_used_ips,omitempty"`
	// Active is GitLab's active flag as it was sent, judged on GitLab's
	// clock; for pipeline triggers, for which GitLab sends none, true. Whether
	// a token works at the audit's time is audit's judgement, not the
	// inventory's: the model keeps GitLab's facts only.
	Active  bool `json:"active"`
	Revoked bool `json:"revoked"`
	// Sources names the API lists the token was seen in, sorted
	// (for example "personal_access_tokens", "projects/:id/access_tokens").
	Sources []string `json:"-"`
	// WebURL is the GitLab page where the token is rotated or revoked, as
	// a report read back carries it; "" lets the report derive it from the
	// instance's URL (report.TokenWebURL).
	WebURL string `json:"-"`
}

// Key identifies a token in an inventory: (kind, id) is unique.
type Key struct {
	Kind Kind
	ID   int64
}

// Key returns the token's identity.
func (t Token) Key() Key { return Key{t.Kind, t.ID} }

// JobTokenScope is a project's CI/CD job token scope
// (https://docs.gitlab.com/api/project_job_token_scopes/).
type JobTokenScope struct {
	// InboundEnabled is whether only allowlisted projects and groups may
	// use their CI/CD job token against this project.
	InboundEnabled bool `json:"inbound_enabled"`
}

// Project is a project the collector read per-project settings of.
type Project struct {
	Resource      Resource       `json:"resource"`
	JobTokenScope *JobTokenScope `json:"job_token_scope"` // nil: not read
}

// Settings are the instance's token-policy settings
// (https://docs.gitlab.com/api/settings/). Nil fields were not sent.
type Settings struct {
	RequirePersonalAccessTokenExpiry      *bool `json:"require_personal_access_token_expiry"`
	MaxPersonalAccessTokenLifetime        *int  `json:"max_personal_access_token_lifetime"` // days; nil: unset
	ServiceAccessTokensExpirationEnforced *bool `json:"service_access_tokens_expiration_enforced"`
	ThrottleAuthenticatedAPIEnabled       *bool `json:"throttle_authenticated_api_enabled"`
}

// Mode is how the collector chose its sources.
type Mode string

// Collection modes (README, "The token tokenaudit needs").
const (
	ModeAuto     Mode = "auto"
	ModeInstance Mode = "instance"
	ModeGroups   Mode = "groups"
	ModeSelf     Mode = "self"
)

// GapKind says why something was not read.
type GapKind string

// Gap kinds: a permission gap is expected for the caller's role and does not
// fail a run; an error gap is a failed fetch and makes the run incomplete;
// an unavailable gap is something this GitLab's version or edition does not
// have (its reason says from which version GitLab has it), which never
// fails a run.
const (
	GapPermission  GapKind = "permission"
	GapError       GapKind = "error"
	GapUnavailable GapKind = "unavailable"
)

// Gap records something the collector could not read. Nothing is dropped
// silently: every refusal and every failed fetch becomes a Gap.
type Gap struct {
	// Resource names what was being read: "instance", "group acme/infra",
	// "project acme/api".
	Resource string `json:"resource"`
	// What was not read: "project access tokens", "pipeline triggers", ...
	What   string  `json:"what"`
	Kind   GapKind `json:"kind"`
	Reason string  `json:"reason"`
	// GitLabURL is the instance the gap is in, set only where reports of
	// several instances are merged (tokenaudit merge).
	GitLabURL string `json:"-"`
}

// Instance describes the GitLab the inventory was read from.
type Instance struct {
	URL        string `json:"url"`
	Version    string `json:"version"`
	Mode       Mode   `json:"mode"`
	ModeReason string `json:"-"`
	Admin      bool   `json:"admin"`
	// Caller is the username of the token tokenaudit ran with.
	Caller string `json:"-"`
}

// Stats are figures about the collection itself.
type Stats struct {
	Requests int           // HTTP requests made, retries included
	Duration time.Duration // wall time of Collect
}

// Inventory is everything the collector saw, in a deterministic order:
// tokens sorted by kind (in Kinds order) then id, projects by id, gaps by
// resource then what.
type Inventory struct {
	GitLab   Instance
	Tokens   []Token
	Projects []Project
	Settings *Settings // nil: not readable
	Gaps     []Gap
	Stats    Stats
}

// Complete reports whether the inventory has no gap of kind error.
func (inv *Inventory) Complete() bool {
	for _, g := range inv.Gaps {
		if g.Kind == GapError {
			return false
		}
	}
	return true
}
