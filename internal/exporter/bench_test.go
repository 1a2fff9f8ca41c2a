package exporter

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// severityMix is the share of tokens at each severity in the simulator's
// medium preset (tokenaudit demo: 5,000 tokens), out of 1,000: a synthetic
// audit with it exports, in findings mode, what a real one would.
var severityMix = []struct {
	sev audit.Severity
	per int
}{
	{audit.SeverityNone, 592}, {audit.SeverityInfo, 74}, {audit.SeverityLow, 32},
	{audit.SeverityMedium, 126}, {audit.SeverityHigh, 138}, {audit.SeverityCritical, 38},
}

// syntheticResult is an audit of n tokens with realistic names, owners
// and resources, the severities of severityMix, and an expiry and a last
// use on most. It is deterministic.
func syntheticResult(n int) *audit.Result {
	r := &audit.Result{
		Inventory: &inventory.Inventory{
			GitLab: inventory.Instance{URL: "https://gitlab.example.com", Version: "18.5.1-ee", Mode: inventory.ModeInstance},
			Stats:  inventory.Stats{Requests: n + n/20},
		},
		Now:    auditEnd,
		Tokens: make([]audit.TokenResult, n),
	}
	for i := range n {
		sev := mixAt(i)
		kind := inventory.Kinds[i%len(inventory.Kinds)]
		tok := inventory.Token{
			Kind:          kind,
			ID:            int64(100000 + i),
			Name:          fmt.Sprintf("ci-deploy-token-%06d", i),
			Owner:         &inventory.Owner{ID: int64(i % 30000), Username: fmt.Sprintf("user.name%05d", i%30000), Type: inventory.OwnerHuman},
			Resource:      inventory.Resource{Type: inventory.ResourceProject, ID: int64(i % 21000), Path: fmt.Sprintf("group%03d/subgroup%02d/project-%05d", i%400, i%17, i%21000)},
			Expires:       inventory.Expiry{At: auditEnd.AddDate(0, 0, 1+i%365), DateOnly: true},
			UsageReported: true,
		}
		if i%5 != 0 {
			tok.LastUsedAt = auditEnd.Add(-time.Duration(i%1000) * time.Hour)
		}
		tr := audit.TokenResult{Token: tok, Active: sev != audit.SeverityInfo, RiskScore: int(sev) * 18, Severity: sev}
		if sev > audit.SeverityNone {
			tr.Findings = []audit.Finding{{Rule: fmt.Sprintf("TA-%03d", 1+i%60), Severity: sev}}
		}
		r.Tokens[i] = tr
	}
	return r
}

// mixAt is the severity of token i: the mix repeats every 1,000 tokens.
func mixAt(i int) audit.Severity {
	slot := i % 1000
	for _, m := range severityMix {
		if slot < m.per {
			return m.sev
		}
		slot -= m.per
	}
	return audit.SeverityNone
}

// bigResult is an audit of n tokens all at sev, for tests that tell two
// audits apart.
func bigResult(n int, sev audit.Severity) *audit.Result {
	r := syntheticResult(n)
	for i := range r.Tokens {
		r.Tokens[i].Severity = sev
		r.Tokens[i].Findings = []audit.Finding{{Rule: "TA-001", Severity: sev}}
	}
	return r
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkScrape100k measures what 100,000 tokens cost a serving process
// and a Prometheus, for each serve.token_series choice: series and bytes
// of one /metrics answer (plain and gzipped, as Prometheus asks for it),
// the heap the exporter keeps between audits (its snapshot, the
// audit.Result dropped), and the heap while a scrape's gathered metrics
// are alive. One op is one scrape through promhttp.
//
//	go test -run '^$' -bench Scrape100k -benchtime 5x ./internal/exporter/
func BenchmarkScrape100k(b *testing.B) {
	const n = 100_000
	for _, series := range TokenSeriesChoices {
		b.Run(string(series), func(b *testing.B) {
			base := liveHeap()
			e := New(Options{TokenSeries: series, Requests: func() int { return n }})
			e.Succeeded(syntheticResult(n), auditEnd, time.Minute) // the result is dropped here
			kept := liveHeap() - base

			reg := prometheus.NewRegistry()
			reg.MustRegister(e)
			mfs, err := reg.Gather()
			if err != nil {
				b.Fatal(err)
			}
			gathered := liveHeap() - base
			samples := 0
			for _, mf := range mfs {
				samples += len(mf.GetMetric())
			}
			runtime.KeepAlive(mfs)
			mfs = nil

			h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
			scrape := func(gz bool) int {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				if gz {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				rec := &countingRecorder{header: http.Header{}}
				h.ServeHTTP(rec, req)
				if rec.code != 0 && rec.code != http.StatusOK {
					b.Fatalf("scrape: status %d", rec.code)
				}
				return rec.n
			}
			plain, zipped := scrape(false), scrape(true)
			if zipped >= plain {
				b.Fatalf("gzipped answer %d bytes, plain %d: no compression happened", zipped, plain)
			}

			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				scrape(true)
			}
			b.StopTimer()
			b.ReportMetric(float64(samples), "series")
			b.ReportMetric(float64(plain), "bytes")
			b.ReportMetric(float64(zipped), "gzip-bytes")
			b.ReportMetric(float64(kept)/(1<<20), "kept-MiB")
			b.ReportMetric(float64(gathered)/(1<<20), "gathered-MiB")
		})
	}
}

// countingRecorder is an http.ResponseWriter that counts the body.
type countingRecorder struct {
	header http.Header
	code   int
	n      int
}

func (r *countingRecorder) Header() http.Header         { return r.header }
func (r *countingRecorder) WriteHeader(code int)        { r.code = code }
func (r *countingRecorder) Write(p []byte) (int, error) { r.n += len(p); return len(p), nil }

// TestSyntheticResultIsGzipped guards the benchmark's premise that the
// handler compresses when asked: a Prometheus always asks.
func TestSyntheticResultIsGzipped(t *testing.T) {
	e := New(Options{TokenSeries: TokenSeriesAll})
	e.Succeeded(syntheticResult(1000), auditEnd, time.Second)
	reg := prometheus.NewRegistry()
	reg.MustRegister(e)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if got := bytes.Count(body, []byte("\ntokenaudit_token_severity{")); got != 1000 {
		t.Errorf("%d token_severity series, want 1000", got)
	}
}
