// Package redact makes text that came from GitLab safe to print, log and
// store: a Redactor removes the caller's token and anything shaped like a
// GitLab token, Escape shows terminal control characters instead of letting
// them act, and Line cuts a server's answer to one short line. A hostile or
// broken GitLab can echo the token it was sent, or send escape sequences
// that rewrite the terminal; neither may reach the user's screen, a log or
// a report.
package redact

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Mark replaces every secret.
const Mark = "[REDACTED]"

// tokenPrefixes are GitLab's prefixed token formats. The prefixes are
// GitLab's table (https://docs.gitlab.com/security/tokens/#token-prefixes):
// glpat- (personal, impersonation, project and group access tokens),
// gloas- (OAuth application secrets), gldt- (deploy tokens), glrt- and
// glrtr- (runner authentication tokens), glcbt- (CI/CD job tokens), glptt-
// (trigger tokens), glft- (feed tokens), glimt- (incoming mail tokens),
// glagent- (agent for Kubernetes tokens), glwt- (workspace tokens), glsoat-
// (SCIM tokens), glffct- (feature flags client tokens); and GR1348941, the
// prefix of runner registration tokens
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/models/concerns/runners_token_prefixable.rb).
// No left boundary: an instance token prefix goes in front of GitLab's
// ("mycompany-glpat-…",
// https://docs.gitlab.com/administration/settings/account_and_limit_settings/#instance-token-prefix).
// The body takes the characters of GitLab's tokens, the dot of routable
// tokens included; eight at least, so prose that names a prefix ("a glpat-
// token") stays readable. A custom personal access token prefix cannot be
// told by shape; the caller's own token is removed by value whatever it
// looks like.
var tokenPrefixes = []string{
	"glpat-", "gloas-", "gldt-", "glrt-", "glrtr-", "glcbt-", "glptt-", "glft-",
	"glimt-", "glagent-", "glwt-", "glsoat-", "glffct-", "GR1348941",
}

// minTokenBody is the fewest token characters after a prefix that make a
// token shape.
const minTokenBody = 8

// Redactor removes secrets from text. The zero value and nil remove token
// shapes only. It is safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string // longest first, so a secret inside another goes with it
}

// New returns a Redactor for secrets (empty ones are ignored).
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add adds secrets, such as the token once it is read.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		// Text is sometimes escaped before it is redacted (Line escapes
		// what it keeps); the escaped form of a secret with a character
		// outside printable ASCII must go too.
		for _, v := range []string{s, Escape(s)} {
			if !slices.Contains(r.secrets, v) {
				r.secrets = append(r.secrets, v)
			}
		}
	}
	slices.SortStableFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
}

// String returns s without the secrets and without token shapes, each
// replaced by Mark.
func (r *Redactor) String(s string) string { return redactWith(r.snapshot(), s) }

// snapshot returns the secrets, longest first.
func (r *Redactor) snapshot() []string {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.secrets
}

func redactWith(secrets []string, s string) string {
	for _, secret := range secrets {
		s = strings.ReplaceAll(s, secret, Mark)
	}
	return Tokens(s)
}

// Line is the one-line, escaped, redacted form of a server's text: Line(s,
// max) of s without the secrets.
func (r *Redactor) Line(s string, max int) string { return Line(r.String(s), max) }

// Tokens returns s with every token shape (a prefix of tokenPrefixes and
// at least minTokenBody token characters) replaced by Mark. A scan, not a
// regular expression: it runs over every string of an inventory.
func Tokens(s string) string {
	if !strings.Contains(s, "gl") && !strings.Contains(s, "GR1348941") {
		return s
	}
	var b strings.Builder
	done := 0 // s[:done] is in b
	for i := 0; i+1 < len(s); i++ {
		if !(s[i] == 'g' && s[i+1] == 'l') && !(s[i] == 'G' && s[i+1] == 'R') {
			continue
		}
		for _, p := range tokenPrefixes {
			if !strings.HasPrefix(s[i:], p) {
				continue
			}
			end := i + len(p)
			for end < len(s) && isTokenChar(s[end]) {
				end++
			}
			if end-i-len(p) >= minTokenBody {
				b.WriteString(s[done:i])
				b.WriteString(Mark)
				done = end
				i = end - 1
			}
			break
		}
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// isTokenChar reports whether c can be part of a GitLab token: URL-safe
// base64, hex, and the dots of routable tokens.
func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.'
}

// MaxLine is the length Line cuts a server's text to where the caller has
// no better bound: enough for GitLab's own messages, short of an HTML page.
const MaxLine = 200

// Line makes a server's text fit one line of a message: token shapes
// removed, every run of white space (newlines included) one space, control
// characters escaped, and at most max characters, cut with "…" between
// words. A cut never splits a word: half a secret that a later, wider
// redaction would have caught cannot show.
func Line(s string, max int) string {
	words := strings.Fields(Tokens(s))
	for i, w := range words {
		words[i] = Escape(w)
	}
	if whole := strings.Join(words, " "); utf8.RuneCountInString(whole) <= max {
		return whole
	}
	var b strings.Builder
	n := 0 // runes written
	for _, w := range words {
		wn := utf8.RuneCountInString(w)
		if n+wn+2 > max { // the word, then " …"
			break
		}
		b.WriteString(w)
		b.WriteByte(' ')
		n += wn + 1
	}
	b.WriteString("…")
	return b.String()
}

// Escape makes s safe to print on a terminal: control and format
// characters (escape sequences, newlines, bidirectional overrides) are
// shown as Go escapes (\x1b, \n, \u202e) instead of acting on the
// terminal, and invalid UTF-8 as \xNN. It is the rule report's table
// applies to what it prints.
func Escape(s string) string {
	if safe(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		b.WriteString(escapeRune(c, size, s[i]))
		i += size
	}
	return b.String()
}

// EscapeLines is Escape for a message of several lines: each line is
// escaped, the newlines between them kept.
func EscapeLines(s string) string {
	if safe(s) {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Escape(l)
	}
	return strings.Join(lines, "\n")
}

func safe(s string) bool {
	for _, c := range s {
		if c == utf8.RuneError || !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

// escapeRune is the printed form of rune c, size bytes long, whose first
// byte is first.
func escapeRune(c rune, size int, first byte) string {
	switch {
	case c == utf8.RuneError && size == 1:
		return fmt.Sprintf(`\x%02x`, first)
	case unicode.IsPrint(c):
		return string(c)
	default:
		q := strconv.QuoteRune(c) // '\n', '\x1b', '\u202e'
		return q[1 : len(q)-1]
	}
}

// Strings redacts, in place, every string that v (a pointer) reaches
// through exported struct fields, pointers, slices and arrays: a whole
// inventory of GitLab's answers in one call, whatever fields it grows.
// Maps and interfaces are left alone.
func (r *Redactor) Strings(v any) {
	walkStrings(reflect.ValueOf(v), r.snapshot())
}

func walkStrings(v reflect.Value, secrets []string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkStrings(v.Elem(), secrets)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				walkStrings(f, secrets)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(v.Index(i), secrets)
		}
	case reflect.String:
		if s := v.String(); s != "" && v.CanSet() {
			if clean := redactWith(secrets, s); clean != s {
				v.SetString(clean)
			}
		}
	}
}
