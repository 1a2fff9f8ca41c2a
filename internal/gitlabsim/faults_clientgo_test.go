package gitlabsim

import (
	"net/http"
	"slices"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// TestClientGoListsThroughFaults lists every PAT with client-go v2 through a
// server that answers 10% of requests with 5xx and throws bursts of 429s,
// and checks client-go still gets exactly the World's tokens.
//
// client-go retries both (gitlab.go retryHTTPCheck: any 429, and 5xx but
// 501 for a GET), waiting per retryHTTPBackoff: for a 429 until
// RateLimit-Reset (or exponentially from RetryWaitMin without it), for a
// 5xx a hard-coded 700-900 ms times the attempt, which
// WithCustomRetryWaitMinMax does not change. The test keeps client-go's
// retry decisions and, to stay fast, shortens only the waits with
// WithCustomBackoff; honouring Retry-After is the python-gitlab check's job
// and the headers' values are unit-tested.
func TestClientGoListsThroughFaults(t *testing.T) {
	w, err := Generate("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	faults := Faults{ErrorRate: 0.1, Burst429: 0.05, BurstLength: 2}
	srv := NewServer(w, Options{Faults: faults, Seed: 3})
	defer srv.Close()

	client, err := gitlab.NewClient(w.AdminToken(),
		gitlab.WithBaseURL(srv.URL()+"/api/v4"),
		gitlab.WithCustomRetryWaitMinMax(time.Millisecond, 2*time.Millisecond),
		gitlab.WithCustomBackoff(func(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
			return min * time.Duration(attempt+1)
		}),
		gitlab.WithCustomRetryMax(8),
	)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	opt := &gitlab.ListPersonalAccessTokensOptions{ListOptions: gitlab.ListOptions{PerPage: 20, Page: 1}}
	for {
		page, resp, err := client.PersonalAccessTokens.ListPersonalAccessTokens(opt)
		if err != nil {
			t.Fatalf("list page %d: %v", opt.Page, err)
		}
		for _, p := range page {
			got = append(got, p.ID)
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}

	want := make([]int64, 0, len(w.Tokens))
	for _, tk := range w.Tokens {
		want = append(want, tk.ID)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("client-go listed %d PATs, ground truth %d (equal IDs: false)", len(got), len(want))
	}
	// The faults must really have happened for the test to mean anything;
	// they are a function of the seed and the request order, which a
	// sequential listing fixes.
	st := srv.FaultStats()
	if st.Errors == 0 || st.Throttled == 0 {
		t.Errorf("fault stats %+v: want both 5xx and 429s injected", st)
	}
	pages := (len(want) + 19) / 20
	if int64(pages)+st.Errors+st.Throttled != st.Requests {
		t.Errorf("%d requests for %d pages with %d 5xx and %d 429s: some fault was not retried exactly once", st.Requests, pages, st.Errors, st.Throttled)
	}
	t.Logf("%d pages, %d requests, %d 5xx, %d 429s", pages, st.Requests, st.Errors, st.Throttled)
}
