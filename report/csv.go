package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tokenaudit/tokenaudit/audit"
)

// CSVWriter writes one row a token under a fixed header line, which it
// writes even when there are no tokens. Quoting is RFC 4180's, as
// encoding/csv writes it; lines end in LF; and no cell can start a
// spreadsheet formula (see neutralise).
//
// Text that users or GitLab choose has the characters that act rather than
// show escaped first, as Go writes them in a quoted string (\x1b, \u202e;
// see appendEscaped): in a file every control but TAB, LF and CR (which a
// quoted field holds as data), DEL, the C1 and the bidi controls and
// invalid UTF-8 (escFile), so the file is valid UTF-8 with no NUL or escape
// sequence in it; with Options.Terminal everything the table escapes
// (escTerminal), TAB, LF and CR included, so each row is one line.
type CSVWriter struct {
	Options Options
}

// CSVHeader is the CSV report's header line, in column order. The names and
// their order are a contract (README, "Reports"): add columns at the end only.
var CSVHeader = []string{
	"kind", "id", "name",
	"owner_username", "owner_type", "owner_state", "owner_admin",
	"resource_type", "resource_path",
	"scopes", "access_level",
	"created_at", "expires_at", "last_used_at",
	"active", "revoked",
	"risk_score", "severity",
	"findings", "suppressed",
	"unknown",
	// Added within schema_version 1: the comparison with --baseline (empty
	// without one) and the token's GitLab.
	"baseline", "new_findings", "resolved_findings",
	"gitlab_url",
	// Added within schema_version 1: whom to notify and where they act
	// (the JSON report's owner.email and web_url); empty when unknown.
	"owner_email", "web_url",
}

// csvEscapes is what a CSV cell escapes: the table's set on a terminal,
// where a row must stay a line, else the file's.
func csvEscapes(o Options) escapeSet {
	if o.Terminal {
		return escTerminal
	}
	return escFile
}

// appendCSVHeader appends a header line of the columns in header.
func appendCSVHeader(row []byte, header []string) []byte {
	for i, h := range header {
		if i > 0 {
			row = append(row, ',')
		}
		row = appendCSVField(row, h, false)
	}
	return append(row, '\n')
}

// Write implements Writer. Rows are built by appendCSVField, which quotes
// exactly as encoding/csv's Writer does (TestCSVMatchesEncodingCSV holds it
// to that) but without a string per cell: 100,000 tokens must leave time
// for the other reports.
func (c CSVWriter) Write(w io.Writer, r *audit.Result) error {
	if r == nil {
		return fmt.Errorf("write csv report: %w", errNilResult)
	}
	set := csvEscapes(c.Options)
	bw := bufio.NewWriterSize(w, 64<<10)
	var scratch []byte
	row := appendCSVHeader(nil, CSVHeader)
	if _, err := bw.Write(row); err != nil {
		return fmt.Errorf("write csv report: %w", err)
	}
	resolved := resolvedIndex(r.Baseline)
	for i := range r.Tokens {
		tr := &r.Tokens[i]
		row = appendCSVRow(row[:0], &scratch, tr, set)
		row = appendCSVBaseline(row[:len(row)-1], &scratch, r, tr, resolved, set)
		row = appendCSVContact(row[:len(row)-1], r, tr, set)
		if _, err := bw.Write(row); err != nil {
			return fmt.Errorf("write csv report: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write csv report: %w", err)
	}
	return nil
}

// appendCSVRow appends the row of one token, in CSVHeader's order, and its
// line end. Text that users choose is escaped by set and neutralised;
// scratch is reused.
func appendCSVRow(b []byte, scratch *[]byte, tr *audit.TokenResult, set escapeSet) []byte {
	t := &tr.Token
	b = appendCSVField(b, string(t.Kind), false)
	b = append(b, ',')
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, ',')
	b = appendCSVText(b, t.Name, set)
	b = append(b, ',')
	if o := t.Owner; o != nil {
		b = appendCSVText(b, o.Username, set)
		b = append(b, ',')
		b = appendCSVText(b, string(o.Type), set)
		b = append(b, ',')
		b = appendCSVText(b, o.State, set)
		b = append(b, ',')
		b = strconv.AppendBool(b, o.Admin)
	} else {
		b = append(b, ",,,"...)
	}
	b = append(b, ',')
	b = appendCSVText(b, string(t.Resource.Type), set)
	b = append(b, ',')
	b = appendCSVText(b, t.Resource.Path, set)
	b = append(b, ',')
	s := appendJoined((*scratch)[:0], t.Scopes, ';') // ";" as findings, suppressed and unknown
	b = appendCSVText(b, s, set)
	b = append(b, ',')
	if t.AccessLevel != 0 {
		b = strconv.AppendInt(b, int64(t.AccessLevel), 10)
	}
	b = append(b, ',')
	b = appendCSVTime(b, t.CreatedAt, time.RFC3339)
	b = append(b, ',')
	b = appendExpiry(b, t.Expires, false)
	b = append(b, ',')
	b = appendCSVTime(b, t.LastUsedAt, time.RFC3339)
	b = append(b, ',')
	b = strconv.AppendBool(b, tr.Active)
	b = append(b, ',')
	b = strconv.AppendBool(b, t.Revoked)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(tr.RiskScore), 10)
	b = append(b, ',')
	b = appendCSVField(b, tr.Severity.String(), false)
	b = append(b, ',')
	s = ruleIDs(s[:0], tr.Findings, false)
	b = appendCSVText(b, s, set)
	b = append(b, ',')
	s = ruleIDs(s[:0], tr.Findings, true)
	b = appendCSVText(b, s, set)
	b = append(b, ',')
	s = appendJoined(s[:0], tr.Unknown, ';')
	b = appendCSVText(b, s, set)
	*scratch = s
	return append(b, '\n')
}

// appendCSVBaseline appends the columns after unknown, each after a comma,
// and the line end: the token's baseline mark, the rule IDs of its new
// findings and of the findings the baseline token it matches had but it
// no longer has, and its GitLab.
func appendCSVBaseline(b []byte, scratch *[]byte, r *audit.Result, tr *audit.TokenResult, resolved map[resolvedKey]string, set escapeSet) []byte {
	b = append(b, ',')
	b = append(b, tr.Baseline.String()...)
	b = append(b, ',')
	s := newRuleIDs((*scratch)[:0], tr.Findings)
	b = appendCSVText(b, s, set)
	*scratch = s
	b = append(b, ',')
	if tr.Baseline == audit.ChangeUnchanged {
		b = appendCSVText(b, resolved[resolvedKey{audit.NormalizeURL(tr.GitLabURL), tr.Token.Kind, tr.BaselineID}], set)
	}
	b = append(b, ',')
	b = appendCSVText(b, instanceOf(r, tr), set)
	return append(b, '\n')
}

// appendCSVContact appends the owner_email and web_url columns, each after
// a comma, and the line end.
func appendCSVContact(b []byte, r *audit.Result, tr *audit.TokenResult, set escapeSet) []byte {
	b = append(b, ',')
	if o := tr.Token.Owner; o != nil {
		b = appendCSVText(b, o.Email, set)
	}
	b = append(b, ',')
	b = appendCSVText(b, TokenWebURL(r, tr), set)
	return append(b, '\n')
}

// appendCSVTime appends t in UTC in layout, nothing for the zero time.
// Neither layout can need quotes or start a formula.
func appendCSVTime(b []byte, t time.Time, layout string) []byte {
	if t.IsZero() {
		return b
	}
	return t.UTC().AppendFormat(b, layout)
}

// appendCSVText appends a cell of text that users or GitLab choose: the
// characters of set escaped, then neutralised.
func appendCSVText[T ~string | ~[]byte](b []byte, s T, set escapeSet) []byte {
	if needsEscape(s, set) {
		return appendCSVField(b, appendEscaped(nil, string(s), set), true)
	}
	return appendCSVField(b, s, true)
}

// appendCSVField appends one cell as encoding/csv's Writer (Comma ',',
// UseCRLF false) writes it: quoted when it holds a quote, comma, CR or LF,
// starts with white space or is `\.`, with quotes doubled. With neutral
// the cell is first neutralised, as if neutralise(s) were written.
func appendCSVField[T ~string | ~[]byte](b []byte, s T, neutral bool) []byte {
	prefixed := neutral && formulaStart(s)
	quote := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == ',' || c == '\r' || c == '\n' {
			quote = true
			break
		}
	}
	if !quote && !prefixed && len(s) > 0 {
		if string(s) == `\.` {
			quote = true
		} else {
			r, _ := utf8.DecodeRuneInString(string(s[:min(len(s), utf8.UTFMax)]))
			quote = unicode.IsSpace(r)
		}
	}
	if !quote {
		if prefixed {
			b = append(b, '\'')
		}
		return append(b, s...)
	}
	b = append(b, '"')
	if prefixed {
		b = append(b, '\'')
	}
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, s[start:i+1]...)
			b = append(b, '"')
			start = i + 1
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJoined appends ss joined by sep.
func appendJoined(b []byte, ss []string, sep byte) []byte {
	for i, s := range ss {
		if i > 0 {
			b = append(b, sep)
		}
		b = append(b, s...)
	}
	return b
}

// ruleIDs appends the rule IDs of the findings that are (suppressed true)
// or are not suppressed, joined by ";".
func ruleIDs(b []byte, fs []audit.Finding, suppressed bool) []byte {
	for i := range fs {
		if fs[i].Suppressed != suppressed {
			continue
		}
		if len(b) > 0 {
			b = append(b, ';')
		}
		b = append(b, fs[i].Rule...)
	}
	return b
}

// neutralise defuses spreadsheet formula injection: a cell that starts with
// =, +, -, @, a tab or a carriage return is a formula (or is trimmed into
// one) in Excel, LibreOffice and Google Sheets, so it gets a leading
// apostrophe, which makes the spreadsheet read it as text
// (https://owasp.org/www-community/attacks/CSV_Injection). So does a cell
// that starts with any other white space (a space, LF, NBSP: what an import
// may trim before it looks for a formula), with U+FEFF (invisible, and
// stripped by readers that take it for a byte order mark), or with the
// fullwidth ＝ ＋ － ＠ (U+FF1D, U+FF0B, U+FF0D, U+FF20), which a
// spreadsheet may read as their ASCII forms. A leading NUL, which OWASP's
// ASVS also names (V1.2.10), is escaped before this (escFile). Token
// names, usernames and paths are chosen by users, so any of them may be
// hostile. Numbers and times never start with these characters and stay
// untouched.
func neutralise(s string) string {
	if formulaStart(s) {
		return "'" + s
	}
	return s
}

// formulaStart reports whether a cell starting as s is one neutralise
// prefixes.
func formulaStart[T ~string | ~[]byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	r := rune(s[0])
	if r >= utf8.RuneSelf {
		r, _ = utf8.DecodeRuneInString(string(s[:min(len(s), utf8.UTFMax)]))
	}
	switch r {
	case '=', '+', '-', '@', '\uFEFF', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20':
		return true
	}
	return unicode.IsSpace(r)
}
