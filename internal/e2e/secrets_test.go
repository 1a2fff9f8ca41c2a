package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/collect"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/internal/secrettest"
	"github.com/tokenaudit/tokenaudit/inventory"
	"github.com/tokenaudit/tokenaudit/report"
)

// TestSecretsNeverInMemory complements the command's secret scan
// (cmd/tokenaudit/internal/cli, TestSecretsUnderFaultsAndTriggerOwners): no
// token value survives into anything the pipeline keeps in memory, so no
// writer, log line or panic that prints a value of the model can leak one.
// The administrator owns some triggers (GitLab returns those values in
// full to their owner) and the run meets faults, so gap reasons and errors
// are part of what is searched; so are the errors of Collect for rejected
// tokens and an unreachable GitLab.
func TestSecretsNeverInMemory(t *testing.T) {
	w, err := gitlabsim.Generate("small", 21)
	if err != nil {
		t.Fatal(err)
	}
	admin := w.AdminToken()
	var adminID int64
	for _, tk := range w.Tokens {
		if tk.Value == admin {
			adminID = tk.UserID
		}
	}
	for i, tr := range w.Triggers {
		if i%3 == 0 {
			tr.OwnerID = adminID
		}
	}
	secrets := secrettest.WorldSecrets(w)

	var dump strings.Builder
	so := gitlabsim.Options{Seed: 3, Faults: gitlabsim.Faults{
		ErrorRate: 0.05, TruncateRate: 0.02, DropRate: 0.02,
	}}
	faulty := gitlabsim.Options{Seed: 4, Faults: gitlabsim.Faults{ErrorRate: 1, Routes: []string{"GET /projects/:id/triggers", "GET /deploy_tokens"}}}
	for _, opts := range []gitlabsim.Options{so, faulty} {
		copts := faultClient
		copts.RetryMax = 1
		run := runPipeline(t, w, opts, copts, nil, nil, collect.Options{Concurrency: 4})
		dump.WriteString(fmt.Sprintf("%+v\n%#v\n", *run.inv, *run.result))
		for _, format := range report.Formats() {
			var buf bytes.Buffer
			if err := report.Write(&buf, format, run.result, report.Options{MaxRows: -1}); err != nil {
				t.Fatalf("write %s: %v", format, err)
			}
			dump.Write(buf.Bytes())
		}
		triggers := 0
		for _, tk := range run.inv.Tokens {
			if tk.Kind == inventory.KindPipelineTrigger && tk.Owner != nil && tk.Owner.ID == adminID {
				triggers++
			}
		}
		if opts.Faults.ErrorRate < 1 && triggers == 0 {
			t.Fatal("no trigger of the caller was collected; the search proves little")
		}
		if opts.Faults.ErrorRate == 1 && run.inv.Complete() {
			t.Fatal("the failing run has no error gap; its reasons were not searched")
		}
	}

	// Errors of runs that cannot start.
	srv := gitlabsim.NewServer(w, gitlabsim.Options{})
	defer srv.Close()
	var revoked string
	for _, tk := range w.Tokens {
		if tk.Revoked {
			revoked = tk.Value
			break
		}
	}
	gone := gitlabsim.NewServer(w, gitlabsim.Options{})
	goneURL := gone.URL()
	gone.Close()
	for _, c := range []struct{ url, token string }{
		{srv.URL(), revoked},
		{srv.URL(), "glpat-not-a-token-of-the-world"},
		{goneURL, admin},
	} {
		copts := faultClient
		copts.RetryMax = -1
		client, _, err := collect.NewClient(c.url+"/api/v4", c.token, copts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		inv, err := collect.Collect(ctx, client, collect.Options{})
		cancel()
		if err == nil || inv != nil {
			t.Fatalf("Collect against %s succeeded; want an error", c.url)
		}
		dump.WriteString(fmt.Sprintf("%v\n%+v\n%#v\n", err, err, err))
		secrets = append(secrets, c.token)
	}
	out := dump.String()
	secrettest.Scan(t, "the inventory, the result, a report or an error", []byte(out), secrets)
}
