package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// versionProfiles are the GitLab versions and editions the end-to-end audit
// runs on: the oldest supported major on Community Edition, an Enterprise
// Edition before inactive resource tokens were kept (17.9), a current
// self-managed Enterprise Edition with Admin Mode on, and GitLab.com.
var versionProfiles = []struct {
	name       string
	opts       []gitlabsim.GenOption
	groupOwner bool // audit as the Owner of the largest group (GitLab.com)
	adminMode  bool // the administrator's token carries admin_mode
	// unavailable lists what this GitLab lacks, as gaps of kind
	// unavailable; anything else missing is a false gap.
	unavailable []string
}{
	{name: "16.11 CE", opts: []gitlabsim.GenOption{gitlabsim.WithVersion("16.11.0-ce")}, unavailable: []string{"service accounts"}},
	{name: "17.5 EE", opts: []gitlabsim.GenOption{gitlabsim.WithVersion("17.5.0-ee")}},
	{name: "18.6 EE, Admin Mode", opts: []gitlabsim.GenOption{gitlabsim.WithVersion("18.6.0-ee"), gitlabsim.WithAdminMode()}, adminMode: true},
	{name: "GitLab.com", opts: []gitlabsim.GenOption{gitlabsim.WithGitLabCom()}, groupOwner: true},
}

// TestPlantedRisksOnEveryVersion audits a medium instance of each profile:
// every planted token the version can hold is at its expected severity,
// every healthy one below medium, and nothing is reported missing but what
// the version lacks (a gap of kind unavailable, never permission or error).
func TestPlantedRisksOnEveryVersion(t *testing.T) {
	for _, p := range versionProfiles {
		t.Run(p.name, func(t *testing.T) {
			w, err := gitlabsim.Generate("medium", 1, p.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var inv *inventory.Inventory
			switch {
			case p.groupOwner:
				token, group := w.GroupOwnerToken()
				inv = collectWorld(t, w, token, group)
			case p.adminMode:
				inv = collectWorld(t, w, w.AdminModeToken())
			default:
				inv = collectWorld(t, w, w.AdminToken())
			}
			if !p.groupOwner && (!inv.GitLab.Admin || inv.GitLab.Mode != inventory.ModeInstance) {
				t.Fatalf("gitlab %+v, want instance mode as administrator", inv.GitLab)
			}
			var unavailable []string
			for _, g := range inv.Gaps {
				if g.Kind != inventory.GapUnavailable {
					t.Errorf("false gap on %s: %+v", w.Version, g)
					continue
				}
				unavailable = append(unavailable, g.What)
			}
			slices.Sort(unavailable)
			unavailable = slices.Compact(unavailable)
			if want := p.unavailable; !slices.Equal(unavailable, want) && !p.groupOwner {
				t.Errorf("unavailable on %s: %v, want %v", w.Version, unavailable, want)
			}
			res, err := audit.Evaluate(inv, audit.DefaultPolicy(), w.Now)
			if err != nil {
				t.Fatal(err)
			}
			tallies := judge(t, w, inv, res, !p.groupOwner)
			var labels []string
			for label, n := range tallies {
				if n > 0 {
					labels = append(labels, label)
				}
			}
			slices.Sort(labels)
			t.Logf("%s: %d tokens, %d labels exercised, %d requests, gaps %v: %s",
				w.Version, len(res.Tokens), len(labels), inv.Stats.Requests, unavailable, strings.Join(labels, " "))
			if len(labels) < len(planted)/2 {
				t.Errorf("only %d of %d labels exercised on %s", len(labels), len(planted), w.Version)
			}
		})
	}
}

// TestServiceAccountByAnyName checks that a service account whose username
// says nothing (free-form since GitLab 16.10) is audited as a service
// account, from GitLab's lists of them.
func TestServiceAccountByAnyName(t *testing.T) {
	w, err := gitlabsim.Generate("medium", 1)
	if err != nil {
		t.Fatal(err)
	}
	freeForm := map[int64]string{}
	for _, u := range w.Users {
		if u.UserType == gitlabsim.UserTypeServiceAccount && !strings.HasPrefix(u.Username, "service_account_") {
			freeForm[u.ID] = u.Username
		}
	}
	inv := collectWorld(t, w, w.AdminToken())
	n := 0
	for _, tok := range inv.Tokens {
		if tok.Owner == nil || freeForm[tok.Owner.ID] == "" {
			continue
		}
		n++
		if tok.Kind != inventory.KindServiceAccount || tok.Owner.Type != inventory.OwnerServiceAccount {
			t.Errorf("token %d of %s: kind %s, owner type %s; want a service account's", tok.ID, freeForm[tok.Owner.ID], tok.Kind, tok.Owner.Type)
		}
	}
	if n == 0 {
		t.Fatalf("no token of a free-form service account among %d such accounts", len(freeForm))
	}
}
