package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/collect"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }
func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexAny(s, "\r\n")+1:]
}
func (c *fakeClock) printer(buf *syncBuffer) *progressPrinter {
	return newProgressPrinterClock(buf, false, c.now)
}

// TestProgressPercentAndTimeLeft: once reads are planned the line has a
// percentage, and once the rate means something the time left at that rate.
func TestProgressPercentAndTimeLeft(t *testing.T) {
	clock := newFakeClock()
	var buf syncBuffer
	p := clock.printer(&buf)
	p.update(collect.Progress{Planned: 0, Done: 0, Tokens: 0, Requests: 1})
	if got, want := lastLine(buf.String()), "collecting: 0/0 resources done · 0 tokens found · 1 requests"; got != want {
		t.Errorf("before any plan: %q, want %q", got, want)
	}
	clock.add(80 * time.Second)
	p.update(collect.Progress{Planned: 2900, Done: 1234, Tokens: 17, Requests: 1500})
	// 1,234 in 80s, 1,666 to go: 108.0s, rounded up to 1m49s.
	if got, want := lastLine(buf.String()), "collecting: 42% · 1,234/2,900 resources done · 17 tokens found · 1,500 requests · ~1m49s left"; got != want {
		t.Errorf("midway: %q, want %q", got, want)
	}
	clock.add(time.Second) // within the interval: not printed until finish
	p.update(collect.Progress{Planned: 2900, Done: 2900, Tokens: 20, Requests: 3100})
	p.finish()
	if got, want := lastLine(buf.String()), "collecting: 100% · 2,900/2,900 resources done · 20 tokens found · 3,100 requests"; got != want {
		t.Errorf("done: %q, want %q", got, want)
	}
}

// TestProgressNoEstimateTooEarly: a second in, or after a few reads, the
// rate says nothing, and no time left is shown.
func TestProgressNoEstimateTooEarly(t *testing.T) {
	clock := newFakeClock()
	var buf syncBuffer
	p := clock.printer(&buf)
	clock.add(time.Second)
	p.update(collect.Progress{Planned: 100, Done: 50})
	clock.add(10 * time.Second)
	p.update(collect.Progress{Planned: 1000, Done: 2})
	if strings.Contains(buf.String(), "left") {
		t.Errorf("a time left before the rate means anything:\n%s", buf.String())
	}
}

// TestProgressFrozenOnCancel: after Ctrl-C (freeze) the queued reads the
// collector drops at once do not make the total jump; the last line is the
// state before the cancel.
func TestProgressFrozenOnCancel(t *testing.T) {
	clock := newFakeClock()
	var buf syncBuffer
	p := clock.printer(&buf)
	clock.add(5 * time.Second)
	p.update(collect.Progress{Planned: 40, Done: 10, Tokens: 3, Requests: 12})
	p.freeze()
	for i := 1; i <= 500; i++ {
		clock.add(3 * time.Second)
		p.update(collect.Progress{Planned: 40 + i, Done: 10 + i, Tokens: 3, Requests: 12})
	}
	p.finish()
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if !strings.Contains(line, " 10/40 resources done") {
			t.Errorf("line %q after the cancel; want the counts before it (10/40)", line)
		}
	}
}

// TestProgressFalseOnTerminal: --progress=false turns progress off on a
// terminal, where it is shown by default.
func TestProgressFalseOnTerminal(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, true}, {[]string{"--progress=false"}, false}, {[]string{"--progress"}, true}} {
		cleanEnv(t)
		srv := serve(t, riskyWorld(), gitlabsim.Options{})
		t.Setenv("GITLAB_TOKEN", adminValue)
		var out, errOut syncBuffer
		args := append([]string{"audit", "--gitlab-url", srv.URL(), "--fail-on", "none"}, tc.args...)
		if code := Run(context.Background(), args, &Streams{Out: &out, ErrOut: &errOut, ErrTTY: true}); code != ExitOK {
			t.Fatalf("%v: exit %d; stderr:\n%s", tc.args, code, errOut.String())
		}
		if got := strings.Contains(errOut.String(), "collecting:"); got != tc.want {
			t.Errorf("%v on a terminal: progress shown %v, want %v; stderr:\n%q", tc.args, got, tc.want, errOut.String())
		}
	}
}
