package collect

import (
	"slices"
	"strings"
	"testing"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// TestCollectAdminWithGroups checks that an administrator who names a
// group gets that group's tree, not the whole instance with the group
// silently ignored, and that the mode reason says so.
func TestCollectAdminWithGroups(t *testing.T) {
	w := generate(t, "small", 1)
	_, path := w.GroupOwnerToken()
	run, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{Groups: []string{path}})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	gl := run.inv.GitLab
	if gl.Mode != inventory.ModeGroups || !gl.Admin || !strings.Contains(gl.ModeReason, "administrator") || !strings.Contains(gl.ModeReason, path) {
		t.Errorf("gitlab = %+v, want groups mode as an administrator, the reason naming %s", gl, path)
	}
	top, admin := groupAndHolder(t, w, path, w.AdminToken())
	want, _ := newTruth(w).groupsTruth(top, admin, true)
	keys := func(ts []inventory.Token) []inventory.Key {
		var out []inventory.Key
		for _, t := range ts {
			out = append(out, t.Key())
		}
		slices.SortFunc(out, func(a, b inventory.Key) int {
			if a.Kind != b.Kind {
				return strings.Compare(string(a.Kind), string(b.Kind))
			}
			return int(a.ID - b.ID)
		})
		return out
	}
	if got, want := keys(run.inv.Tokens), keys(want); !slices.Equal(got, want) {
		t.Errorf("tokens %v\nwant the group tree's %v", got, want)
	}
	whole, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{})
	if err != nil || whole.inv.GitLab.Mode != inventory.ModeInstance || len(whole.inv.Tokens) <= len(run.inv.Tokens) {
		t.Errorf("without groups: %v, mode %s, want the whole instance", err, whole.inv.GitLab.Mode)
	}
}
