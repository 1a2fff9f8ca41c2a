package collect

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// GET /users is read one keyset page after another, and the impersonation
// lists (a request per person holding tokens) need to know who is a person.
// Rather than wait for the last page, impStream starts a person's
// impersonation read as soon as their page is in and the token list says
// they hold tokens: on xl that is 566 pages' time during which the
// per-person reads would otherwise wait.

// pageHookKey carries, in the context of one keyset list read, a function
// that receives each page's entries in order (listKeyset).
type pageHookKey struct{}

// withPages has the keyset list read with ctx hand each page to fn.
func withPages[T any](ctx context.Context, fn func([]T)) context.Context {
	return context.WithValue(ctx, pageHookKey{}, fn)
}

func pageHook[T any](ctx context.Context) func([]T) {
	fn, _ := ctx.Value(pageHookKey{}).(func([]T))
	return fn
}

// impStream starts the impersonation reads of token holders as the users
// list comes in. Its decisions are impersonation's (instance.go): people
// only (service accounts, known from GET /service_accounts, are not), none
// when the token list flags impersonation tokens itself, and the first
// person in ID order is the probe that finds out whether this GitLab has
// the route at all.
type impStream struct {
	c *collector

	mu       sync.Mutex
	ready    bool
	holders  map[int64]bool
	accounts map[int64]bool
	off      bool // the token list flags impersonation tokens
	waiting  []*inventory.Owner
	started  map[int64]bool
	queue    chan *inventory.Owner
	closed   bool

	probeDone chan struct{}
	probeOK   bool
	g         *errgroup.Group
	gctx      context.Context
}

func (c *collector) newImpStream(ctx context.Context) *impStream {
	// Background: the users list these reads follow keeps its slot.
	g, gctx := errgroup.WithContext(backgroundCtx(ctx))
	return &impStream{c: c, started: map[int64]bool{}, probeDone: make(chan struct{}), g: g, gctx: gctx}
}

// users takes a page of GET /users.
func (s *impStream) users(page []userWire) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range page {
		if o := mapUser(&page[i]); o.Type == inventory.OwnerHuman {
			if s.ready {
				s.consider(o)
			} else {
				s.waiting = append(s.waiting, o)
			}
		}
	}
}

// setReady takes the token list and the service accounts; from then on
// the people seen are read.
func (s *impStream) setReady(pats []patWire, accounts []serviceAccountWire) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holders = map[int64]bool{}
	for i := range pats {
		s.holders[pats[i].UserID] = true
		s.off = s.off || pats[i].Impersonation != nil
	}
	s.accounts = map[int64]bool{}
	for _, a := range accounts {
		s.accounts[a.ID] = true
	}
	// Room for every holder: consider never blocks the users list.
	s.queue = make(chan *inventory.Owner, len(s.holders)+1)
	s.ready = true
	for range s.c.concurrency {
		s.g.Go(s.work)
	}
	for _, o := range s.waiting {
		s.consider(o)
	}
	s.waiting = nil
}

// consider queues a person's impersonation read, the first as the probe;
// s.mu is held.
func (s *impStream) consider(o *inventory.Owner) {
	if s.off || s.closed || !s.holders[o.ID] || s.accounts[o.ID] || s.started[o.ID] {
		return
	}
	first := len(s.started) == 0
	s.started[o.ID] = true
	s.c.plan(1)
	if first {
		s.g.Go(func() error {
			defer s.c.finished()
			defer close(s.probeDone)
			ok, err := s.c.impersonationProbe(s.gctx, o.ID, o)
			s.probeOK = ok && err == nil
			return err
		})
		return
	}
	s.queue <- o
}

// work reads the queued people's impersonation tokens once the probe
// showed the route exists.
func (s *impStream) work() error {
	<-s.probeDone
	for o := range s.queue {
		if !s.probeOK || s.gctx.Err() != nil {
			s.c.finished()
			continue
		}
		err := s.c.impersonationTokens(s.gctx, o.ID, o)
		s.c.finished()
		if err != nil {
			return err
		}
	}
	return nil
}

// closeInput ends the input: the users list is read.
func (s *impStream) closeInput() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.ready {
		close(s.queue)
	}
	if len(s.started) == 0 {
		close(s.probeDone)
	}
}

// wait waits for the reads started.
func (s *impStream) wait() error { return s.g.Wait() }

// streamed reports whether the stream handled the impersonation reads: it
// had the token list before the users list ended.
func (s *impStream) streamed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready
}
