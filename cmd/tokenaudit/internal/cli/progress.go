package cli

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/tokenaudit/tokenaudit/collect"
)

// progressPrinter shows collection progress on stderr: one line redrawn in
// place on a terminal, a line every few seconds otherwise (--progress in a
// CI log). It never writes anything but counts.
type progressPrinter struct {
	w        io.Writer
	tty      bool
	interval time.Duration
	now      func() time.Time // a fake clock in tests

	mu      sync.Mutex
	start   time.Time
	last    collect.Progress
	printed time.Time
	dirty   bool // an update not printed yet
	shown   bool // a line was printed
	frozen  bool // cancelled: later updates are ignored
}

func newProgressPrinter(w io.Writer, tty bool) *progressPrinter {
	return newProgressPrinterClock(w, tty, time.Now)
}

func newProgressPrinterClock(w io.Writer, tty bool, now func() time.Time) *progressPrinter {
	interval := 2 * time.Second
	if tty {
		interval = 100 * time.Millisecond
	}
	return &progressPrinter{w: w, tty: tty, interval: interval, now: now, start: now()}
}

// minEstimate is how long the collection runs, and minDone how many reads
// it finishes, before a time left is shown: earlier the rate says nothing.
const (
	minEstimate = 3 * time.Second
	minDone     = 5
)

// progressLine is "collecting: 42% · 1,234/2,900 resources done · 17
// tokens found · 321 requests · ~1m20s left"; the percentage and the time
// left once something is planned and, for the time, the rate is worth a
// guess. The time left assumes the rate so far and the total as planned
// now; lists found later add to the total.
func progressLine(p collect.Progress, elapsed time.Duration) string {
	b := []byte("collecting: ")
	if p.Planned > 0 {
		b = strconv.AppendInt(b, int64(min(100, p.Done*100/p.Planned)), 10)
		b = append(b, "% · "...)
	}
	b = appendThousands(b, p.Done)
	b = append(b, '/')
	b = appendThousands(b, p.Planned)
	b = append(b, " resources done · "...)
	b = appendThousands(b, p.Tokens)
	b = append(b, " tokens found · "...)
	b = appendThousands(b, p.Requests)
	b = append(b, " requests"...)
	if p.Planned > 0 && p.Done >= minDone && p.Done < p.Planned && elapsed >= minEstimate {
		left := time.Duration(float64(elapsed) * float64(p.Planned-p.Done) / float64(p.Done))
		b = append(b, " · ~"...)
		b = append(b, shortDuration(left)...)
		b = append(b, " left"...)
	}
	return string(b)
}

// appendThousands appends n with a comma every three digits (1,234).
func appendThousands(b []byte, n int) []byte {
	s := strconv.Itoa(n)
	if n < 0 {
		return append(b, s...)
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return b
}

// shortDuration is d rounded up to the second, as 45s, 1m20s or 2h05m.
func shortDuration(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
}

// update is collect.Options.Progress.
func (p *progressPrinter) update(pr collect.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen {
		return
	}
	p.last = pr
	p.dirty = true
	if now := p.now(); now.Sub(p.printed) >= p.interval {
		p.printed = now
		p.print()
	}
}

// freeze keeps the counts as they are: on Ctrl-C the collector still plans
// and finishes, at once, every read it had queued, and the total would
// jump to numbers that were never read. The last line shows the state
// before the cancel.
func (p *progressPrinter) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = true
}

func (p *progressPrinter) print() {
	p.dirty = false
	p.shown = true
	line := progressLine(p.last, p.now().Sub(p.start))
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		return
	}
	fmt.Fprintln(p.w, line)
}

// finish prints the last state, if it has not been, and ends the line.
// A collection that never reported progress prints nothing.
func (p *progressPrinter) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dirty {
		p.print()
	}
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
}
