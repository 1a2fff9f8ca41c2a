#!/usr/bin/python3
"""Independent client check: list tokens from a GitLab (or the simulator)
with python-gitlab, which shares no code with tokenaudit or client-go.

Usage:
    GITLAB_TOKEN=... /usr/bin/python3 scripts/pygitlab_check.py URL PLAN_JSON

URL is the instance URL without /api/v4. The token is read from the
GITLAB_TOKEN environment variable, never from the command line (it would
show in ps). PLAN_JSON is a JSON object:

    {"project": 12 or "group/sub/project",   # whose access tokens to list
     "group": 3 or "group/sub",               # whose access tokens to list
     "per_page": 5,                           # page size of those two lists
     "pat_per_page": 100,                     # page size of the PAT list
     "expect": {"personal_access_tokens": 812, ...}}   # optional

It lists every personal access token the token may see
(GET /personal_access_tokens), then the project's and the group's access
tokens page by page, letting python-gitlab wait out any 429 as it does by
default (obey_rate_limit: it sleeps for Retry-After seconds). 5xx answers
are not retried (retry_transient_errors off, python-gitlab's default).

It prints one JSON object: the counts, the sorted IDs of each list, the
number of pages each took, and every HTTP status seen with its Retry-After.
With "expect", it exits 1 when a count differs. Needs python-gitlab
(Debian: apt-get install python3-gitlab).

With "graphql" in the plan, it also posts GraphQL queries to /api/graphql
with plain HTTP (urllib, no python-gitlab needed for that part):

    {"rest": false,                           # skip the python-gitlab lists
     "graphql": {"project_ids": [1, 2, ...],  # read in batches
                 "user_ids": [7, ...],        # users whose memberships to read
                 "batch": 100}}

With "queries" in the "graphql" plan (the texts tokenaudit's collector
sends: "projects_count", "projects_triggers", "more_triggers", "levels"),
it posts those instead, with the variables the collector sends, so the
check covers the very queries tokenaudit depends on.

It adds "graphql" to its output: per project its inbound job token
setting and triggers (ID, description, owner, last used; null for a
trigger GraphQL could not return), per user its direct memberships, the
errors GitLab answered, and the HTTP statuses seen.
"""

import json
import os
import sys
import urllib.error
import urllib.request

try:
    import gitlab
except ImportError:
    gitlab = None

TRIGGERS_QUERY = """
query($ids: [ID!], $first: Int) {
  projects(ids: $ids, first: $first) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      fullPath
      ciCdSettings { inboundJobTokenScopeEnabled }
      pipelineTriggers(first: 100) {
        count
        pageInfo { hasNextPage endCursor }
        nodes { id description owner { id } lastUsed }
      }
    }
  }
}
"""

MORE_TRIGGERS_QUERY = """
query($path: ID!, $after: String) {
  project(fullPath: $path) {
    pipelineTriggers(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id description owner { id } lastUsed }
    }
  }
}
"""

MEMBERSHIPS_QUERY = """
query($ids: [ID!]) {
  users(ids: $ids, first: 100) {
    nodes {
      id
      bot
      groupMemberships { nodes { accessLevel { integerValue } group { id } } }
      projectMemberships { nodes { accessLevel { integerValue } project { id } } }
    }
  }
}
"""


def gid_number(gid):
    return int(gid.rsplit("/", 1)[1])


class GraphQL:
    """Posts queries to URL/api/graphql as GitLab's docs show with curl."""

    def __init__(self, url, token):
        self.endpoint = url.rstrip("/") + "/api/graphql"
        self.token = token
        self.statuses = {}
        self.errors = []

    def post(self, query, variables):
        body = json.dumps({"query": query, "variables": variables}).encode()
        req = urllib.request.Request(self.endpoint, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "Authorization": "Bearer " + self.token,
        })
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, payload = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, payload = e.code, e.read()
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        answer = json.loads(payload)
        for e in answer.get("errors", []):
            self.errors.append({"message": e.get("message"), "path": e.get("path")})
        if status != 200:
            raise RuntimeError("GraphQL answered %d: %s" % (status, answer))
        return answer.get("data") or {}


def trigger_entry(node, owners=None):
    """A trigger node; owners, when given, maps trigger IDs to owner IDs
    read apart (the collector's triggerOwners), where None is a trigger
    whose owner GitLab could not return."""
    if node is None:
        return None
    owner = owners.get(node["id"]) if owners is not None else gid_number(node["owner"]["id"])
    return {
        "id": gid_number(node["id"]),
        "description": node["description"],
        "owner": owner,
        "last_used": node["lastUsed"],
    }


def owners_of(conn):
    """Trigger IDs to owner IDs in the collector's triggerOwners alias."""
    return {n["id"]: gid_number(n["owner"]["id"]) for n in (conn or {}).get("nodes", []) if n is not None}


def run_graphql(url, token, plan):
    gql = GraphQL(url, token)
    batch = int(plan.get("batch", 100))
    projects = {}
    ids = plan.get("project_ids", [])
    for start in range(0, len(ids), batch):
        chunk = ["gid://gitlab/Project/%d" % i for i in ids[start:start + batch]]
        data = gql.post(TRIGGERS_QUERY, {"ids": chunk, "first": batch})
        for node in data["projects"]["nodes"]:
            settings = node["ciCdSettings"] or {}
            conn = node["pipelineTriggers"] or {"count": None, "nodes": [], "pageInfo": {"hasNextPage": False}}
            triggers = [trigger_entry(n) for n in conn["nodes"]]
            info = conn["pageInfo"]
            while info["hasNextPage"]:
                more = gql.post(MORE_TRIGGERS_QUERY, {"path": node["fullPath"], "after": info["endCursor"]})
                conn2 = more["project"]["pipelineTriggers"]
                triggers += [trigger_entry(n) for n in conn2["nodes"]]
                info = conn2["pageInfo"]
            projects[str(gid_number(node["id"]))] = {
                "inbound": settings.get("inboundJobTokenScopeEnabled"),
                "count": conn["count"],
                "triggers": triggers,
            }
    users = {}
    uids = plan.get("user_ids", [])
    for start in range(0, len(uids), batch):
        chunk = ["gid://gitlab/User/%d" % i for i in uids[start:start + batch]]
        data = gql.post(MEMBERSHIPS_QUERY, {"ids": chunk})
        for node in data["users"]["nodes"]:
            ms = ["group %d: %d" % (gid_number(m["group"]["id"]), m["accessLevel"]["integerValue"])
                  for m in node["groupMemberships"]["nodes"]]
            ms += ["project %d: %d" % (gid_number(m["project"]["id"]), m["accessLevel"]["integerValue"])
                   for m in node["projectMemberships"]["nodes"]]
            users[str(gid_number(node["id"]))] = {"bot": node["bot"], "memberships": sorted(ms)}
    return {"projects": projects, "users": users, "errors": gql.errors, "statuses": gql.statuses}


def run_collector_queries(url, token, plan):
    """The collector's own queries: per batch of projects its count query
    (the default) and its trigger query (skip_trigger_created_at), each
    project's further trigger pages by cursor, the bot users' levels, and
    the memberships of the people in reach_ids (person_reach), with their
    further pages."""
    gql = GraphQL(url, token)
    q = plan["queries"]
    batch = int(plan.get("batch", 100))
    projects = {}
    ids = plan.get("project_ids", [])
    for start in range(0, len(ids), batch):
        chunk = ["gid://gitlab/Project/%d" % i for i in ids[start:start + batch]]
        counts = gql.post(q["projects_count"], {"ids": chunk, "first": len(chunk)})
        count_of = {}
        for node in counts["projects"]["nodes"]:
            conn = node.get("pipelineTriggers") or {}
            count_of[node["id"]] = conn.get("count")
        # Groups mode's query: the same, and whether a direct member is a bot.
        bot_member = {}
        for node in gql.post(q["projects_groups"], {"ids": chunk, "first": len(chunk)})["projects"]["nodes"]:
            members = node["projectMembers"]
            bot_member[node["id"]] = any((m.get("user") or {}).get("bot") for m in members["nodes"])
        data = gql.post(q["projects_triggers"], {"ids": chunk, "first": len(chunk)})
        for node in data["projects"]["nodes"]:
            settings = node["ciCdSettings"] or {}
            conn = node["pipelineTriggers"] or {"nodes": [], "pageInfo": {"hasNextPage": False}}
            owners = owners_of(node.get("triggerOwners"))
            triggers = [trigger_entry(n, owners) for n in conn["nodes"]]
            info = conn["pageInfo"]
            while info["hasNextPage"]:
                more = gql.post(q["more_triggers"], {"ids": [node["id"]], "after": info["endCursor"]})
                node2 = more["projects"]["nodes"][0]
                conn2 = node2["pipelineTriggers"]
                owners = owners_of(node2.get("triggerOwners"))
                triggers += [trigger_entry(n, owners) for n in conn2["nodes"]]
                info = conn2["pageInfo"]
            projects[str(gid_number(node["id"]))] = {
                "inbound": settings.get("inboundJobTokenScopeEnabled"),
                "count": count_of.get(node["id"]),
                "bot_member": bot_member.get(node["id"]),
                "triggers": triggers,
            }
    users = {}
    uids = plan.get("user_ids", [])
    for start in range(0, len(uids), batch):
        chunk = ["gid://gitlab/User/%d" % i for i in uids[start:start + batch]]
        data = gql.post(q["levels"], {"ids": chunk, "first": len(chunk)})
        for node in data["users"]["nodes"]:
            ms = ["group %d: %d" % (gid_number(m["group"]["id"]), m["accessLevel"]["integerValue"])
                  for m in node["groupMemberships"]["nodes"]]
            ms += ["project %d: %d" % (gid_number(m["project"]["id"]), m["accessLevel"]["integerValue"])
                   for m in node["projectMemberships"]["nodes"]]
            users[str(gid_number(node["id"]))] = {"bot": None, "memberships": sorted(ms)}
    reach = {}
    rids = plan.get("reach_ids", [])
    for start in range(0, len(rids), batch):
        chunk = ["gid://gitlab/User/%d" % i for i in rids[start:start + batch]]
        data = gql.post(q["reach"], {"ids": chunk, "first": len(chunk)})
        for node in data["users"]["nodes"]:
            sources = []
            while True:
                pm, gm = node["projectMemberships"], node["groupMemberships"]
                sources += ["project %d" % gid_number(m["project"]["id"]) for m in pm["nodes"]]
                sources += ["group %d" % gid_number(m["group"]["id"]) for m in gm["nodes"]]
                if not pm["pageInfo"]["hasNextPage"] and not gm["pageInfo"]["hasNextPage"]:
                    break
                more = {"ids": [node["id"]]}
                if pm["pageInfo"]["endCursor"]:
                    more["projects"] = pm["pageInfo"]["endCursor"]
                if gm["pageInfo"]["endCursor"]:
                    more["groups"] = gm["pageInfo"]["endCursor"]
                node = gql.post(q["more_reach"], more)["users"]["nodes"][0]
            reach[str(gid_number(node["id"]))] = sorted(sources)
    return {"projects": projects, "users": users, "reach": reach, "errors": gql.errors, "statuses": gql.statuses}


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: GITLAB_TOKEN=... %s URL PLAN_JSON\n" % argv[0])
        return 2
    url, plan = argv[1], json.loads(argv[2])
    token = os.environ.get("GITLAB_TOKEN", "")
    if not token:
        sys.stderr.write("GITLAB_TOKEN is not set\n")
        return 2

    result = {"python_gitlab": gitlab.__version__ if gitlab else None, "lists": {}}
    if "graphql" in plan:
        if "queries" in plan["graphql"]:
            result["graphql"] = run_collector_queries(url, token, plan["graphql"])
        else:
            result["graphql"] = run_graphql(url, token, plan["graphql"])
    if not plan.get("rest", True):
        print(json.dumps(result, sort_keys=True))
        return 0
    if gitlab is None:
        sys.stderr.write("python-gitlab is not installed: apt-get install python3-gitlab\n")
        return 2

    gl = gitlab.Gitlab(url, private_token=token)

    # Watch every answer from the wire, retried ones included: python-gitlab
    # retries 429s inside http_request, so only a session hook sees them.
    seen = []

    def record(resp, *args, **kwargs):
        seen.append({
            "status": resp.status_code,
            "path": resp.request.path_url.split("?")[0],
            "retry_after": resp.headers.get("Retry-After"),
        })

    gl.session.hooks["response"].append(record)

    def run(name, lister, per_page):
        start = len(seen)
        objs = lister(get_all=True, per_page=per_page)
        ids = sorted(o.id for o in objs)
        result["lists"][name] = {
            "count": len(ids),
            "unique": len(set(ids)),
            "ids": ids,
            "pages": sum(1 for s in seen[start:] if s["status"] == 200),
            "requests": len(seen) - start,
        }

    per_page = int(plan.get("per_page", 5))
    run("personal_access_tokens", gl.personal_access_tokens.list, int(plan.get("pat_per_page", 100)))
    if "project" in plan:
        project = gl.projects.get(plan["project"], lazy=True)
        run("project_access_tokens", project.access_tokens.list, per_page)
    if "group" in plan:
        group = gl.groups.get(plan["group"], lazy=True)
        run("group_access_tokens", group.access_tokens.list, per_page)

    statuses = {}
    for s in seen:
        statuses[str(s["status"])] = statuses.get(str(s["status"]), 0) + 1
    result["statuses"] = statuses
    result["retry_after"] = [s["retry_after"] for s in seen if s["status"] == 429]
    result["requests"] = len(seen)
    print(json.dumps(result, sort_keys=True))

    failed = False
    for name, want in sorted(plan.get("expect", {}).items()):
        got = result["lists"].get(name, {}).get("count")
        if got != want:
            sys.stderr.write("%s: python-gitlab listed %s, want %s\n" % (name, got, want))
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except RuntimeError as e:
        # A GraphQL answer other than 200; it never holds the token.
        sys.stderr.write("graphql error: %s\n" % e)
        sys.exit(1)
    except Exception as e:
        if gitlab is None or not isinstance(e, gitlab.exceptions.GitlabError):
            raise
        # The message is GitLab's answer; it never holds the token.
        sys.stderr.write("gitlab error: %s\n" % e)
        sys.exit(1)
