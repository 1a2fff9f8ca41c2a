// Package report renders an audit result as a terminal table, CSV, JSON,
// JUnit XML (GitLab's test reports), SARIF 2.1.0 or a self-contained HTML
// page.
// The JSON and CSV layouts are contracts that scripts build on (README,
// "Reports"; docs/report.schema.json describes the JSON); the table is for
// people and may change.
//
// No writer ever writes a token value: the model has no field for one.
package report

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// SchemaVersion is the JSON report's schema_version. It changes only when a
// field is removed or changes meaning; added fields keep it.
const SchemaVersion = 1

// DefaultMaxRows is how many token rows the table shows when Options.MaxRows
// is zero: a terminal table of thousands of rows helps no one, and the CSV
// and JSON reports always list every token.
const DefaultMaxRows = 50

// Options tune the writers; the zero value is plain output.
type Options struct {
	Color bool // table only: ANSI colour for severities (cmd decides: a terminal and no NO_COLOR)
	Width int  // table only: terminal width; 0 means 80
	// MaxRows is, for the table only, the most rows of each of its tables
	// (tokens, findings of no token, gaps); 0 means DefaultMaxRows and a
	// negative value means all of them. The table says what it left out.
	MaxRows int
	// Terminal says that w is a terminal (cmd decides). CSV then escapes
	// every control and format character of GitLab's text as the table
	// does, TAB, CR and LF included, instead of keeping TAB, CR and LF as
	// data (CSVWriter). The table always escapes; JSON is the same
	// everywhere, as it has no raw control character to begin with.
	Terminal bool
	// FailOn is, for the JUnit report only, the lowest severity whose
	// unsuppressed findings are failing test cases, as --fail-on; zero
	// means high. FailNever (--fail-on none) makes no finding fail.
	FailOn    audit.Severity
	FailNever bool
}

// Writer renders a result. Writers do not sort, filter or close w.
type Writer interface {
	Write(w io.Writer, r *audit.Result) error
}

var (
	_ Writer = JSONWriter{}
	_ Writer = CSVWriter{}
	_ Writer = FindingsCSVWriter{}
	_ Writer = TableWriter{}
)

// constructors maps each format name to its writer.
var constructors = map[string]func(Options) Writer{
	"csv": func(o Options) Writer { return CSVWriter{Options: o} },
	// The findings of no single token, which the token CSV has no row for.
	"findings-csv": func(o Options) Writer { return FindingsCSVWriter{Options: o} },
	"html":         func(o Options) Writer { return HTMLWriter{Options: o} },
	"json":         func(Options) Writer { return JSONWriter{} },
	"junit":        func(o Options) Writer { return JUnitWriter{Options: o} },
	// Markdown, a section per owner, to notify people (OwnersWriter).
	"owners": func(o Options) Writer { return OwnersWriter{Options: o} },
	"sarif":  func(Options) Writer { return SARIFWriter{} },
	"table":  func(o Options) Writer { return TableWriter{Options: o} },
}

// Formats lists the accepted format names, sorted.
func Formats() []string { return slices.Sorted(maps.Keys(constructors)) }

// New returns the writer for format (one of Formats).
func New(format string, opts Options) (Writer, error) {
	c, ok := constructors[format]
	if !ok {
		return nil, fmt.Errorf("unknown report format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	return c(opts), nil
}

// Write renders r to w in format.
func Write(w io.Writer, format string, r *audit.Result, opts Options) error {
	wr, err := New(format, opts)
	if err != nil {
		return err
	}
	return wr.Write(w, r)
}

var errNilResult = errors.New("no audit result")

// reportSeverities lists severities worst first, the order of every count
// in the reports.
var reportSeverities = []audit.Severity{
	audit.SeverityCritical, audit.SeverityHigh, audit.SeverityMedium,
	audit.SeverityLow, audit.SeverityInfo, audit.SeverityNone,
}

// formatTime is RFC 3339 in UTC, "" for the zero time (absent).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// appendExpiry appends when a token stops working, spelt the one way every
// report spells it: GitLab's own form (Expiry.String's: YYYY-MM-DD for a
// date, RFC 3339 in UTC for a time) or, with day, the date alone, which is
// what the table's narrow column shows. It appends nothing for never; each
// report says never its own way, as it does any absent value. Neither form
// needs quoting or escaping in CSV or JSON.
func appendExpiry(b []byte, e inventory.Expiry, day bool) []byte {
	if e.Never() {
		return b
	}
	layout := time.RFC3339
	if e.DateOnly || day {
		layout = time.DateOnly
	}
	return e.At.UTC().AppendFormat(b, layout)
}
