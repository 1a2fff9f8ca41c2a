package collect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	retryablehttp "github.com/hashicorp/go-retryablehttp"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/sync/errgroup"
)

// perPage is GitLab's maximum page size (https://docs.gitlab.com/api/rest/#pagination).
const perPage = 100

// decodeRetries is how often a GET is repeated after an answer client-go
// does not retry itself: a body cut short (malformed JSON), a connection
// closed without an answer, or an attempt that outlived the client's
// timeout. All are transient and a GET is safe to repeat; a scheduled audit
// should not turn red over one slow answer.
const decodeRetries = 2

// get performs one GET of path (relative to /api/v4, path segments already
// escaped) with query, decoding the JSON answer into v. In-flight requests
// are bounded by the collector's semaphore.
func (c *collector) get(ctx context.Context, path string, query url.Values, v any, more ...gitlab.RequestOptionFunc) (*gitlab.Response, error) {
	var lastErr error
	for attempt := 0; attempt <= decodeRetries; attempt++ {
		opts := []gitlab.RequestOptionFunc{
			gitlab.WithContext(ctx),
			func(r *retryablehttp.Request) error { r.URL.RawQuery = query.Encode(); return nil },
		}
		req, err := c.client.NewRequest(http.MethodGet, path, nil, append(opts, more...))
		if err != nil {
			return nil, err
		}
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		resp, err := c.client.Do(req, v)
		err = markMissingRoute(resp, err)
		<-c.sem
		c.progress()
		if err == nil || ctx.Err() != nil || !transient(err) {
			return resp, err
		}
		c.log.Debug("repeating request after a broken answer", "path", path, "attempt", attempt+1, "err", err)
		lastErr = err
	}
	return nil, lastErr
}

// transient reports whether err is a broken answer worth repeating: any
// failure but an HTTP status (client-go already retried 5xx and 429). The
// caller has ruled out a cancelled or expired context.
func transient(err error) bool {
	var er *gitlab.ErrorResponse
	return !errors.As(err, &er)
}

// errListChanged is returned (wrapped) when a list changed while it was
// read page by page, and reading it again did not give a stable answer.
var errListChanged = errors.New("the list changed while it was read")

// relistTries is how often a list that changed while it was read is read
// again from its first page.
const relistTries = 2

// listAll reads every page of a list. It asks for per_page=100; when
// GitLab sends X-Total-Pages the remaining pages are fetched concurrently,
// otherwise (more than 10,000 results, https://docs.gitlab.com/api/rest/#pagination-response-headers)
// it follows X-Next-Page one page at a time through gitlab.ScanAndCollect.
//
// Offset pagination has no snapshot: an item deleted from a page already
// read shifts every later item back one place, and the first item of the
// next page is then never seen. When a later page's X-Total differs from
// the first page's, the list changed mid-read and is read again; if it
// keeps changing, the error says so and the list becomes an error gap
// rather than a silently short list. (A deletion and a creation between
// the same two pages leave X-Total unchanged and are not noticed.)
func listAll[T any](ctx context.Context, c *collector, path string, query url.Values) ([]T, error) {
	for attempt := 0; ; attempt++ {
		items, err := listOnce[T](ctx, c, path, query)
		if !errors.Is(err, errListChanged) || attempt == relistTries {
			return items, err
		}
		c.log.Debug("list changed while it was read; reading it again", "path", path, "attempt", attempt+1)
	}
}

// listOnce reads every page of a list once (listAll).
func listOnce[T any](ctx context.Context, c *collector, path string, query url.Values) ([]T, error) {
	q := cloneQuery(query)
	q.Set("per_page", strconv.Itoa(perPage))
	if q.Get("pagination") == "keyset" {
		return listKeyset[T](ctx, c, path, q)
	}
	var first []T
	resp, err := c.get(ctx, path, q, &first)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.NextPage == 0:
		return first, nil
	case resp.TotalPages > 1:
		return listPages(ctx, c, path, q, first, int(resp.TotalPages), resp.Header.Get("X-Total"))
	}
	next := resp.NextPage
	rest, err := gitlab.ScanAndCollect(func(_ gitlab.PaginationOptionFunc) ([]T, *gitlab.Response, error) {
		pq := cloneQuery(q)
		pq.Set("page", strconv.FormatInt(next, 10))
		var page []T
		r, err := c.get(ctx, path, pq, &page)
		if err == nil {
			// Follow X-Next-Page only; the Link header's host is GitLab's
			// configured external URL, which may differ from ours.
			next = r.NextPage
			r.NextLink = ""
		}
		return page, r, err
	})
	if err != nil {
		return nil, err
	}
	return append(first, rest...), nil
}

// listKeyset reads a list with keyset pagination, following the Link
// header's rel="next" through gitlab.ScanAndCollect. Keyset pages are
// stable under concurrent changes, and GitLab's /projects needs them past
// offset 50,000 (https://docs.gitlab.com/api/rest/#keyset-based-pagination).
func listKeyset[T any](ctx context.Context, c *collector, path string, q url.Values) ([]T, error) {
	return gitlab.ScanAndCollect(func(next gitlab.PaginationOptionFunc) ([]T, *gitlab.Response, error) {
		var page []T
		r, err := c.get(ctx, path, q, &page, next)
		if err == nil && r.NextLink == "" {
			r.NextPage = 0 // the end; never fall back to offsets
		}
		return page, r, err
	})
}

// listPages fetches pages 2..total concurrently and joins them in order.
// xTotal is the first page's X-Total; a page that reports another one
// fails the read with errListChanged.
func listPages[T any](ctx context.Context, c *collector, path string, q url.Values, first []T, total int, xTotal string) ([]T, error) {
	pages := make([][]T, total+1)
	pages[1] = first
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	for p := 2; p <= total; p++ {
		g.Go(func() error {
			pq := cloneQuery(q)
			pq.Set("page", strconv.Itoa(p))
			var page []T
			resp, err := c.get(gctx, path, pq, &page)
			if err != nil {
				return err
			}
			if now := resp.Header.Get("X-Total"); now != xTotal {
				return fmt.Errorf("%w: %s had X-Total %s on page 1 and %s on page %d", errListChanged, path, xTotal, now, p)
			}
			pages[p] = page
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var n int
	for _, p := range pages {
		n += len(p)
	}
	out := make([]T, 0, n)
	for _, p := range pages {
		out = append(out, p...)
	}
	return out, nil
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
