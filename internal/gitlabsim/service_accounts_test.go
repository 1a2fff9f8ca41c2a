package gitlabsim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestServiceAccountsNotByName checks what tells a service account apart
// in GitLab's REST API: its user entities expose bot, never user_type
// (lib/api/entities/user.rb exposes bot; no entity exposes user_type), so a
// free-form username (16.10+) leaves GET /service_accounts and
// GET /groups/:id/service_accounts as the sources that name them
// (https://docs.gitlab.com/api/service_accounts/).
func TestServiceAccountsNotByName(t *testing.T) {
	w := testWorld()
	w.Users[7].Username = "terraform-automation" // the group service account, named freely
	w.Users[8].Username = "ci-deployer"          // the instance one
	s := NewServer(w, Options{})
	defer s.Close()
	var entities []map[string]any
	for _, c := range []struct{ token, path string }{
		{tokAdmin, "/users"}, {tokCarol, "/users"}, {tokAdmin, "/service_accounts"}, {tokAlice, "/groups/10/service_accounts"},
	} {
		entities = append(entities, decodeList(t, doGet(t, s, c.token, c.path))...)
	}
	for _, c := range []struct{ token, path string }{
		{tokAdmin, "/users/8"}, {tokCarol, "/users/8"}, {tokGroupSA, "/user"}, {tokInstanceSA, "/user"}, {tokAdmin, "/user"},
	} {
		var m map[string]any
		if err := json.Unmarshal(doGet(t, s, c.token, c.path).body, &m); err != nil {
			t.Fatalf("GET %s: %v", c.path, err)
		}
		if c.path == "/users/8" && m["bot"] != true {
			t.Errorf("GET /users/8 (a service account): bot %v, want true", m["bot"])
		}
		entities = append(entities, m)
	}
	for _, m := range entities {
		if _, ok := m["user_type"]; ok {
			t.Errorf("user %v: entity has user_type", m["id"])
		}
	}
	if got := jsonIDs(decodeList(t, doGet(t, s, tokAdmin, "/service_accounts?sort=asc"))); fmt.Sprint(got) != "[8 9]" {
		t.Errorf("GET /service_accounts: %v, want both service accounts [8 9]", got)
	}
	if got := jsonIDs(decodeList(t, doGet(t, s, tokAdmin, "/service_accounts?order_by=username"))); fmt.Sprint(got) != "[8 9]" {
		t.Errorf("GET /service_accounts?order_by=username (desc): %v, want [8 9]", got)
	}
	if got := jsonIDs(decodeList(t, doGet(t, s, tokAlice, "/groups/10/service_accounts"))); fmt.Sprint(got) != "[8]" {
		t.Errorf("GET /groups/10/service_accounts: %v, want [8]", got)
	}
	if r := doGet(t, s, tokAdmin, "/service_accounts?per_page=100&page=501"); r.status != 405 {
		t.Errorf("GET /service_accounts past offset 50,000: status %d, want 405", r.status)
	}
}

// TestGeneratedServiceAccountNames checks that the generator's free-form
// service-account names come from the seed.
func TestGeneratedServiceAccountNames(t *testing.T) {
	names := func(seed int64) []string {
		w, err := Generate("small", seed)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range w.Users {
			if u.UserType == UserTypeServiceAccount {
				out = append(out, u.Username)
			}
		}
		return out
	}
	a, b, c := names(5), names(5), names(6)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("service-account names differ between two runs of one seed")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Error("seeds 5 and 6 give the same service-account names")
	}
}

// TestProvisionedByGroup: on EE an administrator's user entities name the
// group that created each user (provisioned_by_group_id, the group service
// account's group here, null for the others); CE and non-administrators
// get no such key.
func TestProvisionedByGroup(t *testing.T) {
	for _, c := range []struct {
		version, token string
		want           string // id:provisioned_by_group_id of the users listed, "" for no key
	}{
		{"18.5.1-ee", tokAdmin, "8:10 9:<nil>"},
		{"18.5.1-ce", tokAdmin, ""},
		{"18.5.1-ee", tokCarol, ""},
	} {
		w := testWorld()
		w.Version = c.version
		s := NewServer(w, Options{})
		var got []string
		for _, m := range decodeList(t, doGet(t, s, c.token, "/users?per_page=100")) {
			v, ok := m["provisioned_by_group_id"]
			if !ok {
				continue
			}
			if id := fmt.Sprint(m["id"]); id == "8" || id == "9" {
				got = append(got, fmt.Sprintf("%s:%v", id, v))
			} else if v != nil {
				t.Errorf("%s: user %s provisioned by group %v", c.version, id, v)
			}
		}
		var one map[string]any
		if err := json.Unmarshal(doGet(t, s, c.token, "/users/8").body, &one); err != nil {
			t.Fatal(err)
		}
		if v, ok := one["provisioned_by_group_id"]; ok != (c.want != "") || ok && fmt.Sprint(v) != "10" {
			t.Errorf("%s as %s: GET /users/8 provisioned_by_group_id %v (sent: %v)", c.version, c.token[:16], v, ok)
		}
		s.Close()
		slices.Sort(got)
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s as %s: GET /users gives %q, want %q", c.version, c.token[:16], strings.Join(got, " "), c.want)
		}
	}
}

// TestResourceTokenListsHoldMembers: a project's or group's token list
// holds the tokens of its bot members only (resource.bots), so a bot
// removed from its project lists nowhere.
func TestResourceTokenListsHoldMembers(t *testing.T) {
	for _, c := range []struct {
		path  string
		botID int64
	}{{"/projects/20/access_tokens", 5}, {"/groups/10/access_tokens", 6}} {
		for _, member := range []bool{true, false} {
			w := testWorld()
			if !member {
				for _, p := range w.Projects {
					p.Members = slices.DeleteFunc(p.Members, func(m Membership) bool { return m.UserID == c.botID })
				}
				for _, g := range w.Groups {
					g.Members = slices.DeleteFunc(g.Members, func(m Membership) bool { return m.UserID == c.botID })
				}
			}
			s := NewServer(w, Options{})
			n := 0
			for _, e := range decodeList(t, doGet(t, s, tokAdmin, c.path)) {
				if fmt.Sprint(e["user_id"]) == fmt.Sprint(c.botID) {
					n++
				}
			}
			s.Close()
			if (n > 0) != member {
				t.Errorf("%s: %d tokens of bot %d listed, bot a member: %v", c.path, n, c.botID, member)
			}
		}
	}
}
