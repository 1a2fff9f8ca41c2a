package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// OwnersWriter writes the owners view: Markdown, one section per owner of
// tokens with unsuppressed findings, to notify people (issue 13). An owner
// is a person or service account for the tokens of an account, the project
// or group for project and group access tokens and deploy tokens, whose
// Maintainers or Owners act on them. Owners are ordered worst severity
// first, then by name; each section names the owner's email where the
// caller may see it and lists the tokens with their top findings, what to
// do and the page where each is rotated or revoked (TokenWebURL).
//
// Every value from GitLab is escaped (mdText): a token name cannot make a
// link, an image, HTML or a heading, nor act on a terminal.
type OwnersWriter struct {
	Options Options
}

var _ Writer = OwnersWriter{}

// ownersTopFindings is how many findings each token lists; the JSON report
// has all of them.
const ownersTopFindings = 3

type ownerGroup struct {
	key      string
	label    string // Person, Service account, Account, Project, Group
	name     string
	email    string
	instance string // merged reports only
	resource bool
	worst    audit.Severity
	tokens   []*audit.TokenResult
}

// Write implements Writer.
func (o OwnersWriter) Write(w io.Writer, r *audit.Result) error {
	if r == nil {
		return fmt.Errorf("write owners report: %w", errNilResult)
	}
	groups := ownerGroups(r)
	bw := bufio.NewWriter(w)
	var b []byte
	b = append(b, "# Token owners\n\n"...)
	if r.Inventory != nil && r.Inventory.GitLab.URL != "" {
		b = append(b, "GitLab "...)
		b = mdText(b, r.Inventory.GitLab.URL)
		b = append(b, ", audited "...)
	} else {
		b = append(b, "Audited "...)
	}
	b = append(b, r.Now.UTC().Format(time.RFC3339)...)
	b = append(b, ". "...)
	n := 0
	for _, g := range groups {
		n += len(g.tokens)
	}
	if n == 0 {
		b = append(b, "No token has an unsuppressed finding: there is no one to notify.\n"...)
	} else {
		b = fmt.Appendf(b, "%s with %s to act on, worst first. Each link opens the GitLab page where the token is rotated or revoked.\n",
			plural(len(groups), "owner", "owners"), plural(n, "token", "tokens"))
	}
	for _, g := range groups {
		b = appendOwnerSection(b, r, g)
		if _, err := bw.Write(b); err != nil {
			return fmt.Errorf("write owners report: %w", err)
		}
		b = b[:0]
	}
	if _, err := bw.Write(b); err != nil {
		return fmt.Errorf("write owners report: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write owners report: %w", err)
	}
	return nil
}

// ownerGroups groups the tokens with unsuppressed findings by owner, worst
// severity first, then by name, label and instance; tokens within an owner
// worst first, then by risk, name and id.
func ownerGroups(r *audit.Result) []*ownerGroup {
	byKey := map[string]*ownerGroup{}
	var groups []*ownerGroup
	for i := range r.Tokens {
		tr := &r.Tokens[i]
		if tr.Severity == audit.SeverityNone {
			continue
		}
		g := newOwnerGroup(tr)
		if old, ok := byKey[g.key]; ok {
			g = old
		} else {
			byKey[g.key] = g
			groups = append(groups, g)
		}
		g.tokens = append(g.tokens, tr)
		g.worst = max(g.worst, tr.Severity)
		if g.email == "" && tr.Token.Owner != nil && !g.resource {
			g.email = tr.Token.Owner.Email
		}
	}
	for _, g := range groups {
		slices.SortStableFunc(g.tokens, func(a, b *audit.TokenResult) int {
			return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(b.RiskScore, a.RiskScore),
				strings.Compare(a.Token.Name, b.Token.Name), cmp.Compare(a.Token.ID, b.Token.ID))
		})
	}
	slices.SortStableFunc(groups, func(a, b *ownerGroup) int {
		return cmp.Or(cmp.Compare(b.worst, a.worst), strings.Compare(a.name, b.name),
			strings.Compare(a.label, b.label), strings.Compare(a.instance, b.instance))
	})
	return groups
}

// newOwnerGroup is the owner of tr, without its tokens.
func newOwnerGroup(tr *audit.TokenResult) *ownerGroup {
	t := &tr.Token
	g := &ownerGroup{instance: tr.GitLabURL}
	resourceOwned := t.Kind == inventory.KindProjectAccess || t.Kind == inventory.KindGroupAccess ||
		t.Kind == inventory.KindDeploy || t.Owner == nil
	if resourceOwned && (t.Resource.Type == inventory.ResourceProject || t.Resource.Type == inventory.ResourceGroup) {
		g.resource = true
		g.label = "Project"
		if t.Resource.Type == inventory.ResourceGroup {
			g.label = "Group"
		}
		g.name = t.Resource.Path
		if g.name == "" {
			g.name = "#" + strconv.FormatInt(t.Resource.ID, 10)
		}
		g.key = tr.GitLabURL + "\x00" + string(t.Resource.Type) + "\x00" + strconv.FormatInt(t.Resource.ID, 10) + "\x00" + t.Resource.Path
		return g
	}
	if t.Owner == nil {
		g.label, g.name = "Unknown owner", "-"
		g.key = tr.GitLabURL + "\x00unknown"
		return g
	}
	switch t.Owner.Type {
	case inventory.OwnerHuman:
		g.label = "Person"
	case inventory.OwnerServiceAccount:
		g.label = "Service account"
	default:
		g.label = "Account"
	}
	g.name = t.Owner.Username
	if g.name == "" {
		g.name = "user #" + strconv.FormatInt(t.Owner.ID, 10)
	}
	g.key = tr.GitLabURL + "\x00user\x00" + strconv.FormatInt(t.Owner.ID, 10) + "\x00" + t.Owner.Username
	return g
}

// appendOwnerSection appends one owner's section.
func appendOwnerSection(b []byte, r *audit.Result, g *ownerGroup) []byte {
	b = append(b, "\n## "...)
	b = append(b, g.label...)
	b = append(b, ": "...)
	b = mdText(b, g.name)
	b = append(b, "\n\n"...)
	b = append(b, "- Worst severity: "...)
	b = append(b, g.worst.String()...)
	b = append(b, '\n')
	if g.instance != "" {
		b = append(b, "- GitLab: "...)
		b = mdText(b, g.instance)
		b = append(b, '\n')
	}
	if !g.resource {
		b = append(b, "- Email: "...)
		if g.email != "" {
			b = mdText(b, g.email)
		} else {
			b = append(b, "not visible to the caller"...)
		}
		b = append(b, '\n')
	}
	b = append(b, "- What to do: "...)
	switch {
	case g.label == "Project":
		b = append(b, "a Maintainer of the project rotates or revokes each token below on the linked settings page, after replacing it where it is used."...)
	case g.label == "Group":
		b = append(b, "an Owner of the group rotates or revokes each token below on the linked settings page, after replacing it where it is used."...)
	default:
		b = append(b, "rotate or revoke each token below (an administrator can revoke it too), after replacing it where it is used; follow each finding's remediation."...)
	}
	b = append(b, "\n\n"...)
	for _, tr := range g.tokens {
		b = appendOwnerToken(b, r, tr)
	}
	return b
}

// appendOwnerToken appends one token's list item.
func appendOwnerToken(b []byte, r *audit.Result, tr *audit.TokenResult) []byte {
	t := &tr.Token
	b = append(b, "- **"...)
	if t.Name == "" {
		b = append(b, "(no name)"...)
	} else {
		b = mdText(b, t.Name)
	}
	b = append(b, "** ("...)
	b = mdText(b, string(t.Kind))
	b = append(b, ", id "...)
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, "): "...)
	b = append(b, tr.Severity.String()...)
	b = append(b, ", risk "...)
	b = strconv.AppendInt(b, int64(tr.RiskScore), 10)
	if !t.Expires.Never() {
		b = append(b, ", expires "...)
		b = appendExpiry(b, t.Expires, true)
	}
	b = append(b, '\n')

	var open []*audit.Finding
	for i := range tr.Findings {
		if !tr.Findings[i].Suppressed {
			open = append(open, &tr.Findings[i])
		}
	}
	slices.SortStableFunc(open, func(a, b *audit.Finding) int { return cmp.Compare(b.Severity, a.Severity) })
	for i, f := range open {
		if i == ownersTopFindings {
			b = fmt.Appendf(b, "  - and %s more (the JSON report has them all)\n", plural(len(open)-i, "finding", "findings"))
			break
		}
		b = append(b, "  - "...)
		b = append(b, f.Severity.String()...)
		b = append(b, ": "...)
		b = mdText(b, f.Title)
		b = append(b, " ("...)
		b = mdText(b, f.Rule)
		b = append(b, ")"...)
		if f.Remediation != "" {
			b = append(b, ". What to do: "...)
			b = mdText(b, f.Remediation)
		}
		b = append(b, '\n')
	}
	b = append(b, "  - Rotate or revoke: "...)
	if u := TokenWebURL(r, tr); safeLink(u, instanceOf(r, tr)) {
		b = append(b, '<')
		b = append(b, u...)
		b = append(b, '>')
	} else {
		b = append(b, "no page the caller can name"...)
	}
	return append(b, '\n')
}

// safeLink reports whether u can be written as a Markdown autolink <u>:
// an absolute http(s) URL on the token's GitLab, base, with nothing that
// ends the autolink or acts (CommonMark: no space, <, > or control
// character inside, https://spec.commonmark.org/0.31.2/#autolinks).
// TokenWebURL builds such URLs, but a report read back may hold anything.
func safeLink(u, base string) bool {
	base = strings.TrimRight(base, "/")
	if base == "" || !strings.HasPrefix(u, base+"/") {
		return false
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return false
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '`' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// mdText appends s as Markdown text that shows as itself: first every
// character that acts on a terminal escaped as the table escapes it
// (sanitize: control and format characters, newlines included, as \x1b,
// \n, \u202e), then every ASCII punctuation character that Markdown could
// read as syntax backslash-escaped, which CommonMark allows for any ASCII
// punctuation (https://spec.commonmark.org/0.31.2/#backslash-escapes).
// Besides the emphasis, code, link, image, HTML, table and heading
// characters (* _ ` [ ] < > | # !), : . and @ are escaped so that GitHub's
// and GitLab's autolinking of bare URLs, www. and email addresses finds
// none in a token name.
func mdText(b []byte, s string) []byte {
	s = sanitize(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte("\\`*_{}[]<>()#+!|~&:.@=$%^", c) >= 0 {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return b
}
