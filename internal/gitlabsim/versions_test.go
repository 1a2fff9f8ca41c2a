package gitlabsim

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// versionWorld is testWorld serving version v (on GitLab.com if com).
func versionWorld(v string, com bool) *World {
	w := testWorld()
	w.Version, w.GitLabCom = v, com
	return w
}

func getObject(t *testing.T, s *Server, token, path string) (int, map[string]any) {
	t.Helper()
	r := doGet(t, s, token, path)
	var m map[string]any
	if r.status == 200 {
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return r.status, m
}

// TestVersionRoutes checks which routes a version and edition have
// (versions.go): a route not yet there answers Grape's catch-all
// {"error":"404 Not Found"}, which is not the {"message":"404 ... Not Found"}
// of a resource the caller cannot see.
func TestVersionRoutes(t *testing.T) {
	catchAll := `{"error":"404 Not Found"}`
	notFound := readFixture(t, "errors/404_not_found.json")
	cases := []struct {
		version string
		com     bool
		token   string
		path    string
		status  int
		body    string
	}{
		// CE has no service accounts at all.
		{"16.11.0-ce", false, tokAdmin, "/service_accounts", 404, catchAll},
		{"16.11.0-ce", false, tokAlice, "/groups/10/service_accounts", 404, catchAll},
		{"16.11.0-ce", false, tokAlice, "/groups/10/manage/personal_access_tokens", 404, catchAll},
		{"16.11.0-ce", false, tokCarol, "/projects/20/access_tokens", 404, `{"message":"404 Project Not Found"}`},
		{"16.11.0-ce", false, tokAdmin, "/personal_access_tokens", 200, ""},
		{"16.11.0-ce", false, tokAlice, "/projects/20/job_token_scope/allowlist", 200, ""},
		{"16.11.0-ce", false, tokAlice, "/projects/20/job_token_scope/groups_allowlist", 404, catchAll},
		// 17.5 EE: the service-account lists (17.1), not their tokens (17.11).
		{"17.5.0-ee", false, tokAdmin, "/service_accounts", 200, ""},
		{"17.5.0-ee", false, tokAlice, "/groups/10/service_accounts", 200, ""},
		{"17.5.0-ee", false, tokAlice, "/groups/10/service_accounts/8/personal_access_tokens", 404, catchAll},
		{"17.11.0-ee", false, tokAlice, "/groups/10/service_accounts/8/personal_access_tokens", 200, ""},
		{"17.0.0-ee", false, tokAdmin, "/service_accounts", 404, catchAll},
		// The credentials inventory: GitLab.com from 18.6; the EE route
		// answers not_found! where the feature is off.
		{"17.5.0-ee", true, tokAlice, "/groups/10/manage/personal_access_tokens", 404, catchAll},
		{"18.5.1-ee", true, tokAlice, "/groups/10/manage/personal_access_tokens", 404, notFound},
		{"18.6.0-ee", true, tokAlice, "/groups/10/manage/personal_access_tokens", 200, ""},
		{"18.6.0-ee", false, tokAlice, "/groups/10/manage/personal_access_tokens", 404, notFound},
		{"18.6.0-ee", true, tokCarol, "/groups/10/manage/personal_access_tokens", 404, `{"message":"404 Group Not Found"}`},
		{"18.6.0-pre", true, tokAlice, "/groups/10/manage/resource_access_tokens", 200, ""},
		// Before 15.5 "self" is an :id of GET /personal_access_tokens/:id (15.1).
		{"15.1.0-ee", false, tokAlice, "/personal_access_tokens/self", 400, `{"error":"id is invalid"}`},
		{"15.0.0-ee", false, tokAlice, "/personal_access_tokens/self", 404, catchAll},
		{"15.1.0-ee", false, tokAlice, "/metadata", 404, catchAll},
	}
	servers := map[string]*Server{}
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	for _, c := range cases {
		key := c.version + map[bool]string{true: " com"}[c.com]
		s := servers[key]
		if s == nil {
			s = NewServer(versionWorld(c.version, c.com), Options{})
			servers[key] = s
		}
		r := doGet(t, s, c.token, c.path)
		if r.status != c.status || c.body != "" && string(r.body) != c.body {
			t.Errorf("%s: GET %s = %d %s, want %d %s", key, c.path, r.status, r.body, c.status, c.body)
		}
		// Visible agrees: a list the version lacks is not visible.
		if strings.HasSuffix(c.path, "personal_access_tokens") && strings.Contains(c.path, "/groups/") {
			v, err := s.Visible(c.token)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := v.Lists[c.path]; ok != (c.status == 200) {
				t.Errorf("%s: Visible lists %s = %v, want %v", key, c.path, ok, c.status == 200)
			}
		}
	}
}

// TestVersionAndMetadata checks GET /version and /metadata for each edition
// (https://docs.gitlab.com/api/metadata/: enterprise 15.6,
// kas.externalK8sProxyUrl 17.6); CE reports the bare version.
func TestVersionAndMetadata(t *testing.T) {
	for _, c := range []struct {
		version, served string
		com, ee, proxy  bool
	}{
		{"16.11.0-ce", "16.11.0", false, false, false},
		{"17.5.0-ee", "17.5.0-ee", false, true, false},
		{"18.6.0-ee", "18.6.0-ee", false, true, true},
		{"18.7.0-pre", "18.7.0-pre", true, true, true},
		{"18.7.0", "18.7.0", false, false, true},
	} {
		s := NewServer(versionWorld(c.version, c.com), Options{})
		_, v := getObject(t, s, tokCarol, "/version")
		_, m := getObject(t, s, tokCarol, "/metadata")
		s.Close()
		if v["version"] != c.served || m["version"] != c.served || v["revision"] != "abc123" {
			t.Errorf("%s: /version %v, /metadata %v, want %s", c.version, v, m["version"], c.served)
		}
		if m["enterprise"] != c.ee {
			t.Errorf("%s: enterprise %v, want %v", c.version, m["enterprise"], c.ee)
		}
		if _, ok := m["kas"].(map[string]any)["externalK8sProxyUrl"]; ok != c.proxy {
			t.Errorf("%s: kas.externalK8sProxyUrl present %v, want %v", c.version, ok, c.proxy)
		}
	}
}

// TestVersionFields checks the token fields each version has: description
// from 17.7, last_used_ips from about 17.9 ([] on CE), resource_type and
// resource_id from about 17.10, granular from about 18.10, expired from
// about 18.11; require_personal_access_token_expiry from 17.3; a trigger's
// expires_at from about 16.11.
func TestVersionFields(t *testing.T) {
	has := func(m map[string]any, k string) bool { _, ok := m[k]; return ok }
	for _, c := range []struct {
		version                                    string
		desc, ips, resource, granular, expired, rq bool
		ipsEmpty                                   bool
	}{
		{"17.1.0-ee", false, false, false, false, false, false, false},
		{"17.5.0-ee", false, false, false, false, false, true, false},
		{"17.9.0-ce", true, true, false, false, false, true, true},
		{"18.5.1-ee", true, true, true, false, false, true, false},
		{"18.10.0-ee", true, true, true, true, false, true, false},
		{"18.11.0-ee", true, true, true, true, true, true, false},
	} {
		s := NewServer(versionWorld(c.version, false), Options{})
		_, pat := getObject(t, s, tokAlice, "/personal_access_tokens/self")
		res := decodeList(t, doGet(t, s, tokAlice, "/projects/20/access_tokens"))[0]
		_, st := getObject(t, s, tokAdmin, "/application/settings")
		s.Close()
		for k, want := range map[string]bool{"description": c.desc, "last_used_ips": c.ips, "granular": c.granular, "expired": c.expired} {
			if has(pat, k) != want || has(res, k) != want {
				t.Errorf("%s: %s in PAT %v, in project token %v; want %v", c.version, k, has(pat, k), has(res, k), want)
			}
		}
		if c.ips {
			if ips, _ := pat["last_used_ips"].([]any); (len(ips) == 0) != c.ipsEmpty {
				t.Errorf("%s: last_used_ips %v, want empty %v", c.version, pat["last_used_ips"], c.ipsEmpty)
			}
		}
		if has(res, "resource_type") != c.resource || has(res, "resource_id") != c.resource || !has(res, "access_level") {
			t.Errorf("%s: project token %v, want resource_type/resource_id %v", c.version, res, c.resource)
		}
		if has(st, "require_personal_access_token_expiry") != c.rq {
			t.Errorf("%s: require_personal_access_token_expiry in settings %v, want %v", c.version, has(st, "require_personal_access_token_expiry"), c.rq)
		}
	}

	for v, want := range map[string]bool{"16.10.0-ee": false, "16.11.0-ee": true} {
		s := NewServer(versionWorld(v, false), Options{})
		tr := decodeList(t, doGet(t, s, tokAlice, "/projects/20/triggers"))[0]
		s.Close()
		if has(tr, "expires_at") != want {
			t.Errorf("%s: trigger expires_at present %v, want %v", v, has(tr, "expires_at"), want)
		}
	}
}

// TestVersionBehaviour checks behaviour a version lacks: the state filter
// of resource token lists is ignored before 17.2, keyset pagination of
// users before 16.5 and its offset limit before 17.0, and Admin Mode does
// not gate API requests before 15.8.
func TestVersionBehaviour(t *testing.T) {
	w := versionWorld("17.1.0-ee", false)
	w.Tokens[8].Revoked = true // the project bot's token, 109
	s := NewServer(w, Options{})
	if got := jsonIDs(decodeList(t, doGet(t, s, tokAlice, "/projects/20/access_tokens?state=active"))); len(got) != 1 {
		t.Errorf("17.1 state=active on project tokens: %v, want the filter ignored ([109])", got)
	}
	s.Close()
	w = versionWorld("17.2.0-ee", false)
	w.Tokens[8].Revoked = true
	s = NewServer(w, Options{})
	if got := decodeList(t, doGet(t, s, tokAlice, "/projects/20/access_tokens?state=active")); len(got) != 0 {
		t.Errorf("17.2 state=active on project tokens: %d tokens, want none", len(got))
	}
	s.Close()

	s = NewServer(versionWorld("16.4.0-ee", false), Options{})
	r := doGet(t, s, tokAdmin, "/users?pagination=keyset&order_by=id&sort=asc&per_page=2")
	if r.header.Get("X-Page") != "1" || r.header.Get("X-Total") == "" {
		t.Errorf("16.4 keyset users: X-Page %q X-Total %q, want offset pagination", r.header.Get("X-Page"), r.header.Get("X-Total"))
	}
	s.Close()
	for v, want := range map[string]int{"16.11.0-ee": 200, "17.0.0-ee": 405} {
		s := NewServer(versionWorld(v, false), Options{})
		if r := doGet(t, s, tokAdmin, "/users?page=501&per_page=100"); r.status != want {
			t.Errorf("%s: users past offset 50,000: status %d, want %d", v, r.status, want)
		}
		s.Close()
	}

	for v, want := range map[string]int{"15.7.0-ee": 200, "15.8.0-ee": 403} {
		w := versionWorld(v, false)
		w.Settings.AdminMode = true
		s := NewServer(w, Options{})
		if r := doGet(t, s, tokAdmin, "/application/settings"); r.status != want {
			t.Errorf("%s Admin Mode on, token without admin_mode: settings status %d, want %d", v, r.status, want)
		}
		s.Close()
	}
}

// TestGranularTokens checks the minimal model of fine-grained tokens: the
// entity says granular, and active is false unless the caller has the
// granular_personal_access_tokens flag (World.GranularPATsFlag, on by
// default from 19.2).
func TestGranularTokens(t *testing.T) {
	for _, c := range []struct {
		version string
		flag    bool
		active  bool
	}{{"18.10.0-ee", false, false}, {"18.10.0-ee", true, true}, {"19.2.0-ee", false, true}} {
		w := versionWorld(c.version, false)
		w.Tokens[1].Granular = true // alice's 102, active
		w.GranularPATsFlag = c.flag
		s := NewServer(w, Options{})
		_, m := getObject(t, s, tokAdmin, "/personal_access_tokens/102")
		_, other := getObject(t, s, tokAdmin, "/personal_access_tokens/107")
		s.Close()
		if m["granular"] != true || m["active"] != c.active || other["granular"] != false || other["active"] != true {
			t.Errorf("%s flag %v: granular token %v/%v, other %v/%v; want granular active %v", c.version, c.flag,
				m["granular"], m["active"], other["granular"], other["active"], c.active)
		}
	}
	w := versionWorld("18.11.0-ee", false)
	s := NewServer(w, Options{})
	defer s.Close()
	_, expired := getObject(t, s, tokAdmin, "/personal_access_tokens/105")
	_, live := getObject(t, s, tokAdmin, "/personal_access_tokens/102")
	if expired["expired"] != true || live["expired"] != false {
		t.Errorf("expired: %v for the expired token, %v for a live one", expired["expired"], live["expired"])
	}
}

// TestGenerateWithVersion checks what the generator leaves out for a
// version and edition: service accounts on CE, free-form service-account
// names before 16.10, inactive resource tokens and their bots before 17.9.
func TestGenerateWithVersion(t *testing.T) {
	def, err := Generate("small", 42, WithVersion(GeneratorVersion))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(def, world(t, "small")) {
		t.Error("WithVersion(GeneratorVersion) differs from Generate without options")
	}
	if _, err := Generate("tiny", 1, WithVersion("18.x")); err == nil {
		t.Error("Generate accepted version 18.x")
	}
	for _, c := range []struct {
		version            string
		sas, freeNames, rt bool // service accounts, free-form names, inactive resource tokens
	}{
		{"16.11.0-ce", false, false, false},
		{"16.5.0-ee", true, false, false},
		{"17.5.0-ee", true, true, false},
		{"18.5.1-ee", true, true, true},
	} {
		w, err := Generate("medium", 3, WithVersion(c.version))
		if err != nil {
			t.Fatal(err)
		}
		again, _ := Generate("medium", 3, WithVersion(c.version))
		if !reflect.DeepEqual(w, again) {
			t.Errorf("%s: generation is not deterministic", c.version)
		}
		if w.Version != c.version {
			t.Errorf("%s: World.Version %q", c.version, w.Version)
		}
		users := map[int64]*User{}
		sas, free := 0, 0
		for _, u := range w.Users {
			users[u.ID] = u
			if u.UserType == UserTypeServiceAccount {
				sas++
				if !strings.HasPrefix(u.Username, "service_account_") {
					free++
				}
			}
		}
		if (sas > 0) != c.sas || (free > 0) != c.freeNames {
			t.Errorf("%s: %d service accounts, %d with free-form names; want some %v, free-form %v", c.version, sas, free, c.sas, c.freeNames)
		}
		inactive, tokensOf := 0, map[int64]int{}
		for _, x := range w.Tokens {
			if users[x.UserID] == nil {
				t.Fatalf("%s: token %d of a user not in the World", c.version, x.ID)
			}
			tokensOf[x.UserID]++
			if k := TokenKind(users[x.UserID], x); (k == KindProjectAccess || k == KindGroupAccess) && !w.TokenActive(x) {
				inactive++
			}
		}
		if (inactive > 0) != c.rt {
			t.Errorf("%s: %d inactive resource tokens, want some %v", c.version, inactive, c.rt)
		}
		for _, u := range w.Users {
			if u.UserType == UserTypeProjectBot && tokensOf[u.ID] == 0 {
				t.Errorf("%s: bot %d has no token", c.version, u.ID)
			}
		}
		for _, g := range w.Groups {
			for _, m := range g.Members {
				if users[m.UserID] == nil {
					t.Errorf("%s: group %d has a member %d not in the World", c.version, g.ID, m.UserID)
				}
			}
		}
	}
}

// TestFeatureTable checks that every feature row is complete: a name, a
// version (or, for an edition's feature older than every supported
// version, none), and a source that is a GitLab URL.
func TestFeatureTable(t *testing.T) {
	for f, g := range features {
		if f == int(featAlways) {
			continue
		}
		if g.name == "" || g.major < 13 && !(g.major == 0 && g.ee) || !strings.HasPrefix(g.source, "https://docs.gitlab.com/") && !strings.HasPrefix(g.source, "https://gitlab.com/gitlab-org/gitlab/") {
			t.Errorf("feature %d: %+v", f, g)
		}
	}
}
