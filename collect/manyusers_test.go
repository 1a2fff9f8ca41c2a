package collect

import (
	"fmt"
	"testing"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// TestCollectPastFiftyThousandUsers checks an instance with more users than
// GitLab lets offset pagination reach (it answers 405 past 50,000 rows of
// users): every token's owner must still be known, with no gap, since an
// unknown owner turns a bot's token into a person's.
func TestCollectPastFiftyThousandUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 50,000 users")
	}
	w := generate(t, "tiny", 1)
	next := int64(0)
	for _, u := range w.Users {
		next = max(next, u.ID)
	}
	// People without tokens pad the user list; the last of them holds one,
	// so its owner sits on a page past the offset limit.
	var last *gitlabsim.User
	for i := range 50_100 {
		next++
		last = &gitlabsim.User{ID: next, Username: fmt.Sprintf("padding-%d", i), Name: "Padding", State: "active",
			UserType: gitlabsim.UserTypeHuman, CreatedAt: w.Now.AddDate(-1, 0, 0)}
		w.Users = append(w.Users, last)
	}
	tok := *w.Tokens[0]
	tok.ID, tok.UserID = 9_000_001, last.ID
	w.Tokens = append(w.Tokens, &tok)

	run, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{SkipTriggers: true, SkipJobTokenScope: true})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	for _, g := range run.inv.Gaps {
		if g.Kind == inventory.GapError {
			t.Errorf("gap: %+v", g)
		}
	}
	var found bool
	for _, got := range run.inv.Tokens {
		if got.ID == tok.ID && got.Kind != inventory.KindDeploy && got.Kind != inventory.KindPipelineTrigger {
			found = true
			if got.Owner == nil || got.Owner.Username != last.Username || got.Owner.Type != inventory.OwnerHuman {
				t.Errorf("token %d past the offset limit: owner %+v, want %s (human)", tok.ID, got.Owner, last.Username)
			}
		}
	}
	if !found {
		t.Errorf("token %d not collected", tok.ID)
	}
}
