package gitlabsim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// gqlTriggersQuery reads projects by ID with their inbound job token
// setting and their triggers.
const gqlTriggersQuery = `query($ids: [ID!], $first: Int) {
  projects(ids: $ids, first: $first) {
    count
    pageInfo { hasNextPage }
    nodes {
      id
      fullPath
      ciCdSettings { inboundJobTokenScopeEnabled }
      pipelineTriggers(first: 100) {
        count
        pageInfo { hasNextPage endCursor }
        nodes { id description owner { id username } lastUsed }
      }
    }
  }
}`

// gqlBotMembershipsQuery reads users by ID with their direct memberships.
const gqlBotMembershipsQuery = `query($ids: [ID!]) {
  users(ids: $ids, first: 100) {
    count
    nodes {
      id
      bot
      projectMemberships { nodes { accessLevel { integerValue stringValue } project { id } } }
      groupMemberships { nodes { accessLevel { integerValue } group { id } } }
    }
  }
}`

type gqlTriggersAnswer struct {
	Data struct {
		Projects struct {
			Count    int
			PageInfo struct{ HasNextPage bool }
			Nodes    []struct {
				ID           string
				FullPath     string
				CiCdSettings *struct{ InboundJobTokenScopeEnabled *bool }
				// Triggers whose owner is gone come out null (owner is
				// UserCore!).
				PipelineTriggers *struct {
					Count    int
					PageInfo struct {
						HasNextPage bool
						EndCursor   string
					}
					Nodes []*struct {
						ID          string
						Description string
						Owner       struct{ ID, Username string }
						LastUsed    *string
					}
				}
			}
		}
	}
	Errors []struct {
		Message string
		Path    []any
	}
}

type gqlMembershipsAnswer struct {
	Data struct {
		Users struct {
			Count int
			Nodes []struct {
				ID                 string
				Bot                bool
				ProjectMemberships struct {
					Nodes []struct {
						AccessLevel struct {
							IntegerValue int
							StringValue  string
						}
						Project struct{ ID string }
					}
				}
				GroupMemberships struct {
					Nodes []struct {
						AccessLevel struct{ IntegerValue int }
						Group       struct{ ID string }
					}
				}
			}
		}
	}
	Errors []struct{ Message string }
}

func gqlClient(t *testing.T, s *Server, token string) *gitlab.Client {
	t.Helper()
	c, err := gitlab.NewClient(token, gitlab.WithBaseURL(s.URL()), gitlab.WithoutRetries())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClientGoGraphQLGroundTruth reads, through client-go's GraphQL client,
// every project's triggers and inbound job token setting of the small
// World in batches of 100 as an administrator, and every bot user's
// memberships, and compares them with the World itself.
func TestClientGoGraphQLGroundTruth(t *testing.T) {
	w, s := serveGenerated(t, "small", 1)
	client := gqlClient(t, s, w.AdminToken())

	users := map[int64]*User{}
	for _, u := range w.Users {
		users[u.ID] = u
	}
	type trig struct {
		id          int64
		description string
		owner       string
		lastUsed    string
	}
	wantTriggers := map[int64][]trig{}
	ownerless := 0
	for _, tr := range w.Triggers {
		if tr.OwnerID == 0 || users[tr.OwnerID] == nil {
			ownerless++
			wantTriggers[tr.ProjectID] = append(wantTriggers[tr.ProjectID], trig{id: tr.ID})
			continue
		}
		lu := ""
		if tr.LastUsed != nil {
			lu = tr.LastUsed.UTC().Format(time.RFC3339)
		}
		wantTriggers[tr.ProjectID] = append(wantTriggers[tr.ProjectID], trig{tr.ID, tr.Description, gid("User", tr.OwnerID), lu})
	}
	var triggersSeen, nullNodes, ownerErrors int
	for start := 0; start < len(w.Projects); start += 100 {
		batch := w.Projects[start:min(start+100, len(w.Projects))]
		ids := make([]string, len(batch))
		byGID := map[string]*Project{}
		for i, p := range batch {
			ids[i] = gid("Project", p.ID)
			byGID[ids[i]] = p
		}
		var ans gqlTriggersAnswer
		resp, err := client.GraphQL.Do(gitlab.GraphQLQuery{Query: gqlTriggersQuery, Variables: map[string]any{"ids": ids, "first": 100}}, &ans)
		if err != nil {
			t.Fatalf("batch at %d: %v", start, err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("batch at %d: status %d", start, resp.StatusCode)
		}
		for _, e := range ans.Errors {
			if e.Message != "Cannot return null for non-nullable field PipelineTrigger.owner" {
				t.Errorf("batch at %d: error %q at %v", start, e.Message, e.Path)
			}
			ownerErrors++
		}
		got := ans.Data.Projects
		if got.Count != len(batch) || len(got.Nodes) != len(batch) || got.PageInfo.HasNextPage {
			t.Fatalf("batch at %d: count %d, %d nodes, next page %v; want %d", start, got.Count, len(got.Nodes), got.PageInfo.HasNextPage, len(batch))
		}
		for _, n := range got.Nodes {
			p := byGID[n.ID]
			if p == nil {
				t.Errorf("project %s was not asked for", n.ID)
				continue
			}
			if n.CiCdSettings == nil || n.CiCdSettings.InboundJobTokenScopeEnabled == nil ||
				*n.CiCdSettings.InboundJobTokenScopeEnabled != p.JobTokenScope.InboundEnabled {
				t.Errorf("project %d: inbound setting differs from the World's %v", p.ID, p.JobTokenScope.InboundEnabled)
			}
			pt := n.PipelineTriggers
			if pt == nil || pt.PageInfo.HasNextPage {
				t.Errorf("project %d: triggers %v", p.ID, pt)
				continue
			}
			want := wantTriggers[p.ID]
			if pt.Count != len(want) || len(pt.Nodes) != len(want) {
				t.Errorf("project %d: %d triggers (count %d), want %d", p.ID, len(pt.Nodes), pt.Count, len(want))
				continue
			}
			// ID descending, GitLab's keyset order for an unordered relation.
			slices.SortFunc(want, func(a, b trig) int { return compareInt64(b.id, a.id) })
			for i, tn := range pt.Nodes {
				triggersSeen++
				if tn == nil {
					nullNodes++
					if want[i].owner != "" {
						t.Errorf("project %d: trigger %d with an owner came out null", p.ID, want[i].id)
					}
					continue
				}
				lu := ""
				if tn.LastUsed != nil {
					lu = *tn.LastUsed
				}
				g := trig{description: tn.Description, owner: tn.Owner.ID, lastUsed: lu}
				fmt.Sscanf(strings.TrimPrefix(tn.ID, "gid://gitlab/Ci::Trigger/"), "%d", &g.id)
				if g != want[i] {
					t.Errorf("project %d: trigger %+v, World %+v", p.ID, g, want[i])
				}
				if tn.Owner.Username != users[tr64(tn.Owner.ID)].Username {
					t.Errorf("trigger %d: owner username %q", g.id, tn.Owner.Username)
				}
			}
		}
	}
	if triggersSeen != len(w.Triggers) || nullNodes != ownerless || ownerErrors != ownerless {
		t.Errorf("%d triggers read (%d null, %d errors), World %d (%d without owner)", triggersSeen, nullNodes, ownerErrors, len(w.Triggers), ownerless)
	}
	if len(w.Triggers) == 0 {
		t.Fatal("the small World has no triggers")
	}
	t.Logf("%d projects, %d triggers (%d without owner)", len(w.Projects), len(w.Triggers), ownerless)

	// Bot users: their memberships are the World's direct memberships.
	var bots []*User
	for _, u := range w.Users {
		if u.UserType == UserTypeProjectBot {
			bots = append(bots, u)
		}
	}
	if len(bots) == 0 {
		t.Fatal("the small World has no bot users")
	}
	want := worldMemberships(w)
	levels := map[int]string{10: "GUEST", 15: "PLANNER", 20: "REPORTER", 30: "DEVELOPER", 40: "MAINTAINER", 50: "OWNER"}
	seen := 0
	for start := 0; start < len(bots); start += 100 {
		batch := bots[start:min(start+100, len(bots))]
		ids := make([]string, len(batch))
		for i, u := range batch {
			ids[i] = gid("User", u.ID)
		}
		var ans gqlMembershipsAnswer
		if _, err := client.GraphQL.Do(gitlab.GraphQLQuery{Query: gqlBotMembershipsQuery, Variables: map[string]any{"ids": ids}}, &ans); err != nil {
			t.Fatal(err)
		}
		if len(ans.Errors) > 0 || ans.Data.Users.Count != len(batch) {
			t.Fatalf("bots at %d: %d users, errors %v", start, ans.Data.Users.Count, ans.Errors)
		}
		for _, n := range ans.Data.Users.Nodes {
			seen++
			var id int64
			fmt.Sscanf(n.ID, "gid://gitlab/User/%d", &id)
			var got []string
			for _, m := range n.GroupMemberships.Nodes {
				var gidN int64
				fmt.Sscanf(m.Group.ID, "gid://gitlab/Group/%d", &gidN)
				got = append(got, fmt.Sprintf("group %d: %d", gidN, m.AccessLevel.IntegerValue))
			}
			for _, m := range n.ProjectMemberships.Nodes {
				var pid int64
				fmt.Sscanf(m.Project.ID, "gid://gitlab/Project/%d", &pid)
				got = append(got, fmt.Sprintf("project %d: %d", pid, m.AccessLevel.IntegerValue))
				if m.AccessLevel.StringValue != levels[m.AccessLevel.IntegerValue] {
					t.Errorf("user %d: level %d named %q", id, m.AccessLevel.IntegerValue, m.AccessLevel.StringValue)
				}
			}
			slices.Sort(got)
			w := slices.Clone(want[id])
			slices.Sort(w)
			if !n.Bot || !slices.Equal(got, w) {
				t.Errorf("bot %d (bot %v): memberships %v, World %v", id, n.Bot, got, w)
			}
		}
	}
	t.Logf("%d bot users", seen)
	if seen != len(bots) {
		t.Errorf("read %d bots, World has %d", seen, len(bots))
	}
}

// tr64 is the number of a user's global ID.
func tr64(g string) int64 {
	var id int64
	fmt.Sscanf(g, "gid://gitlab/User/%d", &id)
	return id
}

// worldMemberships is every user's direct memberships in the World, as
// "group ID: level" and "project ID: level", in the World's order.
func worldMemberships(w *World) map[int64][]string {
	want := map[int64][]string{}
	for _, g := range w.Groups {
		for _, m := range g.Members {
			want[m.UserID] = append(want[m.UserID], fmt.Sprintf("group %d: %d", g.ID, m.AccessLevel))
		}
	}
	for _, p := range w.Projects {
		for _, m := range p.Members {
			want[m.UserID] = append(want[m.UserID], fmt.Sprintf("project %d: %d", p.ID, m.AccessLevel))
		}
	}
	return want
}
