package report

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Text from GitLab (names, usernames, paths, GitLab's own messages) is user
// input and may hold characters that act instead of showing: escape
// sequences that rewrite a terminal (ESC ] 0 ; title BEL, ESC [ 2 J, the C1
// CSI U+009B) and bidirectional overrides that make a name read as another
// (https://trojansource.codes/). Every report escapes them with one
// function, appendEscaped; an escapeSet says which characters a report
// escapes.
type escapeSet uint8

const (
	// escTerminal is for what a person reads on a terminal (the table, CSV
	// on a terminal): every character that is not printable (control
	// characters TAB, CR and LF included, format characters such as the
	// bidi controls, unassigned code points) and invalid UTF-8.
	escTerminal escapeSet = iota
	// escFile is for the CSV file: the C0 controls but TAB, LF and CR
	// (which a quoted field holds as data), DEL, the C1 controls, the bidi
	// controls and invalid UTF-8. The file stays valid UTF-8 without a
	// byte that a terminal or a spreadsheet would act on.
	escFile
	// escJSON is what the JSON report escapes beyond encoding/json, which
	// escapes the C0 controls itself: the C1 and the bidi controls, and
	// U+2028 and U+2029, which encoding/json escapes too, so appendString
	// escapes all four kinds in one place. A JSON reader reads the escapes
	// back as the same characters.
	escJSON
)

// has reports whether the set escapes r.
func (e escapeSet) has(r rune) bool {
	switch e {
	case escTerminal:
		return !unicode.IsPrint(r)
	case escFile:
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f || isC1(r) || isBidiControl(r)
	default:
		return isC1(r) || isBidiControl(r) || r == '\u2028' || r == '\u2029'
	}
}

// isC1 reports whether r is a C1 control (U+0080 to U+009F); U+009B is
// CSI, which some terminals take as ESC [.
func isC1(r rune) bool { return r >= 0x80 && r <= 0x9f }

// isBidiControl reports whether r is one of Unicode's bidirectional
// formatting characters (https://www.unicode.org/reports/tr9/#Directional_Formatting_Characters):
// the embeddings and overrides U+202A to U+202E, the isolates U+2066 to
// U+2069, and the marks U+200E, U+200F and U+061C.
func isBidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}

// asciiEscapes holds, for each set, the ASCII characters it escapes: most
// text is ASCII, and a table lookup keeps needsEscape off the CSV report's
// hot path.
var asciiEscapes = func() (t [escJSON + 1][utf8.RuneSelf]bool) {
	for set := range t {
		for c := range t[set] {
			t[set][c] = escapeSet(set).has(rune(c))
		}
	}
	return t
}()

// needsEscape reports whether appendEscaped would change s.
func needsEscape[T ~string | ~[]byte](s T, set escapeSet) bool {
	ascii := &asciiEscapes[set]
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if ascii[c] {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
		if r == utf8.RuneError && size == 1 || set.has(r) {
			return true
		}
		i += size
	}
	return false
}

// appendEscaped appends s with each character of set written as Go writes
// it in a quoted string (\a, \n, \x1b, \x7f, \u009b, \u202e) and each byte
// of invalid UTF-8 as \xNN. A backslash is not doubled: the escapes are
// for reading, and a name that holds the text \x1b reads the same. For
// escJSON every escape is a valid JSON \uXXXX: its characters are all in
// the Basic Multilingual Plane and past ASCII, and a JSON string holds no
// invalid UTF-8.
func appendEscaped(b []byte, s string, set escapeSet) []byte {
	start := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'x', hexDigits[s[i]>>4], hexDigits[s[i]&0xF])
		case set.has(r):
			b = append(b, s[start:i]...)
			b = appendRuneEscape(b, r)
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

// appendRuneEscape appends r as Go writes it in a quoted string, without
// the quotes: \x1b, \u202e.
func appendRuneEscape(b []byte, r rune) []byte {
	n := len(b)
	b = strconv.AppendQuoteRune(b, r)
	return append(b[:n], b[n+1:len(b)-1]...)
}

// sanitize makes a value from GitLab safe to print on a terminal: the
// table's cells and lines and CSV on a terminal (escTerminal).
func sanitize(s string) string {
	if !needsEscape(s, escTerminal) {
		return s
	}
	return string(appendEscaped(nil, s, escTerminal))
}
