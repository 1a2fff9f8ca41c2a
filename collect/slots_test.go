package collect

import (
	"context"
	"runtime"
	"testing"
)

// TestSlotsForegroundFirst: with every slot taken, a freed slot goes to a
// waiting foreground request before any background one that waited longer,
// and a waiter whose context ends gives up its place.
func TestSlotsForegroundFirst(t *testing.T) {
	s := newSlots(1)
	ctx := context.Background()
	if !s.acquire(ctx, false) {
		t.Fatal("a free slot was refused")
	}
	order := make(chan string, 3)
	bgQueued, fgQueued := make(chan struct{}), make(chan struct{})
	go func() {
		close(bgQueued)
		if s.acquire(ctx, true) {
			order <- "background"
			s.release()
		}
	}()
	<-bgQueued
	waitQueued(s, 1)
	cancelled, cancel := context.WithCancel(ctx)
	go func() {
		if !s.acquire(cancelled, false) {
			order <- "cancelled"
		}
	}()
	waitQueued(s, 2)
	cancel()
	if got := <-order; got != "cancelled" {
		t.Fatalf("%s, want the cancelled waiter to give up first", got)
	}
	go func() {
		close(fgQueued)
		if s.acquire(ctx, false) {
			order <- "foreground"
			s.release()
		}
	}()
	<-fgQueued
	waitQueued(s, 2)
	s.release()
	if first, second := <-order, <-order; first != "foreground" || second != "background" {
		t.Errorf("served %s then %s, want foreground then background", first, second)
	}
	waitFree(s, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free != 1 || len(s.fg)+len(s.bg) != 0 {
		t.Errorf("free %d, waiters %d after all released; want 1 and 0", s.free, len(s.fg)+len(s.bg))
	}
}

// waitQueued waits until n requests wait for a slot.
func waitQueued(s *slots, n int) {
	for {
		s.mu.Lock()
		q := len(s.fg) + len(s.bg)
		s.mu.Unlock()
		if q >= n {
			return
		}
		runtime.Gosched()
	}
}

// waitFree waits until n slots are free.
func waitFree(s *slots, n int) {
	for {
		s.mu.Lock()
		f := s.free
		s.mu.Unlock()
		if f >= n {
			return
		}
		runtime.Gosched()
	}
}
