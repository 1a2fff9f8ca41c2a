package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/collect"
	"github.com/tokenaudit/tokenaudit/internal/exporter"
	"github.com/tokenaudit/tokenaudit/internal/redact"
	"github.com/tokenaudit/tokenaudit/inventory"
	"github.com/tokenaudit/tokenaudit/report"
)

// wallClock is the machine's clock as the command reads it: audit judges
// tokens at it (the demo at its world's own time instead), and collect
// only measures waits and durations with it. A test moves it to show that
// no judgement of time hides anywhere else.
var wallClock = time.Now

// job is one collect-evaluate-report pass, shared by audit and demo.
type job struct {
	client   *gitlab.Client
	counter  *collect.RequestCounter
	opts     collect.Options
	policy   audit.Policy
	now      func() time.Time
	format   string   // on stdout
	failOn   string   // fail_on, for the JUnit report; "" is high
	outputs  []string // FORMAT=PATH
	progress bool     // force progress on a non-terminal stderr
	quiet    bool     // no progress at all, even with progress set
	// progressOff is an explicit --progress=false: no progress on a
	// terminal either.
	progressOff bool
	dir         string // relative output paths start here
	// baseline, when set, is the earlier report the result is compared
	// with (--baseline) before the reports are written.
	baseline *audit.Result
	// filter narrows the result before any report is written, so that the
	// reports and the exit code see the same tokens.
	filter audit.Filter
	// refuseSelf stops a run whose auto mode fell back to self before any
	// report is written (CI=true).
	refuseSelf bool
}

// errInterrupted is the error of a run cancelled by SIGINT or SIGTERM.
var errInterrupted = errors.New("interrupted: stopped before the audit finished; no report written")

// execute collects, evaluates and writes the reports. It returns an exit
// error for anything that stops the run; findings are the caller's business.
func (j job) execute(ctx context.Context, s *Streams) (*audit.Result, error) {
	outputs, err := prepareOutputs(j.outputs, j.dir)
	if err != nil {
		return nil, exitCode(ExitCannotRun, err)
	}
	var pr *progressPrinter
	if (s.ErrTTY && !j.progressOff || j.progress) && !j.quiet {
		pr = newProgressPrinter(s.ErrOut, s.ErrTTY)
		j.opts.Progress = pr.update
		// Ctrl-C: show the counts as they were, not the queued reads
		// the collector drops at once.
		stop := context.AfterFunc(ctx, pr.freeze)
		defer stop()
	}
	result, err := j.collectAndEvaluate(ctx, s)
	if pr != nil {
		pr.finish()
	}
	if err != nil {
		return nil, exitCode(ExitCannotRun, err)
	}
	if gl := result.Inventory.GitLab; j.refuseSelf && gl.Mode == inventory.ModeSelf {
		return nil, exitCode(ExitCannotRun, fmt.Errorf("%s; in CI (CI=true) that stops the run, exit 2: name groups, or give --mode self to audit one's own tokens on purpose",
			redact.Escape(s.redactor.String(collect.SelfNote(orUnknown(gl.Caller))))))
	}
	if j.baseline != nil {
		audit.CompareBaseline(result, j.baseline)
	}
	result = result.Filter(j.filter)
	if err := writeReports(ctx, s, j.format, j.failOn, outputs, result); err != nil {
		return nil, err
	}
	return result, nil
}

// prepareOutputs reads the --output values, makes their paths absolute
// (relative ones start in dir) and checks that each can be written, so
// that a mistake shows now, not after a collection that may take an hour.
func prepareOutputs(specs []string, dir string) ([]outputSpec, error) {
	outputs, err := parseOutputs(specs)
	if err != nil {
		return nil, err
	}
	for i, o := range outputs {
		if !filepath.IsAbs(o.path) {
			outputs[i].path = filepath.Join(dir, o.path)
		}
		if info, err := os.Stat(filepath.Dir(outputs[i].path)); err != nil || !info.IsDir() {
			return nil, fmt.Errorf("output %s=%s: directory %s does not exist", o.format, o.path, filepath.Dir(outputs[i].path))
		}
		if err := checkWritableDir(filepath.Dir(outputs[i].path)); err != nil {
			return nil, fmt.Errorf("output %s=%s: %w", o.format, o.path, err)
		}
		if _, err := outputInPlace(outputs[i].path); err != nil {
			return nil, fmt.Errorf("output %s=%s: %w", o.format, o.path, err)
		}
	}
	return outputs, nil
}

// checkWritableDir creates and removes a file in dir, the only sure test
// that the report can be written there (permission bits say nothing for
// root, a read-only mount or an ACL), before an hour of collection.
func checkWritableDir(dir string) error {
	f, err := os.CreateTemp(dir, ".tokenaudit-check-*")
	if err != nil {
		return fmt.Errorf("cannot write in directory %s (%s); choose a directory you may write in", dir, shortPathError(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// shortPathError is the reason of a *os.PathError ("permission denied"),
// without the path, which the caller names.
func shortPathError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// writeReports writes result in format on stdout and to each output, for
// audit, demo and merge. failOn is fail_on, which the JUnit report's
// failing cases follow. Its errors carry exit code 2.
func writeReports(ctx context.Context, s *Streams, format, failOn string, outputs []outputSpec, result *audit.Result) error {
	// Files: plain whatever stdout is, and a table file holds every row: a
	// file is the record, not a screen (--limit and --all are stdout's).
	fopts := report.Options{MaxRows: -1}
	if failOn != "" {
		fopts.FailOn, _ = audit.ParseSeverity(failOn) // validated; "none" fails nothing
		fopts.FailNever = failOn == "none"
	}
	ropts := report.Options{
		FailOn: fopts.FailOn, FailNever: fopts.FailNever,
		Color:   s.OutTTY && os.Getenv("NO_COLOR") == "" && !s.noColor,
		Width:   s.Width,
		MaxRows: s.tableRows,

		Terminal: s.OutTTY, // CSV escapes every control character for a terminal, as the table does
	}
	if err := writeStdout(s, format, result, ropts); err != nil {
		return exitCode(ExitCannotRun, fmt.Errorf("write %s report to stdout: %w", format, err))
	}
	for _, o := range outputs {
		err := writeFileAtomic(ctx, o.path, func(f *os.File) error {
			return report.Write(f, o.format, result, fopts)
		})
		if ctx.Err() != nil {
			return exitCode(ExitCannotRun, errInterrupted)
		}
		if err != nil {
			return exitCode(ExitCannotRun, fmt.Errorf("write %s report: %w", o.format, err))
		}
	}
	return nil
}

// collectAndEvaluate is an audit without its reports, shared by execute
// and serve: collect, refuse a token without read_api, judge. A cancelled
// ctx gives errInterrupted; any other error is an *auditFailure, its
// message in plain words and its reason for serve's metrics.
func (j job) collectAndEvaluate(ctx context.Context, s *Streams) (*audit.Result, error) {
	inv, err := collect.Collect(ctx, j.client, j.opts)
	if ctx.Err() != nil {
		return nil, errInterrupted
	}
	if err != nil {
		return nil, &auditFailure{reason: collectFailureReason(err), err: explainCollectError(err, j.opts.BaseURL)}
	}
	// Names, descriptions, paths and usernames are GitLab's text as well: a
	// server that names a token after the caller's token must not get it
	// into the reports.
	s.redactor.Strings(inv)
	if err := scopeRefused(inv); err != nil {
		return nil, &auditFailure{reason: exporter.ReasonUnauthorized, err: err}
	}
	if inv.Stats.Requests == 0 && j.counter != nil {
		inv.Stats.Requests = j.counter.Count()
	}
	result, err := audit.Evaluate(inv, j.policy, j.now())
	if err != nil {
		return nil, &auditFailure{reason: exporter.ReasonEvaluate, err: fmt.Errorf("evaluate: %w", err)}
	}
	return result, nil
}

// scopeRefused turns a read refused for the token's scope into the error of
// a rejected token. GitLab answers 403 insufficient_scope when a token lacks
// read_api (https://docs.gitlab.com/api/rest/troubleshooting/); every GET endpoint the
// collector reads accepts read_api, so such a gap means the token reads
// nothing but /user, and a report built on it would look clean while
// having read nothing.
func scopeRefused(inv *inventory.Inventory) error {
	for _, g := range inv.Gaps {
		if strings.Contains(g.Reason, "insufficient_scope") {
			return fmt.Errorf("GitLab refused the token for lack of scope (%s of %s: %s); add the read_api scope to the token (or create one with read_api) and try again",
				g.What, g.Resource, firstLine(g.Reason))
		}
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// newLogger returns the stderr logger at level (validated earlier). Every
// message and attribute passes through r: a log line quotes errors and
// reasons that hold GitLab's answers. The text handler quotes and escapes
// a value with control characters itself.
func newLogger(w io.Writer, level string, r *redact.Redactor) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(redact.Handler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}), r))
}

// writeStdout writes the report on stdout. CSV and JSON carry GitLab's
// names as they are, which is right for a file or a pipe; on a terminal
// their control characters are escaped like the table's, so a token named
// with an escape sequence cannot rewrite the screen. The table escapes
// GitLab's text itself and adds colours of its own, so it is written as is.
func writeStdout(s *Streams, format string, result *audit.Result, opts report.Options) error {
	if !s.OutTTY || format == "table" {
		return report.Write(s.Out, format, result, opts)
	}
	tw := redact.NewTerminalWriter(s.Out)
	if err := report.Write(tw, format, result, opts); err != nil {
		return err
	}
	return tw.Close()
}

// writeFileAtomic writes a report next to path and renames it into place
// once complete, so an interrupted run never leaves half a report, and an
// existing report stays as it was until the new one is whole. The file is
// created readable by its owner only (os.CreateTemp uses 0600): reports name
// every token of an organisation.
//
// A character device or a FIFO (/dev/null, /dev/stdout, a named pipe,
// bash's >(...)) is written in place, as the shell's > would: renaming
// onto it would replace the device with a regular file (as root, /dev/null
// itself), and a stream cannot be swapped whole anyway.
func writeFileAtomic(ctx context.Context, path string, write func(*os.File) error) (err error) {
	inPlace, err := outputInPlace(path)
	if err != nil {
		return err
	}
	if inPlace {
		return writeInPlace(path, write)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := write(tmp); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// outputInPlace says how a report reaches path: false for a regular file or
// a path that does not exist yet (a temporary file renamed onto it), true
// for a character device or a FIFO (written in place). A symlink is judged
// by what it points to, which is what a write reaches. Anything else (a
// directory, a block device, a socket) is refused: a report has no
// business there.
func outputInPlace(path string) (bool, error) {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	}
	switch m := info.Mode(); {
	case m.IsRegular():
		return false, nil
	case m&fs.ModeCharDevice != 0, m&fs.ModeNamedPipe != 0:
		return true, nil
	case m.IsDir():
		return false, fmt.Errorf("%s is a directory", path)
	case m&fs.ModeDevice != 0:
		return false, fmt.Errorf("%s is a block device; a report goes to a regular file, a character device or a FIFO", path)
	default:
		return false, fmt.Errorf("%s is not a regular file (mode %s); a report goes to a regular file, a character device or a FIFO", path, m.Type())
	}
}

// writeInPlace writes a report into an existing character device or FIFO.
// O_WRONLY alone: no O_CREATE, so a device that vanished since the check
// is not created as a regular file; no O_TRUNC, which a stream does not
// have. Opening a FIFO waits for its reader, as the shell's > does. No
// fsync: a device or pipe has nothing to flush to disk, and some refuse it.
func writeInPlace(path string, write func(*os.File) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if info, err := f.Stat(); err != nil || info.Mode().IsRegular() {
		f.Close() // swapped for a regular file since the check: not overwritten in place
		return fmt.Errorf("%s changed while the report was written; try again", path)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
