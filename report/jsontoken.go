package report

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tokenaudit/tokenaudit/audit"
)

// appendToken appends one element of "tokens" exactly as json.Encoder with
// SetIndent("    ", "  ") and SetEscapeHTML(false) writes the jsonToken
// it stands for (TestAppendTokenMatchesEncoder holds it to that), without
// reflection: with 100,000 tokens encoding/json alone takes most of the
// second that evaluation and all three reports may use. webURL is the
// token's TokenWebURL, null when "".
func appendToken(b []byte, tr *audit.TokenResult, webURL string) []byte {
	const (
		in1 = "\n      "   // fields of the token
		in2 = "\n        " // fields of owner, resource, findings[]; scopes[]
		in3 = "\n          "
	)
	t := &tr.Token
	b = append(b, '{')
	b = append(b, in1+`"kind": `...)
	b = appendString(b, string(t.Kind))
	b = append(b, ","+in1+`"id": `...)
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, ","+in1+`"name": `...)
	b = appendString(b, t.Name)

	b = append(b, ","+in1+`"owner": `...)
	if o := t.Owner; o == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		b = append(b, in2+`"id": `...)
		b = strconv.AppendInt(b, o.ID, 10)
		b = append(b, ","+in2+`"username": `...)
		b = appendString(b, o.Username)
		b = append(b, ","+in2+`"type": `...)
		b = appendString(b, string(o.Type))
		b = append(b, ","+in2+`"admin": `...)
		b = strconv.AppendBool(b, o.Admin)
		b = append(b, ","+in2+`"state": `...)
		b = appendString(b, o.State)
		b = append(b, ","+in2+`"email": `...)
		b = appendOptString(b, o.Email)
		b = append(b, in1+"}"...)
	}

	b = append(b, ","+in1+`"resource": {`+in2+`"type": `...)
	b = appendString(b, string(t.Resource.Type))
	b = append(b, ","+in2+`"id": `...)
	b = strconv.AppendInt(b, t.Resource.ID, 10)
	b = append(b, ","+in2+`"path": `...)
	b = appendString(b, t.Resource.Path)
	b = append(b, in1+"}"...)

	b = append(b, ","+in1+`"scopes": `...)
	b = appendStrings(b, t.Scopes, in1, in2)

	b = append(b, ","+in1+`"access_level": `...)
	if t.AccessLevel == 0 {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(t.AccessLevel), 10)
	}
	b = append(b, ","+in1+`"created_at": `...)
	b = appendTime(b, t.CreatedAt, time.RFC3339)
	b = append(b, ","+in1+`"expires_at": `...)
	if t.Expires.Never() {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = appendExpiry(b, t.Expires, false)
		b = append(b, '"')
	}
	b = append(b, ","+in1+`"last_used_at": `...)
	b = appendTime(b, t.LastUsedAt, time.RFC3339)
	b = append(b, ","+in1+`"active": `...)
	b = strconv.AppendBool(b, tr.Active)
	b = append(b, ","+in1+`"revoked": `...)
	b = strconv.AppendBool(b, t.Revoked)
	b = append(b, ","+in1+`"risk_score": `...)
	b = strconv.AppendInt(b, int64(tr.RiskScore), 10)
	b = append(b, ","+in1+`"severity": `...)
	b = appendString(b, tr.Severity.String())

	b = append(b, ","+in1+`"findings": [`...)
	for i := range tr.Findings {
		f := &tr.Findings[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, in2+"{"+in3+`"rule": `...)
		b = appendString(b, f.Rule)
		b = append(b, ","+in3+`"severity": `...)
		b = appendString(b, f.Severity.String())
		b = append(b, ","+in3+`"title": `...)
		b = appendString(b, f.Title)
		b = append(b, ","+in3+`"detail": `...)
		b = appendString(b, f.Detail)
		b = append(b, ","+in3+`"remediation": `...)
		b = appendString(b, f.Remediation)
		b = append(b, ","+in3+`"suppressed": `...)
		b = strconv.AppendBool(b, f.Suppressed)
		if f.Suppressed {
			b = append(b, ","+in3+`"suppression_reason": `...)
			b = appendString(b, f.SuppressionReason)
		}
		b = appendFindingBaseline(b, f, in3)
		b = append(b, in2+"}"...)
	}
	if len(tr.Findings) > 0 {
		b = append(b, in1...)
	}
	b = append(b, ']')

	b = append(b, ","+in1+`"unknown": `...)
	b = appendStrings(b, tr.Unknown, in1, in2)
	b = append(b, ","+in1+`"web_url": `...)
	b = appendOptString(b, webURL)
	b = appendTokenBaseline(b, tr, in1)
	return append(b, "\n    }"...)
}

// appendStrings appends ss as an indented JSON array, its elements on
// lines indented by in, the closing bracket by outer; [] when empty.
func appendStrings(b []byte, ss []string, outer, in string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, in...)
		b = appendString(b, s)
	}
	if len(ss) > 0 {
		b = append(b, outer...)
	}
	return append(b, ']')
}

// appendOptString appends s as a JSON string, or null for "" (unknown).
func appendOptString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

// appendTime appends t in UTC in layout, quoted, or null for the zero time.
func appendTime(b []byte, t time.Time, layout string) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, layout)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does with
// SetEscapeHTML(false) (quotes, backslashes and control characters
// escaped, invalid UTF-8 as \ufffd, and U+2028 and U+2029 escaped for
// JavaScript's sake) and, beyond it, the C1 and bidi controls as \uXXXX
// (escJSON), as jsonStream.value escapes the rest of the document.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if escJSON.has(r) {
			b = append(b, s[start:i]...)
			b = appendRuneEscape(b, r)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
