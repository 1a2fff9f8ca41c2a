package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/collect"
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
	outputs  []string // FORMAT=PATH
	progress bool     // force progress on a non-terminal stderr
	dir      string   // relative output paths start here
}

// errInterrupted is the error of a run cancelled by SIGINT or SIGTERM.
var errInterrupted = errors.New("interrupted: stopped before the audit finished; no report written")

// execute collects, evaluates and writes the reports. It returns an exit
// error for anything that stops the run; findings are the caller's business.
func (j job) execute(ctx context.Context, s *Streams) (*audit.Result, error) {
	outputs, err := parseOutputs(j.outputs)
	if err != nil {
		return nil, exitCode(ExitCannotRun, err)
	}
	for i, o := range outputs {
		if !filepath.IsAbs(o.path) {
			outputs[i].path = filepath.Join(j.dir, o.path)
		}
		// Say so now, not after a collection that may take an hour.
		if info, err := os.Stat(filepath.Dir(outputs[i].path)); err != nil || !info.IsDir() {
			return nil, exitCode(ExitCannotRun, fmt.Errorf("output %s=%s: directory %s does not exist", o.format, o.path, filepath.Dir(outputs[i].path)))
		}
	}
	var pr *progressPrinter
	if s.ErrTTY || j.progress {
		pr = newProgressPrinter(s.ErrOut, s.ErrTTY)
		j.opts.Progress = pr.update
	}
	inv, err := collect.Collect(ctx, j.client, j.opts)
	if pr != nil {
		pr.finish()
	}
	if ctx.Err() != nil {
		return nil, exitCode(ExitCannotRun, errInterrupted)
	}
	if err != nil {
		return nil, exitCode(ExitCannotRun, explainCollectError(err, j.opts.BaseURL))
	}
	if err := scopeRefused(inv); err != nil {
		return nil, exitCode(ExitCannotRun, err)
	}
	if inv.Stats.Requests == 0 && j.counter != nil {
		inv.Stats.Requests = j.counter.Count()
	}
	result, err := audit.Evaluate(inv, j.policy, j.now())
	if err != nil {
		return nil, exitCode(ExitCannotRun, fmt.Errorf("evaluate: %w", err))
	}
	ropts := report.Options{
		Color: s.OutTTY && os.Getenv("NO_COLOR") == "",
		Width: s.Width,
	}
	if err := report.Write(s.Out, j.format, result, ropts); err != nil {
		return nil, exitCode(ExitCannotRun, fmt.Errorf("write %s report to stdout: %w", j.format, err))
	}
	for _, o := range outputs {
		err := writeFileAtomic(ctx, o.path, func(f *os.File) error {
			return report.Write(f, o.format, result, report.Options{})
		})
		if ctx.Err() != nil {
			return nil, exitCode(ExitCannotRun, errInterrupted)
		}
		if err != nil {
			return nil, exitCode(ExitCannotRun, fmt.Errorf("write %s report: %w", o.format, err))
		}
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

// newLogger returns the stderr logger at level (validated earlier).
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// writeFileAtomic writes a report next to path and renames it into place
// once complete, so an interrupted run never leaves half a report, and an
// existing report stays as it was until the new one is whole. The file is
// created readable by its owner only (os.CreateTemp uses 0600): reports name
// every token of an organisation.
func writeFileAtomic(ctx context.Context, path string, write func(*os.File) error) (err error) {
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
