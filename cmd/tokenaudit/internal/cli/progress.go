package cli

import (
	"fmt"
	"io"
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

	mu      sync.Mutex
	last    collect.Progress
	printed time.Time
	dirty   bool // an update not printed yet
	shown   bool // a line was printed
}

func newProgressPrinter(w io.Writer, tty bool) *progressPrinter {
	interval := 2 * time.Second
	if tty {
		interval = 100 * time.Millisecond
	}
	return &progressPrinter{w: w, tty: tty, interval: interval}
}

func progressLine(p collect.Progress) string {
	return fmt.Sprintf("collecting: %d/%d resources done, %d tokens found, %d requests",
		p.Done, p.Planned, p.Tokens, p.Requests)
}

// update is collect.Options.Progress.
func (p *progressPrinter) update(pr collect.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = pr
	p.dirty = true
	if now := time.Now(); now.Sub(p.printed) >= p.interval {
		p.printed = now
		p.print()
	}
}

func (p *progressPrinter) print() {
	p.dirty = false
	p.shown = true
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", progressLine(p.last))
		return
	}
	fmt.Fprintln(p.w, progressLine(p.last))
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
