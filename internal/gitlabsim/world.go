// Package gitlabsim is a GitLab REST API simulator: a seeded GitLab instance
// served over HTTP, with the part of GitLab's GraphQL API at /api/graphql
// that graphql_schema.go lists (Options.NoGraphQL turns it off). Every test, the demo and every benchmark of tokenaudit run
// against it. It is shaped after GitLab as https://docs.gitlab.com/api/rest/
// documents it, never after tokenaudit, and it imports none of tokenaudit's
// packages.
//
// A World is the instance's data and the ground truth of tests: every user,
// group, project and token, with the secret values the simulator hands out.
package gitlabsim

import "time"

// World is a whole GitLab instance. Its exported fields are the ground truth
// that tests and benchmarks compare against. IDs are unique per collection
// and positive; slices are ordered by ID.
//
// A World comes from Generate (a preset, a seed and GenOptions: WithVersion,
// WithGitLabCom, WithAdminMode) or from a scenario file (LoadScenario,
// ParseScenario). Its Version and edition decide what is served
// (versions.go). Ground-truth helpers read it: TokenCounts, PlantCounts,
// TokenKind, GroupProjectCount, Visible (what one caller can list, by the
// server's own rules; also Server.Visible), and the well-known callers
// AdminToken, AdminModeToken and GroupOwnerToken, whose tokens are tokens
// of the World like any other.
type World struct {
	// Now is the instance's "today": generated dates are relative to it and
	// the server judges expiry by it.
	Now time.Time
	// Version is the GitLab served: "18.5.1-ee", "16.11.0-ce" (CE), a
	// bare or -pre version (EE on GitLab.com, else CE); "" or a malformed
	// one serve GeneratorVersion (versions.go).
	Version  string
	Revision string
	// GitLabCom serves the instance as GitLab.com: no administrator, the
	// credentials-inventory endpoints (/groups/:id/manage/...) work from
	// 18.6, the admin-only instance endpoints answer as on GitLab.com.
	GitLabCom bool
	// CredentialsInventoryOff turns the flag manage_pat_by_group_owners_ready
	// off (GitLab.com 18.6 had it off by default, 18.7 removed it): the
	// /groups/:id/manage routes then answer 404
	// (https://docs.gitlab.com/api/groups/#credentials-inventory-management).
	CredentialsInventoryOff bool
	// LastUsedIPs controls the last_used_ips key on token entities:
	// "absent" (key not sent), "empty" (always []), "populated" (the stored
	// IPs). The zero value means "populated".
	LastUsedIPs string
	// GranularPATsFlag turns the flag granular_personal_access_tokens on
	// (on by default from 19.2): without it a granular token is served
	// with active false
	// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/entities/personal_access_token.rb).
	GranularPATsFlag bool

	Settings Settings

	Users        []*User
	Groups       []*Group
	Projects     []*Project
	Tokens       []*PersonalAccessToken // personal, impersonation, bot and service-account tokens
	DeployTokens []*DeployToken
	Triggers     []*Trigger
}

// GitLab's user_type values that matter here
// (app/models/concerns/has_user_type.rb).
const (
	UserTypeHuman          = "human"
	UserTypeProjectBot     = "project_bot" // bots of project and of group access tokens
	UserTypeServiceAccount = "service_account"
)

// User is a GitLab user account.
type User struct {
	ID       int64
	Username string
	Name     string
	Email    string
	// State: active, blocked, deactivated, banned, ldap_blocked, blocked_pending_approval.
	State    string
	Admin    bool
	UserType string // UserType* constants
	// BotSourceType and BotSourceID name the project ("project") or group
	// ("group") a project_bot user belongs to; the bot's username is
	// project_<id>_bot_<32 hex> or group_<id>_bot_<32 hex>.
	BotSourceType string
	BotSourceID   int64
	// ServiceAccountGroupID is the top-level group of a group service
	// account; 0 for an instance service account or a non-service account.
	ServiceAccountGroupID int64
	// External is GitLab's external user flag (GET /users?external=true).
	// Generated Worlds hold no external user: what one may see (internal
	// projects and groups only as a member) is not modelled.
	External  bool
	CreatedAt time.Time
	// UpdatedAt is users.updated_at, the last change to the record: no user
	// entity shows it, GET /users?order_by=updated_at sorts by it. Zero
	// means CreatedAt.
	UpdatedAt      time.Time
	LastActivityOn *time.Time // a date (midnight UTC); nil: never
}

// Bot reports whether GitLab shows the user with "bot": true.
func (u *User) Bot() bool { return u.UserType != UserTypeHuman }

// Membership gives a user a role in a group or project.
type Membership struct {
	UserID      int64
	AccessLevel int // 10 Guest, 15 Planner, 20 Reporter, 30 Developer, 40 Maintainer, 50 Owner
}

// AccessRequest is a user's pending request to join a group or project: a
// member row with requested_at set and the Developer level asked for
// (Members::RequestAccessService). It grants nothing; GET
// /users/:id/memberships without type lists it like a membership
// (https://docs.gitlab.com/api/access_requests/).
type AccessRequest struct {
	UserID      int64
	RequestedAt time.Time
}

// Group is a group; ParentID 0 makes it top-level.
type Group struct {
	ID         int64
	Name       string
	Path       string // the last path segment
	ParentID   int64
	Visibility string // private, internal, public
	CreatedAt  time.Time
	Members    []Membership // direct members
	// AccessRequests are the group's pending access requests.
	AccessRequests []AccessRequest
	// Plan is a top-level group's GitLab.com subscription: free, premium or
	// ultimate; "" counts as ultimate. It gates the group service accounts
	// (Premium) and the credentials inventory (Ultimate) on GitLab.com.
	Plan string
	// RequireDPoPForManageAPI is the group setting
	// require_dpop_for_manage_api_endpoints (17.10; false since an 18.0
	// migration): the /groups/:id/manage routes then refuse requests
	// without a DPoP proof.
	RequireDPoPForManageAPI bool
}

// JobTokenScope is a project's CI/CD job token scope settings.
type JobTokenScope struct {
	InboundEnabled      bool
	AllowlistProjectIDs []int64
	AllowlistGroupIDs   []int64
}

// Project is a project in a group (GroupID) or a user namespace (UserID).
type Project struct {
	ID             int64
	Name           string
	Path           string // the last path segment
	GroupID        int64  // 0: in the namespace of UserID
	UserID         int64
	Archived       bool
	Visibility     string
	CreatedAt      time.Time
	LastActivityAt time.Time
	Members        []Membership // direct members
	AccessRequests []AccessRequest
	JobTokenScope  JobTokenScope
}

// PersonalAccessToken is any token GitLab stores as a personal access token:
// a person's own, an impersonation token, a service account's, and the
// tokens of project and group bots (project and group access tokens).
type PersonalAccessToken struct {
	ID            int64
	UserID        int64
	Name          string
	Description   string // "" is sent as null
	Scopes        []string
	CreatedAt     time.Time
	ExpiresAt     *time.Time // a date (midnight UTC); nil: never expires
	LastUsedAt    *time.Time
	LastUsedIPs   []string
	Revoked       bool
	Impersonation bool
	// Granular is a fine-grained token (GitLab 18.10 beta), which the
	// simulator serves but gives no granular scopes.
	Granular bool
	// Value is the secret the simulator accepts in PRIVATE-TOKEN or
	// Authorization: Bearer. It is never served in any list.
	Value string
	// Plant is the generator's label of what it planted in this token, for
	// tests ("healthy", "never-expires", "api-scope", ...). Never served.
	Plant string
}

// DeployToken is a project or group deploy token.
type DeployToken struct {
	ID        int64
	Name      string
	Username  string
	ProjectID int64 // exactly one of ProjectID and GroupID is set
	GroupID   int64
	ExpiresAt *time.Time // nil: never expires
	Revoked   bool
	Scopes    []string
	Value     string // never served in lists
	Plant     string
}

// Trigger is a project's pipeline trigger token.
type Trigger struct {
	ID          int64
	ProjectID   int64
	OwnerID     int64 // 0: no owner (the user was deleted)
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	LastUsed    *time.Time
	ExpiresAt   *time.Time
	Value       string // glptt-…; served in full only to its owner
	Plant       string
}

// Settings are the application settings that govern tokens
// (GET /application/settings).
type Settings struct {
	RequirePersonalAccessTokenExpiry      bool
	MaxPersonalAccessTokenLifetime        *int // days; nil: unset
	ServiceAccessTokensExpirationEnforced bool
	PersonalAccessTokenPrefix             string
	ThrottleAuthenticatedAPIEnabled       bool
	ThrottleAuthenticatedAPIRequests      int
	ThrottleAuthenticatedAPIPeriodSeconds int
	// AdminMode is the admin_mode setting (Admin > Settings > General >
	// Sign-in restrictions): with it on, an administrator's token acts as
	// an administrator only if it has the admin_mode scope
	// (https://docs.gitlab.com/administration/settings/sign_in_restrictions/#admin-mode,
	// https://docs.gitlab.com/user/profile/personal_access_tokens/#personal-access-token-scopes).
	AdminMode bool
}
