package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// JSONWriter writes the schema_version 1 JSON report that
// docs/report.schema.json describes. Absent values are null and empty lists
// are [], never null, so consumers need no defaults.
//
// The document is streamed: each token is written on its own (by
// appendToken, the hot path), the rest through json.Encoder, so memory stays
// flat however many tokens there are; the bytes are the same as
// json.MarshalIndent of the whole document with a two-space indent and no
// HTML escaping (TestJSONLayout), except that the C1 controls (U+0080 to
// U+009F) and the bidi controls are escaped as \uXXXX (escJSON): a JSON
// reader gets the same strings, and the document printed or viewed as
// text holds no character that acts instead of showing.
type JSONWriter struct{}

// The types below spell out the contract field by field rather than reuse
// the model's json tags, so a field added to the model cannot slip into the
// report unnoticed.

type jsonInstance struct {
	URL     string         `json:"url"`
	Version string         `json:"version"`
	Mode    inventory.Mode `json:"mode"`
	Admin   bool           `json:"admin"`
	// ModeReason says why the collector chose the mode; only the report
	// of one audit has it (not a merged one, not its sources).
	ModeReason string `json:"mode_reason,omitempty"`
}

type jsonSummary struct {
	Tokens     int           `json:"tokens"`
	BySeverity orderedCounts `json:"by_severity"`
	ByKind     orderedCounts `json:"by_kind"`
	// Findings counts unsuppressed findings, token and resource, by severity.
	Findings   orderedCounts `json:"findings"`
	Suppressed int           `json:"suppressed"`
	Gaps       int           `json:"gaps"`
	GapErrors  int           `json:"gap_errors"`
	// GapUnavailable counts the gaps of features this GitLab lacks.
	GapUnavailable int  `json:"gap_unavailable"`
	Complete       bool `json:"complete"`
	Requests       int  `json:"requests"`
	// DurationSeconds is the collection's wall time, to the millisecond.
	DurationSeconds float64 `json:"duration_seconds"`
	// Baseline counts the comparison with the baseline; null without one.
	Baseline *jsonBaselineCounts `json:"baseline"`
	// Filter is what the report was narrowed to; null when it shows all.
	Filter *jsonFilter `json:"filter"`
}

type jsonFilter struct {
	MinSeverity audit.Severity   `json:"min_severity"`
	Kinds       []inventory.Kind `json:"kinds"`
	Owners      []string         `json:"owners"`
	Resources   []string         `json:"resources"`
	Rules       []string         `json:"rules"`
}

func filterOf(f *audit.Filter) *jsonFilter {
	if f == nil {
		return nil
	}
	// Empty lists are [], never null.
	return &jsonFilter{f.MinSeverity, append([]inventory.Kind{}, f.Kinds...), append([]string{}, f.Owners...),
		append([]string{}, f.Resources...), append([]string{}, f.Rules...)}
}

type jsonResourceFinding struct {
	Rule              string         `json:"rule"`
	Severity          audit.Severity `json:"severity"`
	Resource          string         `json:"resource"`
	Title             string         `json:"title"`
	Detail            string         `json:"detail"`
	Remediation       string         `json:"remediation"`
	Suppressed        bool           `json:"suppressed"`
	SuppressionReason *string        `json:"suppression_reason,omitempty"` // present when suppressed
	Baseline          *string        `json:"baseline"`                     // null without a baseline
	GitLabURL         string         `json:"gitlab_url,omitempty"`         // merged reports only
}

type jsonGap struct {
	Resource  string            `json:"resource"`
	What      string            `json:"what"`
	Kind      inventory.GapKind `json:"kind"`
	Reason    string            `json:"reason"`
	GitLabURL string            `json:"gitlab_url,omitempty"` // merged reports only
}

type jsonExpiredException struct {
	Rule      string `json:"rule"`
	Token     string `json:"token"`
	Reason    string `json:"reason"`
	ExpiredAt string `json:"expired_at"`
}

// orderedCounts is a JSON object with its keys in a fixed order (worst
// severity first, kinds in inventory.Kinds order) instead of the sorted
// order encoding/json gives maps.
type orderedCounts []countEntry

type countEntry struct {
	key string
	n   int
}

// MarshalJSON writes the object; keys are contract names that need no
// escaping.
func (c orderedCounts) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 16*len(c)+2)
	b = append(b, '{')
	for i, e := range c {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, e.key)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(e.n), 10)
	}
	return append(b, '}'), nil
}

func severityCounts(m map[audit.Severity]int, withNone bool) orderedCounts {
	c := make(orderedCounts, 0, len(reportSeverities))
	for _, s := range reportSeverities {
		if s == audit.SeverityNone && !withNone {
			continue
		}
		c = append(c, countEntry{s.String(), m[s]})
	}
	return c
}

func kindCounts(m map[inventory.Kind]int) orderedCounts {
	c := make(orderedCounts, 0, len(inventory.Kinds))
	for _, k := range inventory.Kinds {
		c = append(c, countEntry{string(k), m[k]})
	}
	return c
}

// jsonStream writes one indented JSON document piece by piece.
type jsonStream struct {
	w   *bufio.Writer
	buf bytes.Buffer
	enc *json.Encoder // writes into buf
	err error
}

func newJSONStream(w io.Writer, prefix string) *jsonStream {
	s := &jsonStream{w: bufio.NewWriterSize(w, 64<<10)}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	s.enc.SetIndent(prefix, "  ")
	return s
}

func (s *jsonStream) raw(text string) {
	if s.err == nil {
		_, s.err = s.w.WriteString(text)
	}
}

// value writes v indented to sit at the current position; the stream's
// prefix indents its continuation lines.
func (s *jsonStream) value(v any) {
	if s.err != nil {
		return
	}
	s.buf.Reset()
	if err := s.enc.Encode(v); err != nil {
		s.err = err
		return
	}
	b := s.buf.Bytes()
	b = b[:len(b)-1] // Encode ends with a newline
	if needsEscape(b, escJSON) {
		// encoding/json leaves C1 and bidi controls raw. Outside ASCII is
		// only ever inside a string, so the escapes land in strings.
		b = appendEscaped(nil, string(b), escJSON)
	}
	_, s.err = s.w.Write(b)
}

// Write implements Writer.
func (JSONWriter) Write(w io.Writer, r *audit.Result) error {
	if r == nil {
		return fmt.Errorf("write json report: %w", errNilResult)
	}
	var inv inventory.Inventory
	if r.Inventory != nil {
		inv = *r.Inventory
	}

	top := newJSONStream(w, "  ")
	top.raw("{\n  \"schema_version\": " + strconv.Itoa(SchemaVersion) + ",\n  \"generated_at\": ")
	top.value(r.Now.UTC().Format(time.RFC3339))
	top.raw(",\n  \"gitlab\": ")
	top.value(jsonInstance{
		URL:     inv.GitLab.URL,
		Version: inv.GitLab.Version,
		Mode:    inv.GitLab.Mode,
		Admin:   inv.GitLab.Admin,

		ModeReason: inv.GitLab.ModeReason,
	})
	top.raw(",\n  \"summary\": ")
	sum := r.Summary
	top.value(jsonSummary{
		Tokens:          sum.Tokens,
		BySeverity:      severityCounts(sum.BySeverity, true),
		ByKind:          kindCounts(sum.ByKind),
		Findings:        severityCounts(sum.Findings, false),
		Suppressed:      sum.Suppressed,
		Gaps:            sum.Gaps,
		GapErrors:       sum.GapErrors,
		GapUnavailable:  sum.GapUnavailable,
		Complete:        sum.Complete,
		Requests:        inv.Stats.Requests,
		DurationSeconds: durationSeconds(inv.Stats.Duration),
		Baseline:        baselineCounts(r.Baseline),
		Filter:          filterOf(r.Applied),
	})

	// Array elements sit two levels deep.
	el := newJSONStream(top.w, "    ")
	el.err = top.err

	el.raw(",\n  \"tokens\": [")
	var tok []byte
	for i := range r.Tokens {
		el.element(i)
		tok = appendToken(tok[:0], &r.Tokens[i], TokenWebURL(r, &r.Tokens[i]))
		if el.err == nil {
			_, el.err = el.w.Write(tok)
		}
	}
	el.closeArray(len(r.Tokens))

	el.raw(",\n  \"findings\": [")
	for i := range r.Findings {
		f := &r.Findings[i]
		el.element(i)
		el.value(jsonResourceFinding{
			Rule: f.Rule, Severity: f.Severity, Resource: f.Resource, Title: f.Title,
			Detail: f.Detail, Remediation: f.Remediation, Suppressed: f.Suppressed,
			SuppressionReason: suppressionReason(&f.Finding),
			Baseline:          changeName(f.Baseline), GitLabURL: f.GitLabURL,
		})
	}
	el.closeArray(len(r.Findings))

	el.raw(",\n  \"gaps\": [")
	for i, g := range inv.Gaps {
		el.element(i)
		el.value(jsonGap{Resource: g.Resource, What: g.What, Kind: g.Kind, Reason: g.Reason, GitLabURL: g.GitLabURL})
	}
	el.closeArray(len(inv.Gaps))

	el.raw(",\n  \"expired_exceptions\": [")
	for i, e := range r.ExpiredExceptions {
		el.element(i)
		el.value(jsonExpiredException{Rule: e.Rule, Token: e.Token, Reason: e.Reason, ExpiredAt: e.Expired.UTC().Format(time.RFC3339)})
	}
	el.closeArray(len(r.ExpiredExceptions))

	top.err = el.err
	top.raw(",\n  \"baseline\": ")
	top.value(baselineReport(r.Baseline))
	if len(r.Sources) > 0 {
		top.raw(",\n  \"sources\": ")
		top.value(sources(r.Sources))
	}
	top.raw("\n}\n")
	el.err = top.err

	if el.err == nil {
		el.err = el.w.Flush()
	}
	if el.err != nil {
		return fmt.Errorf("write json report: %w", el.err)
	}
	return nil
}

// element starts the i-th element of an array two levels deep.
func (s *jsonStream) element(i int) {
	if i > 0 {
		s.raw(",")
	}
	s.raw("\n    ")
}

// closeArray ends an array of n elements: "[]" when empty, as
// json.MarshalIndent writes it.
func (s *jsonStream) closeArray(n int) {
	if n == 0 {
		s.raw("]")
		return
	}
	s.raw("\n  ]")
}

// suppressionReason points at the reason of a suppressed finding ("" when
// the exception gave none) and is nil otherwise, so only a suppressed finding
// carries the key.
func suppressionReason(f *audit.Finding) *string {
	if !f.Suppressed {
		return nil
	}
	return &f.SuppressionReason
}
