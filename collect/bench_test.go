package collect

import (
	"context"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/tokenaudit/tokenaudit/internal/bench"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// benchCollect runs the benchmark loop of one collection mode and reports
// requests per collection against minimum, the fewest the ground truth
// allows; more than 1.1 × minimum fails the benchmark.
func benchCollect(b *testing.B, client *gitlab.Client, counter *RequestCounter, minimum int, opts Options) {
	b.Helper()
	start := counter.Count()
	var tokens int
	b.ResetTimer()
	for b.Loop() {
		inv, err := Collect(context.Background(), client, opts)
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
	for _, rd := range readVariants {
		b.Run(rd.name, func(b *testing.B) {
			minimum := bench.InstanceMinimum(w, hasImpersonationRoute(b, srv, w.AdminToken()), rd.reads)
			benchCollect(b, client, counter, minimum, rd.options(Options{}))
		})
	}
}

// readVariants are the ways of reading the benchmarks and the economy test
// hold to their minimum: the default (GraphQL batches, REST for trigger
// details), REST only, and GraphQL with the two per-person and per-project
// REST reads skipped.
var readVariants = []readVariant{
	{"default", bench.DefaultReads},
	{"rest", bench.Reads{TriggerDates: true, Impersonation: true}},
	{"lean", bench.Reads{GraphQL: true}},
}

type readVariant struct {
	name  string
	reads bench.Reads
}

// options sets o's reads as the variant says.
func (v readVariant) options(o Options) Options {
	o.RESTOnly = !v.reads.GraphQL
	o.SkipTriggerCreatedAt = v.reads.GraphQL && !v.reads.TriggerDates
	o.SkipImpersonation = !v.reads.Impersonation
	return o
}

// BenchmarkCollectGroups measures groups mode on the large preset as the
// largest group's Owner, on a self-managed instance and on GitLab.com (where
// the credentials inventory lists the tree's resource access tokens):
// requests per collection against the minimum.
func BenchmarkCollectGroups(b *testing.B) {
	for _, com := range []bool{false, true} {
		name := "self-managed"
		if com {
			name = "gitlab.com"
		}
		b.Run(name, func(b *testing.B) {
			w := generate(b, "large", 1)
			asGitLabCom(w, com)
			srv := gitlabsim.NewServer(w, gitlabsim.Options{})
			defer srv.Close()
			token, group := w.GroupOwnerToken()
			client, counter, err := NewClient(srv.URL()+"/api/v4", token, ClientOptions{})
			if err != nil {
				b.Fatal(err)
			}
			for _, rd := range readVariants[:2] {
				b.Run(rd.name, func(b *testing.B) {
					minimum := bench.GroupsMinimum(w, group, bench.TokenHolder(w, token), rd.reads)
					benchCollect(b, client, counter, minimum, rd.options(Options{Groups: []string{group}}))
				})
			}
		})
	}
}

// TestCollectRequestEconomy holds the collector to the request budget of the
// benchmarks in every CI run: on small worlds, requests per collection in
// instance mode and in groups mode (self-managed and GitLab.com) are at most
// 1.1 × the minimum the ground truth allows. Request counts are
// deterministic without faults, unlike wall time.
func TestCollectRequestEconomy(t *testing.T) {
	w := generate(t, "small", 2)
	token, group := w.GroupOwnerToken()
	type mode struct {
		name  string
		com   bool
		token string
		opts  Options
	}
	for _, m := range []mode{
		{"instance", false, w.AdminToken(), Options{}},
		{"groups self-managed", false, token, Options{Groups: []string{group}}},
		{"groups gitlab.com", true, token, Options{Groups: []string{group}}},
	} {
		for _, rd := range readVariants {
			economyCase(t, w, m.name+" "+rd.name, m.com, m.token, rd.options(m.opts), func(srv *gitlabsim.Server) int {
				if m.opts.Groups != nil {
					return bench.GroupsMinimum(w, group, bench.TokenHolder(w, token), rd.reads)
				}
				return bench.InstanceMinimum(w, hasImpersonationRoute(t, srv, w.AdminToken()), rd.reads)
			})
		}
	}
}

// economyCase runs one collection of TestCollectRequestEconomy.
func economyCase(t *testing.T, w *gitlabsim.World, name string, com bool, token string, opts Options, minimum func(*gitlabsim.Server) int) {
	t.Run(name, func(t *testing.T) {
		asGitLabCom(w, com)
		defer asGitLabCom(w, false)
		run, err := collect(t, w, gitlabsim.Options{}, token, opts)
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		min := minimum(run.srv)
		if got := run.req.Count(); got > min*11/10 {
			t.Errorf("%d requests, more than 1.1 × the minimum %d", got, min)
		}
	})
}
