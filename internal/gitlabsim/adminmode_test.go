package gitlabsim

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

const tokAdminMode = "glpat-test-admin-mode-0000"

// adminModeWorld is testWorld with the admin_mode setting on and a second
// root token (114) that has the admin_mode scope.
func adminModeWorld(on bool) *World {
	w := testWorld()
	w.Settings.AdminMode = on
	root := *w.Tokens[0]
	root.ID, root.Name, root.Value = 114, "admin-mode", tokAdminMode
	root.Scopes = []string{"admin_mode", "api"}
	w.Tokens = append(w.Tokens, &root)
	return w
}

// TestAdminMode checks GitLab's Admin Mode for API requests (MR !107925,
// https://docs.gitlab.com/administration/settings/sign_in_restrictions/#admin-mode):
// with the setting on, an administrator's token without the admin_mode
// scope is still an administrator on GET /user (current_user.admin?), but
// every administrator-only list treats it as a regular user's.
func TestAdminMode(t *testing.T) {
	s := NewServer(adminModeWorld(true), Options{})
	defer s.Close()
	forbidden := readFixture(t, "errors/403_forbidden.json")

	var me map[string]any
	if err := json.Unmarshal(doGet(t, s, tokAdmin, "/user").body, &me); err != nil {
		t.Fatal(err)
	}
	if me["is_admin"] != true {
		t.Errorf("GET /user without admin_mode: is_admin %v, want true", me["is_admin"])
	}

	for _, path := range []string{"/application/settings", "/deploy_tokens", "/users/2/impersonation_tokens",
		"/service_accounts", "/users/2/memberships", "/users/2/memberships?type=Project"} {
		r := doGet(t, s, tokAdmin, path)
		if r.status != 403 || string(r.body) != forbidden {
			t.Errorf("GET %s without admin_mode: %d %s, want 403 %s", path, r.status, r.body, forbidden)
		}
		if r := doGet(t, s, tokAdminMode, path); r.status != 200 {
			t.Errorf("GET %s with admin_mode: status %d, want 200", path, r.status)
		}
	}

	// The PAT list answers 200 with the caller's own tokens only.
	if got := jsonIDs(decodeList(t, doGet(t, s, tokAdmin, "/personal_access_tokens"))); fmt.Sprint(got) != "[101 114]" {
		t.Errorf("GET /personal_access_tokens without admin_mode: ids %v, want root's own [101 114]", got)
	}
	if got := jsonIDs(decodeList(t, doGet(t, s, tokAdminMode, "/personal_access_tokens"))); len(got) != 14 {
		t.Errorf("GET /personal_access_tokens with admin_mode: %d tokens, want all 14", len(got))
	}
	// Another user's token: 401 as for any non-administrator.
	if r := doGet(t, s, tokAdmin, "/personal_access_tokens/102"); r.status != 401 {
		t.Errorf("GET /personal_access_tokens/102 without admin_mode: status %d, want 401", r.status)
	}

	// GET /users: UserBasic without the scope, UserWithAdmin with it.
	basic := decodeList(t, doGet(t, s, tokAdmin, "/users?username=alice"))[0]
	for _, k := range []string{"is_admin", "email", "bot"} {
		if _, ok := basic[k]; ok {
			t.Errorf("GET /users without admin_mode has %q", k)
		}
	}
	if full := decodeList(t, doGet(t, s, tokAdminMode, "/users?username=alice"))[0]; full["is_admin"] != false || full["email"] == nil {
		t.Errorf("GET /users with admin_mode: is_admin %v email %v, want the admin view", full["is_admin"], full["email"])
	}
	var one map[string]any
	_ = json.Unmarshal(doGet(t, s, tokAdmin, "/users/2").body, &one)
	if _, ok := one["is_admin"]; ok {
		t.Error("GET /users/2 without admin_mode has is_admin")
	}

	var st map[string]any
	_ = json.Unmarshal(doGet(t, s, tokAdminMode, "/application/settings").body, &st)
	if st["admin_mode"] != true {
		t.Errorf("application settings admin_mode = %v, want true", st["admin_mode"])
	}

	// Visible agrees with the server.
	v, err := s.Visible(tokAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if v.Admin || len(v.Lists) != 1 || fmt.Sprint(v.Lists["/personal_access_tokens"]) != "[101 114]" {
		t.Errorf("Visible(admin without admin_mode) = admin %v lists %v, want a regular user's own PATs", v.Admin, v.Lists)
	}
	if v, err := s.Visible(tokAdminMode); err != nil || !v.Admin || len(v.PATs) != 14 || len(v.DeployTokens) != 2 {
		t.Errorf("Visible(admin with admin_mode) = %+v, %v; want an administrator's view", v, err)
	}
}

// TestAdminModeOff checks that without the setting both tokens act as an
// administrator, the admin_mode scope or not.
func TestAdminModeOff(t *testing.T) {
	s := NewServer(adminModeWorld(false), Options{})
	defer s.Close()
	for _, tok := range []string{tokAdmin, tokAdminMode} {
		for _, path := range []string{"/application/settings", "/deploy_tokens", "/users/2/impersonation_tokens", "/service_accounts", "/users/2/memberships"} {
			if r := doGet(t, s, tok, path); r.status != 200 {
				t.Errorf("GET %s with admin mode off: status %d, want 200", path, r.status)
			}
		}
		if got := decodeList(t, doGet(t, s, tok, "/personal_access_tokens")); len(got) != 14 {
			t.Errorf("GET /personal_access_tokens with admin mode off: %d tokens, want 14", len(got))
		}
	}
	var st map[string]any
	_ = json.Unmarshal(doGet(t, s, tokAdmin, "/application/settings").body, &st)
	if st["admin_mode"] != false {
		t.Errorf("application settings admin_mode = %v, want false", st["admin_mode"])
	}
}

// TestGenerateWithAdminMode checks the generator's option: the setting is
// on, AdminToken lacks the admin_mode scope and is served as a regular
// user, AdminModeToken has it and is served as an administrator; without
// the option the World is the one Generate always made.
func TestGenerateWithAdminMode(t *testing.T) {
	plain := world(t, "small")
	w, err := Generate("small", 42, WithAdminMode())
	if err != nil {
		t.Fatal(err)
	}
	if plain.Settings.AdminMode || !w.Settings.AdminMode {
		t.Fatalf("AdminMode: plain %v, with option %v", plain.Settings.AdminMode, w.Settings.AdminMode)
	}
	if len(w.Tokens) != len(plain.Tokens)+1 || w.AdminToken() != plain.AdminToken() {
		t.Errorf("with admin mode: %d tokens (plain %d), same AdminToken %v; want one token more and the same AdminToken",
			len(w.Tokens), len(plain.Tokens), w.AdminToken() == plain.AdminToken())
	}
	am := w.AdminModeToken()
	if am == "" || am == w.AdminToken() {
		t.Fatal("AdminModeToken is empty or the same as AdminToken")
	}
	tok := w.Tokens[len(w.Tokens)-1]
	if tok.Value != am || tok.UserID != 1 || !slices.Contains(tok.Scopes, "admin_mode") || tok.Plant != PlantAdminModeScope {
		t.Errorf("admin-mode token: user %d scopes %v plant %q, want root's, admin_mode, %q", tok.UserID, tok.Scopes, tok.Plant, PlantAdminModeScope)
	}
	if v, err := w.Visible(w.AdminToken()); err != nil || v.Admin {
		t.Errorf("AdminToken with admin mode on: admin %v (%v), want a regular user's view", v != nil && v.Admin, err)
	}
	if v, err := w.Visible(am); err != nil || !v.Admin {
		t.Errorf("AdminModeToken: admin %v (%v), want an administrator's view", v != nil && v.Admin, err)
	}
	again, _ := Generate("small", 42, WithAdminMode())
	if again.AdminModeToken() != am {
		t.Error("WithAdminMode is not deterministic")
	}
}
