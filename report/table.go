package report

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// TableWriter writes a report for people: the tokens with open findings,
// worst first (in the order of the result), the findings that belong to no
// token, the gaps, and a summary. It fits every line into Options.Width by
// shortening long names and paths with an ellipsis; the CSV and JSON
// reports carry the full values and every token.
type TableWriter struct {
	Options Options
}

const ellipsis = "…"

// tableKinds are the short kind names of the table, at most 8 columns wide
// so that the names and paths keep room at 80 columns.
var tableKinds = map[inventory.Kind]string{
	inventory.KindPersonal:        "personal",
	inventory.KindImpersonation:   "imperson",
	inventory.KindServiceAccount:  "svc acct",
	inventory.KindProjectAccess:   "project",
	inventory.KindGroupAccess:     "group",
	inventory.KindDeploy:          "deploy",
	inventory.KindPipelineTrigger: "trigger",
}

// severityColors are ANSI SGR parameters per severity.
var severityColors = map[audit.Severity]string{
	audit.SeverityCritical: "1;31", // bold red
	audit.SeverityHigh:     "31",   // red
	audit.SeverityMedium:   "33",   // yellow
	audit.SeverityLow:      "36",   // cyan
	audit.SeverityInfo:     "34",   // blue
}

// column describes how a table column may be shortened.
type column struct {
	header string
	// flex columns shrink, widest first, down to their minimum width when
	// the line is too long; the others keep their natural width.
	flex bool
	// left truncation keeps the end of the value: the project of a path.
	left bool
	// list columns hold comma-separated IDs; they shrink first, to whole
	// IDs and a count of the rest ("TA-001 +2").
	list bool
	// wrap columns break a long value over up to maxWrapLines lines
	// instead of cutting it: a gap's reason matters.
	wrap bool
	min  int // narrowest the column gets; the header's width if wider
	max  int // widest the column gets; 0: no limit
	// right aligns numbers.
	right bool
	// stacked cells hold several values, one a line, joined by "\n" and
	// sanitized by the row's maker (sanitize would escape the "\n"); each
	// line is cut or wrapped on its own.
	stacked bool
}

func (c column) minWidth() int { return max(c.min, displayWidth(c.header)) }

// Write implements Writer.
func (t TableWriter) Write(w io.Writer, r *audit.Result) error {
	if r == nil {
		return fmt.Errorf("write table report: %w", errNilResult)
	}
	width := t.Options.Width
	if width <= 0 {
		width = 80
	}
	maxRows := t.Options.MaxRows
	if maxRows == 0 {
		maxRows = DefaultMaxRows
	}
	var inv inventory.Inventory
	if r.Inventory != nil {
		inv = *r.Inventory
	}
	p := &printer{w: bufio.NewWriter(w), width: width, color: t.Options.Color}

	at := instanceLabel(r)
	p.section(tokenSection(r, at), maxRows)
	p.section(resourceSection(r.Findings, r.Baseline != nil, at), maxRows)
	p.section(suppressedSection(r, at), maxRows)
	p.section(gapSection(inv.Gaps, at), maxRows)
	if r.Baseline != nil {
		p.section(resolvedSection(r.Baseline, at), maxRows)
		p.section(disappearedSection(r.Baseline, at), maxRows)
	}
	p.separate()
	p.summary(r, &inv)

	if p.err == nil {
		p.err = p.w.Flush()
	}
	if p.err != nil {
		return fmt.Errorf("write table report: %w", p.err)
	}
	return nil
}

// section is the shape every table of the report shares: a title over a
// table of at most Options.MaxRows rows, a note when rows were left out,
// and the lines to write instead when it has no rows and after it.
type section struct {
	title string
	cols  []column
	// rows yields the rows in order, each with the severity that colours
	// it (SeverityNone: none). The section stops pulling one row past its
	// cap, so 100,000 tokens make 51 rows, not 100,000.
	rows iter.Seq2[[]string, audit.Severity]
	// more is the note when only the first shown rows could be shown.
	more func(shown int) string
	// empty is the line written when there are no rows; "": the section
	// is left out.
	empty string
	// footer is a note written after the section, word-wrapped; "": none.
	footer string
	// notes are lines written after the footer, each word-wrapped.
	notes []string
	// spaced puts a blank line between rows: its rows take several lines.
	spaced bool
}

// section writes s, after a blank line if anything came before.
func (p *printer) section(s section, maxRows int) {
	var rows [][]string
	var sevs []audit.Severity
	more := false
	for row, sev := range s.rows {
		if maxRows > 0 && len(rows) == maxRows {
			more = true
			break
		}
		rows = append(rows, row)
		sevs = append(sevs, sev)
	}
	switch {
	case len(rows) > 0:
		p.separate()
		p.line(s.title)
		p.table(s.cols, rows, sevs, s.spaced)
		if more {
			p.para(s.more(len(rows)))
		}
	case s.empty != "":
		p.separate()
		p.line(s.empty)
	default:
		return
	}
	if s.footer != "" {
		p.para(s.footer)
	}
	if len(rows) > 0 {
		for _, n := range s.notes {
			p.para(n)
		}
	}
}

// resourceSection lists the findings of no single token, unsuppressed ones
// only, like the tokens; a rule that many projects trip takes one row.
func resourceSection(findings []audit.ResourceFinding, withBaseline bool, at labeler) section {
	frows, open := resourceRows(findings, withBaseline, at)
	s := section{
		title: "Findings not tied to a token",
		cols: []column{
			{header: "severity"},
			{header: "rule"},
			{header: "resource", flex: true, left: true, max: 30},
			{header: "title", flex: true, wrap: true, min: 30},
		},
		rows: func(yield func([]string, audit.Severity) bool) {
			for _, fr := range frows {
				if !yield(fr.cells, fr.severity) {
					return
				}
			}
		},
		more: func(shown int) string {
			if len(frows) == open {
				return fmt.Sprintf("Showing the first %d of %d findings not tied to a token; the JSON report lists them all.", shown, open)
			}
			return fmt.Sprintf("Showing the first %d of %d rows of findings not tied to a token (%d findings); the JSON report lists them all.", shown, len(frows), open)
		},
	}
	if withBaseline {
		s.cols = append(s.cols, column{header: "change"})
	}
	return s
}

// gapSection lists what the collector could not read. Gaps of kind
// unavailable get a note: the kind's name alone does not say that nothing
// was missed.
func gapSection(gaps []inventory.Gap, at labeler) section {
	unavailable := 0
	for _, g := range gaps {
		if g.Kind == inventory.GapUnavailable {
			unavailable++
		}
	}
	footer := ""
	if unavailable > 0 {
		footer = "unavailable: this GitLab's version or edition does not have it; the reason says which GitLab does. " +
			"There was nothing to read, so the report is not incomplete for it."
	}
	return section{
		title: "Not read (gaps)",
		cols: []column{
			{header: "resource", flex: true, left: true, max: 30},
			{header: "what", flex: true, max: 30},
			{header: "kind"},
			{header: "reason", flex: true, wrap: true, min: 30},
		},
		rows: func(yield func([]string, audit.Severity) bool) {
			for _, g := range gaps {
				if !yield([]string{at(g.GitLabURL, g.Resource), g.What, string(g.Kind), g.Reason}, audit.SeverityNone) {
					return
				}
			}
		},
		more: func(shown int) string {
			return fmt.Sprintf("Showing the first %d of %d gaps; the JSON report lists them all.", shown, len(gaps))
		},
		footer: footer,
	}
}

// groupOver is how many findings of one rule on projects (or groups) the
// table lists one by one; past it, one row stands for all of them, so that
// a rule most projects trip (a job token allowlist left off) does not
// drown the instance's own findings. The CSV and JSON list every one.
const groupOver = 3

// groupPaths is how many resources a grouped row names at most, and
// groupPathsWidth the width past which it names fewer (at least one):
// the title column wraps to at most maxWrapLines lines.
const (
	groupPaths      = 3
	groupPathsWidth = 90
)

// findingRow is a table row of findings not tied to a token.
type findingRow struct {
	severity audit.Severity
	cells    []string
}

// resourceRows returns the rows for the unsuppressed resource findings,
// worst first, and how many findings they stand for. A rule with more than
// groupOver findings on projects or groups takes one row where the
// resource is a count ("154 projects") and the title names the first few;
// instance findings keep a row each.
func resourceRows(findings []audit.ResourceFinding, withBaseline bool, at labeler) ([]findingRow, int) {
	type key struct {
		rule string
		sev  audit.Severity
	}
	count := map[key]int{}
	open := 0
	for i := range findings {
		f := &findings[i]
		if f.Suppressed {
			continue
		}
		open++
		if f.Resource != "instance" {
			count[key{f.Rule, f.Severity}]++
		}
	}
	var rows []findingRow
	var news []int          // new findings of each grouped row, by row
	groups := map[key]int{} // the row of each grouped rule
	var members [][]string  // the resources of each grouped row, by row
	for i := range findings {
		f := &findings[i]
		if f.Suppressed {
			continue
		}
		k := key{f.Rule, f.Severity}
		if f.Resource == "instance" || count[k] <= groupOver {
			cells := []string{f.Severity.String(), f.Rule, at(f.GitLabURL, f.Resource), f.Title}
			if withBaseline {
				cells = append(cells, "")
				if f.Baseline == audit.ChangeNew {
					cells[4] = "new"
				}
			}
			rows = append(rows, findingRow{f.Severity, cells})
			members = append(members, nil)
			news = append(news, 0)
			continue
		}
		j, ok := groups[k]
		if !ok {
			j = len(rows)
			groups[k] = j
			cells := []string{f.Severity.String(), f.Rule, "", f.Title}
			if withBaseline {
				cells = append(cells, "")
			}
			rows = append(rows, findingRow{f.Severity, cells})
			members = append(members, nil)
			news = append(news, 0)
		}
		members[j] = append(members[j], at(f.GitLabURL, f.Resource))
		if f.Baseline == audit.ChangeNew {
			news[j]++
		}
	}
	for _, j := range groups {
		count, names := groupNames(members[j])
		rows[j].cells[2] = count
		rows[j].cells[3] += ": " + names
		if withBaseline && news[j] > 0 {
			rows[j].cells[4] = strconv.Itoa(news[j]) + " new"
		}
	}
	// Worst first even if the result were not: the audit sorts its
	// findings by severity, and a stable sort keeps its order within one.
	slices.SortStableFunc(rows, func(a, b findingRow) int { return cmp.Compare(b.severity, a.severity) })
	return rows, open
}

// groupNames returns the count of a group's resources ("154 projects") and
// the first few by path: "acme/api, acme/web and 152 more". The resource
// names are "project acme/api"; the type word goes into the count when
// every resource shares it.
func groupNames(resources []string) (count, names string) {
	typ, _, _ := strings.Cut(resources[0], " ")
	for _, r := range resources {
		if t, path, ok := strings.Cut(r, " "); !ok || t != typ || path == "" {
			typ = ""
			break
		}
	}
	paths := resources
	switch typ {
	case "project", "group":
		count = plural(len(resources), typ, typ+"s")
		paths = make([]string, 0, groupPaths)
		for _, r := range resources[:min(groupPaths, len(resources))] {
			paths = append(paths, strings.TrimPrefix(r, typ+" "))
		}
	default:
		count = plural(len(resources), "resource", "resources")
	}
	shown := min(groupPaths, len(paths))
	for shown > 1 && displayWidth(strings.Join(paths[:shown], ", ")) > groupPathsWidth {
		shown--
	}
	names = strings.Join(paths[:shown], ", ")
	if rest := len(resources) - shown; rest > 0 {
		names += " and " + strconv.Itoa(rest) + " more"
	}
	return count, names
}

// printer writes lines no wider than width and remembers the first error.
type printer struct {
	w     *bufio.Writer
	width int
	color bool
	wrote bool // a line has been written
	err   error
}

// line writes s, which holds no untrusted text that sanitize has not seen,
// cut to the width.
func (p *printer) line(s string) {
	if p.err != nil {
		return
	}
	if displayWidth(s) > p.width {
		if strings.Contains(s, "\x1b") {
			s = twwidth.Truncate(s, p.width, ellipsis) // keeps the colour codes whole
		} else {
			s = truncate(s, p.width, false)
		}
	}
	_, p.err = p.w.WriteString(s + "\n")
	p.wrote = true
}

// separate writes a blank line between what came before and what follows;
// nothing at the start.
func (p *printer) separate() {
	if p.wrote {
		p.line("")
	}
}

// para writes text word-wrapped to the width.
func (p *printer) para(text string) {
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && displayWidth(line)+1+displayWidth(word) > p.width {
			p.line(line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	p.line(line)
}

// table renders rows under headers, two spaces between columns; sevs, when
// given, colours each row's first cell (its severity) on a colour terminal,
// SeverityNone not at all.
//
// With spaced, a blank line separates the rows.
func (p *printer) table(cols []column, rows [][]string, sevs []audit.Severity, spaced bool) {
	if p.err != nil {
		return
	}
	widths := fitColumns(cols, rows, p.width)
	pad := make([]tw.Padding, len(cols))
	aligns := make([]tw.Align, len(cols))
	headers := make([]any, len(cols))
	for i, c := range cols {
		pad[i] = tw.Padding{Right: "  ", Overwrite: true}
		aligns[i] = tw.AlignLeft
		if c.right {
			aligns[i] = tw.AlignRight
		}
		headers[i] = c.header
	}
	pad[len(pad)-1] = tw.Padding{Overwrite: true}
	var buf bytes.Buffer
	tbl := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.On},
			},
		})),
		// The cells arrive cut to size; tablewriter must not wrap them again.
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{Global: tw.AlignLeft, PerColumn: aligns}),
		tablewriter.WithHeaderPaddingPerColumn(pad),
		tablewriter.WithRowPaddingPerColumn(pad),
	)
	tbl.Header(headers...)
	cells := make([]any, len(cols))
	for i, row := range rows {
		if spaced && i > 0 {
			for j := range cells {
				cells[j] = ""
			}
			if err := tbl.Append(cells...); err != nil {
				p.err = err
				return
			}
		}
		for j, c := range cols {
			cells[j] = fitCell(c, row[j], widths[j])
		}
		if p.color && sevs != nil {
			if sgr, ok := severityColors[sevs[i]]; ok {
				// The first line only: tablewriter pads each line apart.
				first, rest, _ := strings.Cut(cells[0].(string), "\n")
				cells[0] = "\x1b[" + sgr + "m" + first + "\x1b[0m"
				if rest != "" {
					cells[0] = cells[0].(string) + "\n" + rest
				}
			}
		}
		if err := tbl.Append(cells...); err != nil {
			p.err = err
			return
		}
	}
	if p.err = tbl.Render(); p.err != nil {
		return
	}
	// The last column is padded to its width; drop the trailing blanks.
	for line := range bytes.Lines(buf.Bytes()) {
		line = bytes.TrimRight(line, " \n")
		if _, p.err = p.w.Write(append(line, '\n')); p.err != nil {
			return
		}
	}
}

// fitColumns returns each column's width so that a line, two spaces
// between columns, fits in width: list columns give up room first, then
// the other flexible columns, the widest first, down to their minimum.
func fitColumns(cols []column, rows [][]string, width int) []int {
	widths := make([]int, len(cols))
	total := 2 * (len(cols) - 1)
	for j, c := range cols {
		widths[j] = displayWidth(c.header)
		for _, row := range rows {
			widths[j] = max(widths[j], cellWidth(c, row[j]))
		}
		if c.max > 0 {
			widths[j] = min(widths[j], max(c.max, c.minWidth()))
		}
		total += widths[j]
	}
	for j, c := range cols {
		if c.list && total > width {
			cut := min(total-width, max(0, widths[j]-c.minWidth()))
			widths[j] -= cut
			total -= cut
		}
	}
	for total > width {
		widest := -1
		for j, c := range cols {
			if c.flex && widths[j] > c.minWidth() && (widest < 0 || widths[j] > widths[widest]) {
				widest = j
			}
		}
		if widest < 0 {
			break // nothing left to shrink: the terminal is too narrow
		}
		widths[widest]--
		total--
	}
	return widths
}

// cellWidth is the width a cell of c takes uncut: its widest line.
func cellWidth(c column, cell string) int {
	if !c.stacked {
		return displayWidth(sanitize(cell))
	}
	w := 0
	for part := range strings.SplitSeq(cell, "\n") {
		w = max(w, displayWidth(part))
	}
	return w
}

// fitCell sanitizes a cell of c and cuts or wraps it to width; a stacked
// cell line by line, each line wrapped to at most stackedWrapLines.
func fitCell(c column, cell string, width int) string {
	fit := func(s string, lines int) string {
		switch {
		case c.list:
			return truncateList(s, width)
		case c.wrap:
			return wrapText(s, width, lines)
		default:
			return truncate(s, width, c.left)
		}
	}
	if !c.stacked {
		return fit(sanitize(cell), maxWrapLines)
	}
	parts := strings.Split(cell, "\n")
	for i, part := range parts {
		parts[i] = fit(part, stackedWrapLines)
	}
	return strings.Join(parts, "\n")
}

// stackedWrapLines is how many lines one value of a stacked cell wraps to
// at most: a 56-character token name at 80 columns takes four.
const stackedWrapLines = 4

func (p *printer) summary(r *audit.Result, inv *inventory.Inventory) {
	s := &r.Summary
	p.line("Summary")

	gl := inv.GitLab
	version := gl.Version
	if version == "" {
		version = "version unknown"
	}
	role := "not an administrator"
	if gl.Admin {
		role = "as an administrator"
	}
	if len(r.Sources) > 0 {
		p.item("GitLab", sanitize(mergedLine(r)))
	} else {
		p.item("GitLab", sanitize(fmt.Sprintf("%s (%s), mode %s, %s", orDash(gl.URL), version, orDash(string(gl.Mode)), role)))
		if gl.ModeReason != "" {
			p.item("Mode", sanitize(gl.ModeReason))
		}
	}
	if r.Applied != nil {
		p.item("Filter", sanitize(r.Applied.String()+" (the tables and counts show only what it keeps; gaps are never filtered)"))
	}

	var kinds []string
	for _, k := range inventory.Kinds {
		if n := s.ByKind[k]; n > 0 {
			kinds = append(kinds, string(k)+" "+strconv.Itoa(n))
		}
	}
	tokens := strconv.Itoa(s.Tokens)
	if len(kinds) > 0 {
		tokens += ": " + strings.Join(kinds, ", ")
	}
	p.item("Tokens", tokens)

	var sevs []string
	for _, sev := range reportSeverities {
		sevs = append(sevs, p.paint(sev, sev.String())+" "+strconv.Itoa(s.BySeverity[sev]))
	}
	p.item("By severity", strings.Join(sevs, ", "))

	open := 0
	for _, n := range s.Findings {
		open += n
	}
	p.item("Findings", fmt.Sprintf("%d open, %d suppressed", open, s.Suppressed))
	if r.Baseline != nil {
		p.item("Baseline", sanitize(baselineLine(r.Baseline)))
	}

	// Rules that could not judge a token for missing data are neither a
	// pass nor a finding; the table says how many, the other reports which.
	checks, unjudged := 0, 0
	for i := range r.Tokens {
		if n := len(r.Tokens[i].Unknown); n > 0 {
			checks += n
			unjudged++
		}
	}
	notJudged := "none: every rule had the data it needs"
	if checks > 0 {
		notJudged = plural(checks, "rule check", "rule checks") + " on " + plural(unjudged, "token", "tokens") +
			" lacked data, listed as unknown in the CSV and JSON reports"
	}
	p.item("Not judged", notJudged)

	// Gaps of kind unavailable are features this GitLab does not have:
	// counted, and named by its version, but never a reason to call the
	// report incomplete.
	gaps := strconv.Itoa(s.Gaps)
	var unavailable string
	if s.GapUnavailable > 0 {
		in := "this GitLab version"
		if gl.Version != "" {
			in = "GitLab " + sanitize(gl.Version)
		}
		unavailable = strconv.Itoa(s.GapUnavailable) + " unavailable in " + in
	}
	switch {
	case !s.Complete:
		counts := plural(s.GapErrors, "error", "errors")
		if unavailable != "" {
			counts += ", " + unavailable
		}
		gaps += " (" + counts + "): INCOMPLETE, some data could not be read"
	case unavailable != "":
		counts := unavailable
		if perm := s.Gaps - s.GapErrors - s.GapUnavailable; perm > 0 {
			counts = plural(perm, "permission limit", "permission limits") + ", " + counts
		}
		gaps += " (" + counts + "): complete for this caller"
	case s.Gaps > 0:
		gaps += ", permission limits only: complete for this caller"
	default:
		gaps += ": complete"
	}
	p.item("Gaps", gaps)
	p.item("Collection", fmt.Sprintf("%s in %s", plural(inv.Stats.Requests, "request", "requests"), inv.Stats.Duration.Round(time.Millisecond)))
	p.item("Generated", r.Now.UTC().Format(time.RFC3339))

	if len(r.ExpiredExceptions) > 0 {
		p.item("Exceptions", strconv.Itoa(len(r.ExpiredExceptions))+" expired, no longer applied:")
		for _, e := range r.ExpiredExceptions {
			p.line(sanitize(fmt.Sprintf("  - %s for %s, expired %s: %s", e.Rule, e.Token, e.Expired.UTC().Format(time.DateOnly), e.Reason)))
		}
	}
}

// item writes a summary line "  Key          value", wrapping a long
// comma-separated value onto indented continuation lines.
func (p *printer) item(key, value string) {
	const keyWidth = 15
	indent := strings.Repeat(" ", keyWidth)
	line := "  " + key + strings.Repeat(" ", max(1, keyWidth-2-len(key)))
	first := true
	for _, part := range splitAfterComma(value) {
		if !first && displayWidth(line)+displayWidth(part) > p.width {
			p.line(strings.TrimRight(line, " "))
			line = indent
			part = strings.TrimLeft(part, " ")
		}
		line += part
		first = false
	}
	p.line(line)
}

// splitAfterComma splits s after each ", " so that each piece keeps its comma.
func splitAfterComma(s string) []string { return strings.SplitAfter(s, ", ") }

func (p *printer) paint(sev audit.Severity, s string) string {
	if sgr, ok := severityColors[sev]; ok && p.color {
		return "\x1b[" + sgr + "m" + s + "\x1b[0m"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// displayWidth is the width of s in terminal columns, as tablewriter
// measures it.
func displayWidth(s string) int { return twwidth.Width(s) }

const maxWrapLines = 5

// wrapText breaks s into lines of at most width columns, at spaces where
// it can and inside a word longer than a line; at most lines of them, the
// last cut with an ellipsis if text remains.
func wrapText(s string, width, lines int) string {
	if width <= 0 {
		return ""
	}
	var out []string
	var line []rune
	lineWidth := 0
	for _, word := range strings.Fields(s) {
		ww := displayWidth(word)
		// A word longer than a line starts where it is and breaks inside.
		if lineWidth > 0 && (lineWidth+1+ww > width && ww <= width || lineWidth+2 > width) {
			out = append(out, string(line))
			line, lineWidth = line[:0], 0
		}
		if lineWidth > 0 {
			line = append(line, ' ')
			lineWidth++
		}
		// A word that does not fit breaks after its last / - _ . that
		// does, so a path or name wraps at its parts, else where it must.
		start, brk := len(line), -1
		for _, r := range word {
			rw := displayWidth(string(r))
			if lineWidth+rw > width {
				var carry []rune
				if brk > start && 2*brk >= len(line) {
					carry = slices.Clone(line[brk:])
					line = line[:brk]
				}
				out = append(out, string(line))
				line = append(line[:0], carry...)
				lineWidth = displayWidth(string(line))
				start, brk = 0, -1
			}
			line = append(line, r)
			lineWidth += rw
			if strings.ContainsRune("/-_.", r) {
				brk = len(line)
			}
		}
	}
	out = append(out, string(line))
	if len(out) > lines {
		out[lines-1] = truncate(strings.Join(out[lines-1:], " "), width, false)
		out = out[:lines]
	}
	return strings.Join(out, "\n")
}

// truncateList shortens a comma-separated list to the IDs that fit and a
// count of the others: "TA-001,TA-004,TA-007" in 13 columns is
// "TA-001 +2".
func truncateList(s string, width int) string {
	if displayWidth(s) <= width {
		return s
	}
	items := strings.Split(s, ",")
	for keep := len(items) - 1; keep > 0; keep-- {
		short := strings.Join(items[:keep], ",") + " +" + strconv.Itoa(len(items)-keep)
		if displayWidth(short) <= width {
			return short
		}
	}
	return truncate(s, width, false)
}

// truncate shortens s to at most width columns, replacing what it drops
// with an ellipsis at the end or, with left, at the start.
func truncate(s string, width int, left bool) string {
	if displayWidth(s) <= width {
		return s
	}
	if width <= 0 {
		return ""
	}
	budget := width - displayWidth(ellipsis)
	runes := []rune(s)
	used, n := 0, 0
	for n < len(runes) {
		i := n
		if left {
			i = len(runes) - 1 - n
		}
		cw := displayWidth(string(runes[i]))
		if used+cw > budget {
			break
		}
		used += cw
		n++
	}
	if left {
		return ellipsis + string(runes[len(runes)-n:])
	}
	return string(runes[:n]) + ellipsis
}
