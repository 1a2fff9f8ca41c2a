package cli

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tokenaudit/tokenaudit/report"
)

// rowLimit is --limit: a count of at least one.
type rowLimit struct{ rows *int }

func (l rowLimit) String() string {
	if l.rows == nil || *l.rows <= 0 {
		return strconv.Itoa(report.DefaultMaxRows)
	}
	return strconv.Itoa(*l.rows)
}

func (l rowLimit) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("want a number of rows, 1 or more (--all shows every row)")
	}
	*l.rows = n
	return nil
}

func (rowLimit) Type() string { return "N" }

// allRows is --all: every row, as MaxRows -1 says.
type allRows struct{ rows *int }

func (a allRows) String() string { return strconv.FormatBool(a.rows != nil && *a.rows < 0) }
func (allRows) Type() string     { return "bool" }
func (allRows) IsBoolFlag() bool { return true }
func (a allRows) Set(v string) error {
	all, err := strconv.ParseBool(v)
	if err != nil {
		return err
	}
	if all {
		*a.rows = -1
	} else if *a.rows < 0 {
		*a.rows = 0
	}
	return nil
}

// addTableFlags adds --limit and --all, which say how many rows of each of
// the table's tables stdout shows (Streams.tableRows); the CSV and JSON
// reports list every row whatever they say. audit, demo and merge share them.
func addTableFlags(cmd *cobra.Command, s *Streams) {
	f := cmd.Flags()
	// pflag adds "(default 50)" from rowLimit's String.
	f.Var(rowLimit{&s.tableRows}, "limit", "the table on stdout shows at most `N` rows of each of its tables")
	f.Var(allRows{&s.tableRows}, "all", "the table on stdout shows every row")
	f.Lookup("all").NoOptDefVal = "true"
	cmd.MarkFlagsMutuallyExclusive("limit", "all")
}

// widthOf is how wide stdout's table is: the terminal's width, or, when
// stdout is no terminal (a CI job's log, a pipe), COLUMNS if it is set;
// 0 (the table's 80) otherwise.
func widthOf(f *os.File) int {
	if w := terminalWidth(f); w > 0 {
		return w
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 0
}
