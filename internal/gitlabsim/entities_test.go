package gitlabsim

import (
	"encoding/json"
	"testing"
	"time"
)

// The hand-written token encoder must write exactly what encoding/json
// writes for the same entity, escapes and optional keys included.
func TestAppendTokenEntityMatchesEncodingJSON(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	desc := nullableText("quote \" backslash \\ tab \t <html> & ünïcode")
	noDesc := nullableText("")
	level, rid := 40, int64(7)
	ips := []string{"192.0.2.1", "2001:db8::1"}
	empty := []string{}
	imp := true
	for i, e := range []tokenEntity{
		{ID: 1, Name: "plain", CreatedAt: apiTime(ts), Scopes: []string{"api"}},
		{ID: 2, Name: string(desc), Revoked: true, Expired: &trueValue, CreatedAt: apiTime(ts), Description: &desc, Scopes: []string{},
			UserID: 9, LastUsedAt: (*apiTime)(&ts), Active: true, Granular: &falseValue, ExpiresAt: (*apiDate)(&ts), LastUsedIPs: &ips},
		{ID: 5, Name: "null description", CreatedAt: apiTime(ts), Description: &noDesc, Scopes: []string{"api"}, Expired: &falseValue},
		{ID: 3, Name: "resource", CreatedAt: apiTime(ts), Scopes: []string{"read_api", "mcp"}, LastUsedIPs: &empty,
			AccessLevel: &level, ResourceType: "group", ResourceID: &rid},
		{ID: 4, Name: "impersonation", CreatedAt: apiTime(ts), Scopes: []string{"api"}, Impersonation: &imp},
	} {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendTokenEntity(nil, &e); string(got) != string(want) {
			t.Errorf("entity %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
