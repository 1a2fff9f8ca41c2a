package gitlabsim

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

// BenchmarkServe measures requests per second for one page (per_page=100)
// of the administrator's PAT list on a large World, faults off, over real
// HTTP on 127.0.0.1.
func BenchmarkServe(b *testing.B) {
	w, s := serveGenerated(b, "large", 1)
	token := w.AdminToken()
	pages := (len(w.Tokens) + 99) / 100
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v4/personal_access_tokens?per_page=100&page=%d", s.URL(), i%pages+1), nil)
			req.Header.Set("PRIVATE-TOKEN", token)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkVisible measures the in-process ground truth of what a caller
// can list, on a large World, for the administrator and the group owner.
func BenchmarkVisible(b *testing.B) {
	w, s := serveGenerated(b, "large", 1)
	owner, _ := w.GroupOwnerToken()
	for _, c := range []struct{ name, token string }{{"admin", w.AdminToken()}, {"group-owner", owner}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Visible(c.token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
