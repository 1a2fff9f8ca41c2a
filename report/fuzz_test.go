package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// fuzzedResult is richResult with the text users and GitLab choose
// replaced in its first token (name, owner, path, scopes, a finding's
// detail) and its first gap (the reason carries GitLab's own message), and
// the first token's expiry at an arbitrary instant of years 1 to 9999, the
// range GitLab's JSON times can name.
func fuzzedResult(name, username, path, scopes, detail, reason string, expires int64, dateOnly bool) *audit.Result {
	r := richResult()
	tr := &r.Tokens[0]
	tr.Token.Name = name
	o := *tr.Token.Owner
	o.Username = username
	tr.Token.Owner = &o
	tr.Token.Resource.Path = path
	tr.Token.Scopes = strings.Split(scopes, " ")
	tr.Findings[0].Detail = detail
	r.Inventory.Gaps[0].Reason = reason
	const lo, hi = -62135596800, 253402300799 // 0001-01-01T00:00:00Z, 9999-12-31T23:59:59Z
	span := int64(hi - lo + 1)
	at := time.Unix(lo+((expires%span)+span)%span, 0).UTC()
	if dateOnly {
		at = time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
	}
	tr.Token.Expires = inventory.Expiry{At: at, DateOnly: dateOnly}
	return r
}

func addFuzzSeeds(f *testing.F) {
	f.Add("plain", "root", "acme/api", "api read_api", "detail", "502 Bad Gateway", int64(1798761600), true)
	f.Add(oddFormula, "=HYPERLINK(\"x\")", "-acme/+x", "@sudo \tapi", "\r\n", "<html>\x00</html>", int64(0), false)
	f.Add(oddMixed, "\xff\xfe", "\u2028\u2029", "", `\.`, "\"\"", int64(-62135596800), true)
	f.Add(" lead", "\ttab", "a,b", "\r", "é\r", strings.Repeat("x", 300), int64(253402300799), false)
	f.Add(hostileTitle, "\u202e\u009b", "\uff1dcmd", "\ufeff=1 \x00", " =1", "\x7f\u2066", int64(1), true)
}

// FuzzCSVRoundTrip: whatever the text, the CSV report, for a file and for
// a terminal, reads back through encoding/csv as a header and one row a
// token, every row the same width, and the fuzzed cells as written, modulo
// the documented escapes (escFile, escTerminal), formula neutralisation (a
// leading apostrophe) and encoding/csv's reading of CR LF inside quotes as
// LF. No cell reads back as a formula; the file is valid UTF-8 with no
// control character but TAB, LF and CR, and on a terminal every row is one
// line with no control character at all.
func FuzzCSVRoundTrip(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, name, username, path, scopes, detail, reason string, expires int64, dateOnly bool) {
		for _, term := range []bool{false, true} {
			csvRoundTrip(t, term, name, username, path, scopes, detail, reason, expires, dateOnly)
		}
	})
}

func csvRoundTrip(t *testing.T, term bool, name, username, path, scopes, detail, reason string, expires int64, dateOnly bool) {
	t.Helper()
	r := fuzzedResult(name, username, path, scopes, detail, reason, expires, dateOnly)
	set := escFile
	if term {
		set = escTerminal
	}
	var buf bytes.Buffer
	if err := (CSVWriter{Options: Options{Terminal: term}}).Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(buf.Bytes()) {
		t.Errorf("terminal %v: CSV is not valid UTF-8", term)
	}
	if term {
		lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
		if len(lines) != len(r.Tokens)+1 {
			t.Errorf("terminal: %d lines, want a header and %d tokens, one line each", len(lines), len(r.Tokens))
		}
		for _, l := range lines {
			if needsEscape(l, escTerminal) {
				t.Errorf("terminal: a line holds a control or format character: %q", l)
			}
		}
	} else if needsEscape(buf.Bytes(), escFile) {
		t.Errorf("file: CSV holds a control character other than TAB, LF and CR")
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not read back: %v", err)
	}
	if len(rows) != len(r.Tokens)+1 {
		t.Fatalf("%d rows, want a header and %d tokens", len(rows), len(r.Tokens))
	}
	col := map[string]int{}
	for i, h := range CSVHeader {
		col[h] = i
	}
	for i, row := range rows {
		if len(row) != len(CSVHeader) {
			t.Fatalf("row %d has %d cells, want %d", i, len(row), len(CSVHeader))
		}
	}
	row := rows[1]
	// encoding/csv reads a CR LF inside quotes as LF, and a lone CR in
	// a quoted field as it is; compare what it can represent.
	norm := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "") }
	for _, c := range []struct{ header, want string }{
		{"name", name}, {"owner_username", username}, {"resource_path", path}, {"scopes", strings.ReplaceAll(scopes, " ", ";")},
	} {
		got := row[col[c.header]]
		if norm(got) != norm(csvCell(c.want, set)) {
			t.Errorf("terminal %v: %s %q reads back as %q", term, c.header, c.want, got)
		}
		if formulaStart(got) {
			t.Errorf("%s reads back as a formula: %q", c.header, got)
		}
	}
	if got, want := row[col["expires_at"]], r.Tokens[0].Token.Expires.String(); got != want {
		t.Errorf("expires_at %q, want %q", got, want)
	}
	if row[col["kind"]] != string(r.Tokens[0].Token.Kind) || row[col["id"]] != "101" {
		t.Errorf("kind, id = %q, %q; a fuzzed cell shifted the row", row[col["kind"]], row[col["id"]])
	}
}

// FuzzJSON: whatever the text, the JSON report is valid JSON that
// validates against docs/report.schema.json, and the fuzzed strings read
// back as encoding/json carries them (invalid UTF-8 as U+FFFD).
func FuzzJSON(f *testing.F) {
	addFuzzSeeds(f)
	sch := compileSchema(f)
	f.Fuzz(func(t *testing.T, name, username, path, scopes, detail, reason string, expires int64, dateOnly bool) {
		r := fuzzedResult(name, username, path, scopes, detail, reason, expires, dateOnly)
		var buf bytes.Buffer
		if err := (JSONWriter{}).Write(&buf, r); err != nil {
			t.Fatal(err)
		}
		if err := validate(sch, buf.Bytes()); err != nil {
			t.Fatalf("report does not validate against the schema: %v", err)
		}
		var doc struct {
			Tokens []struct {
				Name  string `json:"name"`
				Owner struct {
					Username string `json:"username"`
				} `json:"owner"`
				Resource struct {
					Path string `json:"path"`
				} `json:"resource"`
				Scopes    []string `json:"scopes"`
				ExpiresAt *string  `json:"expires_at"`
				Findings  []struct {
					Detail string `json:"detail"`
				} `json:"findings"`
			} `json:"tokens"`
			Gaps []struct {
				Reason string `json:"reason"`
			} `json:"gaps"`
		}
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatalf("report is no JSON: %v", err)
		}
		// What encoding/json makes of a string: the reference.
		ref := func(s string) string {
			b, _ := json.Marshal(s)
			var out string
			_ = json.Unmarshal(b, &out)
			return out
		}
		tok := doc.Tokens[0]
		for _, c := range []struct{ field, got, in string }{
			{"name", tok.Name, name}, {"owner.username", tok.Owner.Username, username},
			{"resource.path", tok.Resource.Path, path}, {"findings[0].detail", tok.Findings[0].Detail, detail},
			{"gaps[].reason", doc.Gaps[0].Reason, reason},
		} {
			if c.got != ref(c.in) {
				t.Errorf("%s %q reads back as %q", c.field, c.in, c.got)
			}
		}
		if want := strings.Split(scopes, " "); len(tok.Scopes) != len(want) {
			t.Errorf("scopes %q read back as %q", want, tok.Scopes)
		}
		switch exp := r.Tokens[0].Token.Expires; {
		case exp.Never() && tok.ExpiresAt != nil:
			t.Errorf("expires_at %q for a token that never expires, want null", *tok.ExpiresAt)
		case !exp.Never() && (tok.ExpiresAt == nil || *tok.ExpiresAt != exp.String()):
			t.Errorf("expires_at %v, want %q", tok.ExpiresAt, exp.String())
		}
	})
}
