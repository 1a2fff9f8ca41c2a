package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/collect"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/report"
)

// TestGraphQLReportSameAsREST audits the large preset as its administrator
// twice, through GraphQL's batches (the default) and over REST alone: the
// JSON reports are the same once the run's own figures (requests, duration)
// are taken out, and the GraphQL run needs far fewer requests.
func TestGraphQLReportSameAsREST(t *testing.T) {
	w, err := gitlabsim.Generate("large", 1)
	if err != nil {
		t.Fatal(err)
	}
	srv := gitlabsim.NewServer(w, gitlabsim.Options{})
	defer srv.Close()
	audited := func(opts collect.Options) (map[string]any, int) {
		t.Helper()
		client, counter, err := collect.NewClient(srv.URL()+"/api/v4", w.AdminToken(), collect.ClientOptions{RetryMax: -1})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		opts.BaseURL = srv.URL()
		inv, err := collect.Collect(ctx, client, opts)
		if err != nil {
			t.Fatalf("collect: %v", err)
		}
		if !inv.Complete() || len(inv.Gaps) != 0 {
			t.Fatalf("an administrator's audit has gaps: %+v", inv.Gaps)
		}
		res, err := audit.Evaluate(inv, audit.DefaultPolicy(), w.Now)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := (report.JSONWriter{}).Write(&buf, res); err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		summary := doc["summary"].(map[string]any)
		delete(summary, "requests")
		delete(summary, "duration_seconds")
		return doc, counter.Count()
	}
	rest, restRequests := audited(collect.Options{RESTOnly: true})
	gql, gqlRequests := audited(collect.Options{})
	if diff := cmp.Diff(rest, gql); diff != "" {
		t.Errorf("the reports differ (-REST +GraphQL):\n%s", diff)
	}
	if len(gql["tokens"].([]any)) == 0 || len(gql["findings"].([]any)) == 0 {
		t.Fatal("an empty report: the comparison checks nothing")
	}
	if gqlRequests*2 > restRequests {
		t.Errorf("%d requests through GraphQL, %d over REST alone: want at most half", gqlRequests, restRequests)
	}
	t.Logf("large: %d requests through GraphQL, %d over REST alone", gqlRequests, restRequests)
}
