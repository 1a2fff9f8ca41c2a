package gitlabsim

import (
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// The GraphQL schema the simulator serves: a subset of GitLab's, with the
// names, types and nullability of https://docs.gitlab.com/api/graphql/reference/
// (app/graphql/types/*.rb in https://gitlab.com/gitlab-org/gitlab). Fields a
// version lacks are left out of its schema (versions.go), so asking for them
// fails validation as GitLab's would: "Field 'x' doesn't exist on type 'Y'".
//
// graphql-ruby makes list members non-null unless told otherwise, so GitLab's
// `[GraphQL::Types::ID]` arguments are [ID!].

// gqlSchemaSDL is the schema; lines ending in "# feat:NAME" are kept only
// where the served version has that feature (gqlSchemaFeatures).
const gqlSchemaSDL = `
schema { query: Query }

scalar Time

type Query {
  currentUser: CurrentUser
  project(fullPath: ID!): Project
  group(fullPath: ID!): Group
  projects(ids: [ID!], fullPaths: [String!], membership: Boolean, search: String, searchNamespaces: Boolean, personal: Boolean, sort: String, after: String, before: String, first: Int, last: Int): ProjectConnection
  users(ids: [ID!], usernames: [String!], sort: Sort = created_desc, search: String, admins: Boolean = false, after: String, before: String, first: Int, last: Int): UserCoreConnection
}

type PageInfo {
  endCursor: String
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
}

enum Sort {
  updated_desc
  updated_asc
  created_desc
  created_asc
  UPDATED_DESC
  UPDATED_ASC
  CREATED_DESC
  CREATED_ASC
}

enum AccessLevelEnum {
  NO_ACCESS
  MINIMAL_ACCESS
  GUEST
  PLANNER
  REPORTER
  DEVELOPER
  MAINTAINER
  OWNER
  ADMIN
}

type AccessLevel {
  humanAccess: String
  integerValue: Int
  stringValue: AccessLevelEnum
}

enum UserState {
  active
  blocked
  deactivated
  banned
  ldap_blocked
  blocked_pending_approval
}

interface User {
  id: ID!
  bot: Boolean!
  username: String!
  name: String!
  state: UserState!
  webUrl: String!
  groupMemberships(after: String, before: String, first: Int, last: Int): GroupMemberConnection
  projectMemberships(after: String, before: String, first: Int, last: Int): ProjectMemberConnection
}

type UserCore implements User {
  id: ID!
  bot: Boolean!
  username: String!
  name: String!
  state: UserState!
  webUrl: String!
  groupMemberships(after: String, before: String, first: Int, last: Int): GroupMemberConnection
  projectMemberships(after: String, before: String, first: Int, last: Int): ProjectMemberConnection
}

type CurrentUser implements User {
  id: ID!
  bot: Boolean!
  username: String!
  name: String!
  state: UserState!
  webUrl: String!
  groupMemberships(after: String, before: String, first: Int, last: Int): GroupMemberConnection
  projectMemberships(after: String, before: String, first: Int, last: Int): ProjectMemberConnection
}

type UserCoreConnection {
  count: Int!
  edges: [UserCoreEdge]
  nodes: [UserCore]
  pageInfo: PageInfo!
}

type UserCoreEdge {
  cursor: String!
  node: UserCore
}

interface MemberInterface {
  id: ID!
  accessLevel: AccessLevel
  user: UserCore
}

type ProjectMember implements MemberInterface {
  id: ID!
  accessLevel: AccessLevel
  project: Project
  user: UserCore
}

type GroupMember implements MemberInterface {
  id: ID!
  accessLevel: AccessLevel
  group: Group
  user: UserCore
}

type ProjectMemberConnection {
  edges: [ProjectMemberEdge]
  nodes: [ProjectMember]
  pageInfo: PageInfo!
}

type ProjectMemberEdge {
  cursor: String!
  node: ProjectMember
}

enum ProjectMemberRelation {
  DIRECT
  INHERITED
  DESCENDANTS
  INVITED_GROUPS
  SHARED_INTO_ANCESTORS
}

type MemberInterfaceConnection {
  edges: [MemberInterfaceEdge]
  nodes: [MemberInterface]
  pageInfo: PageInfo!
}

type MemberInterfaceEdge {
  cursor: String!
  node: MemberInterface
}

type GroupMemberConnection {
  edges: [GroupMemberEdge]
  nodes: [GroupMember]
  pageInfo: PageInfo!
}

type GroupMemberEdge {
  cursor: String!
  node: GroupMember
}

type Group {
  id: ID!
  fullName: String!
  fullPath: ID!
  name: String!
  path: String!
  visibility: String
  webUrl: String!
  parent: Group
  projects(includeSubgroups: Boolean = false, includeArchived: Boolean = true, search: String, ids: [ID!], after: String, before: String, first: Int, last: Int): ProjectConnection!
}

type Project {
  id: ID!
  archived: Boolean
  createdAt: Time
  fullPath: ID!
  group: Group
  lastActivityAt: Time
  name: String!
  nameWithNamespace: String!
  path: String!
  visibility: String
  webUrl: String
  maxAccessLevel: AccessLevel!
  ciCdSettings: ProjectCiCdSetting
  ciJobTokenScope: CiJobTokenScopeType # feat:jobTokenScopeCounts
  pipelineTriggers(after: String, before: String, first: Int, last: Int): PipelineTriggerConnection # feat:pipelineTriggers
  projectMembers(search: String, relations: [ProjectMemberRelation!] = [DIRECT, INHERITED], accessLevels: [AccessLevelEnum!], after: String, before: String, first: Int, last: Int): MemberInterfaceConnection
}

type ProjectConnection {
  count: Int!
  edges: [ProjectEdge]
  nodes: [Project]
  pageInfo: PageInfo!
}

type ProjectEdge {
  cursor: String!
  node: Project
}

type ProjectCiCdSetting {
  inboundJobTokenScopeEnabled: Boolean # feat:inboundJobTokenScope
  jobTokenScopeEnabled: Boolean
  project: Project
}

type CiJobTokenScopeType { # feat:jobTokenScopeCounts
  groupsAllowlistCount: Int! # feat:jobTokenScopeCounts
  inboundAllowlistCount: Int! # feat:jobTokenScopeCounts
} # feat:jobTokenScopeCounts

type PipelineTrigger { # feat:pipelineTriggers
  canAccessProject: Boolean! # feat:pipelineTriggers
  description: String # feat:pipelineTriggers
  expiresAt: Time # feat:triggerExpiresAt
  hasTokenExposed: Boolean! # feat:pipelineTriggers
  id: ID! # feat:pipelineTriggers
  lastUsed: Time # feat:pipelineTriggers
  owner: UserCore! # feat:pipelineTriggers
  token: String! # feat:pipelineTriggers
} # feat:pipelineTriggers

type PipelineTriggerConnection { # feat:pipelineTriggers
  count: Int! # feat:pipelineTriggers
  edges: [PipelineTriggerEdge] # feat:pipelineTriggers
  nodes: [PipelineTrigger] # feat:pipelineTriggers
  pageInfo: PageInfo! # feat:pipelineTriggers
} # feat:pipelineTriggers

type PipelineTriggerEdge { # feat:pipelineTriggers
  cursor: String! # feat:pipelineTriggers
  node: PipelineTrigger # feat:pipelineTriggers
} # feat:pipelineTriggers
`

// gqlSchemaFeatures names the features the schema's "# feat:" marks stand for.
var gqlSchemaFeatures = map[string]feature{
	"pipelineTriggers":     featGraphQLPipelineTriggers,
	"inboundJobTokenScope": featGraphQLInboundJobTokenScope,
	"jobTokenScopeCounts":  featGraphQLJobTokenScopeCounts,
	"triggerExpiresAt":     featTriggerExpiresAt,
}

// gqlSchemas caches one parsed schema per set of features present.
var gqlSchemas sync.Map // string -> *ast.Schema

// gqlSchemaFor returns the schema of the served version and edition.
func (ix *index) gqlSchemaFor() *ast.Schema {
	var key strings.Builder
	for _, name := range []string{"pipelineTriggers", "inboundJobTokenScope", "jobTokenScopeCounts", "triggerExpiresAt"} {
		if ix.has(gqlSchemaFeatures[name]) {
			key.WriteString(name + ",")
		}
	}
	if s, ok := gqlSchemas.Load(key.String()); ok {
		return s.(*ast.Schema)
	}
	s := gqlparser.MustLoadSchema(&ast.Source{Name: "gitlab.graphql", Input: gqlSchemaText(ix.has)})
	gqlSchemas.Store(key.String(), s)
	return s
}

// gqlSchemaText is the SDL without the lines of missing features; the
// marks themselves stay, as comments.
func gqlSchemaText(has func(feature) bool) string {
	lines := strings.Split(gqlSchemaSDL, "\n")
	out := lines[:0]
	for _, l := range lines {
		if _, mark, ok := strings.Cut(l, "# feat:"); ok {
			f, known := gqlSchemaFeatures[strings.TrimSpace(mark)]
			if !known {
				panic("gitlabsim: unknown GraphQL schema feature " + mark)
			}
			if !has(f) {
				continue
			}
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
