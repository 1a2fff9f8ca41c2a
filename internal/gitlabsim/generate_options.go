package gitlabsim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// GenOption changes what Generate builds beyond its preset and seed. With
// no option Generate builds what it always has.
type GenOption func(*genConfig)

type genConfig struct {
	adminMode bool
	gitLabCom bool
	version   string // "" means GeneratorVersion, or GeneratorGitLabComVersion on GitLab.com
}

// WithVersion makes the instance that GitLab version and edition:
// "18.5.1-ee", "17.5.0-ee", "16.11.0-ce" (versions.go). Besides what the
// server serves for it, the generator leaves out what that GitLab could not
// hold: service accounts on CE and before 16.1, service-account usernames
// of their own choosing before 16.10, and before 17.9 the project and group
// access tokens that are revoked or expired, whose bot users GitLab then
// deleted with them.
func WithVersion(v string) GenOption { return func(c *genConfig) { c.version = v } }

// WithGitLabCom makes the instance GitLab.com (World.GitLabCom): no
// instance administrator is served as one, and, unless WithVersion says
// otherwise, the version is GeneratorGitLabComVersion.
func WithGitLabCom() GenOption { return func(c *genConfig) { c.gitLabCom = true } }

// WithAdminMode turns the admin_mode application setting on
// (Settings.AdminMode) and gives root a second read_api token that also has
// the admin_mode scope (World.AdminModeToken): with the setting on, only such
// a token acts as an administrator; root's other token (World.AdminToken)
// then reads the API as a regular user
// (https://docs.gitlab.com/administration/settings/sign_in_restrictions/#admin-mode).
func WithAdminMode() GenOption { return func(c *genConfig) { c.adminMode = true } }

// configure sets the World's version and offering before generation; an
// unknown version is an error.
func (g *generator) configure(c genConfig) error {
	g.w.GitLabCom = c.gitLabCom
	switch {
	case c.version != "":
		g.w.Version = c.version
	case c.gitLabCom:
		g.w.Version = GeneratorGitLabComVersion
	}
	v, err := parseGitLabVersion(g.w.Version, g.w.GitLabCom)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	g.v = v
	return nil
}

// applyOptions runs the steps the options ask for, after every other step
// of generation, so that the values the preset and seed give stay as they
// are without options.
func (g *generator) applyOptions(c genConfig, seed int64) {
	if c.adminMode {
		g.w.Settings.AdminMode = true
		g.genAdminModeToken()
	}
	if c.gitLabCom {
		g.genComPlans(seed)
	}
}

// genComPlans gives GitLab.com's top-level groups their plans and settings,
// from a stream of its own: the largest group (the well-known owner's)
// Ultimate; of the others, one Premium group whose credentials inventory
// refuses (403, it needs Ultimate) and, where there are three groups or
// more, one Ultimate group that requires DPoP on its /manage routes (401
// without a proof), both with the well-known owner as an Owner too, so that
// World.GroupOwnerToken meets both refusals; the rest Ultimate or Premium,
// or Free half the time where they hold no service account and no project
// or group access token (GitLab.com offers neither on Free); and a new Free
// group of that owner's.
func (g *generator) genComPlans(seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x636f6d706c616e73)) // "complans"
	paid := map[int64]bool{}                                       // top-level groups that hold what Free lacks
	for _, u := range g.w.Users {
		switch {
		case u.ServiceAccountGroupID != 0:
			paid[u.ServiceAccountGroupID] = true
		case u.BotSourceType == "group":
			paid[g.groupTop[u.BotSourceID]] = true
		case u.BotSourceType == "project" && g.projectByID[u.BotSourceID] != nil:
			paid[g.groupTop[g.projectByID[u.BotSourceID].GroupID]] = true
		}
	}
	var others []*Group
	for _, gr := range g.w.Groups {
		if gr.ParentID != 0 {
			continue
		}
		gr.Plan = "ultimate"
		if gr.ID != g.largestTop {
			others = append(others, gr)
		}
	}
	for i, gr := range others {
		switch {
		case i == 0:
			gr.Plan = "premium"
			gr.Members = withOwner(gr.Members, g.groupOwner.ID)
		case i == 1:
			gr.RequireDPoPForManageAPI = true
			gr.Members = withOwner(gr.Members, g.groupOwner.ID)
		case !paid[gr.ID] && rng.IntN(2) == 0:
			gr.Plan = "free"
		case rng.IntN(3) == 0:
			gr.Plan = "premium"
		}
	}
	// A Free group the well-known owner owns, without projects: generated
	// groups all hold tokens Free does not offer. It comes last, so no
	// other ID moves.
	g.nextGroupID++
	since := g.groupOwner.CreatedAt
	created := since.Add(time.Duration(rng.Int64N(int64(g.now.AddDate(0, 0, -30).Sub(since)))))
	free := &Group{ID: g.nextGroupID, Path: fmt.Sprintf("community-%d", g.nextGroupID), Visibility: "public", Plan: "free",
		CreatedAt: created, Members: []Membership{{UserID: g.groupOwner.ID, AccessLevel: 50}}}
	free.Name = free.Path
	g.w.Groups = append(g.w.Groups, free)
}

// genAdminModeToken adds root's admin_mode token: created after every
// other token (so it takes the next ID, GitLab numbering tokens in creation
// order), expiring in 300 days, used an hour ago. GitLab offers the
// admin_mode scope to administrators only; its label is the
// admin-mode-scope plant.
func (g *generator) genAdminModeToken() {
	var last int64
	for _, t := range g.w.Tokens {
		last = max(last, t.ID)
	}
	used := g.now.Add(-time.Hour)
	t := &PersonalAccessToken{
		ID: last + 1, UserID: g.root.ID, Name: "tokenaudit-admin-mode", Description: "audit token with admin_mode",
		Scopes: []string{"admin_mode", "read_api"}, CreatedAt: g.now.Add(-12 * time.Hour), ExpiresAt: g.dateIn(300),
		LastUsedAt: &used, LastUsedIPs: g.lastUsedIPs(&used),
		Value: g.secret(g.w.Settings.PersonalAccessTokenPrefix, urlSafe, 20), Plant: PlantAdminModeScope,
	}
	touch(g.root, &used)
	g.w.Tokens = append(g.w.Tokens, t)
}

// AdminModeToken returns the value of a token that acts as an administrator
// when the admin_mode setting is on: the first active, non-impersonation
// token with the admin_mode scope and read_api or api of the active
// administrator with the lowest ID. Generate with WithAdminMode gives root
// one. "" if there is none.
func (w *World) AdminModeToken() string {
	for _, u := range w.Users {
		if !u.Admin || u.State != "active" || u.UserType != UserTypeHuman {
			continue
		}
		for _, t := range w.Tokens {
			if t.UserID == u.ID && !t.Impersonation && w.TokenActive(t) && hasAnyScope(t.Scopes, "admin_mode") &&
				hasAnyScope(t.Scopes, "read_api", "api") {
				return t.Value
			}
		}
	}
	return ""
}

// fitVersion leaves out of a World what its version and edition cannot
// hold: service accounts where there are none (CE, before 16.1), and before
// 17.9 the inactive project and group access tokens with their bot users,
// which GitLab deleted on revocation and when the bot's membership expired
// with the token (https://docs.gitlab.com/user/project/settings/project_access_tokens/#bot-users-for-projects).
// Generate and ParseScenario call it last.
func fitVersion(w *World) {
	v := worldVersion(w)
	has := func(f feature) bool { return v.has(f, w.GitLabCom) }
	drop := map[int64]bool{}
	if !has(featServiceAccounts) {
		for _, u := range w.Users {
			if u.UserType == UserTypeServiceAccount {
				drop[u.ID] = true
			}
		}
	}
	if !has(featRetainResourceBots) {
		bots := map[int64]*User{}
		for _, u := range w.Users {
			if u.UserType == UserTypeProjectBot {
				bots[u.ID] = u
			}
		}
		left := map[int64]int{}
		for _, t := range w.Tokens {
			if bots[t.UserID] != nil && w.TokenActive(t) {
				left[t.UserID]++
			}
		}
		for _, t := range w.Tokens {
			if bots[t.UserID] != nil && left[t.UserID] == 0 {
				drop[t.UserID] = true
			}
		}
		w.Tokens = slices.DeleteFunc(w.Tokens, func(t *PersonalAccessToken) bool { return bots[t.UserID] != nil && !w.TokenActive(t) })
	}
	if len(drop) > 0 {
		dropUsers(w, drop)
	}
}

// dropUsers deletes users with their tokens, memberships and access
// requests; a trigger
// they own is left without an owner, as GitLab leaves one.
func dropUsers(w *World, drop map[int64]bool) {
	w.Users = slices.DeleteFunc(w.Users, func(u *User) bool { return drop[u.ID] })
	w.Tokens = slices.DeleteFunc(w.Tokens, func(t *PersonalAccessToken) bool { return drop[t.UserID] })
	gone := func(m Membership) bool { return drop[m.UserID] }
	asked := func(a AccessRequest) bool { return drop[a.UserID] }
	for _, g := range w.Groups {
		g.Members = slices.DeleteFunc(g.Members, gone)
		g.AccessRequests = slices.DeleteFunc(g.AccessRequests, asked)
	}
	for _, p := range w.Projects {
		p.Members = slices.DeleteFunc(p.Members, gone)
		p.AccessRequests = slices.DeleteFunc(p.AccessRequests, asked)
	}
	for _, tr := range w.Triggers {
		if drop[tr.OwnerID] {
			tr.OwnerID = 0
		}
	}
}

// withOwner makes a user an Owner of a member list.
func withOwner(ms []Membership, userID int64) []Membership {
	for i := range ms {
		if ms[i].UserID == userID {
			ms[i].AccessLevel = 50
			return ms
		}
	}
	return append(ms, Membership{UserID: userID, AccessLevel: 50})
}
