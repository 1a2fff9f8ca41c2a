package gitlabsim

import (
	"fmt"
	"strconv"
	"strings"
)

// The simulator serves one GitLab version and edition, World.Version:
// "18.5.1-ee" (Enterprise Edition), "16.11.0-ce" (Community Edition; the
// simulator's spelling, GitLab CE reports the bare "16.11.0"), or a bare or
// "-pre" version, which is CE off GitLab.com and EE on it (GitLab.com runs
// EE). What a version or edition lacks is the table features below, read
// by routes (apiRoute.feature), entities and the generator: the gating is
// data, not ifs spread over the handlers.

// gitlabVersion is a parsed World.Version.
type gitlabVersion struct {
	major, minor, patch int
	ee                  bool
	// served is what GET /version and /metadata answer.
	served string
}

// parseGitLabVersion reads a World.Version; gitLabCom makes a version
// without an edition EE.
func parseGitLabVersion(s string, gitLabCom bool) (gitlabVersion, error) {
	core, suffix, _ := strings.Cut(s, "-")
	parts := strings.Split(core, ".")
	var v gitlabVersion
	if len(parts) != 3 {
		return v, fmt.Errorf("GitLab version %q: want MAJOR.MINOR.PATCH with an optional -ee, -ce or -pre", s)
	}
	for i, dst := range []*int{&v.major, &v.minor, &v.patch} {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 {
			return v, fmt.Errorf("GitLab version %q: %q is not a number", s, parts[i])
		}
		*dst = n
	}
	v.served = s
	switch suffix {
	case "ee":
		v.ee = true
	case "ce":
		v.served = core
	case "", "pre":
		v.ee = gitLabCom
	default:
		return v, fmt.Errorf("GitLab version %q: unknown suffix %q (want -ee, -ce or -pre)", s, suffix)
	}
	return v, nil
}

// worldVersion is the version a World serves: World.Version, or
// GeneratorVersion when it is empty or malformed (a World built by hand
// need not name one).
func worldVersion(w *World) gitlabVersion {
	if v, err := parseGitLabVersion(w.Version, w.GitLabCom); err == nil {
		return v
	}
	v, _ := parseGitLabVersion(GeneratorVersion, w.GitLabCom)
	return v
}

func (v gitlabVersion) atLeast(major, minor int) bool {
	return v.major > major || v.major == major && v.minor >= minor
}

// feature is one row of the features table.
type feature int

const (
	featAlways feature = iota // every version and edition

	featMetadata
	featMetadataEnterprise
	featMetadataK8sProxyURL
	featPATList
	featPATGet
	featPATSelf
	featPATDescription
	featLastUsedIPs
	featGranular
	featGranularDefaultOn
	featTokenExpired
	featProjectAccessTokens
	featGroupAccessTokens
	featGroupAccessTokenGet
	featResourceTokenState
	featResourceTokenResource
	featRetainResourceBots
	featTriggerExpiresAt
	featJobTokenScope
	featJobTokenAllowlist
	featJobTokenGroupsAllowlist
	featAdminModeAPI
	featRequireExpirySetting
	featUsersKeyset
	featUsersOffsetLimit
	featServiceAccounts
	featServiceAccountNames
	featServiceAccountsAPI
	featServiceAccountPATs
	featProvisionedByGroup
	featManageRoutes
	featCredentialsInventory
	featDPoPGroupSetting
	featGraphQLPipelineTriggers
	featGraphQLInboundJobTokenScope
	featGraphQLJobTokenScopeCounts
)

// featureGate says where a feature exists: from which version, in which
// edition, on which offering, and who says so.
type featureGate struct {
	name         string
	major, minor int  // the first version that has it
	ee           bool // Premium and Ultimate code: absent from CE
	gitLabCom    bool // GitLab.com only
	// approx: the first version is not stated by GitLab; it is the
	// release of the merge request or flag named in source.
	approx bool
	source string
}

// features is the table of everything the simulator serves that not every
// GitLab has. A route, field or behaviour of a version or edition without
// its feature is absent: a route then answers Grape's catch-all
// {"error":"404 Not Found"}, a field is left out of its entity.
var features = [...]featureGate{
	featAlways: {name: "always"},

	featMetadata:            {name: "GET /metadata", major: 15, minor: 2, source: "https://docs.gitlab.com/api/metadata/"},
	featMetadataEnterprise:  {name: "metadata enterprise", major: 15, minor: 6, source: "https://docs.gitlab.com/api/metadata/"},
	featMetadataK8sProxyURL: {name: "metadata kas.externalK8sProxyUrl", major: 17, minor: 6, source: "https://docs.gitlab.com/api/metadata/"},

	featPATList:        {name: "GET /personal_access_tokens", major: 13, minor: 3, source: "https://docs.gitlab.com/api/personal_access_tokens/"},
	featPATGet:         {name: "GET /personal_access_tokens/:id", major: 15, minor: 1, source: "https://docs.gitlab.com/api/personal_access_tokens/"},
	featPATSelf:        {name: "GET /personal_access_tokens/self", major: 15, minor: 5, source: "https://docs.gitlab.com/api/personal_access_tokens/"},
	featPATDescription: {name: "token description", major: 17, minor: 7, source: "https://docs.gitlab.com/api/personal_access_tokens/"},
	// The IP list (MR !161076, flag pat_ip) released around 17.9.
	featLastUsedIPs: {name: "token last_used_ips", major: 17, minor: 9, approx: true,
		source: "https://gitlab.com/gitlab-org/gitlab/-/merge_requests/161076"},
	// Fine-grained tokens went to beta in 18.10; a GitLab.com answer of
	// March 2026 already carries granular, none of the older examples do.
	featGranular: {name: "token granular", major: 18, minor: 10, approx: true,
		source: "https://docs.gitlab.com/auth/tokens/fine_grained_access_tokens/"},
	// MR !244047 turns the granular_personal_access_tokens flag on by
	// default (general availability).
	featGranularDefaultOn: {name: "granular tokens for everyone", major: 19, minor: 2, approx: true,
		source: "https://gitlab.com/gitlab-org/gitlab/-/merge_requests/244047"},
	// expired is in the newest entity and not in the March 2026 GitLab.com
	// answer.
	featTokenExpired: {name: "token expired", major: 18, minor: 11, approx: true,
		source: "https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/entities/personal_access_token.rb"},

	featProjectAccessTokens: {name: "project access tokens API", major: 13, minor: 9, source: "https://docs.gitlab.com/api/project_access_tokens/"},
	featGroupAccessTokens:   {name: "group access tokens API", major: 14, minor: 7, source: "https://docs.gitlab.com/api/group_access_tokens/"},
	featGroupAccessTokenGet: {name: "GET /groups/:id/access_tokens/:token_id", major: 14, minor: 10, source: "https://docs.gitlab.com/api/group_access_tokens/"},
	featResourceTokenState:  {name: "resource token state filter", major: 17, minor: 2, source: "https://docs.gitlab.com/api/project_access_tokens/"},
	featResourceTokenResource: {name: "resource token resource_type and resource_id", major: 17, minor: 10, approx: true,
		source: "https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/entities/resource_access_token.rb"},
	// Flag retain_resource_access_token_user_after_revoke, 17.3, on by
	// default in 17.9: before, revoking a project or group token deleted
	// its bot user, and so did the expiry of its membership.
	featRetainResourceBots: {name: "inactive resource tokens kept", major: 17, minor: 9,
		source: "https://docs.gitlab.com/user/project/settings/project_access_tokens/#bot-users-for-projects"},
	featTriggerExpiresAt: {name: "trigger expires_at", major: 16, minor: 11, approx: true,
		source: "https://gitlab.com/gitlab-org/gitlab/-/merge_requests/146912"},

	featJobTokenScope: {name: "GET /projects/:id/job_token_scope", major: 16, minor: 1, approx: true,
		source: "https://gitlab.com/gitlab-org/gitlab/-/merge_requests/117842"},
	featJobTokenAllowlist: {name: "GET /projects/:id/job_token_scope/allowlist", major: 16, minor: 1, approx: true,
		source: "https://gitlab.com/gitlab-org/gitlab/-/merge_requests/118495"},
	// Its first merge was reverted in June 2024 (MR !151704).
	featJobTokenGroupsAllowlist: {name: "GET /projects/:id/job_token_scope/groups_allowlist", major: 17, minor: 2, approx: true,
		source: "https://docs.gitlab.com/api/project_job_token_scopes/"},

	featAdminModeAPI: {name: "admin_mode scope for API requests", major: 15, minor: 8, approx: true,
		source: "https://gitlab.com/gitlab-org/gitlab/-/merge_requests/107925"},
	featRequireExpirySetting: {name: "setting require_personal_access_token_expiry", major: 17, minor: 3, source: "https://docs.gitlab.com/api/settings/"},
	featUsersKeyset:          {name: "GET /users keyset pagination", major: 16, minor: 5, source: "https://docs.gitlab.com/api/rest/#keyset-based-pagination"},
	featUsersOffsetLimit:     {name: "GET /users offset limit", major: 17, minor: 0, source: "https://docs.gitlab.com/api/users/#list-users"},

	featServiceAccounts: {name: "service accounts", major: 16, minor: 1, ee: true, source: "https://docs.gitlab.com/user/profile/service_accounts/"},
	featServiceAccountNames: {name: "service account usernames chosen freely", major: 16, minor: 10, ee: true,
		source: "https://docs.gitlab.com/api/service_accounts/"},
	featServiceAccountsAPI: {name: "service account lists", major: 17, minor: 1, ee: true, source: "https://docs.gitlab.com/api/service_accounts/"},
	featServiceAccountPATs: {name: "GET /groups/:id/service_accounts/:user_id/personal_access_tokens", major: 17, minor: 11, ee: true,
		source: "https://docs.gitlab.com/api/service_accounts/"},

	// The docs of every supported version show it to Premium and Ultimate
	// administrators; the simulator's EE is licensed.
	featProvisionedByGroup: {name: "users provisioned_by_group_id", ee: true,
		source: "https://docs.gitlab.com/api/users/#as-an-administrator"},

	// API::Manage::Groups is mounted in EE from the release of its flag
	// manage_pat_by_group_owners_ready (17.8); it answers 404 unless the
	// flag is on and the instance is GitLab.com.
	featManageRoutes: {name: "/groups/:id/manage routes", major: 17, minor: 8, ee: true, approx: true,
		source: "https://gitlab.com/gitlab-org/gitlab/-/blob/master/ee/lib/api/manage/groups.rb"},
	// 18.6 with the flag, 18.7 generally available.
	featCredentialsInventory: {name: "group credentials inventory API", major: 18, minor: 6, ee: true, gitLabCom: true,
		source: "https://docs.gitlab.com/api/groups/#credentials-inventory-management"},
	// DPoP came in 17.10 (MR !181053), and with it the migration
	// AddRequireDpopForManageApiEndpoints (milestone 17.10) that adds the
	// group setting.
	featDPoPGroupSetting: {name: "group setting require_dpop_for_manage_api_endpoints", major: 17, minor: 10, ee: true,
		source: "https://docs.gitlab.com/user/profile/personal_access_tokens/#use-dpop-with-personal-access-tokens"},

	// GraphQL fields (graphql.go). Project.pipelineTriggers is an
	// experiment of milestone 16.3 in app/graphql/types/project_type.rb.
	featGraphQLPipelineTriggers: {name: "GraphQL Project.pipelineTriggers", major: 16, minor: 3,
		source: "https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/graphql/types/project_type.rb"},
	// ProjectCiCdSetting.inboundJobTokenScopeEnabled came with the inbound
	// scope's toggle (MR !99165, October 2022).
	featGraphQLInboundJobTokenScope: {name: "GraphQL ProjectCiCdSetting.inboundJobTokenScopeEnabled", major: 15, minor: 5, approx: true,
		source: "https://gitlab.com/gitlab-org/gitlab/-/merge_requests/99165"},
	// CiJobTokenScopeType's inboundAllowlistCount and groupsAllowlistCount
	// came after groups joined the allowlist in GraphQL (MR !143132,
	// February 2024); the simulator serves Project.ciJobTokenScope only
	// with them.
	featGraphQLJobTokenScopeCounts: {name: "GraphQL CiJobTokenScopeType allowlist counts", major: 16, minor: 11, approx: true,
		source: "https://docs.gitlab.com/api/graphql/reference/#cijobtokenscopetype"},
}

// has reports whether the version, edition and offering have f.
func (v gitlabVersion) has(f feature, gitLabCom bool) bool {
	g := features[f]
	return (!g.ee || v.ee) && (!g.gitLabCom || gitLabCom) && v.atLeast(g.major, g.minor)
}

// has reports whether the served World has f.
func (ix *index) has(f feature) bool { return ix.v.has(f, ix.w.GitLabCom) }

// NamesProvisioningGroup reports whether w's administrator users list names
// the group that created each user (provisioned_by_group_id), which says a
// group service account's group.
func (w *World) NamesProvisioningGroup() bool {
	return worldVersion(w).has(featProvisionedByGroup, w.GitLabCom)
}
