package collect

import (
	"github.com/tokenaudit/tokenaudit/inventory"

	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// FuzzDecodeTokens decodes arbitrary bytes as each GitLab answer the
// collector reads (a list and a single entity, for every token kind, users
// and settings), through the same wire types and client-go decoding, and
// maps what decodes. Nothing may panic, and the mapped tokens keep the
// model's promises: scopes never nil, the expiry readable back from its own
// String and JSON, a kind and a key, sources sorted. Seeds: GitLab's own
// example answers in fixtures (which must be there) and the committed
// corpus in testdata/fuzz/FuzzDecodeTokens.
func FuzzDecodeTokens(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join(fixtures, "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	if len(seeds) == 0 {
		f.Fatalf("no fixtures in %s to seed from", fixtures)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`[{"id":1,"name":"a","scopes":null,"expires_at":"2026-13-40","last_used_ips":null}]`))
	f.Add([]byte(`[{"id":9,"expires_at":"0000-01-01T00:00:00+23:59","token":"glptt-0123","owner":{"id":1}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var toks []inventory.Token
		var pats []patWire
		if json.Unmarshal(data, &pats) == nil {
			for i := range pats {
				toks = append(toks, mapPAT(&pats[i], inventory.KindPersonal, nil, inventory.Resource{Type: inventory.ResourceInstance}, srcPATs))
			}
		}
		var pat patWire
		if json.Unmarshal(data, &pat) == nil {
			toks = append(toks, mapPAT(&pat, inventory.KindPersonal, nil, inventory.Resource{Type: inventory.ResourceInstance}, srcPATs))
		}
		var rts []resourceTokenWire
		if json.Unmarshal(data, &rts) == nil {
			for i := range rts {
				toks = append(toks, mapResourceToken(&rts[i], inventory.KindProjectAccess, nil, inventory.Resource{Type: inventory.ResourceProject, ID: 1}, srcProjectTokens))
			}
		}
		var deploys []gitlab.DeployToken
		if json.Unmarshal(data, &deploys) == nil {
			for i := range deploys {
				toks = append(toks, mapDeployToken(&deploys[i], inventory.Resource{Type: inventory.ResourceInstance}, srcDeployTokens))
			}
		}
		var trs []triggerWire
		if json.Unmarshal(data, &trs) == nil {
			for i := range trs {
				var o *inventory.Owner
				if trs[i].Owner != nil {
					o = mapBasicUser(trs[i].Owner)
				}
				toks = append(toks, mapTrigger(&trs[i], o, inventory.Resource{Type: inventory.ResourceProject, ID: 1}))
			}
		}
		var users []userWire
		if json.Unmarshal(data, &users) == nil {
			for i := range users {
				o := mapUser(&users[i])
				// A user's tokens are PATs, service-account or bot tokens; never
				// deploy, trigger or impersonation tokens, whatever the user.
				if k := kindForOwner(o.Type); !slices.Contains(userTokenKinds, k) {
					t.Errorf("user %d of type %q: token kind %q, want one of %v", o.ID, o.Type, k, userTokenKinds)
				}
				parseBotUsername(users[i].Username)
			}
		}
		var settings settingsWire
		if json.Unmarshal(data, &settings) == nil {
			if s := mapSettings(&settings); s.MaxPersonalAccessTokenLifetime != nil && *s.MaxPersonalAccessTokenLifetime <= 0 {
				t.Errorf("max lifetime %d kept; GitLab's null/0 means unset", *s.MaxPersonalAccessTokenLifetime)
			}
		}
		for _, tok := range toks {
			checkMappedToken(t, tok)
			// Merging a token with a second sighting of itself changes nothing
			// that identifies it.
			m := tok
			m.Sources = slices.Clone(tok.Sources)
			merge(&m, tok)
			if m.Key() != tok.Key() || !slices.IsSorted(m.Sources) || len(slices.Compact(slices.Clone(m.Sources))) != len(m.Sources) {
				t.Errorf("merge with itself: key %v -> %v, sources %v", tok.Key(), m.Key(), m.Sources)
			}
		}
	})
}

// userTokenKinds are the kinds kindForOwner may give a user's token.
var userTokenKinds = []inventory.Kind{inventory.KindPersonal, inventory.KindServiceAccount, inventory.KindProjectAccess, inventory.KindGroupAccess}

func checkMappedToken(t *testing.T, tok inventory.Token) {
	t.Helper()
	if tok.Scopes == nil {
		t.Errorf("%s %d: scopes nil; the model promises a list", tok.Kind, tok.ID)
	}
	if !slices.Contains(inventory.Kinds, tok.Kind) {
		t.Errorf("token %d: kind %q is not one of Kinds", tok.ID, tok.Kind)
	}
	if len(tok.Sources) == 0 || !slices.IsSorted(tok.Sources) {
		t.Errorf("%s %d: sources %v", tok.Kind, tok.ID, tok.Sources)
	}
	// Every time must be writable in RFC 3339 (the reports' format).
	for _, tm := range []time.Time{tok.CreatedAt, tok.LastUsedAt} {
		if tm.IsZero() {
			continue
		}
		if back, err := time.Parse(time.RFC3339, tm.Format(time.RFC3339)); err != nil || !back.Equal(tm.Truncate(time.Second)) {
			t.Errorf("%s %d: time %v does not round-trip RFC 3339 (%v)", tok.Kind, tok.ID, tm, err)
		}
	}
	e := tok.Expires
	s := e.String()
	if e.Never() {
		if s != "" {
			t.Errorf("never-expiring token has expiry %q", s)
		}
		return
	}
	layout := time.RFC3339
	if e.DateOnly {
		layout = time.DateOnly
	}
	back, err := time.Parse(layout, s)
	if err != nil {
		t.Errorf("%s %d: expiry %q does not parse back: %v", tok.Kind, tok.ID, s, err)
		return
	}
	if !back.Equal(e.At.Truncate(time.Second)) {
		t.Errorf("%s %d: expiry %q reads back as %v, want %v", tok.Kind, tok.ID, s, back, e.At)
	}
	j, err := json.Marshal(e)
	var js string
	if err != nil || json.Unmarshal(j, &js) != nil || js != s {
		t.Errorf("%s %d: expiry JSON %s (%v), want %q", tok.Kind, tok.ID, j, err, s)
	}
}
