package collect

import (
	"context"
	"slices"
	"sync"
)

// slots bounds the requests in flight (Options.Concurrency) and serves
// waiting foreground requests before background ones: the instance-wide
// lists, which everything else waits for (GET /users goes one keyset page
// after the other), are not held up behind the per-project batches that run
// beside them; those take the slots the lists leave free. Within a class,
// first come first served.
type slots struct {
	mu     sync.Mutex
	free   int
	fg, bg []chan struct{} // waiters, in arrival order
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire takes a slot, waiting if none is free; false when ctx ended first.
func (s *slots) acquire(ctx context.Context, background bool) bool {
	s.mu.Lock()
	// A free slot has no waiters: release hands slots to waiters first.
	if s.free > 0 {
		s.free--
		s.mu.Unlock()
		return true
	}
	// Buffered: release hands the slot over without waiting for us.
	ch := make(chan struct{}, 1)
	if background {
		s.bg = append(s.bg, ch)
	} else {
		s.fg = append(s.fg, ch)
	}
	s.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		s.mu.Lock()
		queued := false
		for _, q := range []*[]chan struct{}{&s.fg, &s.bg} {
			if i := slices.Index(*q, ch); i >= 0 {
				*q = slices.Delete(*q, i, i+1)
				queued = true
			}
		}
		s.mu.Unlock()
		if !queued {
			// The slot was handed over as ctx ended: pass it on.
			s.release()
		}
		return false
	}
}

// release frees a slot, or hands it to the first foreground waiter, else
// the first background one.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range []*[]chan struct{}{&s.fg, &s.bg} {
		if len(*q) > 0 {
			ch := (*q)[0]
			*q = (*q)[1:]
			ch <- struct{}{}
			return
		}
	}
	s.free++
}
