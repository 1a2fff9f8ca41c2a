package collect

import (
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// TestMaxDurationKeepsListsRead: when max_duration passes while one
// instance-wide list (deploy tokens, here slow) is still being read, the
// lists already read in full (every PAT, every user) are in the report,
// beside the deadline's gap, rather than dropped with the one cut off.
func TestMaxDurationKeepsListsRead(t *testing.T) {
	w := generate(t, "small", 1)
	so := gitlabsim.Options{Faults: gitlabsim.Faults{Latency: 3 * time.Second, Routes: []string{"GET /deploy_tokens"}}}
	run, err := collect(t, w, so, w.AdminToken(), Options{Concurrency: 4, MaxDuration: 1500 * time.Millisecond})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if run.inv.Complete() {
		t.Fatal("a collection cut off by max_duration is complete")
	}
	imp := hasImpersonationRoute(t, run.srv, w.AdminToken())
	want, _ := newTruth(w).instanceTruth(imp, false, false)
	wantPATs, gotPATs := 0, 0
	for _, tok := range want {
		if tok.Kind != inventory.KindPipelineTrigger && tok.Kind != inventory.KindImpersonation && tok.Kind != inventory.KindDeploy {
			wantPATs++
		}
	}
	for _, tok := range run.inv.Tokens {
		if tok.Kind != inventory.KindPipelineTrigger && tok.Kind != inventory.KindImpersonation && tok.Kind != inventory.KindDeploy {
			gotPATs++
		}
	}
	if gotPATs == 0 || gotPATs < wantPATs*9/10 {
		t.Errorf("past max_duration the report holds %d of the %d tokens the instance lists had read", gotPATs, wantPATs)
	}
}
