package gitlabsim

import "time"

// GenOption changes what Generate builds beyond its preset and seed. With
// no option Generate builds what it always has.
type GenOption func(*genConfig)

type genConfig struct {
	adminMode bool
}

// WithAdminMode turns the admin_mode application setting on
// (Settings.AdminMode) and gives root a second read_api token that also has
// the admin_mode scope (World.AdminModeToken): with the setting on, only such
// a token acts as an administrator; root's other token (World.AdminToken)
// then reads the API as a regular user
// (https://docs.gitlab.com/administration/settings/sign_in_restrictions/#admin-mode).
func WithAdminMode() GenOption { return func(c *genConfig) { c.adminMode = true } }

// applyOptions runs the steps the options ask for, after every other step
// of generation, so that the values the preset and seed give stay as they
// are without options.
func (g *generator) applyOptions(c genConfig) {
	if c.adminMode {
		g.w.Settings.AdminMode = true
		g.genAdminModeToken()
	}
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
