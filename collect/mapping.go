package collect

import (
	"regexp"
	"slices"
	"strconv"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// The wire types extend client-go's with the fields it does not decode yet.
// Each is mapped to a Token by exactly one function below; nothing else in
// tokenaudit sees them.

// patWire is an entry of the personal access token lists
// (https://docs.gitlab.com/api/personal_access_tokens/).
type patWire struct {
	gitlab.PersonalAccessToken
	// LastUsedIPs is nil when GitLab did not send the key (GitLab before
	// 17.9, or the key gated off); see gitlab-api/README.md §2.1.
	LastUsedIPs *[]string `json:"last_used_ips"`
	// Impersonation is sent by the impersonation-token endpoints and by
	// newer entities; nil when absent.
	Impersonation *bool `json:"impersonation"`
}

// resourceTokenWire is an entry of /projects/:id/access_tokens,
// /groups/:id/access_tokens and /groups/:id/manage/resource_access_tokens
// (https://docs.gitlab.com/api/project_access_tokens/).
type resourceTokenWire struct {
	gitlab.PersonalAccessToken
	LastUsedIPs  *[]string `json:"last_used_ips"`
	AccessLevel  int       `json:"access_level"`
	ResourceType string    `json:"resource_type"`
	ResourceID   int64     `json:"resource_id"`
}

// triggerWire is an entry of /projects/:id/triggers
// (https://docs.gitlab.com/api/pipeline_triggers/). client-go does not
// decode expires_at (added in GitLab 17.x).
type triggerWire struct {
	gitlab.PipelineTrigger
	ExpiresAt *time.Time `json:"expires_at"`
}

// userWire is an entry of /users, /user or /users/:id. user_type is not in
// GitLab's documented entities but some versions send it; when present it
// wins over the username heuristics.
type userWire struct {
	gitlab.User
	UserType string `json:"user_type"`
}

// settingsWire keeps the token-policy settings as pointers so that a key
// GitLab did not send stays distinguishable from false
// (https://docs.gitlab.com/api/settings/).
type settingsWire struct {
	RequirePersonalAccessTokenExpiry      *bool `json:"require_personal_access_token_expiry"`
	MaxPersonalAccessTokenLifetime        *int  `json:"max_personal_access_token_lifetime"`
	ServiceAccessTokensExpirationEnforced *bool `json:"service_access_tokens_expiration_enforced"`
	ThrottleAuthenticatedAPIEnabled       *bool `json:"throttle_authenticated_api_enabled"`
}

// Source names recorded in Token.Sources.
const (
	srcPATs               = "personal_access_tokens"
	srcPATSelf            = "personal_access_tokens/self"
	srcImpersonation      = "users/:id/impersonation_tokens"
	srcProjectTokens      = "projects/:id/access_tokens"
	srcGroupTokens        = "groups/:id/access_tokens"
	srcDeployTokens       = "deploy_tokens"
	srcProjectDeploy      = "projects/:id/deploy_tokens"
	srcGroupDeploy        = "groups/:id/deploy_tokens"
	srcTriggers           = "projects/:id/triggers"
	srcServiceAccountPATs = "groups/:id/service_accounts/:user_id/personal_access_tokens"
	srcManagePATs         = "groups/:id/manage/personal_access_tokens"
	srcManageResource     = "groups/:id/manage/resource_access_tokens"
)

// botName matches the usernames GitLab gives the bots behind project and
// group access tokens: project_<id>_bot_<32 hex>, group_<id>_bot_<32 hex>, and
// the older project_<id>_bot / project_<id>_bot<n>
// (lib/gitlab/utils/username_and_email_generator.rb; gitlab-api/README.md §5).
var botName = regexp.MustCompile(`^(project|group)_(\d+)_bot(?:\d*|_[0-9a-f]+(?:\d*)?)$`)

// parseBotUsername returns the resource a project or group bot belongs to.
func parseBotUsername(username string) (inventory.ResourceType, int64, bool) {
	m := botName.FindStringSubmatch(username)
	if m == nil {
		return "", 0, false
	}
	id, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return "", 0, false
	}
	if m[1] == "group" {
		return inventory.ResourceGroup, id, true
	}
	return inventory.ResourceProject, id, true
}


// ownerType classifies an account. GitLab has one user_type (project_bot)
// for the bots of project and of group access tokens; the username tells
// them apart (gitlab-api/README.md §5).
func ownerType(username, userType string, bot bool) inventory.OwnerType {
	if rt, _, ok := parseBotUsername(username); ok && (userType == "" || userType == "project_bot") {
		if rt == inventory.ResourceGroup {
			return inventory.OwnerGroupBot
		}
		return inventory.OwnerProjectBot
	}
	switch userType {
	case "human":
		return inventory.OwnerHuman
	case "service_account":
		return inventory.OwnerServiceAccount
	case "project_bot":
		return inventory.OwnerProjectBot
	case "":
	default:
		return inventory.OwnerOtherBot
	}
	// A service account is known from GitLab's lists of them, never from its
	// name: since GitLab 16.10 anyone who creates one may name it
	// (https://docs.gitlab.com/api/service_accounts/). Until a list says
	// so, it is one of the other bots.
	if bot {
		return inventory.OwnerOtherBot
	}
	return inventory.OwnerHuman
}

// mapUser maps a user as an administrator (or the user itself) sees it.
func mapUser(u *userWire) *inventory.Owner {
	o := &inventory.Owner{
		ID:                u.ID,
		Username:          u.Username,
		Type:              ownerType(u.Username, u.UserType, u.Bot),
		Admin:             u.IsAdmin,
		State:             u.State,
		ProjectsReachable: -1,
	}
	if u.LastActivityOn != nil {
		o.LastActivityOn = time.Time(*u.LastActivityOn).UTC()
	}
	return o
}

// mapBasicUser maps a UserBasic (trigger owners, non-admin views): no bot
// flag, no admin flag.
func mapBasicUser(u *gitlab.User) *inventory.Owner {
	if u == nil {
		return nil
	}
	t := inventory.OwnerUnknown
	if rt, _, ok := parseBotUsername(u.Username); ok {
		t = inventory.OwnerProjectBot
		if rt == inventory.ResourceGroup {
			t = inventory.OwnerGroupBot
		}
	}
	return &inventory.Owner{ID: u.ID, Username: u.Username, Type: t, State: u.State, ProjectsReachable: -1}
}

// kindForOwner is the kind of a PAT-table token given its owner's type.
func kindForOwner(t inventory.OwnerType) inventory.Kind {
	switch t {
	case inventory.OwnerServiceAccount:
		return inventory.KindServiceAccount
	case inventory.OwnerProjectBot:
		return inventory.KindProjectAccess
	case inventory.OwnerGroupBot:
		return inventory.KindGroupAccess
	default:
		return inventory.KindPersonal
	}
}

// dateExpiry reads a YYYY-MM-DD expires_at: the token stops working at
// midnight UTC at the start of that day
// (https://docs.gitlab.com/user/profile/personal_access_tokens/).
func dateExpiry(d *gitlab.ISOTime) inventory.Expiry {
	if d == nil || time.Time(*d).IsZero() {
		return inventory.Expiry{}
	}
	t := time.Time(*d)
	return inventory.Expiry{At: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), DateOnly: true}
}

// timeExpiry reads an RFC 3339 expires_at (deploy and trigger tokens).
func timeExpiry(t *time.Time) inventory.Expiry {
	if t == nil || t.IsZero() {
		return inventory.Expiry{}
	}
	return inventory.Expiry{At: utc(t)}
}

// The instants a report can write in RFC 3339 (years 0001 to 9999 in UTC;
// the zero time means absent). GitLab's JSON times parse within years 0000
// to 9999 in their own offset, which can put them past either end in UTC
// ("0000-01-01T00:00:00+01:00"); such a time is kept at the nearest end,
// off by less than a day, rather than written as "-0001-12-31T23:00:00Z".
var (
	minTime = time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

func utc(t *time.Time) time.Time {
	if t == nil || t.IsZero() {
		return time.Time{}
	}
	switch u := t.UTC(); {
	case u.Before(minTime):
		return minTime
	case u.After(maxTime):
		return maxTime
	default:
		return u
	}
}

func ips(p *[]string) []string {
	if p == nil {
		return nil
	}
	return append([]string{}, (*p)...)
}

func scopes(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// mapPAT maps an entry of a personal access token list. kind is decided by
// the caller from the owner; owner may be nil when unknown.
func mapPAT(p *patWire, kind inventory.Kind, owner *inventory.Owner, res inventory.Resource, source string) inventory.Token {
	if p.Impersonation != nil && *p.Impersonation {
		kind = inventory.KindImpersonation
	}
	return inventory.Token{
		Kind:          kind,
		ID:            p.ID,
		Name:          p.Name,
		Description:   p.Description,
		Owner:         ownerOrID(owner, p.UserID),
		Resource:      res,
		Scopes:        scopes(p.Scopes),
		CreatedAt:     utc(p.CreatedAt),
		Expires:       dateExpiry(p.ExpiresAt),
		LastUsedAt:    utc(p.LastUsedAt),
		UsageReported: true,
		LastUsedIPs:   ips(p.LastUsedIPs),
		Active:        p.Active,
		Revoked:       p.Revoked,
		Sources:       []string{source},
	}
}

// mapResourceToken maps a project or group access token from a resource
// list; kind is KindProjectAccess or KindGroupAccess.
func mapResourceToken(p *resourceTokenWire, kind inventory.Kind, owner *inventory.Owner, res inventory.Resource, source string) inventory.Token {
	t := mapPAT(&patWire{PersonalAccessToken: p.PersonalAccessToken, LastUsedIPs: p.LastUsedIPs}, kind, owner, res, source)
	t.AccessLevel = p.AccessLevel
	return t
}

// mapDeployToken maps a deploy token. GitLab reports neither creation nor
// use of deploy tokens (https://docs.gitlab.com/api/deploy_tokens/), so
// UsageReported is false.
func mapDeployToken(d *gitlab.DeployToken, res inventory.Resource, source string) inventory.Token {
	exp := timeExpiry(d.ExpiresAt)
	return inventory.Token{
		Kind:     inventory.KindDeploy,
		ID:       d.ID,
		Name:     d.Name,
		Resource: res,
		Scopes:   scopes(d.Scopes),
		Expires:  exp,
		Active:   !d.Revoked && !d.Expired,
		Revoked:  d.Revoked,
		Sources:  []string{source},
	}
}

// mapTrigger maps a pipeline trigger. GitLab returns the full token value to
// the trigger's owner (https://docs.gitlab.com/api/pipeline_triggers/); it is
// dropped here and nowhere stored. A trigger cannot be revoked, only
// deleted, and GitLab reports no active flag for it: one that is listed is
// active as far as GitLab says; whether its expiry has passed is audit's
// judgement at its own now, not the collector's.
func mapTrigger(tr *triggerWire, owner *inventory.Owner, res inventory.Resource) inventory.Token {
	exp := timeExpiry(tr.ExpiresAt)
	return inventory.Token{
		Kind:          inventory.KindPipelineTrigger,
		ID:            tr.ID,
		Name:          tr.Description,
		Description:   tr.Description,
		Owner:         owner,
		Resource:      res,
		Scopes:        []string{},
		CreatedAt:     utc(tr.CreatedAt),
		Expires:       exp,
		LastUsedAt:    utc(tr.LastUsed),
		UsageReported: true,
		Active:        true,
		Sources:       []string{srcTriggers},
	}
}

// mapSettings maps the token-policy settings.
func mapSettings(s *settingsWire) *inventory.Settings {
	out := &inventory.Settings{
		RequirePersonalAccessTokenExpiry:      s.RequirePersonalAccessTokenExpiry,
		ServiceAccessTokensExpirationEnforced: s.ServiceAccessTokensExpirationEnforced,
		ThrottleAuthenticatedAPIEnabled:       s.ThrottleAuthenticatedAPIEnabled,
	}
	// GitLab sends null for an unset lifetime and some versions 0.
	if v := s.MaxPersonalAccessTokenLifetime; v != nil && *v > 0 {
		out.MaxPersonalAccessTokenLifetime = v
	}
	return out
}

func ownerOrID(o *inventory.Owner, id int64) *inventory.Owner {
	if o != nil {
		c := *o
		return &c
	}
	if id == 0 {
		return nil
	}
	return &inventory.Owner{ID: id, Type: inventory.OwnerUnknown, ProjectsReachable: -1}
}

// merge folds b, the same token seen in another list, into a: fields a
// lacks are taken from b, sources are united.
func merge(a *inventory.Token, b inventory.Token) {
	if a.Kind == inventory.KindPersonal && b.Kind != inventory.KindPersonal {
		a.Kind = b.Kind
	}
	if a.Name == "" {
		a.Name = b.Name
	}
	if a.Description == "" {
		a.Description = b.Description
	}
	a.Owner = mergeOwner(a.Owner, b.Owner)
	if a.Resource.Path == "" && b.Resource.Path != "" || a.Resource.Type == "" || a.Resource.Type == inventory.ResourceInstance && b.Resource.Type != "" && b.Resource.Type != inventory.ResourceInstance {
		a.Resource = b.Resource
	}
	if len(a.Scopes) == 0 {
		a.Scopes = b.Scopes
	}
	a.AccessLevel = max(a.AccessLevel, b.AccessLevel)
	if a.CreatedAt.IsZero() {
		a.CreatedAt = b.CreatedAt
	}
	if a.Expires.Never() {
		a.Expires = b.Expires
	}
	if b.LastUsedAt.After(a.LastUsedAt) {
		a.LastUsedAt = b.LastUsedAt
	}
	a.UsageReported = a.UsageReported || b.UsageReported
	if a.LastUsedIPs == nil || len(a.LastUsedIPs) == 0 && len(b.LastUsedIPs) > 0 {
		if b.LastUsedIPs != nil {
			a.LastUsedIPs = b.LastUsedIPs
		}
	}
	a.Revoked = a.Revoked || b.Revoked
	a.Active = a.Active && b.Active && !a.Revoked
	for _, s := range b.Sources {
		if !slices.Contains(a.Sources, s) {
			a.Sources = append(a.Sources, s)
		}
	}
	slices.Sort(a.Sources)
}

func mergeOwner(a, b *inventory.Owner) *inventory.Owner {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	c := *a
	if c.Username == "" {
		c.Username = b.Username
	}
	if c.Type == inventory.OwnerUnknown || c.Type == "" {
		c.Type = b.Type
	}
	c.Admin = c.Admin || b.Admin
	if c.State == "" {
		c.State = b.State
	}
	if c.LastActivityOn.IsZero() {
		c.LastActivityOn = b.LastActivityOn
	}
	if c.ProjectsReachable < 0 {
		c.ProjectsReachable = b.ProjectsReachable
	}
	return &c
}
