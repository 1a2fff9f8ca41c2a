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
type CSVWriter struct{}

// CSVHeader is the CSV report's header line, in column order. The names and
// their order are a contract (DESIGN.md): add columns at the end only.
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
}

// Write implements Writer. Rows are built by appendCSVField, which quotes
// exactly as encoding/csv's Writer does (TestCSVMatchesEncodingCSV holds it
// to that) but without a string per cell: 100,000 tokens must leave time
// for the other reports.
func (CSVWriter) Write(w io.Writer, r *audit.Result) error {
	if r == nil {
		return fmt.Errorf("write csv report: %w", errNilResult)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var row, scratch []byte
	for i, h := range CSVHeader {
		if i > 0 {
			row = append(row, ',')
		}
		row = appendCSVField(row, h, false)
	}
	row = append(row, '\n')
	if _, err := bw.Write(row); err != nil {
		return fmt.Errorf("write csv report: %w", err)
	}
	for i := range r.Tokens {
		row = appendCSVRow(row[:0], &scratch, &r.Tokens[i])
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
// line end. Text that users choose is neutralised; scratch is reused.
func appendCSVRow(b []byte, scratch *[]byte, tr *audit.TokenResult) []byte {
	t := &tr.Token
	b = appendCSVField(b, string(t.Kind), false)
	b = append(b, ',')
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, ',')
	b = appendCSVField(b, t.Name, true)
	b = append(b, ',')
	if o := t.Owner; o != nil {
		b = appendCSVField(b, o.Username, true)
		b = append(b, ',')
		b = appendCSVField(b, string(o.Type), true)
		b = append(b, ',')
		b = appendCSVField(b, o.State, true)
		b = append(b, ',')
		b = strconv.AppendBool(b, o.Admin)
	} else {
		b = append(b, ",,,"...)
	}
	b = append(b, ',')
	b = appendCSVField(b, string(t.Resource.Type), true)
	b = append(b, ',')
	b = appendCSVField(b, t.Resource.Path, true)
	b = append(b, ',')
	s := appendJoined((*scratch)[:0], t.Scopes, ' ')
	b = appendCSVField(b, s, true)
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
	b = appendCSVField(b, s, true)
	b = append(b, ',')
	s = ruleIDs(s[:0], tr.Findings, true)
	b = appendCSVField(b, s, true)
	b = append(b, ',')
	s = appendJoined(s[:0], tr.Unknown, ';')
	b = appendCSVField(b, s, true)
	*scratch = s
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

// appendCSVField appends one cell as encoding/csv's Writer (Comma ',',
// UseCRLF false) writes it: quoted when it holds a quote, comma, CR or LF,
// starts with white space or is `\.`, with quotes doubled. With neutral
// the cell is first neutralised, as if neutralise(s) were written.
func appendCSVField[T ~string | ~[]byte](b []byte, s T, neutral bool) []byte {
	prefixed := neutral && len(s) > 0 && isFormulaStart(s[0])
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
// (https://owasp.org/www-community/attacks/CSV_Injection). Token names,
// usernames and paths are chosen by users, so any of them may be hostile.
// Numbers and times never start with these characters and stay untouched.
func neutralise(s string) string {
	if s != "" && isFormulaStart(s[0]) {
		return "'" + s
	}
	return s
}

func isFormulaStart(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}
