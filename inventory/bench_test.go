package inventory

import (
	"context"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

func pages(n int) int { return max(1, (n+perPage-1)/perPage) }

// minimumRequests is the fewest requests that read, as an administrator,
// everything the instance-mode inventory holds, computed from the ground
// truth: one pass over each instance-wide list, plus per resource only what
// no list offers (access levels where bots exist, triggers and job token
// scope per project, allowlist sizes where the allowlist is enforced).
// Archived state comes for free with the full project entity, so the
// archived=true list the collector reads for it is not counted.
func minimumRequests(w *gitlabsim.World, impersonationRoute bool) int {
	tr := newTruth(w)
	n := 2 // /user and /version
	n += pages(len(w.Tokens)) + pages(len(w.Users)) + pages(len(w.DeployTokens))
	n++ // application settings
	n += pages(len(w.Projects)) + pages(len(w.Groups))
	projectBots, groupBots, holders := map[int64]int{}, map[int64]int{}, map[int64]bool{}
	for _, t := range w.Tokens {
		u := tr.users[t.UserID]
		switch {
		case u.UserType == gitlabsim.UserTypeProjectBot && u.BotSourceType == "project" && tr.projects[u.BotSourceID] != nil:
			projectBots[u.BotSourceID]++
		case u.UserType == gitlabsim.UserTypeProjectBot && u.BotSourceType == "group" && tr.groups[u.BotSourceID] != nil:
			groupBots[u.BotSourceID]++
		case u.UserType == gitlabsim.UserTypeHuman:
			holders[u.ID] = true
		}
	}
	for _, c := range projectBots {
		n += pages(c)
	}
	for _, c := range groupBots {
		n += pages(c)
	}
	if impersonationRoute {
		n += len(holders)
	}
	triggers := map[int64]int{}
	for _, t := range w.Triggers {
		triggers[t.ProjectID]++
	}
	for _, p := range w.Projects {
		n += pages(triggers[p.ID]) + 1 // triggers, job_token_scope
		if p.JobTokenScope.InboundEnabled {
			n += 2 // allowlist sizes from X-Total
		}
	}
	return n
}

// BenchmarkCollectInstance measures instance mode on the large preset:
// requests per collection against the minimum the ground truth allows.
func BenchmarkCollectInstance(b *testing.B) {
	w := generate(b, "large", 1)
	srv := gitlabsim.NewServer(w, gitlabsim.Options{})
	defer srv.Close()
	client, counter, err := NewClient(srv.URL()+"/api/v4", w.AdminToken(), ClientOptions{})
	if err != nil {
		b.Fatal(err)
	}
	minimum := minimumRequests(w, hasImpersonationRoute(b, srv, w.AdminToken()))
	start := counter.Count()
	var tokens int
	b.ResetTimer()
	for b.Loop() {
		inv, err := Collect(context.Background(), client, Options{Now: func() time.Time { return w.Now }})
		if err != nil {
			b.Fatal(err)
		}
		tokens = len(inv.Tokens)
	}
	b.StopTimer()
	reqs := float64(counter.Count()-start) / float64(b.N)
	b.ReportMetric(reqs, "requests/op")
	b.ReportMetric(float64(minimum), "min-requests")
	b.ReportMetric(reqs/float64(minimum), "ratio")
	b.ReportMetric(float64(tokens), "tokens")
	if reqs > 1.1*float64(minimum) {
		b.Errorf("%.0f requests per collection, more than 1.1 × the minimum %d", reqs, minimum)
	}
}
