package collect

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/tokenaudit/tokenaudit/internal/redact"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// Made-up values: the caller's token (a custom prefix, known only by
// value) and one shaped like a GitLab token.
const (
	reasonCallerToken = "custom-0123456789abcdefghij"
	reasonLookalike   = "glpat-ReasonLookalike000001"
)

// shown names the made-up secrets instead of printing them.
func shown(s string) string {
	return strings.NewReplacer(reasonCallerToken, "<caller token>", reasonLookalike, "<lookalike>").Replace(s)
}

// TestGapReasonFromHostileServer: the reason a gap keeps (and the debug log
// shows) holds no token, no control character, and one short line,
// whatever GitLab sent.
func TestGapReasonFromHostileServer(t *testing.T) {
	client, _, err := NewClient("http://127.0.0.1:1", "x", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector(client, Options{Redact: redact.New(reasonCallerToken).String})
	long := strings.Repeat("very long message ", 40)
	for i, msg := range []string{
		"403 Forbidden - echo " + reasonCallerToken + " and " + reasonLookalike,
		"title\x1b]0;pwned\a\x1b[2J\nsecond line",
		long + reasonCallerToken,
	} {
		c.gap(context.Background(), "resource", string(rune('a'+i)), &gitlab.ErrorResponse{StatusCode: 403, Message: msg})
	}
	c.gap(context.Background(), "resource", "z", &gitlab.ErrorResponse{StatusCode: 502, Message: "failed to parse unknown error format: <html>" + reasonCallerToken})
	if len(c.inv.Gaps) != 4 {
		t.Fatalf("%d gaps, want 4", len(c.inv.Gaps))
	}
	for _, g := range c.inv.Gaps {
		r := g.Reason
		if strings.Contains(r, reasonCallerToken) || strings.Contains(r, reasonLookalike) || strings.Contains(r, reasonCallerToken[:10]) {
			t.Errorf("gap %s: the reason shows a token", g.What)
		}
		if strings.ContainsAny(r, "\x1b\a\n\r") {
			t.Errorf("gap %s: reason %q holds control characters", g.What, shown(r))
		}
		if n := utf8.RuneCountInString(r); n > redact.MaxLine+40 {
			t.Errorf("gap %s: reason of %d characters", g.What, n)
		}
	}
	want := map[string]string{
		"a": "403 Forbidden: 403 Forbidden - echo [REDACTED] and [REDACTED]",
		"b": `403 Forbidden: title\x1b]0;pwned\a\x1b[2J second line`,
		"z": "502 Bad Gateway (after retries)",
	}
	for _, g := range c.inv.Gaps {
		if w, ok := want[g.What]; ok && g.Reason != w {
			t.Errorf("gap %s: reason %q, want %q", g.What, shown(g.Reason), w)
		}
		if g.What == "c" && (!strings.HasPrefix(g.Reason, "403 Forbidden: very long message") || !strings.HasSuffix(g.Reason, "…")) {
			t.Errorf("gap c: reason %q, want the message cut with …", shown(g.Reason))
		}
		if g.Kind != inventory.GapPermission && g.What != "z" {
			t.Errorf("gap %s: kind %s, want permission", g.What, g.Kind)
		}
	}
}
