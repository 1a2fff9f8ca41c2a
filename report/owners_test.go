package report

import (
	"regexp"
	"strings"
	"testing"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// mdSyntax are the characters mdText backslash-escapes.
const mdSyntax = "\\`*_{}[]<>()#+!|~&:.@=$%^"

// unescaped returns the first character of mdSyntax in s that no
// backslash escapes, or -1.
func unescaped(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++ // the escaped character
			continue
		}
		if strings.IndexByte(mdSyntax, s[i]) >= 0 {
			return i
		}
	}
	return -1
}

// TestOwnersHostileNames: a token name, owner, path, email or finding text
// from GitLab cannot make a link, an image, an autolink, HTML, emphasis, a
// code span or a new line in the owners view, and shows escaped.
func TestOwnersHostileNames(t *testing.T) {
	hostile := []string{
		"[click](https://evil.example/x)",
		"![img](https://evil.example/p.png)",
		"<img src=x onerror=alert(1)>",
		"<https://evil.example>",
		"https://evil.example/phish",
		"www.evil.example",
		"mail@evil.example",
		"`code` and **bold** _em_ | table |",
		"line\n## heading\r\n- item",
		"esc \x1b]8;;https://evil.example\x07link\x1b]8;;\x07 bidi \u202egnp.exe c1 \u009b2J",
		"&lt;b&gt; &#60;script&#62;",
		`back\[slash\]`,
	}
	r := richResult()
	var toks []audit.TokenResult
	for i, s := range hostile {
		tr := r.Tokens[i%len(r.Tokens)]
		tr.Token.ID = int64(30000 + i)
		tr.Token.Name = s
		tr.Token.Kind = inventory.KindPersonal
		tr.Token.Owner = &inventory.Owner{ID: int64(30000 + i), Username: s, Email: s, Type: inventory.OwnerHuman}
		tr.Token.WebURL = s // a report read back may hold anything
		tr.Severity = audit.SeverityHigh
		tr.Findings = []audit.Finding{{Rule: s, Severity: audit.SeverityHigh, Title: s, Remediation: s}}
		toks = append(toks, tr)
	}
	r.Tokens = toks
	out := string(render(t, "owners", r, Options{}))

	for _, s := range hostile {
		if got := string(mdText(nil, s)); unescaped(got) >= 0 {
			t.Errorf("mdText(%q) = %q leaves %q unescaped", s, got, got[unescaped(got)])
		}
	}
	for _, bad := range []string{"](", "![", "<img", "<https://evil", "\x1b", "\u202e", "\u009b", "\r", "\n## heading", "\n- item", "&lt;", "&#60;"} {
		// Escaped is harmless: \<img is text.
		for rest, at := out, 0; ; {
			i := strings.Index(rest, bad)
			if i < 0 {
				break
			}
			if at+i == 0 || out[at+i-1] != '\\' {
				t.Errorf("owners report holds %q unescaped:\n%s", bad, out)
				break
			}
			rest, at = rest[i+1:], at+i+1
		}
	}
	// The only autolinks are the ones the writer makes from safe URLs, and
	// a hostile web_url is none of them.
	for _, m := range regexp.MustCompile(`(^|[^\\])<[^>]*>`).FindAllString(out, -1) {
		t.Errorf("owners report has an autolink or tag %q", m)
	}
	if n := strings.Count(out, "no page the caller can name"); n != len(hostile) {
		t.Errorf("%d tokens without a link, want %d", n, len(hostile))
	}
	// Every line the writer did not write itself escapes what it holds:
	// each value sits after a fixed prefix.
	for _, line := range strings.Split(out, "\n") {
		for _, prefix := range []string{"## Person: ", "- Email: "} {
			if v, ok := strings.CutPrefix(line, prefix); ok && unescaped(v) >= 0 {
				t.Errorf("line %q: value not escaped", line)
			}
		}
	}
}

// TestOwnersOrder: owners come worst severity first, then by name; a
// project access token and a deploy token come under their project, a
// person's tokens under the person, with the email where it is visible.
func TestOwnersOrder(t *testing.T) {
	out := string(render(t, "owners", richResult(), Options{}))
	var heads []string
	for _, line := range strings.Split(out, "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			heads = append(heads, h)
		}
	}
	want := []string{
		"Person: root", "Project: acme/platform/backend/services/api-gateway", "Project: acme/web",
		"Person: carol", "Person: alice", "Group: acme",
	}
	if strings.Join(heads, "\n") != strings.Join(want, "\n") {
		t.Errorf("owners %q, want %q", heads, want)
	}
	for _, s := range []string{"root\\@example\\.com", "<https://gitlab.example.com/acme/web/-/settings/repository>"} {
		if !strings.Contains(out, s) {
			t.Errorf("owners report lacks %q", s)
		}
	}
}

func TestSafeLink(t *testing.T) {
	for u, want := range map[string]bool{
		"https://gitlab.example.com/acme/web/-/settings/ci_cd":              true,
		"https://gitlab.example.com/-/user_settings/personal_access_tokens": true,
		"https://evil.example/-/user_settings/personal_access_tokens":       false,
		"https://gitlab.example.com.evil.example/x":                         false,
		"javascript:alert(1)":    false,
		"https://x.example/a>b":  false,
		"https://x.example/a b":  false,
		"//x.example/a":          false,
		"":                       false,
		"https://x.example/\x1b": false,
	} {
		if got := safeLink(u, "https://gitlab.example.com"); got != want {
			t.Errorf("safeLink(%q) = %v, want %v", u, got, want)
		}
	}
}
