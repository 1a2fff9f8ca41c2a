package collect

import (
	"encoding/json"
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
	// 17.9, or the key gated off; https://docs.gitlab.com/api/personal_access_tokens/).
	LastUsedIPs *[]string `json:"last_used_ips"`
	// Impersonation is sent by the impersonation-token endpoints and by
	// newer entities; nil when absent.
	Impersonation *bool `json:"impersonation"`
	// Granular and Expired come with newer PAT entities; nil when absent.
	Granular *bool `json:"granular"`
	Expired  *bool `json:"expired"`
	// sent says which of the fields GitLab always sends were in the
	// answer, so that a missing one is not read as false; set where the
	// answer is decoded (decodePage, get), from patKeys.
	sent patFields
}

// patFields records which of the always-sent fields of a personal or
// resource access token an answer held: id, name, revoked, created_at,
// scopes, user_id, active and expires_at are in every entry of GitLab's
// examples (https://docs.gitlab.com/api/personal_access_tokens/,
// https://docs.gitlab.com/api/project_access_tokens/). Of these, a missing
// active or revoked would be read as false and a missing scopes as none,
// each a guess that can hide a risk; the id is checked by its value.
type patFields struct {
	active, revoked, scopes bool
}

// patKeys is decoded from an entry besides the entry itself, to tell
// which of the always-sent fields it held (patFields); sentKey decodes
// nothing but that, so the second pass allocates nothing.
type patKeys struct {
	Active  sentKey `json:"active"`
	Revoked sentKey `json:"revoked"`
	Scopes  sentKey `json:"scopes"`
}

func (k patKeys) fields() patFields {
	return patFields{active: bool(k.Active), revoked: bool(k.Revoked), scopes: bool(k.Scopes)}
}

// sentKey is true when its key was sent with a value other than null.
type sentKey bool

func (s *sentKey) UnmarshalJSON(b []byte) error {
	*s = string(b) != "null"
	return nil
}

// keyed is a wire type that tracks its always-sent fields (patFields).
type keyed interface{ setSent(patFields) }

func (p *patWire) setSent(f patFields) { p.sent = f }

// resourceTokenWire is an entry of /projects/:id/access_tokens,
// /groups/:id/access_tokens and /groups/:id/manage/resource_access_tokens
// (https://docs.gitlab.com/api/project_access_tokens/).
type resourceTokenWire struct {
	gitlab.PersonalAccessToken
	LastUsedIPs  *[]string `json:"last_used_ips"`
	AccessLevel  int       `json:"access_level"`
	ResourceType string    `json:"resource_type"`
	ResourceID   int64     `json:"resource_id"`
	sent         patFields
}

func (p *resourceTokenWire) setSent(f patFields) { p.sent = f }

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
	// ProvisionedByGroupID is the group that created the user, which
	// Premium and Ultimate show administrators
	// (https://docs.gitlab.com/api/users/#as-an-administrator); for a
	// service account, the group it belongs to.
	ProvisionedByGroupID optionalID `json:"provisioned_by_group_id"`
}

// optionalID is an ID GitLab may send, send as null, or leave out.
type optionalID struct {
	Sent bool
	ID   int64
}

// UnmarshalJSON is called for null too, which is sent but no ID.
func (o *optionalID) UnmarshalJSON(b []byte) error {
	o.Sent = true
	if string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, &o.ID)
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
	srcGQLTriggers        = "graphql Project.pipelineTriggers"
	srcGQLMemberships     = "graphql UserCore memberships"
	srcServiceAccountPATs = "groups/:id/service_accounts/:user_id/personal_access_tokens"
	srcManagePATs         = "groups/:id/manage/personal_access_tokens"
	srcManageResource     = "groups/:id/manage/resource_access_tokens"
)

// botName matches the usernames GitLab gives the bots behind project and
// group access tokens: project_<id>_bot_<32 hex>, group_<id>_bot_<32 hex>, and
// the older project_<id>_bot / project_<id>_bot<n>
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/gitlab/utils/username_and_email_generator.rb).
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
// them apart (https://docs.gitlab.com/user/project/settings/project_access_tokens/#bot-users-for-projects).
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
		Email:             u.Email,
		ProjectsReachable: -1,
	}
	// email is in the administrator's entities (and GET /user's);
	// public_email is what anyone else sees, when the user set one
	// (https://docs.gitlab.com/api/users/).
	if o.Email == "" {
		o.Email = u.PublicEmail
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
		Active:        patActive(p),
		Revoked:       p.Revoked,
		Sources:       []string{source},
	}
}

// patActive is GitLab's active flag, but for a granular token: GitLab sends
// active false for one when the caller lacks the granular tokens feature,
// although the token works for its owner. A granular token that is neither
// revoked nor expired is therefore taken as active, the reading that hides
// no risk; audit still judges its expiry at its own time.
func patActive(p *patWire) bool {
	if p.Granular != nil && *p.Granular && !p.Active && !p.Revoked && (p.Expired == nil || !*p.Expired) {
		return true
	}
	return p.Active
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
		Username: d.Username,
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

// record is what the list reader (listAll) needs of the entries of a token
// list: the id, the always-sent fields an entry lacks, and how two
// different entries with the same id in one list compare and combine.
type record[T any] interface {
	recordID() int64
	// missing names the fields GitLab always sends that this entry lacks.
	missing() []string
	// differs names the fields where o, another entry with the same id,
	// says something else, leaving out usage (last_used_at,
	// last_used_ips): it moves on its own between two page reads.
	differs(o *T) []string
	// foldRiskier folds o into the receiver, keeping the riskier reading
	// of each field: active over inactive, not revoked over revoked, no
	// or the later expiry, every scope of both, the earlier creation and
	// the later use.
	foldRiskier(o *T)
}

// asRecord returns p's record methods, or nil when T is not a token entry
// (users, projects, groups, memberships: nothing is judged on their
// duplicates). gitlab.DeployToken is client-go's type, so its methods live
// on deployRecord.
func asRecord[T any](p *T) record[T] {
	switch v := any(p).(type) {
	case record[T]:
		return v
	case *gitlab.DeployToken:
		r, _ := any(deployRecord{v}).(record[T])
		return r
	}
	return nil
}

func (p *patWire) recordID() int64   { return p.ID }
func (p *patWire) missing() []string { return patMissing(&p.PersonalAccessToken, p.sent) }
func (p *patWire) differs(o *patWire) []string {
	d := patDiffers(&p.PersonalAccessToken, &o.PersonalAccessToken)
	d.add(boolOr(p.Impersonation) != boolOr(o.Impersonation), "impersonation")
	return d
}
func (p *patWire) foldRiskier(o *patWire) {
	patFold(&p.PersonalAccessToken, &o.PersonalAccessToken)
	p.LastUsedIPs = unionIPs(p.LastUsedIPs, o.LastUsedIPs)
	if boolOr(o.Impersonation) {
		p.Impersonation = o.Impersonation
	}
}

func (p *resourceTokenWire) recordID() int64   { return p.ID }
func (p *resourceTokenWire) missing() []string { return patMissing(&p.PersonalAccessToken, p.sent) }
func (p *resourceTokenWire) differs(o *resourceTokenWire) []string {
	d := patDiffers(&p.PersonalAccessToken, &o.PersonalAccessToken)
	d.add(p.AccessLevel != o.AccessLevel, "access_level")
	d.add(p.ResourceType != o.ResourceType || p.ResourceID != o.ResourceID, "resource")
	return d
}
func (p *resourceTokenWire) foldRiskier(o *resourceTokenWire) {
	patFold(&p.PersonalAccessToken, &o.PersonalAccessToken)
	p.LastUsedIPs = unionIPs(p.LastUsedIPs, o.LastUsedIPs)
	p.AccessLevel = max(p.AccessLevel, o.AccessLevel)
}

func (t *triggerWire) recordID() int64 { return t.ID }
func (t *triggerWire) missing() []string {
	if t.ID <= 0 {
		return []string{"id"}
	}
	return nil
}
func (t *triggerWire) differs(o *triggerWire) []string {
	var d fieldList
	d.add(t.Description != o.Description, "description")
	d.add(!sameTime(t.ExpiresAt, o.ExpiresAt), "expires_at")
	d.add(!sameTime(t.CreatedAt, o.CreatedAt), "created_at")
	d.add(ownerID(t.Owner) != ownerID(o.Owner), "owner")
	return d
}
func (t *triggerWire) foldRiskier(o *triggerWire) {
	t.ExpiresAt = laterExpiry(t.ExpiresAt, o.ExpiresAt)
	t.CreatedAt = earlier(t.CreatedAt, o.CreatedAt)
	t.LastUsed = later(t.LastUsed, o.LastUsed)
	if t.Owner == nil {
		t.Owner = o.Owner
	}
}

// deployRecord holds the record methods of client-go's DeployToken. Of
// its always-sent fields (https://docs.gitlab.com/api/deploy_tokens/) only
// the id is checked: a missing revoked or expired reads as false, which
// makes the token active, the riskier reading.
type deployRecord struct{ t *gitlab.DeployToken }

func (d deployRecord) recordID() int64 { return d.t.ID }
func (d deployRecord) missing() []string {
	if d.t.ID <= 0 {
		return []string{"id"}
	}
	return nil
}
func (d deployRecord) differs(o *gitlab.DeployToken) []string {
	var diff fieldList
	t := d.t
	diff.add(t.Name != o.Name || t.Username != o.Username, "name")
	diff.add(t.Revoked != o.Revoked, "revoked")
	diff.add(t.Expired != o.Expired, "expired")
	diff.add(!sameTime(t.ExpiresAt, o.ExpiresAt), "expires_at")
	diff.add(!sameSet(t.Scopes, o.Scopes), "scopes")
	return diff
}
func (d deployRecord) foldRiskier(o *gitlab.DeployToken) {
	t := d.t
	t.Revoked = t.Revoked && o.Revoked
	t.Expired = t.Expired && o.Expired
	t.ExpiresAt = laterExpiry(t.ExpiresAt, o.ExpiresAt)
	t.Scopes = unionStrings(t.Scopes, o.Scopes)
}

// patMissing names the always-sent fields (patFields) a PAT-table entry
// lacks; an id of 0 or below is no GitLab id and counts as missing.
func patMissing(p *gitlab.PersonalAccessToken, sent patFields) []string {
	var m fieldList
	m.add(p.ID <= 0, "id")
	m.add(!sent.active, "active")
	m.add(!sent.revoked, "revoked")
	m.add(!sent.scopes, "scopes")
	return m
}

func patDiffers(a, b *gitlab.PersonalAccessToken) fieldList {
	var d fieldList
	d.add(a.Name != b.Name || a.Description != b.Description, "name")
	d.add(a.Active != b.Active, "active")
	d.add(a.Revoked != b.Revoked, "revoked")
	d.add(!sameISODate(a.ExpiresAt, b.ExpiresAt), "expires_at")
	d.add(!sameSet(a.Scopes, b.Scopes), "scopes")
	d.add(!sameTime(a.CreatedAt, b.CreatedAt), "created_at")
	d.add(a.UserID != b.UserID, "user_id")
	return d
}

// fieldList collects the names of fields that are missing or differ.
type fieldList []string

func (l *fieldList) add(cond bool, field string) {
	if cond {
		*l = append(*l, field)
	}
}

func patFold(a, b *gitlab.PersonalAccessToken) {
	a.Active = a.Active || b.Active
	a.Revoked = a.Revoked && b.Revoked
	switch {
	case a.ExpiresAt == nil || time.Time(*a.ExpiresAt).IsZero():
	case b.ExpiresAt == nil || time.Time(*b.ExpiresAt).IsZero() || time.Time(*b.ExpiresAt).After(time.Time(*a.ExpiresAt)):
		a.ExpiresAt = b.ExpiresAt
	}
	a.Scopes = unionStrings(a.Scopes, b.Scopes)
	a.CreatedAt = earlier(a.CreatedAt, b.CreatedAt)
	a.LastUsedAt = later(a.LastUsedAt, b.LastUsedAt)
}

func boolOr(b *bool) bool { return b != nil && *b }

func ownerID(u *gitlab.User) int64 {
	if u == nil {
		return 0
	}
	return u.ID
}

func sameTime(a, b *time.Time) bool {
	az, bz := a == nil || a.IsZero(), b == nil || b.IsZero()
	if az || bz {
		return az == bz
	}
	return a.Equal(*b)
}

func sameISODate(a, b *gitlab.ISOTime) bool {
	var at, bt *time.Time
	if a != nil {
		t := time.Time(*a)
		at = &t
	}
	if b != nil {
		t := time.Time(*b)
		bt = &t
	}
	return sameTime(at, bt)
}

// laterExpiry is the later of two expiries, where nil (never) is latest.
func laterExpiry(a, b *time.Time) *time.Time {
	if a == nil || a.IsZero() || b == nil || b.IsZero() {
		return nil
	}
	if b.After(*a) {
		return b
	}
	return a
}

func earlier(a, b *time.Time) *time.Time {
	if a == nil || a.IsZero() || b != nil && !b.IsZero() && b.Before(*a) {
		return b
	}
	return a
}

func later(a, b *time.Time) *time.Time {
	if a == nil || a.IsZero() || b != nil && b.After(*a) {
		return b
	}
	return a
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	for _, s := range b {
		if !slices.Contains(a, s) {
			return false
		}
	}
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

// unionStrings is a followed by the entries of b it lacks.
func unionStrings(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func unionIPs(a, b *[]string) *[]string {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	u := unionStrings(*a, *b)
	return &u
}
