package bench

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/collect"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
	"github.com/tokenaudit/tokenaudit/report"
)

var xl struct {
	once sync.Once
	w    *gitlabsim.World
	inv  *inventory.Inventory
	err  error
}

// xlInventory collects the xl preset once per process: 100,000 tokens as
// the collector really returns them, not a synthetic list.
func xlInventory(b *testing.B) (*gitlabsim.World, *inventory.Inventory) {
	xl.once.Do(func() {
		xl.w, xl.err = gitlabsim.Generate("xl", 1)
		if xl.err != nil {
			return
		}
		srv := gitlabsim.NewServer(xl.w, gitlabsim.Options{})
		defer srv.Close()
		client, _, err := collect.NewClient(srv.URL()+"/api/v4", xl.w.AdminToken(), collect.ClientOptions{})
		if err != nil {
			xl.err = err
			return
		}
		xl.inv, xl.err = collect.Collect(context.Background(), client, collect.Options{Concurrency: 16})
	})
	if xl.err != nil {
		b.Fatal(xl.err)
	}
	return xl.w, xl.inv
}

// BenchmarkEvaluateAndReport is the budget "evaluation and all three
// reports of 100,000 tokens in under a second": the default policy over the
// collected xl inventory, then the JSON, CSV and table reports of the
// result. scripts/bench quotes its median ns/op.
func BenchmarkEvaluateAndReport(b *testing.B) {
	w, inv := xlInventory(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := audit.Evaluate(inv, audit.DefaultPolicy(), w.Now)
		if err != nil {
			b.Fatal(err)
		}
		for _, format := range report.Formats() {
			if err := report.Write(io.Discard, format, res, report.Options{}); err != nil {
				b.Fatalf("%s report: %v", format, err)
			}
		}
	}
	b.ReportMetric(float64(len(inv.Tokens)), "tokens")
}
