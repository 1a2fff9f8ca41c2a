package gitlabsim

import (
	"net/http"
	"strings"
)

// getCurrentUser is GET /user.
func getCurrentUser(s *Server, rc *reqCtx) (any, *apiError) {
	return s.userSelf(rc.c.user, rc.c.admin), nil
}

// listUsers is GET /users (README §8): an administrator gets UserWithAdmin
// (is_admin, bot, email, last_activity_on, ...), anyone else UserBasic only.
// Non-administrators' order_by/sort are dropped (users.rb params.except!);
// the default order is id desc.
func listUsers(s *Server, rc *reqCtx) (any, *apiError) {
	flags := map[string]bool{}
	for _, name := range []string{"active", "blocked", "humans", "exclude_humans", "exclude_internal", "without_project_bots", "exclude_active", "admins", "external", "exclude_external"} {
		v, _, err := boolParam(rc, name)
		if err != nil {
			return nil, err
		}
		flags[name] = v
	}
	if !rc.c.admin {
		flags["admins"] = false // admin-only filter
	}
	username := strings.ToLower(rc.q.Get("username"))
	search := strings.ToLower(rc.q.Get("search"))
	orderBy, sortDir := "id", "desc"
	if rc.c.admin {
		var err *apiError
		if orderBy, err = valuesParam(rc, "order_by", "id", "name", "username", "created_at", "updated_at"); err != nil {
			return nil, err
		}
		if sortDir, err = valuesParam(rc, "sort", "asc", "desc"); err != nil {
			return nil, err
		}
		if orderBy == "" {
			orderBy = "id"
		}
		if sortDir == "" {
			sortDir = "desc"
		}
	}
	var list []*User
	for _, u := range rc.ix.w.Users {
		if username != "" && strings.ToLower(u.Username) != username {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(u.Username), search) && !strings.Contains(strings.ToLower(u.Name), search) &&
			!(rc.c.admin && strings.EqualFold(u.Email, search)) {
			continue
		}
		if flags["active"] && u.State != "active" {
			continue
		}
		if flags["exclude_active"] && u.State == "active" {
			continue
		}
		if flags["blocked"] && u.State != "blocked" && u.State != "ldap_blocked" {
			continue
		}
		if flags["humans"] && u.UserType != UserTypeHuman {
			continue
		}
		if flags["exclude_humans"] && u.UserType == UserTypeHuman {
			continue
		}
		// exclude_internal removes GitLab's internal bots (alert, support,
		// ghost, ...), which a World does not hold; project bots and
		// service accounts are not internal (README §7, §8).
		if flags["without_project_bots"] && u.UserType == UserTypeProjectBot {
			continue
		}
		if flags["admins"] && !u.Admin {
			continue
		}
		list = append(list, u)
	}
	id := func(u *User) int64 { return u.ID }
	cmp := func(a, b *User) int { return 0 }
	switch orderBy {
	case "name":
		cmp = func(a, b *User) int { return cmpStr(a.Name, b.Name) }
	case "username":
		cmp = func(a, b *User) int { return cmpStr(a.Username, b.Username) }
	case "created_at", "updated_at":
		cmp = func(a, b *User) int { return cmpTime(a.CreatedAt, b.CreatedAt) }
	}
	if sortDir == "desc" {
		list = sortBy(list, func(a, b *User) int {
			if c := cmp(b, a); c != 0 {
				return c
			}
			return compareInt64(b.ID, a.ID)
		}, id)
	} else {
		list = sortBy(list, cmp, id)
	}
	if rc.c.admin {
		return paged(s, rc, list, s.userListAdmin)
	}
	return paged(s, rc, list, s.userBasic)
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
		return s.userDetailAdmin(u), nil
	}
	return s.userEntity(u), nil
}

// listUserMemberships is GET /users/:id/memberships: administrators only
// (403 otherwise), direct memberships, type=Project|Namespace. access_level
// is an integer as in GitLab's entity and client-go (the docs' string is
// taken for a typo, README §5).
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
// 404 User Not Found (lib/api/users.rb, README §2.5). On GitLab.com nobody
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
