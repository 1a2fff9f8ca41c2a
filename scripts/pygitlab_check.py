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
"""

import json
import os
import sys

try:
    import gitlab
except ImportError:
    sys.stderr.write("python-gitlab is not installed: apt-get install python3-gitlab\n")
    sys.exit(2)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: GITLAB_TOKEN=... %s URL PLAN_JSON\n" % argv[0])
        return 2
    url, plan = argv[1], json.loads(argv[2])
    token = os.environ.get("GITLAB_TOKEN", "")
    if not token:
        sys.stderr.write("GITLAB_TOKEN is not set\n")
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

    result = {"python_gitlab": gitlab.__version__, "lists": {}}

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
    except gitlab.exceptions.GitlabError as e:
        # The message is GitLab's answer; it never holds the token.
        sys.stderr.write("gitlab error: %s\n" % e)
        sys.exit(1)
