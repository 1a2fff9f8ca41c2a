package report

import (
	"net/url"
	"strings"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// TokenWebURL is the GitLab page where the token of tr is rotated or
// revoked, for the person who has to act on it; "" when there is none the
// caller can name. A report read back keeps the one it was written with
// (Token.WebURL); otherwise it is derived from the token's instance:
//
//   - a personal access token: the caller's own tokens page,
//     -/user_settings/personal_access_tokens, where only the owner acts
//     (https://docs.gitlab.com/user/profile/personal_access_tokens/); for an
//     administrator the owner's page in the Admin area, admin/users/<username>,
//     from which an administrator manages the account's tokens
//     (https://docs.gitlab.com/administration/admin_area/);
//   - an impersonation token: admin/users/<username>/impersonation_tokens
//     (https://docs.gitlab.com/api/user_tokens/), administrators only;
//   - a service account's token: the account's Admin area page, for an
//     administrator;
//   - a project or group access token: the project's -/settings/access_tokens
//     or groups/<path>/-/settings/access_tokens
//     (https://docs.gitlab.com/user/project/settings/project_access_tokens/,
//     https://docs.gitlab.com/user/group/settings/group_access_tokens/);
//   - a deploy token: its project's or group's -/settings/repository, section
//     Deploy tokens (https://docs.gitlab.com/user/project/deploy_tokens/);
//   - a pipeline trigger: its project's -/settings/ci_cd, section Pipeline
//     trigger tokens (https://docs.gitlab.com/ci/triggers/).
func TokenWebURL(r *audit.Result, tr *audit.TokenResult) string {
	t := &tr.Token
	if t.WebURL != "" {
		return t.WebURL
	}
	base := strings.TrimRight(instanceOf(r, tr), "/")
	if base == "" {
		return ""
	}
	admin, caller := callerOf(r, tr)
	username := ""
	if t.Owner != nil {
		username = t.Owner.Username
	}
	switch t.Kind {
	case inventory.KindPersonal:
		switch {
		case admin && username != "":
			return base + "/admin/users/" + url.PathEscape(username)
		case caller != "" && caller == username:
			return base + "/-/user_settings/personal_access_tokens"
		}
	case inventory.KindImpersonation:
		if admin && username != "" {
			return base + "/admin/users/" + url.PathEscape(username) + "/impersonation_tokens"
		}
	case inventory.KindServiceAccount:
		if admin && username != "" {
			return base + "/admin/users/" + url.PathEscape(username)
		}
	case inventory.KindProjectAccess:
		return resourcePage(base, t.Resource, inventory.ResourceProject, "access_tokens")
	case inventory.KindGroupAccess:
		return resourcePage(base, t.Resource, inventory.ResourceGroup, "access_tokens")
	case inventory.KindDeploy:
		if p := resourcePage(base, t.Resource, inventory.ResourceProject, "repository"); p != "" {
			return p
		}
		return resourcePage(base, t.Resource, inventory.ResourceGroup, "repository")
	case inventory.KindPipelineTrigger:
		return resourcePage(base, t.Resource, inventory.ResourceProject, "ci_cd")
	}
	return ""
}

// resourcePage is a project's or group's settings page, "" when the token
// belongs to another type of resource or its path is unknown (a bot whose
// project is gone).
func resourcePage(base string, res inventory.Resource, want inventory.ResourceType, page string) string {
	if res.Type != want || res.Path == "" {
		return ""
	}
	segs := strings.Split(res.Path, "/")
	for i, s := range segs {
		// GitLab's paths need no escaping; a hostile one must not leave
		// its segment.
		segs[i] = url.PathEscape(s)
	}
	p := strings.Join(segs, "/")
	if want == inventory.ResourceGroup {
		return base + "/groups/" + p + "/-/settings/" + page
	}
	return base + "/" + p + "/-/settings/" + page
}

// callerOf is whether the token tokenaudit ran with was an administrator's
// on the token's instance, and its username where known (a report read
// back does not carry it).
func callerOf(r *audit.Result, tr *audit.TokenResult) (admin bool, caller string) {
	if r.Inventory == nil {
		return false, ""
	}
	if tr.GitLabURL != "" && len(r.Sources) > 0 {
		for _, s := range r.Sources {
			if audit.NormalizeURL(s.GitLab.URL) == audit.NormalizeURL(tr.GitLabURL) {
				return s.GitLab.Admin, ""
			}
		}
		return false, ""
	}
	return r.Inventory.GitLab.Admin, r.Inventory.GitLab.Caller
}
