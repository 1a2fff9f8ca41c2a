package gitlabsim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// getCurrentUser is GET /user: its entity follows current_user.admin?,
// not Admin Mode, so an administrator's token without the admin_mode scope
// still reads is_admin: true here
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/users.rb).
func getCurrentUser(s *Server, rc *reqCtx) (any, *apiError) {
	return s.userSelf(rc.ix, rc.c.user, rc.c.isAdmin), nil
}

// listUsers is GET /users: an administrator gets UserWithAdmin (is_admin,
// bot, email, last_activity_on, ...), anyone else UserBasic only
// (https://docs.gitlab.com/api/users/#list-users). The filters are
// userFilters; the order is usersOrder's.
func listUsers(s *Server, rc *reqCtx) (any, *apiError) {
	var keep []func(*User) bool
	for _, f := range userFilters {
		k, err := f.parse(rc, f.name)
		if err != nil {
			return nil, err
		}
		if k != nil && (rc.c.admin || !f.adminOnly) {
			keep = append(keep, k)
		}
	}
	order, err := usersOrder(rc)
	if err != nil {
		return nil, err
	}
	// Keyset pagination of users came in 16.5; before, pagination=keyset
	// is an unknown parameter and the pages are offset ones.
	keyset := rc.q.Get("pagination") == "keyset" && rc.ix.has(featUsersKeyset)
	pp, err := parsePageParams(rc.q)
	if err != nil {
		return nil, err
	}
	// Users are a type with keyset pagination, so offset pages past 50,000
	// rows are refused (GitLab 17.0; lib/api/helpers/pagination_strategies.rb,
	// https://docs.gitlab.com/api/users/#list-users).
	if !keyset && pp.offsetLimitExceeded() && rc.ix.has(featUsersOffsetLimit) {
		return nil, errOffsetLimit("User")
	}
	list := rc.ix.w.Users // in ID order; shared, so copied before sorting
	if len(keep) > 0 {
		list = nil
		for _, u := range rc.ix.w.Users {
			if keepsUser(keep, u) {
				list = append(list, u)
			}
		}
	}
	conv := s.userBasic
	if rc.c.admin {
		conv = func(u *User) map[string]any { return s.userListAdmin(rc.ix, u) }
	}
	if keyset {
		return usersKeysetPage(rc, list, pp.perPage, conv)
	}
	list = slices.Clone(list)
	slices.SortFunc(list, order)
	return paged(s, rc, list, conv)
}

// userCursor is a keyset cursor of GET /users: the last row's order column
// and ID, as Gitlab::Pagination::Keyset::Paginator encodes one (base64url
// JSON, "_kd" the direction). Clients only pass it back.
type userCursor struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Username  string `json:"username,omitempty"`
	CreatedAt string `json:"created_at,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
	Direction string `json:"_kd"`
}

// usersKeysetPage is GET /users?pagination=keyset (GitLab 16.5): order_by
// id, name, username, created_at or updated_at (default id), sort asc or
// desc (default desc), each with the ID as tie-breaker; the first per_page
// rows after cursor, and a Link rel="next" carrying the cursor of the last
// one when more follow. No other pagination header is sent, and the last
// page has no Link (CursorPager and HeaderBuilder in
// https://gitlab.com/gitlab-org/gitlab/-/tree/master/lib/gitlab/pagination/keyset,
// https://docs.gitlab.com/api/rest/#keyset-based-pagination).
// list is in ID order and is not changed.
func usersKeysetPage(rc *reqCtx, list []*User, perPage int, conv func(*User) map[string]any) (any, *apiError) {
	orderBy := cmpOr(rc.q.Get("order_by"), "id")
	desc := rc.q.Get("sort") != "asc"
	order := userOrder(orderBy, desc)
	if orderBy != "id" {
		list = slices.Clone(list)
		slices.SortFunc(list, order)
	}
	var after *User
	if raw := rc.q.Get("cursor"); raw != "" {
		var ok bool
		if after, ok = decodeUserCursor(raw); !ok {
			// The message is the simulator's [I]: GitLab's decoder fails
			// on a cursor it did not write.
			return nil, errValidation("cursor is invalid")
		}
	}
	// Walk from the cursor in the order: forward through a sorted copy,
	// or through the ID-ordered list either way round.
	page := make([]*User, 0, perPage+1)
	if orderBy == "id" && desc {
		i := len(list)
		if after != nil {
			i, _ = slices.BinarySearchFunc(list, after.ID, func(u *User, id int64) int { return compareInt64(u.ID, id) })
		}
		for i--; i >= 0 && len(page) <= perPage; i-- {
			page = append(page, list[i])
		}
	} else {
		i := 0
		if after != nil {
			i, _ = slices.BinarySearchFunc(list, after, func(u, c *User) int {
				if order(u, c) <= 0 {
					return -1
				}
				return 1
			})
		}
		for ; i < len(list) && len(page) <= perPage; i++ {
			page = append(page, list[i])
		}
	}
	list = page
	more := len(list) > perPage
	if more {
		list = list[:perPage]
		last := list[len(list)-1]
		c := userCursor{ID: strconv.FormatInt(last.ID, 10), Direction: "n"}
		switch orderBy {
		case "name":
			c.Name = last.Name
		case "username":
			c.Username = last.Username
		case "created_at":
			c.CreatedAt = last.CreatedAt.UTC().Format(time.RFC3339Nano)
		case "updated_at":
			c.UpdatedAt = last.updatedAt().UTC().Format(time.RFC3339Nano)
		}
		b, _ := json.Marshal(c)
		u := pageURL(rc.r, requestBase(rc.r), map[string]string{"cursor": base64.URLEncoding.EncodeToString(b)})
		rc.w.Header().Set("Link", "<"+u+`>; rel="next"`)
	}
	out := make([]map[string]any, 0, len(list))
	for _, u := range list {
		out = append(out, conv(u))
	}
	return out, nil
}

// userOrder is an order of GET /users: the column, then the ID, both
// ascending or both descending. The keyset pages use it as it is; the
// offset pages by created_at use the ID (usersOrder).
func userOrder(orderBy string, desc bool) func(a, b *User) int {
	key := func(a, b *User) int { return 0 }
	switch orderBy {
	case "name":
		key = func(a, b *User) int { return cmpStr(a.Name, b.Name) }
	case "username":
		key = func(a, b *User) int { return cmpStr(a.Username, b.Username) }
	case "created_at":
		key = func(a, b *User) int { return cmpTime(a.CreatedAt, b.CreatedAt) }
	case "updated_at":
		key = func(a, b *User) int { return cmpTime(a.updatedAt(), b.updatedAt()) }
	}
	asc := func(a, b *User) int {
		if c := key(a, b); c != 0 {
			return c
		}
		return compareInt64(a.ID, b.ID)
	}
	if desc {
		return func(a, b *User) int { return asc(b, a) }
	}
	return asc
}

// decodeUserCursor reads a cursor back into a User holding its keys.
func decodeUserCursor(raw string) (*User, bool) {
	b, err := base64.URLEncoding.DecodeString(raw)
	if err != nil {
		return nil, false
	}
	var c userCursor
	if json.Unmarshal(b, &c) != nil {
		return nil, false
	}
	id, ok := parseID(c.ID)
	if !ok {
		return nil, false
	}
	u := &User{ID: id, Name: c.Name, Username: c.Username}
	for _, f := range []struct {
		v   string
		dst *time.Time
	}{{c.CreatedAt, &u.CreatedAt}, {c.UpdatedAt, &u.UpdatedAt}} {
		if f.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.v)
		if err != nil {
			return nil, false
		}
		*f.dst = t
	}
	return u, true
}

// keepsUser reports whether every filter keeps u.
func keepsUser(keep []func(*User) bool, u *User) bool {
	for _, k := range keep {
		if !k(u) {
			return false
		}
	}
	return true
}

// userFilter is one filtering query parameter of GET /users. parse reads
// it, and answers 400 for a malformed value to anyone, as Grape validates
// every declared parameter first; it returns nil when the parameter is
// absent or filters nothing, else whether a user stays in the list.
type userFilter struct {
	name string
	// adminOnly parameters are ignored for anyone else: users.rb drops
	// created_after, created_before and two_factor
	// (index_params.except!), UsersFinder#by_admins admins.
	adminOnly bool
	parse     func(rc *reqCtx, name string) (func(*User) bool, *apiError)
}

// userFilters are the filters of GET /users
// (https://docs.gitlab.com/api/users/#list-users), those the parameters of
// https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/users.rb
// declare and a World can answer: extern_uid and provider (a World holds no
// identities) and without_projects are not served.
var userFilters = []userFilter{
	{name: "username", parse: usernameFilter},
	{name: "search", parse: searchFilter},
	// active and blocked true only: active=false or blocked=false filter
	// nothing (the docs: "It does not support active=false or
	// blocked=false").
	{name: "active", parse: whenTrue(func(u *User) bool { return u.State == "active" })},
	{name: "exclude_active", parse: whenTrue(func(u *User) bool { return u.State != "active" })},
	{name: "blocked", parse: whenTrue(func(u *User) bool { return u.State == "blocked" || u.State == "ldap_blocked" })},
	{name: "humans", parse: whenTrue(func(u *User) bool { return u.UserType == UserTypeHuman })},
	{name: "exclude_humans", parse: whenTrue(func(u *User) bool { return u.UserType != UserTypeHuman })},
	// external=true lists external users only, exclude_external=true
	// leaves them out: UsersFinder#by_external and #by_non_external, the
	// scopes where(external: true) and where(external: false)
	// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/finders/users_finder.rb,
	// https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/models/user.rb).
	{name: "external", parse: whenTrue(func(u *User) bool { return u.External })},
	{name: "exclude_external", parse: whenTrue(func(u *User) bool { return !u.External })},
	// exclude_internal removes GitLab's internal bots (alert, support,
	// ghost, ...), which a World does not hold; project and group bots
	// are not internal (the docs above).
	{name: "exclude_internal", parse: whenTrue(func(*User) bool { return true })},
	{name: "without_project_bots", parse: whenTrue(func(u *User) bool { return u.UserType != UserTypeProjectBot })},
	{name: "admins", adminOnly: true, parse: whenTrue(func(u *User) bool { return u.Admin })},
	// CreatedAtFilter: created_at >= created_after, <= created_before.
	{name: "created_after", adminOnly: true, parse: createdFilter(func(u *User, t time.Time) bool { return !u.CreatedAt.Before(t) })},
	{name: "created_before", adminOnly: true, parse: createdFilter(func(u *User, t time.Time) bool { return !u.CreatedAt.After(t) })},
	{name: "two_factor", adminOnly: true, parse: twoFactorFilter},
}

// whenTrue is the parser of a Boolean filter that keeps the users keep
// accepts when true and filters nothing when false.
func whenTrue(keep func(*User) bool) func(*reqCtx, string) (func(*User) bool, *apiError) {
	return func(rc *reqCtx, name string) (func(*User) bool, *apiError) {
		on, _, err := boolParam(rc, name)
		if err != nil || !on {
			return nil, err
		}
		return keep, nil
	}
}

// usernameFilter: the user of that username, case-insensitively.
func usernameFilter(rc *reqCtx, name string) (func(*User) bool, *apiError) {
	username := strings.ToLower(rc.q.Get(name))
	if username == "" {
		return nil, nil
	}
	return func(u *User) bool { return strings.ToLower(u.Username) == username }, nil
}

// searchFilter: part of the username or name; an administrator's search
// also matches a whole email address (User.search with_private_emails).
func searchFilter(rc *reqCtx, name string) (func(*User) bool, *apiError) {
	search := strings.ToLower(rc.q.Get(name))
	if search == "" {
		return nil, nil
	}
	admin := rc.c.admin
	return func(u *User) bool {
		return strings.Contains(strings.ToLower(u.Username), search) || strings.Contains(strings.ToLower(u.Name), search) ||
			admin && strings.EqualFold(u.Email, search)
	}, nil
}

// createdFilter is the parser of a Grape DateTime filter on created_at.
func createdFilter(keep func(u *User, t time.Time) bool) func(*reqCtx, string) (func(*User) bool, *apiError) {
	return func(rc *reqCtx, name string) (func(*User) bool, *apiError) {
		t, err := timeParam(rc, name)
		if err != nil || t == nil {
			return nil, err
		}
		return func(u *User) bool { return keep(u, *t) }, nil
	}
}

// twoFactorFilter: two_factor=enabled keeps the users with two-factor
// authentication, of whom a World holds none (two_factor_enabled is false
// in every entity), =disabled all of them; any other value filters
// nothing (UsersFinder#by_2fa).
func twoFactorFilter(rc *reqCtx, name string) (func(*User) bool, *apiError) {
	switch rc.q.Get(name) {
	case "enabled":
		return func(*User) bool { return false }, nil
	case "disabled":
		return func(*User) bool { return true }, nil
	}
	return nil, nil
}

// usersOrder is the order of GET /users, for every caller: users.rb's
// reorder_users reads order_by and sort from the request itself, not from
// the parameters it drops for non-administrators. Without either, a search
// keeps User.search's order (searchOrder); otherwise order_by (default id)
// and sort (default desc) apply with ID in the same direction breaking ties,
// and created_at orders by ID (order_options_with_tie_breaker,
// https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/helpers.rb).
func usersOrder(rc *reqCtx) (func(a, b *User) int, *apiError) {
	orderBy, err := valuesParam(rc, "order_by", "id", "name", "username", "created_at", "updated_at")
	if err != nil {
		return nil, err
	}
	sortDir, err := valuesParam(rc, "sort", "asc", "desc")
	if err != nil {
		return nil, err
	}
	if search := strings.ToLower(rc.q.Get("search")); search != "" && orderBy == "" && sortDir == "" {
		return searchOrder(search), nil
	}
	if orderBy == "created_at" {
		orderBy = "id" // created_at orders by ID
	}
	return userOrder(orderBy, sortDir != "asc"), nil
}

// searchOrder is User.search's order: exact username match, then exact
// name match, then the rest, each by name and ID ascending. The public
// email, which GitLab ranks first, is null for every user of a World.
func searchOrder(search string) func(a, b *User) int {
	rank := func(u *User) int {
		switch {
		case strings.ToLower(u.Username) == search:
			return 1
		case strings.ToLower(u.Name) == search:
			return 2
		}
		return 3
	}
	return func(a, b *User) int {
		if c := rank(a) - rank(b); c != 0 {
			return c
		}
		if c := cmpStr(a.Name, b.Name); c != 0 {
			return c
		}
		return compareInt64(a.ID, b.ID)
	}
}

// updatedAt is the user's updated_at; a user without one (a scenario file
// does not set it) was last updated when created.
func (u *User) updatedAt() time.Time {
	if u.UpdatedAt.IsZero() {
		return u.CreatedAt
	}
	return u.UpdatedAt
}

// getUser is GET /users/:id: Entities::User (with bot) for a user,
// UserDetailsWithAdmin for an administrator; unknown: 404 User Not Found.
func getUser(s *Server, rc *reqCtx) (any, *apiError) {
	id, ok := parseID(rc.params[0])
	if !ok {
		return nil, errValidation("id is invalid")
	}
	u := rc.ix.users[id]
	if u == nil {
		return nil, errUser404
	}
	if rc.c.admin {
		return s.userDetailAdmin(rc.ix, u), nil
	}
	return s.userEntity(u), nil
}

// listUserMemberships is GET /users/:id/memberships: administrators only
// (403 otherwise), direct memberships, type=Project|Namespace, and without
// type the user's access requests too (level 30, as asked for).
// access_level is an integer as in GitLab's entity and client-go (the
// docs' string, https://docs.gitlab.com/api/users/, is taken for a typo).
func listUserMemberships(s *Server, rc *reqCtx) (any, *apiError) {
	u, err := adminOnlyUser(rc, "id")
	if err != nil {
		return nil, err
	}
	typ, err := valuesParam(rc, "type", "Project", "Namespace")
	if err != nil {
		return nil, err
	}
	var list []membershipRef
	for _, m := range rc.ix.userMemberships[u.ID] {
		if typ == "Project" && m.project == nil || typ == "Namespace" && m.project != nil {
			continue
		}
		// With a type the list is user.project_members or
		// user.group_members, which leave access requests out; without
		// one it is user.members, which holds them too, and the
		// Membership entity says nothing that tells them apart
		// (lib/api/users.rb, app/models/user.rb,
		// lib/api/entities/membership.rb).
		if m.request && typ != "" {
			continue
		}
		list = append(list, m)
	}
	return paged(s, rc, list, func(m membershipRef) map[string]any {
		if m.project != nil {
			return map[string]any{"source_id": m.project.ID, "source_name": m.project.Name, "source_type": "Project", "access_level": m.level}
		}
		return map[string]any{"source_id": m.group.ID, "source_name": m.group.Name, "source_type": "Namespace", "access_level": m.level}
	})
}

// adminOnlyUserID is the guard of the administrator-only /users/:id routes:
// Grape's before { authenticated_as_admin! } refuses anyone else with 403
// before the :id parameter, which the route calls param, is validated.
func adminOnlyUserID(rc *reqCtx, param string) (int64, *apiError) {
	if !rc.c.admin {
		return 0, errForbidden
	}
	id, ok := parseID(rc.params[0])
	if !ok {
		return 0, errValidation(param + " is invalid")
	}
	return id, nil
}

// adminOnlyUser is adminOnlyUserID and the user it names, or
// 404 User Not Found.
func adminOnlyUser(rc *reqCtx, param string) (*User, *apiError) {
	id, err := adminOnlyUserID(rc, param)
	if err != nil {
		return nil, err
	}
	u := rc.ix.users[id]
	if u == nil {
		return nil, errUser404
	}
	return u, nil
}

// impersonationTokensOf is the guard and source of GET
// /users/:user_id/impersonation_tokens[/:id], shared with Visible: Grape's
// before { authenticated_as_admin! } refuses anyone but an administrator
// with 403 before the parameters are validated; an unknown user is
// 404 User Not Found (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/users.rb). On GitLab.com nobody
// is an administrator, so the routes answer 403 there, as the other
// admin-only routes of this server do.
func impersonationTokensOf(rc *reqCtx) ([]*PersonalAccessToken, *apiError) {
	u, err := adminOnlyUser(rc, "user_id")
	if err != nil {
		return nil, err
	}
	var out []*PersonalAccessToken
	for _, t := range rc.ix.tokensByUser[u.ID] {
		if t.Impersonation {
			out = append(out, t)
		}
	}
	return out, nil
}

// listImpersonationTokens is GET /users/:user_id/impersonation_tokens:
// state=all|active|inactive (default all), offset pagination, ID order
// (https://docs.gitlab.com/api/user_tokens/#list-all-impersonation-tokens-for-a-user).
func listImpersonationTokens(s *Server, rc *reqCtx) (any, *apiError) {
	if _, err := adminOnlyUserID(rc, "user_id"); err != nil {
		return nil, err
	}
	state, err := valuesParam(rc, "state", "all", "active", "inactive")
	if err != nil {
		return nil, err
	}
	list, err := impersonationTokensOf(rc)
	if err != nil {
		return nil, err
	}
	if state == "all" {
		state = ""
	}
	f := &tokenFilter{state: state}
	return paged(s, rc, f.apply(rc.ix, list), rc.ix.impersonationTokenEntity)
}

// getImpersonationToken is GET /users/:user_id/impersonation_tokens/:id;
// a token that is not one of the user's impersonation tokens is
// 404 Impersonation Token Not Found
// (https://docs.gitlab.com/api/user_tokens/#get-an-impersonation-token-for-a-user).
func getImpersonationToken(s *Server, rc *reqCtx) (any, *apiError) {
	if _, err := adminOnlyUserID(rc, "user_id"); err != nil {
		return nil, err
	}
	id, ok := parseID(rc.params[1])
	if !ok {
		return nil, errValidation("impersonation_token_id is invalid")
	}
	list, err := impersonationTokensOf(rc)
	if err != nil {
		return nil, err
	}
	for _, t := range list {
		if t.ID == id {
			return rc.ix.impersonationTokenEntity(t), nil
		}
	}
	return nil, errMessage(http.StatusNotFound, "404 Impersonation Token Not Found")
}
