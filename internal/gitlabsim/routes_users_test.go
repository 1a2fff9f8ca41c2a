package gitlabsim

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// usersWorld is a generated small World in which every fifth ordinary
// human is external, since generated Worlds hold no external user.
func usersWorld(t *testing.T) *World {
	t.Helper()
	w, err := Generate("small", 42)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, u := range w.Users {
		if u.UserType == UserTypeHuman && !u.Admin {
			if n%5 == 0 {
				u.External = true
			}
			n++
		}
	}
	return w
}

// usersServer serves usersWorld; admin and owner are the well-known
// administrator and (non-administrator) group owner tokens.
func usersServer(t *testing.T) (w *World, s *Server, admin, owner string) {
	t.Helper()
	w = usersWorld(t)
	s = NewServer(w, Options{})
	t.Cleanup(s.Close)
	owner, _ = w.GroupOwnerToken()
	return w, s, w.AdminToken(), owner
}

// allUserIDs reads every page of GET /users?<query> in order.
func allUserIDs(t *testing.T, s *Server, token, query string) []int64 {
	t.Helper()
	var ids []int64
	for page := 1; ; page++ {
		path := fmt.Sprintf("/users?per_page=100&page=%d&%s", page, query)
		r := doGet(t, s, token, path)
		if r.status != 200 {
			t.Fatalf("GET %s: status %d body %s", path, r.status, r.body)
		}
		ids = append(ids, jsonIDs(decodeList(t, r))...)
		if r.header.Get("X-Next-Page") == "" {
			return ids
		}
	}
}

// userIDs are the IDs of the World's users that keep accepts, ordered by
// order.
func userIDs(w *World, keep func(*User) bool, order func(a, b *User) int) []int64 {
	var users []*User
	for _, u := range w.Users {
		if keep(u) {
			users = append(users, u)
		}
	}
	slices.SortFunc(users, order)
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids
}

// idsDiffer says how got differs from want, "" if it does not.
func idsDiffer(got, want []int64) string {
	if slices.Equal(got, want) {
		return ""
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("%d users, want %d; first difference at %d: got %v, want %v",
		len(got), len(want), i, got[i:min(i+5, len(got))], want[i:min(i+5, len(want))])
}

func all(*User) bool { return true }

func idDesc(a, b *User) int { return cmp.Compare(b.ID, a.ID) }

func TestListUsersExternal(t *testing.T) {
	w, s, admin, owner := usersServer(t)
	external := userIDs(w, func(u *User) bool { return u.External }, idDesc)
	internal := userIDs(w, func(u *User) bool { return !u.External }, idDesc)
	if len(external) == 0 || len(internal) == 0 {
		t.Fatalf("%d external and %d other users, want some of each", len(external), len(internal))
	}
	// Both filters apply to every caller.
	for who, token := range map[string]string{"admin": admin, "non-admin": owner} {
		for _, tc := range []struct {
			query string
			want  []int64
		}{
			{"external=true", external},
			{"exclude_external=true", internal},
			{"external=false", userIDs(w, all, idDesc)},
			{"external=true&exclude_external=true", nil},
		} {
			if d := idsDiffer(allUserIDs(t, s, token, tc.query), tc.want); d != "" {
				t.Errorf("%s, %s: %s", who, tc.query, d)
			}
		}
	}
	// The admin entity says who is external, and that they may create
	// neither groups nor projects.
	for _, e := range decodeList(t, doGet(t, s, admin, "/users?external=true&per_page=100")) {
		if e["external"] != true || e["can_create_group"] != false || e["can_create_project"] != false || e["projects_limit"] != 0.0 {
			t.Errorf("external user %v: external %v, can_create_group %v, can_create_project %v, projects_limit %v",
				e["id"], e["external"], e["can_create_group"], e["can_create_project"], e["projects_limit"])
		}
	}
}

func TestListUsersOrder(t *testing.T) {
	w, s, admin, owner := usersServer(t)
	updatedAsc := func(a, b *User) int {
		return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), cmp.Compare(a.ID, b.ID))
	}
	byUpdate := userIDs(w, all, updatedAsc)
	byCreation := userIDs(w, all, func(a, b *User) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	if slices.Equal(byUpdate, byCreation) {
		t.Fatal("the World's users are in the same order by update and by creation: the test tells nothing")
	}
	reversed := slices.Clone(byUpdate)
	slices.Reverse(reversed)
	idAsc := userIDs(w, all, func(a, b *User) int { return cmp.Compare(a.ID, b.ID) })
	for _, tc := range []struct {
		name, token, query string
		want               []int64
	}{
		{"updated_at asc", admin, "order_by=updated_at&sort=asc", byUpdate},
		{"updated_at, default desc", admin, "order_by=updated_at", reversed},
		// GitLab orders created_at by ID (order_options_with_tie_breaker).
		{"created_at asc", admin, "order_by=created_at&sort=asc", idAsc},
		{"default id desc", admin, "", userIDs(w, all, idDesc)},
		// reorder_users reads order_by and sort from the request, not from
		// the parameters dropped for non-administrators.
		{"non-admin updated_at asc", owner, "order_by=updated_at&sort=asc", byUpdate},
	} {
		if d := idsDiffer(allUserIDs(t, s, tc.token, tc.query), tc.want); d != "" {
			t.Errorf("%s: %s", tc.name, d)
		}
	}
}

func TestListUsersSearchOrder(t *testing.T) {
	w := usersWorld(t)
	// A user named "smith" exactly, whose name sorts late, comes first.
	search := "smith"
	var exact *User
	for _, u := range w.Users {
		if u.UserType == UserTypeHuman && strings.HasPrefix(u.Name, "Zoe") {
			exact = u
		}
	}
	if exact == nil {
		t.Fatal("no human named Zoe in the World")
	}
	exact.Username = search
	s := NewServer(w, Options{})
	defer s.Close()
	matches := func(u *User) bool {
		return strings.Contains(strings.ToLower(u.Username), search) || strings.Contains(strings.ToLower(u.Name), search)
	}
	byName := userIDs(w, func(u *User) bool { return matches(u) && u != exact }, func(a, b *User) int {
		return cmp.Or(cmpStr(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	want := append([]int64{exact.ID}, byName...)
	if len(want) < 3 {
		t.Fatalf("search %q matches %v, want more", search, want)
	}
	if d := idsDiffer(allUserIDs(t, s, w.AdminToken(), "search="+search), want); d != "" {
		t.Errorf("search %q: %s", search, d)
	}
	// A given order_by or sort replaces the search order.
	if d := idsDiffer(allUserIDs(t, s, w.AdminToken(), "search="+search+"&sort=desc"), userIDs(w, matches, idDesc)); d != "" {
		t.Errorf("search %q, sort=desc: %s", search, d)
	}
}

func TestListUsersAdminOnlyFilters(t *testing.T) {
	w, s, admin, owner := usersServer(t)
	cut := w.Now.AddDate(-3, 0, 0)
	q := cut.Format(time.RFC3339)
	after := userIDs(w, func(u *User) bool { return !u.CreatedAt.Before(cut) }, idDesc)
	before := userIDs(w, func(u *User) bool { return !u.CreatedAt.After(cut) }, idDesc)
	everyone := userIDs(w, all, idDesc)
	if len(after) == 0 || len(before) == 0 {
		t.Fatalf("%d users created after and %d before %s, want some of each", len(after), len(before), q)
	}
	admins := userIDs(w, func(u *User) bool { return u.Admin }, idDesc)
	for _, tc := range []struct {
		name, token, query string
		want               []int64
	}{
		{"created_after", admin, "created_after=" + q, after},
		{"created_before", admin, "created_before=" + q, before},
		{"two_factor=enabled", admin, "two_factor=enabled", nil},
		{"two_factor=disabled", admin, "two_factor=disabled", everyone},
		{"admins", admin, "admins=true", admins},
		// Dropped for anyone else.
		{"non-admin created_after", owner, "created_after=" + q, everyone},
		{"non-admin two_factor", owner, "two_factor=enabled", everyone},
		{"non-admin admins", owner, "admins=true", everyone},
	} {
		if d := idsDiffer(allUserIDs(t, s, tc.token, tc.query), tc.want); d != "" {
			t.Errorf("%s: %s", tc.name, d)
		}
	}
	// Grape validates them for anyone, before the endpoint drops them.
	for _, path := range []string{"/users?created_after=yesterday", "/users?order_by=email", "/users?external=maybe"} {
		if r := doGet(t, s, owner, path); r.status != 400 {
			t.Errorf("non-admin GET %s: status %d, want 400", path, r.status)
		}
	}
}
