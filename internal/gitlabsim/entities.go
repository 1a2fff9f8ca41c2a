package gitlabsim

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The JSON entities the simulator serves, shaped after GitLab's Grape
// entities and the fixtures in testdata/fixtures (key sets and JSON
// types are checked by the fixture-shape test). Token entities are structs
// (the hot path of every benchmark); the rest are maps.

// apiTime is a timestamp as GitLab writes it: RFC 3339, UTC, milliseconds,
// "Z" ("2021-01-20T22:11:48.151Z").
type apiTime time.Time

func (t apiTime) MarshalJSON() ([]byte, error) {
	return quotedUTC(time.Time(t), "2006-01-02T15:04:05.000Z"), nil
}

// apiDate is a date as GitLab writes token expiry: "2021-01-31".
type apiDate time.Time

func (d apiDate) MarshalJSON() ([]byte, error) {
	return quotedUTC(time.Time(d), "2006-01-02"), nil
}

// quotedUTC is t in UTC as a JSON string in layout, whose formatted length
// is its own (fixed-width layouts only), in one allocation.
func quotedUTC(t time.Time, layout string) []byte {
	b := make([]byte, 0, len(layout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, layout)
	return append(b, '"')
}

func timePtr(t *time.Time) *apiTime {
	if t == nil {
		return nil
	}
	v := apiTime(*t)
	return &v
}

func datePtr(t *time.Time) *apiDate {
	if t == nil {
		return nil
	}
	v := apiDate(*t)
	return &v
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// tokenEntity is GitLab's PersonalAccessToken entity and, with access_level,
// resource_type and resource_id, its ResourceAccessToken entity
// (lib/api/entities/personal_access_token.rb, resource_access_token.rb).
// Key order follows a real GitLab.com response
// (fixtures/personal_access_tokens_self__observed_gitlab_com_2026.json) and
// the credentials-inventory example.
//
// Keys a version lacks are nil and left out (versions.go): description
// before 17.7, granular and expired before about 18.10 and 18.11,
// last_used_ips before about 17.9, resource_type and resource_id before
// about 17.10.
type tokenEntity struct {
	ID          int64         `json:"id"`
	Name        string        `json:"name"`
	Revoked     bool          `json:"revoked"`
	Expired     *bool         `json:"expired,omitempty"`
	CreatedAt   apiTime       `json:"created_at"`
	Description *nullableText `json:"description,omitempty"`
	Scopes      []string      `json:"scopes"`
	UserID      int64         `json:"user_id"`
	LastUsedAt  *apiTime      `json:"last_used_at"`
	Active      bool          `json:"active"`
	Granular    *bool         `json:"granular,omitempty"`
	ExpiresAt   *apiDate      `json:"expires_at"`
	LastUsedIPs *[]string     `json:"last_used_ips,omitempty"`
	// ResourceAccessToken only.
	AccessLevel  *int   `json:"access_level,omitempty"`
	ResourceType string `json:"resource_type,omitempty"`
	ResourceID   *int64 `json:"resource_id,omitempty"`
	// ImpersonationToken only.
	Impersonation *bool `json:"impersonation,omitempty"`
}

// nullableText is a string key GitLab sends as null when empty.
type nullableText string

func (n nullableText) MarshalJSON() ([]byte, error) {
	if n == "" {
		return []byte("null"), nil
	}
	return appendJSONString(nil, string(n)), nil
}

var (
	trueValue    = true
	falseValue   = false
	emptyStrings = []string{}
)

// patEntity renders a token for the /personal_access_tokens routes
// (PersonalAccessTokenWithLastUsedIps).
func (ix *index) patEntity(t *PersonalAccessToken) tokenEntity { return ix.baseTokenEntity(t) }

// baseTokenEntity is the PersonalAccessToken entity of the version served
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/entities/personal_access_token.rb):
// active is false for a granular token unless the
// granular_personal_access_tokens flag is on, which the simulator models
// for every caller at once (World.GranularPATsFlag, on by default from
// 19.2).
func (ix *index) baseTokenEntity(t *PersonalAccessToken) tokenEntity {
	scopes := t.Scopes
	if scopes == nil {
		scopes = emptyStrings
	}
	e := tokenEntity{
		ID:         t.ID,
		Name:       t.Name,
		Revoked:    t.Revoked,
		CreatedAt:  apiTime(t.CreatedAt),
		Scopes:     scopes,
		UserID:     t.UserID,
		LastUsedAt: timePtr(t.LastUsedAt),
		Active:     ix.tokenActive(t) && (!t.Granular || ix.granularFlag()),
		ExpiresAt:  datePtr(t.ExpiresAt),
	}
	if ix.has(featPATDescription) {
		d := nullableText(t.Description)
		e.Description = &d
	}
	if ix.has(featGranular) {
		e.Granular = boolPtr(t.Granular)
	}
	if ix.has(featTokenExpired) {
		e.Expired = boolPtr(dateExpired(t.ExpiresAt, ix.w.Now))
	}
	// last_used_ips: absent (flag off, or older GitLab), [] (CE never fills
	// it, https://gitlab.com/gitlab-org/gitlab/-/issues/535393), or the
	// stored IPs.
	switch ix.lastUsedIPs() {
	case "absent":
	case "empty":
		e.LastUsedIPs = &emptyStrings
	default:
		ips := t.LastUsedIPs
		if ips == nil {
			ips = emptyStrings
		}
		e.LastUsedIPs = &ips
	}
	return e
}

func boolPtr(b bool) *bool {
	if b {
		return &trueValue
	}
	return &falseValue
}

// lastUsedIPs is World.LastUsedIPs as the version and edition serve it.
func (ix *index) lastUsedIPs() string {
	switch {
	case !ix.has(featLastUsedIPs):
		return "absent"
	case ix.w.LastUsedIPs == "absent" || ix.w.LastUsedIPs == "empty":
		return ix.w.LastUsedIPs
	case !ix.v.ee:
		return "empty"
	}
	return "populated"
}

// granularFlag reports whether granular tokens count as active.
func (ix *index) granularFlag() bool { return ix.w.GranularPATsFlag || ix.has(featGranularDefaultOn) }

// resourceTokenEntity renders a project or group access token.
func (ix *index) resourceTokenEntity(t *PersonalAccessToken) tokenEntity {
	e := ix.baseTokenEntity(t)
	level, rtype, rid := ix.accessLevelOf(t)
	e.AccessLevel = &level
	if rtype != "" && ix.has(featResourceTokenResource) {
		e.ResourceType = rtype
		e.ResourceID = &rid
	}
	return e
}

// impersonationTokenEntity is GitLab's ImpersonationToken entity: the
// PersonalAccessToken entity plus "impersonation" (https://docs.gitlab.com/api/user_tokens/,
// fixtures/impersonation_tokens_list__first_element.json).
func (ix *index) impersonationTokenEntity(t *PersonalAccessToken) tokenEntity {
	e := ix.baseTokenEntity(t)
	imp := t.Impersonation
	e.Impersonation = &imp
	return e
}

// deployTokenEntity is GitLab's DeployToken entity (deploy_tokens.md): no
// created_at, no last_used_at; expires_at a datetime or null.
type deployTokenEntity struct {
	ID        int64    `json:"id"`
	Name      string   `json:"name"`
	Username  string   `json:"username"`
	ExpiresAt *apiTime `json:"expires_at"`
	Revoked   bool     `json:"revoked"`
	Expired   bool     `json:"expired"`
	Scopes    []string `json:"scopes"`
}

func (ix *index) deployTokenEntity(d *DeployToken) deployTokenEntity {
	scopes := d.Scopes
	if scopes == nil {
		scopes = emptyStrings
	}
	return deployTokenEntity{
		ID: d.ID, Name: d.Name, Username: d.Username, ExpiresAt: timePtr(d.ExpiresAt),
		Revoked: d.Revoked, Expired: ix.deployTokenExpired(d), Scopes: scopes,
	}
}

// triggerEntity is Entities::Trigger (lib/api/entities/trigger.rb@41946e65).
type triggerEntity struct {
	ID          int64          `json:"id"`
	Token       string         `json:"token"`
	Description string         `json:"description"`
	CreatedAt   apiTime        `json:"created_at"`
	UpdatedAt   apiTime        `json:"updated_at"`
	LastUsed    *apiTime       `json:"last_used"`
	ExpiresAt   *nullableTime  `json:"expires_at,omitempty"` // nil before about 16.11
	Owner       map[string]any `json:"owner"`
}

// nullableTime is a timestamp key GitLab sends as null when unset.
type nullableTime struct{ t *time.Time }

func (n nullableTime) MarshalJSON() ([]byte, error) {
	if n.t == nil {
		return []byte("null"), nil
	}
	return apiTime(*n.t).MarshalJSON()
}

// triggerEntity shows the token in full to whoever may admin_trigger it:
// its owner, and for a legacy trigger, one without an owner, anyone who may
// list triggers (Maintainer); anyone else gets the first four characters
// after the glptt- prefix (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/policies/ci/trigger_policy.rb:
// legacy | is_owner enables admin_trigger; https://docs.gitlab.com/api/pipeline_triggers/;
// spec/models/ci/trigger_spec.rb #short_token).
func (s *Server) triggerEntity(ix *index, tr *Trigger, c *caller) triggerEntity {
	e := triggerEntity{
		ID: tr.ID, Token: triggerToken(tr, c.user.ID), Description: tr.Description,
		CreatedAt: apiTime(tr.CreatedAt), UpdatedAt: apiTime(tr.UpdatedAt),
		LastUsed: timePtr(tr.LastUsed),
	}
	if ix.has(featTriggerExpiresAt) {
		e.ExpiresAt = &nullableTime{tr.ExpiresAt}
	}
	if u := ix.users[tr.OwnerID]; u != nil {
		e.Owner = s.userBasic(u)
	}
	return e
}

// triggerTokenExposed is Ci::TriggerPresenter#has_token_exposed?, the
// admin_trigger permission: the owner's, or anyone's (who may list
// triggers) for a trigger without an owner.
func triggerTokenExposed(tr *Trigger, callerID int64) bool {
	return tr.OwnerID == 0 || callerID == tr.OwnerID
}

// triggerToken is the token as the trigger entity and the GraphQL
// PipelineTrigger show it: in full when exposed, else Ci::Trigger#short_token.
func triggerToken(tr *Trigger, callerID int64) string {
	if triggerTokenExposed(tr, callerID) {
		return tr.Value
	}
	tok := strings.TrimPrefix(tr.Value, "glptt-")
	if len(tok) > 4 {
		tok = tok[:4]
	}
	return tok
}

// userBasic is Entities::UserBasic, all a non-administrator sees in lists
// (fixtures/users_list.json).
func (s *Server) userBasic(u *User) map[string]any {
	return map[string]any{
		"id":         u.ID,
		"username":   u.Username,
		"name":       u.Name,
		"state":      u.State,
		"locked":     false,
		"avatar_url": nil,
		"web_url":    s.base + "/" + u.Username,
	}
}

// userProfile is UserBasic and the profile keys Entities::User adds, which
// UserWithAdmin (the admin list entity) inherits as well.
func (s *Server) userProfile(u *User) map[string]any {
	m := s.userBasic(u)
	m["created_at"] = fmtTime(u.CreatedAt)
	m["bio"] = ""
	m["bot"] = u.Bot()
	m["location"] = nil
	for _, k := range []string{"skype", "linkedin", "twitter", "discord", "website_url", "organization", "job_title"} {
		m[k] = ""
	}
	return m
}

// userEntity is Entities::User, GET /users/:id for a non-administrator
// (fixtures/users_get.json).
func (s *Server) userEntity(u *User) map[string]any {
	m := s.userProfile(u)
	m["public_email"] = nil
	m["pronouns"] = nil
	m["work_information"] = nil
	m["followers"] = 0
	m["following"] = 0
	m["local_time"] = nil
	m["is_followed"] = false
	return m
}

func lastActivity(u *User) any {
	if u.LastActivityOn == nil {
		return nil
	}
	return u.LastActivityOn.UTC().Format("2006-01-02")
}

// namespaceIDOfUser is the ID of a user's personal namespace.
func namespaceIDOfUser(u *User) int64 { return userNamespaceOffset + u.ID }

// adminUserFields adds what an administrator (or the user on GET /user)
// sees: UserWithAdmin / UserDetailsWithAdmin (fixtures/users_list_as_admin.json,
// users_get_as_admin__clientgo.json).
func (s *Server) adminUserFields(m map[string]any, u *User, admin bool) {
	m["email"] = u.Email
	m["last_sign_in_at"] = nil
	m["confirmed_at"] = fmtTime(u.CreatedAt)
	m["theme_id"] = 1
	m["last_activity_on"] = lastActivity(u)
	m["color_scheme_id"] = 1
	// An external user may create neither groups nor projects
	// (User#ensure_user_rights_and_limits sets can_create_group false and
	// projects_limit 0,
	// https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/models/user.rb).
	m["projects_limit"] = 100000
	if u.External {
		m["projects_limit"] = 0
	}
	m["current_sign_in_at"] = nil
	m["identities"] = []any{}
	m["can_create_group"] = u.UserType == UserTypeHuman && !u.External
	m["can_create_project"] = u.UserType == UserTypeHuman && !u.External
	m["two_factor_enabled"] = false
	m["external"] = u.External
	m["private_profile"] = false
	m["commit_email"] = u.Email
	if !admin {
		return
	}
	m["is_admin"] = u.Admin
	m["note"] = nil
	m["namespace_id"] = namespaceIDOfUser(u)
	m["created_by"] = nil
	m["email_reset_offered_at"] = nil
	m["current_sign_in_ip"] = nil
	m["last_sign_in_ip"] = nil
	m["sign_in_count"] = 0
}

// userListAdmin is UserWithAdmin, GET /users as an administrator: the keys
// of fixtures/users_list_as_admin.json plus bot (UserWithAdmin inherits
// Entities::User, which exposes bot).
func (s *Server) userListAdmin(ix *index, u *User) map[string]any {
	m := s.userProfile(u)
	s.adminUserFields(m, u, true)
	// The list entity has neither (fixtures/users_list_as_admin.json).
	delete(m, "commit_email")
	delete(m, "sign_in_count")
	provisionedBy(ix, m, u)
	return m
}

// provisionedBy adds what Premium and Ultimate add to UserWithAdmin: the
// group that created the user (ee/lib/ee/api/entities/user_with_admin.rb,
// exposed with the group_saml licence feature;
// https://docs.gitlab.com/api/users/#as-an-administrator). Of the World's
// users only a group service account has one: GitLab sets it to the group
// the account is created in (Namespaces::ServiceAccounts::CreateService,
// ee/app/services/namespaces/service_accounts/create_service.rb).
func provisionedBy(ix *index, m map[string]any, u *User) {
	if !ix.has(featProvisionedByGroup) {
		return
	}
	m["provisioned_by_group_id"] = nil
	if u.ServiceAccountGroupID != 0 {
		m["provisioned_by_group_id"] = u.ServiceAccountGroupID
	}
}

// userDetailAdmin is UserDetailsWithAdmin, GET /users/:id as an
// administrator.
func (s *Server) userDetailAdmin(ix *index, u *User) map[string]any {
	m := s.userEntity(u)
	s.adminUserFields(m, u, true)
	provisionedBy(ix, m, u)
	m["highest_role"] = 0
	m["is_auditor"] = false
	m["using_license_seat"] = u.UserType == UserTypeHuman && u.State == "active"
	return m
}

// userSelf is GET /user: UserPublic for a user, UserDetailsWithAdmin for an
// administrator.
func (s *Server) userSelf(ix *index, u *User, admin bool) map[string]any {
	if admin {
		return s.userDetailAdmin(ix, u)
	}
	m := s.userEntity(u)
	s.adminUserFields(m, u, false)
	return m
}

func visibilityOr(v string) string {
	if v == "" {
		return "private"
	}
	return v
}

// groupEntity is Entities::Group (fixtures/groups_list.json).
func (s *Server) groupEntity(ix *index, g *Group) map[string]any {
	var parent any
	if g.ParentID != 0 {
		parent = g.ParentID
	}
	full := ix.groupFullPath[g.ID]
	return map[string]any{
		"id":                                g.ID,
		"name":                              g.Name,
		"path":                              g.Path,
		"description":                       "",
		"visibility":                        visibilityOr(g.Visibility),
		"share_with_group_lock":             false,
		"require_two_factor_authentication": false,
		"two_factor_grace_period":           48,
		"project_creation_level":            "developer",
		"auto_devops_enabled":               nil,
		"subgroup_creation_level":           "maintainer",
		"emails_disabled":                   false,
		"emails_enabled":                    true,
		"mentions_disabled":                 nil,
		"lfs_enabled":                       true,
		"default_branch":                    nil,
		"default_branch_protection":         2,
		"default_branch_protection_defaults": map[string]any{
			"allowed_to_push":  []any{map[string]any{"access_level": 40}},
			"allow_force_push": false,
			"allowed_to_merge": []any{map[string]any{"access_level": 40}},
		},
		"avatar_url":               nil,
		"web_url":                  s.base + "/groups/" + full,
		"request_access_enabled":   true,
		"repository_storage":       "default",
		"full_name":                ix.groupFullName[g.ID],
		"full_path":                full,
		"file_template_project_id": nil,
		"parent_id":                parent,
		"created_at":               fmtTime(g.CreatedAt),
		"ip_restriction_ranges":    nil,
	}
}

// groupDetail is GroupDetail (GET /groups/:id): the group plus
// shared_with_groups, and runners_token for an Owner (https://docs.gitlab.com/api/groups/). The
// deprecated projects/shared_projects arrays are not sent.
func (s *Server) groupDetail(ix *index, g *Group, c *caller) map[string]any {
	m := s.groupEntity(ix, g)
	m["shared_with_groups"] = []any{}
	m["prevent_sharing_groups_outside_hierarchy"] = false
	if c.admin || ix.groupAccess(c.user.ID, g) >= 50 {
		m["runners_token"] = "GR1348941" + strconv.FormatInt(g.ID*7919%1000003, 36)
	}
	return m
}

func (s *Server) namespaceOf(ix *index, p *Project) map[string]any {
	if g := ix.groups[p.GroupID]; g != nil {
		var parent any
		if g.ParentID != 0 {
			parent = g.ParentID
		}
		return map[string]any{
			"id": g.ID, "name": g.Name, "path": g.Path, "kind": "group",
			"full_path": ix.groupFullPath[g.ID], "parent_id": parent, "avatar_url": nil,
			"web_url": s.base + "/groups/" + ix.groupFullPath[g.ID],
		}
	}
	u := ix.users[p.UserID]
	if u == nil {
		u = &User{ID: p.UserID, Username: "ghost", Name: "Ghost User"}
	}
	return map[string]any{
		"id": namespaceIDOfUser(u), "name": u.Name, "path": u.Username, "kind": "user",
		"full_path": u.Username, "parent_id": nil, "avatar_url": nil,
		"web_url": s.base + "/" + u.Username,
	}
}

// projectSimple is BasicProjectDetails (GET /projects?simple=true, job token
// allowlist; fixtures/projects_job_token_scope_allowlist_list.json,
// lib/api/entities/basic_project_details.rb@05f0ebba).
func (s *Server) projectSimple(ix *index, p *Project) map[string]any {
	full := ix.projectPath[p.ID]
	nsName := ""
	if g := ix.groups[p.GroupID]; g != nil {
		nsName = ix.groupFullName[g.ID]
	} else if u := ix.users[p.UserID]; u != nil {
		nsName = u.Name
	}
	host := strings.TrimPrefix(strings.TrimPrefix(s.base, "http://"), "https://")
	return map[string]any{
		"id":                  p.ID,
		"description":         nil,
		"name":                p.Name,
		"name_with_namespace": nsName + " / " + p.Name,
		"path":                p.Path,
		"path_with_namespace": full,
		"created_at":          fmtTime(p.CreatedAt),
		"default_branch":      "main",
		"tag_list":            []any{},
		"topics":              []any{},
		"ssh_url_to_repo":     "git@" + host + ":" + full + ".git",
		"http_url_to_repo":    s.base + "/" + full + ".git",
		"web_url":             s.base + "/" + full,
		"readme_url":          nil,
		"forks_count":         0,
		"avatar_url":          nil,
		"star_count":          0,
		"last_activity_at":    fmtTime(p.LastActivityAt),
		"namespace":           s.namespaceOf(ix, p),
	}
}

// projectEntity is the full Project entity (fixtures/groups_projects_list.json).
func (s *Server) projectEntity(ix *index, p *Project) map[string]any {
	m := s.projectSimple(ix, p)
	m["archived"] = p.Archived
	m["visibility"] = visibilityOr(p.Visibility)
	for _, k := range []string{"issues_enabled", "merge_requests_enabled", "wiki_enabled", "jobs_enabled", "snippets_enabled", "shared_runners_enabled", "public_jobs"} {
		m[k] = true
	}
	creator := p.UserID
	m["creator_id"] = creator
	m["open_issues_count"] = 0
	m["shared_with_groups"] = []any{}
	m["request_access_enabled"] = true
	m["empty_repo"] = false
	return m
}

// appendTokenEntity appends e as JSON, byte for byte what encoding/json
// writes for it, without reflection: the token lists are what every
// benchmark and audit pages through.
func appendTokenEntity(b []byte, e *tokenEntity) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, e.Name)
	b = append(b, `,"revoked":`...)
	b = strconv.AppendBool(b, e.Revoked)
	if e.Expired != nil {
		b = append(b, `,"expired":`...)
		b = strconv.AppendBool(b, *e.Expired)
	}
	b = append(b, `,"created_at":`...)
	b, _ = appendMarshaler(b, e.CreatedAt)
	if e.Description != nil {
		b = append(b, `,"description":`...)
		b, _ = appendMarshaler(b, *e.Description)
	}
	b = append(b, `,"scopes":[`...)
	for i, sc := range e.Scopes {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, sc)
	}
	b = append(b, `],"user_id":`...)
	b = strconv.AppendInt(b, e.UserID, 10)
	b = append(b, `,"last_used_at":`...)
	if e.LastUsedAt == nil {
		b = append(b, "null"...)
	} else {
		b, _ = appendMarshaler(b, *e.LastUsedAt)
	}
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, e.Active)
	if e.Granular != nil {
		b = append(b, `,"granular":`...)
		b = strconv.AppendBool(b, *e.Granular)
	}
	b = append(b, `,"expires_at":`...)
	if e.ExpiresAt == nil {
		b = append(b, "null"...)
	} else {
		b, _ = appendMarshaler(b, *e.ExpiresAt)
	}
	if e.LastUsedIPs != nil {
		b = append(b, `,"last_used_ips":[`...)
		for i, ip := range *e.LastUsedIPs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, ip)
		}
		b = append(b, ']')
	}
	if e.AccessLevel != nil {
		b = append(b, `,"access_level":`...)
		b = strconv.AppendInt(b, int64(*e.AccessLevel), 10)
	}
	if e.ResourceType != "" {
		b = append(b, `,"resource_type":`...)
		b = appendJSONString(b, e.ResourceType)
	}
	if e.ResourceID != nil {
		b = append(b, `,"resource_id":`...)
		b = strconv.AppendInt(b, *e.ResourceID, 10)
	}
	if e.Impersonation != nil {
		b = append(b, `,"impersonation":`...)
		b = strconv.AppendBool(b, *e.Impersonation)
	}
	return append(b, '}')
}

func appendMarshaler(b []byte, m json.Marshaler) ([]byte, error) {
	v, err := m.MarshalJSON()
	return append(b, v...), err
}

// appendJSONString appends s as encoding/json would: plain ASCII directly,
// anything needing an escape through json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
