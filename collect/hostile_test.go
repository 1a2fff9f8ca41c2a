package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/tokenaudit/tokenaudit/inventory"
)

type gitlabDeployToken = gitlab.DeployToken

// Issue 15: a hostile or broken GitLab gets nothing. Each test plays such a
// GitLab with an httptest server: GitLab's paths, the answers it never
// gives.

// hostileSecret is a token-shaped value the hostile server puts in its
// answers; it must appear in no gap, log or error.
const hostileSecret = "glpat-hostile0000000000001"

// hostile is a minimal GitLab: /user, /version, /metadata and the
// settings answer; every other path is an empty list unless routes
// says otherwise. admin picks instance mode, else self mode.
type hostile struct {
	admin  bool
	routes map[string]http.HandlerFunc // by path below /api/v4/

	mu   sync.Mutex
	hits map[string]int
}

func (h *hostile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/api/v4/")
	h.mu.Lock()
	if h.hits == nil {
		h.hits = map[string]int{}
	}
	h.hits[p]++
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if f, ok := h.routes[p]; ok {
		f(w, r)
		return
	}
	switch p {
	case "user":
		if h.admin {
			fmt.Fprint(w, `{"id":1,"username":"root","state":"active","is_admin":true}`)
		} else {
			fmt.Fprint(w, `{"id":5,"username":"alice","state":"active"}`)
		}
	case "version":
		fmt.Fprint(w, `{"version":"18.5.1-ee","revision":"0"}`)
	case "metadata":
		fmt.Fprint(w, `{"version":"18.5.1-ee","enterprise":true}`)
	case "application/settings":
		fmt.Fprint(w, `{}`)
	case "personal_access_tokens/self":
		fmt.Fprint(w, pat(999, `"active":true,"revoked":false,"scopes":["read_api"]`))
	default:
		fmt.Fprint(w, `[]`)
	}
}

func (h *hostile) requests(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[path]
}

// pat is a PAT entry of user 5 with id and the fields in extra.
func pat(id int64, extra string) string {
	s := fmt.Sprintf(`{"id":%d,"name":"t%d","user_id":5,"created_at":"2025-01-02T03:04:05Z","expires_at":null,"token":%q`, id, id, hostileSecret)
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

// okPAT is a complete, active PAT entry.
func okPAT(id int64) string {
	return pat(id, `"active":true,"revoked":false,"scopes":["api"]`)
}

// pages serves a list: page n (1-based, from ?page) gets bodies[n-1] and
// the headers of hdr(n).
func pages(bodies []string, hdr func(n int, h http.Header)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		n = max(n, 1)
		if hdr != nil {
			hdr(n, w.Header())
		}
		if n > len(bodies) {
			fmt.Fprint(w, "[]")
			return
		}
		fmt.Fprint(w, bodies[n-1])
	}
}

// hostileRun is one Collect against h, with its debug log.
type hostileRun struct {
	inv  *inventory.Inventory
	err  error
	log  string
	took time.Duration
}

func collectHostile(t *testing.T, h *hostile, opts Options) hostileRun {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client, _, err := NewClient(srv.URL+"/api/v4", "glpat-caller00000000000001", testClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	var buf syncBuf
	opts.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	inv, err := Collect(ctx, client, opts)
	run := hostileRun{inv: inv, err: err, log: buf.String(), took: time.Since(start)}
	noSecret(t, run)
	return run
}

// mustCollect is collectHostile for a run that must not fail.
func mustCollect(t *testing.T, h *hostile, opts Options) hostileRun {
	t.Helper()
	run := collectHostile(t, h, opts)
	if run.err != nil {
		t.Fatalf("Collect: %v", run.err)
	}
	return run
}

// offset sets the headers of page n of an offset list of total pages;
// with totals, X-Total (items) and X-Total-Pages as well.
func offset(total, items int, totals bool) func(n int, h http.Header) {
	return func(n int, h http.Header) {
		if totals {
			h.Set("X-Total", strconv.Itoa(items))
			h.Set("X-Total-Pages", strconv.Itoa(total))
		}
		if n < total {
			h.Set("X-Next-Page", strconv.Itoa(n+1))
		}
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// noSecret fails when the hostile server's token value shows in the
// inventory, the log or the error.
func noSecret(t *testing.T, r hostileRun) {
	t.Helper()
	out, _ := json.Marshal(r.inv)
	text := string(out) + r.log
	if r.err != nil {
		text += r.err.Error()
	}
	if strings.Contains(text, hostileSecret) || strings.Contains(text, strings.TrimPrefix(hostileSecret, "glpat-")) {
		t.Fatal("a token value from GitLab's answer shows in the inventory, the log or the error")
	}
}

// errorGap returns the error gap of resource and what, or fails.
func errorGap(t *testing.T, inv *inventory.Inventory, resource, what string) inventory.Gap {
	t.Helper()
	for _, g := range inv.Gaps {
		if g.Resource == resource && g.What == what {
			if g.Kind != inventory.GapError {
				t.Errorf("gap %s / %s is of kind %s, want error", resource, what, g.Kind)
			}
			return g
		}
	}
	t.Fatalf("no gap %s / %s; gaps: %+v", resource, what, inv.Gaps)
	return inventory.Gap{}
}

func tokenIDs(inv *inventory.Inventory) []int64 {
	var ids []int64
	for _, tok := range inv.Tokens {
		ids = append(ids, tok.ID)
	}
	return ids
}

// TestHostilePagination: pagination headers that cannot be true end the
// list as an error gap after a handful of requests: no endless loop, no
// page read twice, no panic, no huge allocation.
func TestHostilePagination(t *testing.T) {
	full := "[" + okPAT(1) + "]"
	next := func(v string) func(int, http.Header) {
		return func(_ int, h http.Header) { h.Set("X-Next-Page", v) }
	}
	total := func(v string) func(int, http.Header) {
		return func(_ int, h http.Header) { h.Set("X-Next-Page", "2"); h.Set("X-Total-Pages", v) }
	}
	// want is what the gap's reason says; "" where the transport may
	// refuse the header before paginate.go sees it (pagination headers
	// must be whole numbers from 0 to 10^9), which is an error gap too.
	tests := []struct {
		name     string
		hdr      func(n int, h http.Header)
		maxPages int
		want     string
	}{
		{name: "X-Next-Page stays the same", hdr: next("2"), want: "X-Next-Page is 2 on page 2"},
		{name: "X-Next-Page -1", hdr: next("-1")},
		{name: "X-Next-Page skips pages", hdr: func(n int, h http.Header) { h.Set("X-Next-Page", strconv.Itoa(n+5)) }, want: "X-Next-Page is 6 on page 1"},
		{name: "X-Total-Pages -5", hdr: total("-5")},
		{name: "X-Total-Pages max int64", hdr: total("9223372036854775807")},
		{name: "X-Total-Pages 10^12", hdr: total("1000000000000")},
		{name: "X-Total-Pages 10^9-1", hdr: total("999999999"), want: "X-Total-Pages is 999999999, more than the 100000 pages"},
		{name: "never a last page", hdr: func(n int, h http.Header) { h.Set("X-Next-Page", strconv.Itoa(n+1)) }, maxPages: 30, want: "no last page after 30 pages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &hostile{routes: map[string]http.HandlerFunc{
				"personal_access_tokens": pages([]string{full, full, full}, tt.hdr),
			}}
			run := mustCollect(t, h, Options{maxPages: tt.maxPages})
			g := errorGap(t, run.inv, "instance", "own personal access tokens")
			if !strings.Contains(g.Reason, tt.want) || g.Reason == "" {
				t.Errorf("gap reason %q does not say %q", g.Reason, tt.want)
			}
			if n, most := h.requests("personal_access_tokens"), max(tt.maxPages, 3)+decodeRetries+1; n > most {
				t.Errorf("%d requests for the list, want at most %d", n, most)
			}
			if run.inv.Complete() {
				t.Error("the inventory claims to be complete")
			}
			if slices.Contains(tokenIDs(run.inv), 1) {
				t.Error("a token of the list whose pagination broke was kept")
			}
		})
	}
}

// TestHostileKeysetLink: a keyset Link rel="next" back to a page already
// read ends the list as an error gap.
func TestHostileKeysetLink(t *testing.T) {
	for _, tt := range []struct{ name, link string }{
		{"the same page", `<https://gitlab.example.com/api/v4/projects?pagination=keyset&per_page=100&order_by=id&sort=asc&simple=true>; rel="next"`},
		{"back and forth", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &hostile{admin: true, routes: map[string]http.HandlerFunc{
				"projects": func(w http.ResponseWriter, r *http.Request) {
					link := tt.link
					if link == "" {
						// id_after 1 → 2 → 1 → ...
						after := "1"
						if r.URL.Query().Get("id_after") == "1" {
							after = "2"
						}
						link = `<https://gitlab.example.com/api/v4/projects?id_after=` + after + `&pagination=keyset&per_page=100&order_by=id&sort=asc&simple=true>; rel="next"`
					}
					w.Header().Set("Link", link)
					fmt.Fprint(w, `[{"id":1,"path_with_namespace":"a/b","namespace":{"id":2,"kind":"group","full_path":"a"}}]`)
				},
			}}
			run := mustCollect(t, h, Options{SkipTriggers: true, SkipJobTokenScope: true})
			g := errorGap(t, run.inv, "instance", "projects")
			if !strings.Contains(g.Reason, "page already read") {
				t.Errorf("gap reason %q does not say the link points to a page already read", g.Reason)
			}
			// Two lists of projects (all, and archived) of at most 3 pages.
			if n := h.requests("projects"); n > 6 {
				t.Errorf("%d requests for /projects, want at most 6", n)
			}
		})
	}
}

// TestMaxDuration: past Options.MaxDuration the collection stops and
// Collect returns what it read with one error gap naming the reads cut
// off; it does not return an error, and it does not wait for the slow
// answer.
func TestMaxDuration(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h := &hostile{admin: true, routes: map[string]http.HandlerFunc{
		"deploy_tokens": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		},
		"personal_access_tokens": pages([]string{"[" + okPAT(1) + "]"}, nil),
	}}
	run := collectHostile(t, h, Options{MaxDuration: 500 * time.Millisecond, SkipTriggers: true, SkipJobTokenScope: true})
	if run.err != nil {
		t.Fatalf("Collect past max_duration = %v, want a partial inventory", run.err)
	}
	if run.took > 5*time.Second {
		t.Errorf("Collect took %s with a max_duration of 500ms", run.took)
	}
	g := errorGap(t, run.inv, "collection", "reads past max_duration")
	if !strings.Contains(g.Reason, "/deploy_tokens") || !strings.Contains(g.Reason, "500ms") {
		t.Errorf("gap reason %q does not name max_duration and the read cut off", g.Reason)
	}
	if run.inv.Complete() {
		t.Error("an inventory cut off by max_duration claims to be complete")
	}

	// A /user that never answers: nothing can be collected.
	h = &hostile{routes: map[string]http.HandlerFunc{"user": h.routes["deploy_tokens"]}}
	run = collectHostile(t, h, Options{MaxDuration: 300 * time.Millisecond})
	if !errors.Is(run.err, ErrMaxDuration) {
		t.Errorf("Collect with /user past max_duration = %v, want ErrMaxDuration", run.err)
	}

	// The caller's own cancellation (Ctrl-C) is still an error.
	srv := httptest.NewServer(&hostile{admin: true, routes: map[string]http.HandlerFunc{"deploy_tokens": h.routes["user"]}})
	defer srv.Close()
	client, _, err := NewClient(srv.URL+"/api/v4", "glpat-caller00000000000001", testClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if inv, err := Collect(ctx, client, Options{MaxDuration: time.Hour}); !errors.Is(err, context.DeadlineExceeded) || inv != nil {
		t.Errorf("Collect with its context ended = %v, %v; want the context's error", inv, err)
	}
}

// TestDuplicateIDsInOneList: two different entries with one id in a list
// are one token in the riskier reading, and an error gap; the same entry
// twice (offset pages shifting) is dropped quietly, and so is a twin that
// differs only in its usage.
func TestDuplicateIDsInOneList(t *testing.T) {
	critical := pat(7, `"active":true,"revoked":false,"scopes":["api"],"last_used_at":"2025-06-01T00:00:00Z"`)
	harmless := `{"id":7,"name":"t7","user_id":5,"created_at":"2025-01-02T03:04:05Z","expires_at":"2025-02-01","active":false,"revoked":true,"scopes":["read_api"]}`
	usedLater := pat(8, `"active":true,"revoked":false,"scopes":["api"],"last_used_at":"2025-07-01T00:00:00Z"`)
	usedEarlier := pat(8, `"active":true,"revoked":false,"scopes":["api"],"last_used_at":"2025-05-01T00:00:00Z"`)
	for _, order := range [][2]string{{critical, harmless}, {harmless, critical}} {
		h := &hostile{routes: map[string]http.HandlerFunc{
			"personal_access_tokens": pages([]string{
				"[" + order[0] + "," + okPAT(9) + "," + okPAT(9) + "," + usedEarlier + "]",
				"[" + order[1] + "," + usedLater + "]",
			}, offset(2, 6, true)),
		}}
		run := mustCollect(t, h, Options{})
		if got := tokenIDs(run.inv); !slices.Equal(got, []int64{7, 8, 9, 999}) {
			t.Fatalf("tokens %v, want 7, 8, 9 and 999 once each", got)
		}
		tok := run.inv.Tokens[0]
		if !tok.Active || tok.Revoked || !tok.Expires.Never() || !slices.Contains(tok.Scopes, "api") || !slices.Contains(tok.Scopes, "read_api") {
			t.Errorf("token 7 = active %v, revoked %v, expires %v, scopes %v; want the riskier reading: active, not revoked, never expires, api and read_api",
				tok.Active, tok.Revoked, tok.Expires, tok.Scopes)
		}
		g := errorGap(t, run.inv, "list /personal_access_tokens", "token id 7")
		for _, f := range []string{"active", "revoked", "expires_at", "scopes"} {
			if !strings.Contains(g.Reason, f) {
				t.Errorf("gap reason %q does not name %s", g.Reason, f)
			}
		}
		if len(run.inv.Gaps) != 1 {
			t.Errorf("gaps %+v; want only the one of token 7 (9 is listed twice alike, 8 differs only in its use)", run.inv.Gaps)
		}
		if used := run.inv.Tokens[1].LastUsedAt; !used.Equal(time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("token 8 last used %v, want the later of its two entries", used)
		}
	}
}

// TestUserWithoutIdentity: a /user answer without id and username is no
// GitLab's; Collect stops with ErrNotGitLab instead of auditing nothing in
// self mode.
func TestUserWithoutIdentity(t *testing.T) {
	for _, body := range []string{`{}`, `null`, `{"id":5}`, `{"username":"alice"}`, `{"id":0,"username":"alice"}`, `[]`, `<html>sign in</html>`} {
		t.Run(body, func(t *testing.T) {
			h := &hostile{routes: map[string]http.HandlerFunc{"user": func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }}}
			run := collectHostile(t, h, Options{})
			if !errors.Is(run.err, ErrNotGitLab) || run.inv != nil {
				t.Fatalf("Collect returned an inventory: %v, error %v; want ErrNotGitLab", run.inv != nil, run.err)
			}
			if !strings.Contains(run.err.Error(), "/user") {
				t.Errorf("error %q does not name /user", run.err)
			}
			if n := h.requests("personal_access_tokens"); n > 0 {
				t.Errorf("%d token lists read after /user said nothing", n)
			}
		})
	}
}

// TestRecordsWithoutRequiredFields: an entry without a field GitLab always
// sends (id; active, revoked and scopes of a PAT) is an error gap naming
// it, not a token read as a guess. Two entries without an id are not one
// token.
func TestRecordsWithoutRequiredFields(t *testing.T) {
	noID := `{"id":null,"name":"x","active":true,"revoked":false,"scopes":["api"]}`
	entries := []string{
		noID,
		noID,
		pat(3, `"revoked":false,"scopes":["api"]`),
		pat(4, `"active":true,"scopes":["api"]`),
		pat(5, `"active":true,"revoked":false`),
		okPAT(6),
		`{"name":"y","active":true,"revoked":false,"scopes":["api"]}`,
	}
	h := &hostile{routes: map[string]http.HandlerFunc{
		"personal_access_tokens": pages([]string{"[" + strings.Join(entries, ",") + "]"}, nil),
		"personal_access_tokens/self": func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, pat(999, `"revoked":false,"scopes":["api"]`))
		},
	}}
	run := mustCollect(t, h, Options{})
	if got := tokenIDs(run.inv); !slices.Equal(got, []int64{6}) {
		t.Errorf("tokens %v, want only 6, the one complete entry", got)
	}
	const list = "list /personal_access_tokens"
	for what, field := range map[string]string{
		"entry 1 of page 1":        "id",
		"entry 2 of page 1":        "id",
		"entry 3 of page 1 (id 3)": "active",
		"entry 4 of page 1 (id 4)": "revoked",
		"entry 5 of page 1 (id 5)": "scopes",
		"entry 7 of page 1":        "id",
	} {
		if g := errorGap(t, run.inv, list, what); !strings.Contains(g.Reason, "no "+field) {
			t.Errorf("gap %s: reason %q does not say it has no %s", what, g.Reason, field)
		}
	}
	if g := errorGap(t, run.inv, "instance", "current token"); !strings.Contains(g.Reason, "active") {
		t.Errorf("gap of the current token without active: reason %q does not say so", g.Reason)
	}
}

// TestMalformedRecordKeepsPage: one entry GitLab's types do not fit costs
// that entry only, named in its own gap, never quoted; the rest of its
// page and list stay.
func TestMalformedRecordKeepsPage(t *testing.T) {
	badDate := strings.Replace(okPAT(2), `"expires_at":null`, `"expires_at":"2025-13-45"`, 1)
	secretScopes := pat(4, `"active":true,"revoked":false,"scopes":"`+hostileSecret+`"`)
	h := &hostile{routes: map[string]http.HandlerFunc{
		"personal_access_tokens": pages([]string{
			"[" + okPAT(1) + "," + badDate + "," + okPAT(3) + "]",
			"[" + secretScopes + `,"` + hostileSecret + `",` + okPAT(5) + "]",
		}, offset(2, 6, false)),
	}}
	run := mustCollect(t, h, Options{})
	if got := tokenIDs(run.inv); !slices.Equal(got, []int64{1, 3, 5, 999}) {
		t.Errorf("tokens %v, want 1, 3, 5 and 999: every entry but the broken ones", got)
	}
	const list = "list /personal_access_tokens"
	if g := errorGap(t, run.inv, list, "entry 2 of page 1 (id 2)"); !strings.Contains(g.Reason, "expires_at") || strings.Contains(g.Reason, "2025-13-45") {
		t.Errorf("reason %q: want the field named, its value not quoted", g.Reason)
	}
	if g := errorGap(t, run.inv, list, "entry 1 of page 2 (id 4)"); !strings.Contains(g.Reason, "scopes") {
		t.Errorf("reason %q does not name scopes", g.Reason)
	}
	if g := errorGap(t, run.inv, list, "entry 2 of page 2"); !strings.Contains(g.Reason, "a string, not an object") {
		t.Errorf("reason %q does not say the entry is no object", g.Reason)
	}
	if len(run.inv.Gaps) != 3 {
		t.Errorf("gaps %+v, want the three of the broken entries", run.inv.Gaps)
	}

	// A page none of whose entries can be read is no page of the list.
	h.routes["personal_access_tokens"] = pages([]string{`[{"id":"seven","scopes":"api"}]`}, nil)
	run = mustCollect(t, h, Options{})
	if g := errorGap(t, run.inv, "instance", "own personal access tokens"); !strings.Contains(g.Reason, "no entry of the page can be read") {
		t.Errorf("reason %q does not say no entry could be read", g.Reason)
	}
}

// TestRecordGapsAreBounded: a list of broken entries makes maxRecordGaps
// gaps, the last counting the rest.
func TestRecordGapsAreBounded(t *testing.T) {
	var entries []string
	for i := range 250 {
		entries = append(entries, fmt.Sprintf(`{"id":%d}`, i+1))
	}
	h := &hostile{routes: map[string]http.HandlerFunc{
		"personal_access_tokens": pages([]string{"[" + strings.Join(entries[:100], ",") + "]", "[" + strings.Join(entries[100:200], ",") + "]", "[" + strings.Join(entries[200:], ",") + "]"},
			offset(3, 250, true)),
	}}
	run := mustCollect(t, h, Options{})
	if len(run.inv.Gaps) != maxRecordGaps {
		t.Errorf("%d gaps, want %d", len(run.inv.Gaps), maxRecordGaps)
	}
	errorGap(t, run.inv, "list /personal_access_tokens", fmt.Sprintf("%d more entries left out", 250-maxRecordGaps+1))
}

// TestRiskierReadingOfEachKind: the duplicate entries of deploy token and
// trigger lists fold the same way as PATs'.
func TestRiskierReadingOfEachKind(t *testing.T) {
	client, _, err := NewClient("http://127.0.0.1:1/api/v4", "glpat-caller00000000000001", testClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector(client, Options{})
	early, late := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	var deploys []gitlabDeployToken
	if err := json.Unmarshal([]byte(`[
		{"id":3,"name":"d","revoked":true,"expired":false,"expires_at":"2025-01-01T00:00:00Z","scopes":["read_registry"]},
		{"id":3,"name":"d","revoked":false,"expired":true,"expires_at":"2026-01-01T00:00:00Z","scopes":["write_registry"]},
		{"id":4,"name":"e","revoked":false,"expired":false,"expires_at":null,"scopes":[]},
		{"id":4,"name":"e","revoked":false,"expired":false,"expires_at":null,"scopes":[]}]`), &deploys); err != nil {
		t.Fatal(err)
	}
	d := dedupRecords(c, "list /deploy_tokens", deploys)
	if len(d) != 2 {
		t.Fatalf("%d deploy tokens, want 2", len(d))
	}
	if d[0].Revoked || d[0].Expired || !d[0].ExpiresAt.Equal(late) || len(d[0].Scopes) != 2 {
		t.Errorf("deploy token 3: revoked %v, expired %v, expires %v, scopes %v; want not revoked, not expired, the later expiry, both scopes",
			d[0].Revoked, d[0].Expired, d[0].ExpiresAt, d[0].Scopes)
	}

	var trs []triggerWire
	if err := json.Unmarshal([]byte(`[
		{"id":5,"description":"t","created_at":"2025-06-01T00:00:00Z","expires_at":"2025-01-01T00:00:00Z"},
		{"id":5,"description":"t","created_at":"2025-01-01T00:00:00Z","expires_at":null}]`), &trs); err != nil {
		t.Fatal(err)
	}
	tr := dedupRecords(c, "list /projects/1/triggers", trs)
	if len(tr) != 1 {
		t.Fatalf("%d triggers, want 1", len(tr))
	}
	if tr[0].ExpiresAt != nil || !tr[0].CreatedAt.Equal(early) {
		t.Errorf("trigger 5: expires %v, created %v; want no expiry and the earlier creation", tr[0].ExpiresAt, tr[0].CreatedAt)
	}

	var want []string
	for _, g := range c.inv.Gaps {
		want = append(want, g.Resource+" / "+g.What)
	}
	if !slices.Equal(want, []string{"list /deploy_tokens / token id 3", "list /projects/1/triggers / token id 5"}) {
		t.Errorf("gaps %v; want one for each conflicting id, none for deploy token 4 listed twice alike", want)
	}
}

// TestListAheadWithoutCounts: a list GitLab gives no count for (past 10,000
// entries) is read a window of pages at a time, every entry once, with at
// most concurrency-1 requests past the last page; a page past the last that
// has entries means the list changed, and the list fails rather than come
// out short or doubled.
func TestListAheadWithoutCounts(t *testing.T) {
	const pagesN, concurrency = 25, 8
	for _, grows := range []bool{false, true} {
		var requests, inFlight, most atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			now := inFlight.Add(1)
			defer inFlight.Add(-1)
			for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
			}
			time.Sleep(5 * time.Millisecond) // long enough for the window's pages to meet
			p, _ := strconv.Atoi(r.URL.Query().Get("page"))
			p = max(p, 1)
			if p < pagesN {
				w.Header().Set("X-Next-Page", strconv.Itoa(p+1))
			}
			if p > pagesN && !(grows && p == pagesN+1) {
				fmt.Fprint(w, "[]")
				return
			}
			var entries []string
			for i := range 100 {
				entries = append(entries, fmt.Sprintf(`{"source_id":%d,"source_type":"Project"}`, (p-1)*100+i+1))
			}
			fmt.Fprint(w, "["+strings.Join(entries, ",")+"]")
		}))
		client, _, err := NewClient(srv.URL+"/api/v4", "glpat-caller00000000000001", testClientOptions)
		if err != nil {
			t.Fatal(err)
		}
		c := newCollector(client, Options{Concurrency: concurrency})
		got, err := listAll[membershipWire](context.Background(), c, "users/1/memberships", nil)
		srv.Close()
		if grows {
			if !errors.Is(err, errListChanged) {
				t.Errorf("entries past the last page: err %v, want the list changed", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ids := map[int64]bool{}
		for _, m := range got {
			ids[m.SourceID] = true
		}
		if len(got) != pagesN*100 || len(ids) != pagesN*100 {
			t.Errorf("%d entries (%d distinct), want %d", len(got), len(ids), pagesN*100)
		}
		if n := requests.Load(); n < pagesN || n > pagesN+concurrency-1 {
			t.Errorf("%d requests for %d pages, want at most %d more", n, pagesN, concurrency-1)
		}
		if m := most.Load(); m < 2 || m > concurrency {
			t.Errorf("at most %d requests in flight, want pages asked for together, within the concurrency %d", m, concurrency)
		}
	}
}
