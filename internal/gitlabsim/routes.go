package gitlabsim

import (
	"sort"
	"strings"
	"time"
)

// apiRoutes are the GET routes the simulator serves, in match order (a
// literal segment such as "self" before a :param in the same place).
var apiRoutes []*apiRoute

func init() {
	apiRoutes = []*apiRoute{
		getRoute("/version", getVersion, scopeRead),
		since(featMetadata, getRoute("/metadata", getMetadata, scopeRead)),
		getRoute("/user", getCurrentUser, scopeReadUser),
		getRoute("/users", listUsers, scopeReadUser),
		getRoute("/users/:id", getUser, scopeReadUser),
		getRoute("/users/:id/memberships", listUserMemberships, scopeReadUser),
		getRoute("/users/:id/impersonation_tokens", listImpersonationTokens, scopeReadUser),
		getRoute("/users/:id/impersonation_tokens/:token_id", getImpersonationToken, scopeReadUser),
		since(featPATList, getRoute("/personal_access_tokens", listPATs, scopeRead)),
		since(featPATSelf, getRoute("/personal_access_tokens/self", getPATSelf, scopeAny)),
		since(featPATGet, getRoute("/personal_access_tokens/:id", getPAT, scopeRead)),
		getRoute("/projects", listProjects, scopeRead),
		getRoute("/projects/:id", getProject, scopeRead),
		since(featProjectAccessTokens, getRoute("/projects/:id/access_tokens", listProjectAccessTokens, scopeRead)),
		since(featProjectAccessTokens, getRoute("/projects/:id/access_tokens/:token_id", getProjectAccessToken, scopeRead)),
		getRoute("/projects/:id/deploy_tokens", listProjectDeployTokens, scopeRead),
		getRoute("/projects/:id/deploy_tokens/:token_id", getProjectDeployToken, scopeRead),
		getRoute("/projects/:id/triggers", listTriggers, scopeRead),
		getRoute("/projects/:id/triggers/:trigger_id", getTrigger, scopeRead),
		getRoute("/projects/:id/access_requests", listProjectAccessRequests, scopeRead),
		getRoute("/projects/:id/members", listProjectMembers, scopeRead),
		since(featJobTokenScope, getRoute("/projects/:id/job_token_scope", getJobTokenScope, scopeRead)),
		since(featJobTokenAllowlist, getRoute("/projects/:id/job_token_scope/allowlist", listJobTokenAllowlist, scopeRead)),
		since(featJobTokenGroupsAllowlist, getRoute("/projects/:id/job_token_scope/groups_allowlist", listJobTokenGroupsAllowlist, scopeRead)),
		getRoute("/groups", listGroups, scopeRead),
		getRoute("/groups/:id", getGroup, scopeRead),
		getRoute("/groups/:id/subgroups", listSubgroups, scopeRead),
		getRoute("/groups/:id/descendant_groups", listDescendantGroups, scopeRead),
		getRoute("/groups/:id/projects", listGroupProjects, scopeRead),
		getRoute("/groups/:id/access_requests", listGroupAccessRequests, scopeRead),
		getRoute("/groups/:id/members", listGroupMembers, scopeRead),
		since(featGroupAccessTokens, getRoute("/groups/:id/access_tokens", listGroupAccessTokens, scopeRead)),
		since(featGroupAccessTokenGet, getRoute("/groups/:id/access_tokens/:token_id", getGroupAccessToken, scopeRead)),
		getRoute("/groups/:id/deploy_tokens", listGroupDeployTokens, scopeRead),
		getRoute("/groups/:id/deploy_tokens/:token_id", getGroupDeployToken, scopeRead),
		since(featServiceAccountsAPI, getRoute("/groups/:id/service_accounts", listGroupServiceAccounts, scopeRead)),
		since(featServiceAccountPATs, getRoute("/groups/:id/service_accounts/:user_id/personal_access_tokens", listGroupServiceAccountPATs, scopeRead)),
		since(featManageRoutes, getRoute("/groups/:id/manage/personal_access_tokens", listManagedPATs, scopeRead)),
		since(featManageRoutes, getRoute("/groups/:id/manage/resource_access_tokens", listManagedResourceTokens, scopeRead)),
		since(featServiceAccountsAPI, getRoute("/service_accounts", listServiceAccounts, scopeRead)),
		getRoute("/deploy_tokens", listAllDeployTokens, scopeRead),
		getRoute("/application/settings", getSettings, scopeRead),
	}
}

// paged answers one offset page of items, converted with conv, and writes
// the pagination headers.
func paged[T, E any](s *Server, rc *reqCtx, items []T, conv func(T) E) ([]E, *apiError) {
	pp, err := parsePageParams(rc.q)
	if err != nil {
		return nil, err
	}
	start, end := setPageHeaders(rc.w, rc.r, requestBase(rc.r), pp, len(items))
	out := make([]E, 0, end-start)
	for _, it := range items[start:end] {
		out = append(out, conv(it))
	}
	return out, nil
}

// boolParam reads a Grape Boolean parameter. ok is false when absent or
// empty; an unparsable value is a 400 "<name> is invalid".
func boolParam(rc *reqCtx, name string) (val, ok bool, err *apiError) {
	v := strings.ToLower(strings.TrimSpace(rc.q.Get(name)))
	switch v {
	case "":
		return false, false, nil
	case "true", "1", "t", "yes", "y", "on":
		return true, true, nil
	case "false", "0", "f", "no", "n", "off":
		return false, true, nil
	}
	return false, false, errValidation(name + " is invalid")
}

// timeParam reads a Grape DateTime (or Date) parameter.
func timeParam(rc *reqCtx, name string) (*time.Time, *apiError) {
	v := strings.TrimSpace(rc.q.Get(name))
	if v == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return &t, nil
		}
	}
	return nil, errValidation(name + " is invalid")
}

// intParam reads a Grape Integer parameter; ok is false when absent.
func intParam(rc *reqCtx, name string) (n int, ok bool, err *apiError) {
	v, present := rc.q[name]
	if !present || strings.TrimSpace(v[0]) == "" {
		return 0, false, nil
	}
	n, valid := parseIntParam(v[0])
	if !valid {
		return 0, false, errValidation(name + " is invalid")
	}
	return n, true, nil
}

// valuesParam checks a parameter against its allowed values, as Grape's
// values validator does.
func valuesParam(rc *reqCtx, name string, allowed ...string) (string, *apiError) {
	v := rc.q.Get(name)
	if v == "" {
		return "", nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", errValidation(name + " does not have a valid value")
}

// getVersion is GET /version (https://docs.gitlab.com/api/version/): the
// version as GitLab spells it, bare for CE.
func getVersion(s *Server, rc *reqCtx) (any, *apiError) {
	return map[string]any{"version": rc.ix.v.served, "revision": rc.ix.w.Revision}, nil
}

// getMetadata is GET /metadata (15.2; enterprise 15.6,
// kas.externalK8sProxyUrl 17.6; https://docs.gitlab.com/api/metadata/).
// The simulator runs no KAS.
func getMetadata(s *Server, rc *reqCtx) (any, *apiError) {
	kas := map[string]any{"enabled": false, "externalUrl": nil, "version": nil}
	if rc.ix.has(featMetadataK8sProxyURL) {
		kas["externalK8sProxyUrl"] = nil
	}
	m := map[string]any{"version": rc.ix.v.served, "revision": rc.ix.w.Revision, "kas": kas}
	if rc.ix.has(featMetadataEnterprise) {
		m["enterprise"] = rc.ix.v.ee
	}
	return m, nil
}

// getSettings is GET /application/settings: administrators only, not on
// GitLab.com (https://docs.gitlab.com/api/settings/). Keys are those of the docs example
// (fixtures/application_settings_get.json) plus the token and throttle
// settings the World models.
func getSettings(s *Server, rc *reqCtx) (any, *apiError) {
	if !rc.c.admin {
		return nil, errForbidden
	}
	st := rc.ix.w.Settings
	m := defaultApplicationSettings()
	if rc.ix.has(featRequireExpirySetting) {
		m["require_personal_access_token_expiry"] = st.RequirePersonalAccessTokenExpiry
	} else {
		delete(m, "require_personal_access_token_expiry") // the docs example has it
	}
	if st.MaxPersonalAccessTokenLifetime != nil {
		m["max_personal_access_token_lifetime"] = *st.MaxPersonalAccessTokenLifetime
	} else {
		m["max_personal_access_token_lifetime"] = nil
	}
	m["service_access_tokens_expiration_enforced"] = st.ServiceAccessTokensExpirationEnforced
	prefix := st.PersonalAccessTokenPrefix
	if prefix == "" {
		prefix = "glpat-"
	}
	m["personal_access_token_prefix"] = prefix
	m["throttle_authenticated_api_enabled"] = st.ThrottleAuthenticatedAPIEnabled
	m["throttle_authenticated_api_requests_per_period"] = st.ThrottleAuthenticatedAPIRequests
	m["throttle_authenticated_api_period_in_seconds"] = st.ThrottleAuthenticatedAPIPeriodSeconds
	m["admin_mode"] = st.AdminMode
	return m, nil
}

// sortBy sorts a copy of items with less, ties broken by ID ascending.
func sortBy[T any](items []T, less func(a, b T) int, id func(T) int64) []T {
	out := append([]T(nil), items...)
	sort.SliceStable(out, func(i, j int) bool {
		if c := less(out[i], out[j]); c != 0 {
			return c < 0
		}
		return id(out[i]) < id(out[j])
	})
	return out
}

func cmpTime(a, b time.Time) int { return a.Compare(b) }

func cmpStr(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }
