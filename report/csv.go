package report

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tokenaudit/tokenaudit/audit"
)

// CSVWriter writes one row a token under a fixed header line, which it
// writes even when there are no tokens. Quoting is RFC 4180's
// (encoding/csv), lines end in LF, and no cell can start a spreadsheet
// formula (see neutralise).
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
}

// Write implements Writer.
func (CSVWriter) Write(w io.Writer, r *audit.Result) error {
	if r == nil {
		return fmt.Errorf("write csv report: %w", errNilResult)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("write csv report: %w", err)
	}
	row := make([]string, len(CSVHeader))
	var ids []byte
	for i := range r.Tokens {
		tr := &r.Tokens[i]
		t := &tr.Token
		row[0] = string(t.Kind)
		row[1] = strconv.FormatInt(t.ID, 10)
		row[2] = neutralise(t.Name)
		if o := t.Owner; o != nil {
			row[3] = neutralise(o.Username)
			row[4] = string(o.Type)
			row[5] = neutralise(o.State)
			row[6] = strconv.FormatBool(o.Admin)
		} else {
			row[3], row[4], row[5], row[6] = "", "", "", ""
		}
		row[7] = string(t.Resource.Type)
		row[8] = neutralise(t.Resource.Path)
		row[9] = neutralise(strings.Join(t.Scopes, " "))
		row[10] = ""
		if t.AccessLevel != 0 {
			row[10] = strconv.Itoa(t.AccessLevel)
		}
		row[11] = formatTime(t.CreatedAt)
		row[12] = t.Expires.String()
		row[13] = formatTime(t.LastUsedAt)
		row[14] = strconv.FormatBool(t.Active)
		row[15] = strconv.FormatBool(t.Revoked)
		row[16] = strconv.Itoa(tr.RiskScore)
		row[17] = tr.Severity.String()
		ids = ruleIDs(ids[:0], tr.Findings, false)
		row[18] = neutralise(string(ids))
		ids = ruleIDs(ids[:0], tr.Findings, true)
		row[19] = neutralise(string(ids))
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv report: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv report: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write csv report: %w", err)
	}
	return nil
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
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
