package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"github.com/tokenaudit/tokenaudit/audit"
)

// FindingsCSVWriter writes the findings that belong to no single token
// (instance settings, a project's job token scope), which the token CSV has
// no row for: one row a finding under a fixed header line, written even
// when there are none. Quoting, escaping and formula neutralising are the
// token CSV's (CSVWriter), cell for cell.
type FindingsCSVWriter struct {
	Options Options
}

// FindingsCSVHeader is the findings CSV's header line, in column order. As
// CSVHeader, a contract (README, "Reports"): add columns at the end only.
var FindingsCSVHeader = []string{
	"rule", "severity", "resource", "title", "detail", "remediation",
	"suppressed", "suppression_reason",
}

// Write implements Writer.
func (c FindingsCSVWriter) Write(w io.Writer, r *audit.Result) error {
	if r == nil {
		return fmt.Errorf("write findings-csv report: %w", errNilResult)
	}
	set := csvEscapes(c.Options)
	bw := bufio.NewWriter(w)
	row := appendCSVHeader(nil, FindingsCSVHeader)
	if _, err := bw.Write(row); err != nil {
		return fmt.Errorf("write findings-csv report: %w", err)
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		row = row[:0]
		row = appendCSVText(row, f.Rule, set)
		row = append(row, ',')
		row = appendCSVField(row, f.Severity.String(), false)
		row = append(row, ',')
		row = appendCSVText(row, f.Resource, set)
		row = append(row, ',')
		row = appendCSVText(row, f.Title, set)
		row = append(row, ',')
		row = appendCSVText(row, f.Detail, set)
		row = append(row, ',')
		row = appendCSVText(row, f.Remediation, set)
		row = append(row, ',')
		row = strconv.AppendBool(row, f.Suppressed)
		row = append(row, ',')
		row = appendCSVText(row, f.SuppressionReason, set)
		row = append(row, '\n')
		if _, err := bw.Write(row); err != nil {
			return fmt.Errorf("write findings-csv report: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write findings-csv report: %w", err)
	}
	return nil
}
