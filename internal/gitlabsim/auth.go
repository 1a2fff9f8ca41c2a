package gitlabsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// apiError is a refusal with GitLab's exact body
// (https://docs.gitlab.com/api/rest/troubleshooting/, testdata/fixtures/errors/).
type apiError struct {
	status int
	body   string
	header map[string]string
}

func (e *apiError) write(w http.ResponseWriter) {
	for k, v := range e.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = w.Write([]byte(e.body))
}

// errMessage is Grape's render_api_error!: {"message": msg}.
func errMessage(status int, msg string) *apiError {
	b, _ := json.Marshal(map[string]string{"message": msg})
	return &apiError{status: status, body: string(b)}
}

// errValidation is a Grape parameter validation failure: 400 {"error": msg}.
func errValidation(msg string) *apiError {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return &apiError{status: http.StatusBadRequest, body: string(b)}
}

var (
	errUnauthorized = errMessage(http.StatusUnauthorized, "401 Unauthorized")
	errForbidden    = errMessage(http.StatusForbidden, "403 Forbidden")
	errNotFound     = errMessage(http.StatusNotFound, "404 Not Found")
	errProject404   = errMessage(http.StatusNotFound, "404 Project Not Found")
	errGroup404     = errMessage(http.StatusNotFound, "404 Group Not Found")
	errUser404      = errMessage(http.StatusNotFound, "404 User Not Found")
	// errRoute404 is Grape's catch-all for an unknown API route, which uses
	// the "error" key (lib/api/api.rb `route :any, '*path'` → error!).
	errRoute404 = &apiError{status: http.StatusNotFound, body: `{"error":"404 Not Found"}`}

	// The invalid_token bodies of lib/api/api_guard.rb, with the
	// WWW-Authenticate header Rack::OAuth2 sends beside them.
	errExpired = &apiError{status: http.StatusUnauthorized,
		body:   `{"error":"invalid_token","error_description":"Token is expired. You can either do re-authorization or token refresh."}`,
		header: map[string]string{"WWW-Authenticate": `Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="Token is expired. You can either do re-authorization or token refresh."`}}
	errRevoked = &apiError{status: http.StatusUnauthorized,
		body:   `{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}`,
		header: map[string]string{"WWW-Authenticate": `Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="Token was revoked. You have to re-authorize from the user."`}}
	// Blocked and deactivated owners: GitLab refuses API access with
	// forbidden!(Gitlab::Auth::UserAccessDeniedReason#rejection_message)
	// in API::Helpers#find_current_user! [I: strings from memory of the source].
	errUserBlocked         = errMessage(http.StatusForbidden, "403 Forbidden - Your account has been blocked.")
	errUserPendingApproval = errMessage(http.StatusForbidden, "403 Forbidden - Your account is pending approval from your administrator and hence blocked.")
	errUserDeactivated     = errMessage(http.StatusForbidden, "403 Forbidden - Your account has been deactivated by your administrator. Please log back in to reactivate your account.")
)

// checkDPoP is the DPoP check a group's require_dpop_for_manage_api_endpoints
// asks of the /groups/:id/manage routes: one DPoP header holding a proof
// (Auth::DpopAuthenticationService), refused as Gitlab::Auth::DpopValidationError,
// which APIGuard renders as a 401 dpop_error
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/api_guard.rb,
// https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/services/auth/dpop_authentication_service.rb;
// the messages as spec/requests/api/api_spec.rb expects them). The
// simulator takes any header shaped as one JWT (three dot-separated parts)
// for a valid proof: it checks no signature. A nil request (Visible) has
// no proof.
func checkDPoP(r *http.Request) *apiError {
	var vals []string
	if r != nil {
		vals = r.Header.Values("DPoP")
	}
	switch {
	case len(vals) == 0:
		return errDPoP("DPoP header is missing")
	case len(vals) > 1 || strings.ContainsAny(strings.TrimSpace(vals[0]), " \t,"):
		return errDPoP("Only 1 DPoP header is allowed in request")
	case len(strings.Split(vals[0], ".")) != 3:
		return errDPoP("Malformed JWT, unable to decode. Not enough or too many segments")
	}
	return nil
}

func errDPoP(reason string) *apiError {
	desc := "DPoP validation error: " + reason
	b, _ := json.Marshal(map[string]string{"error": "dpop_error", "error_description": desc})
	return &apiError{status: http.StatusUnauthorized, body: string(b),
		header: map[string]string{"WWW-Authenticate": `Bearer realm="Protected by OAuth 2.0", error="dpop_error", error_description="` + desc + `"`}}
}

func errInsufficientScope(scopes string) *apiError {
	b, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Scope       string `json:"scope"`
	}{"insufficient_scope", "The request requires higher privileges than provided by the access token.", scopes})
	return &apiError{status: http.StatusForbidden, body: string(b)}
}

// caller is an authenticated request's user and token.
type caller struct {
	user  *User
	token *PersonalAccessToken
	// isAdmin: the user is an administrator (User#admin?), which GET /user
	// shows whatever the token.
	isAdmin bool
	// admin: the request is served as an administrator
	// (can_admin_all_resources?, authenticated_as_admin!), which Admin Mode
	// also requires the admin_mode scope for.
	admin bool
}

// scopeNeed says which token scopes a route accepts.
type scopeNeed int

const (
	scopeRead     scopeNeed = iota // api or read_api
	scopeReadUser                  // api, read_api or read_user (/user, /users)
	scopeAny                       // any scope (/personal_access_tokens/self)
)

// callerSecret reads the token as GitLab's auth finders do: PRIVATE-TOKEN,
// Authorization: Bearer, or the private_token / access_token parameters.
// The value is only ever used as a map key; it is never logged.
func callerSecret(r *http.Request) string {
	if t := r.Header.Get("PRIVATE-TOKEN"); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	q := r.URL.Query()
	if t := q.Get("private_token"); t != "" {
		return t
	}
	return q.Get("access_token")
}

// authenticate resolves the request's token to a caller, or refuses:
//   - no token, an unknown one, or a deploy or trigger token (they cannot
//     read the REST API): 401 {"message":"401 Unauthorized"};
//   - an expired token, then a revoked one: 401 invalid_token bodies, in
//     the order AccessTokenValidationService checks them;
//   - a token without a scope the route accepts: 403 insufficient_scope;
//   - a blocked or deactivated owner: 403.
func (ix *index) authenticate(r *http.Request, need scopeNeed) (*caller, *apiError) {
	return ix.authenticateSecret(callerSecret(r), need)
}

// authenticateSecret is authenticate for a token value, shared with Visible.
func (ix *index) authenticateSecret(secret string, need scopeNeed) (*caller, *apiError) {
	if secret == "" {
		return nil, errUnauthorized
	}
	t := ix.tokenBySecret[secret]
	if t == nil {
		return nil, errUnauthorized
	}
	u := ix.users[t.UserID]
	if u == nil {
		return nil, errUnauthorized
	}
	if dateExpired(t.ExpiresAt, ix.w.Now) {
		return nil, errExpired
	}
	if t.Revoked {
		return nil, errRevoked
	}
	switch need {
	case scopeRead:
		if !hasAnyScope(t.Scopes, "api", "read_api") {
			return nil, errInsufficientScope("api read_api")
		}
	case scopeReadUser:
		if !hasAnyScope(t.Scopes, "api", "read_api", "read_user") {
			return nil, errInsufficientScope("api read_api read_user")
		}
	}
	switch u.State {
	case "blocked", "ldap_blocked", "banned":
		return nil, errUserBlocked
	case "blocked_pending_approval":
		return nil, errUserPendingApproval
	case "deactivated":
		return nil, errUserDeactivated
	}
	// GitLab.com serves no customer as an instance administrator: the
	// administrator-only endpoints are offered on GitLab Self-Managed and
	// Dedicated only (https://docs.gitlab.com/api/settings/).
	isAdmin := u.Admin && !ix.w.GitLabCom
	return &caller{user: u, token: t, isAdmin: isAdmin, admin: isAdmin && ix.adminModeAllows(t)}, nil
}

// adminModeAllows reports whether Admin Mode lets a token act as an
// administrator: with the admin_mode setting on, only a token with the
// admin_mode scope does (GitLab 15.8, MR !107925,
// https://gitlab.com/gitlab-org/gitlab/-/merge_requests/107925); without
// it the admin lists answer as to anyone else: 403 from
// authenticated_as_admin!, the caller's own tokens from
// GET /personal_access_tokens, UserBasic from GET /users
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/helpers.rb).
func (ix *index) adminModeAllows(t *PersonalAccessToken) bool {
	return !ix.w.Settings.AdminMode || !ix.has(featAdminModeAPI) || slices.Contains(t.Scopes, "admin_mode")
}

func hasAnyScope(have []string, want ...string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}
