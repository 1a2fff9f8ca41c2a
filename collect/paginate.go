package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	retryablehttp "github.com/hashicorp/go-retryablehttp"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// perPage is GitLab's maximum page size (https://docs.gitlab.com/api/rest/#pagination).
const perPage = 100

// maxPages caps the pages read of one list: 100,000 pages of 100, ten
// million entries, far above any real instance (the xl simulator preset,
// 100,000 tokens, has 1,000 pages in its largest list). GitLab's own
// bound, the offset pagination limit of 50,000 entries (500 pages,
// https://docs.gitlab.com/administration/instance_limits/#max-offset-allowed-by-the-rest-api-for-offset-based-pagination),
// is no cap to use: it applies only to the lists that also offer keyset
// pagination, an administrator can raise it, and keyset lists have no
// bound at all. The cap only ends a list whose server never says it is the
// last page; such a list is an error gap.
const maxPages = 100_000

// decodeRetries is how often a GET is repeated after an answer client-go
// does not retry itself: a body cut short (malformed JSON), a connection
// closed without an answer, or an attempt that outlived the client's
// timeout. All are transient and a GET is safe to repeat; a scheduled audit
// should not turn red over one slow answer.
const decodeRetries = 2

// bodies recycles the buffers answers are read into; a page of 100 tokens
// is about 40 KB.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decodeError is an answer whose body could not be decoded.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

// fetch performs one GET of path (relative to /api/v4, path segments
// already escaped) with query and hands the answer's body to decode.
func (c *collector) fetch(ctx context.Context, path string, query url.Values, decode func([]byte) error) (*gitlab.Response, error) {
	return c.exchange(ctx, path, func(w io.Writer) (*gitlab.Response, error) {
		setQuery := func(r *retryablehttp.Request) error { r.URL.RawQuery = query.Encode(); return nil }
		req, err := c.client.NewRequest(http.MethodGet, path, nil, []gitlab.RequestOptionFunc{gitlab.WithContext(ctx), setQuery})
		if err != nil {
			return nil, err
		}
		return c.client.Do(req, w)
	}, decode)
}

// exchange makes one request (send writes the answer's body to w) and
// hands the body to decode. A body decode refuses is asked for again, like
// a dropped connection: every request tokenaudit makes is a read, safe to
// repeat. In-flight requests are bounded by the collector's semaphore;
// what names the request in logs and in the deadline's gap.
func (c *collector) exchange(ctx context.Context, what string, send func(w io.Writer) (*gitlab.Response, error), decode func([]byte) error) (*gitlab.Response, error) {
	var lastErr error
	for attempt := 0; attempt <= decodeRetries; attempt++ {
		if !c.acquire(ctx) {
			c.cutOff(what)
			return nil, ctx.Err()
		}
		buf := bodies.Get().(*bytes.Buffer)
		buf.Reset()
		resp, err := send(buf)
		err = markMissingRoute(resp, err)
		c.release(ctx)
		c.progress()
		if err == nil {
			if derr := decode(buf.Bytes()); derr != nil {
				err = &decodeError{derr}
			}
		}
		if buf.Cap() <= 1<<22 {
			bodies.Put(buf)
		}
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			c.cutOff(what)
			return resp, err
		}
		if !transient(err) {
			return resp, err
		}
		c.log.Debug("repeating request after a broken answer", "path", what, "attempt", attempt+1, "err", err)
		lastErr = err
	}
	return nil, lastErr
}

// backgroundKey marks a context whose requests are background work: they
// wait for a request slot behind every foreground request (slots).
type backgroundKey struct{}

// backgroundCtx marks ctx's requests as background work.
func backgroundCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

func isBackground(ctx context.Context) bool { b, _ := ctx.Value(backgroundKey{}).(bool); return b }

// acquire takes a request slot; false when ctx ended first.
func (c *collector) acquire(ctx context.Context) bool { return c.slots.acquire(ctx, isBackground(ctx)) }

func (c *collector) release(context.Context) { c.slots.release() }

// errMissingFields is returned (wrapped) for an answer that lacks a field
// GitLab always sends (record.missing).
var errMissingFields = errors.New("the answer lacks fields GitLab always sends")

// get performs one GET of a single entity and decodes it into v. A token
// entity without the fields GitLab always sends is an error, not a guess.
func (c *collector) get(ctx context.Context, path string, query url.Values, v any) (*gitlab.Response, error) {
	resp, err := c.fetch(ctx, path, query, func(b []byte) error {
		if err := json.Unmarshal(b, v); err != nil {
			return err
		}
		if k, ok := v.(keyed); ok {
			var keys patKeys
			if err := json.Unmarshal(b, &keys); err != nil {
				return err
			}
			k.setSent(keys.fields())
		}
		return nil
	})
	if err != nil {
		return resp, err
	}
	if r, ok := v.(interface{ missing() []string }); ok {
		if m := r.missing(); len(m) > 0 {
			return resp, fmt.Errorf("%w: no %s", errMissingFields, strings.Join(m, ", "))
		}
	}
	return resp, nil
}

// transient reports whether err is a broken answer worth repeating: any
// failure but an HTTP status (client-go already retried 5xx and 429) and
// the guard's refusals. The caller has ruled out a cancelled or expired
// context.
func transient(err error) bool {
	var (
		er       *gitlab.ErrorResponse
		tooLarge *BodyTooLargeError
		header   *HeaderError
	)
	switch {
	case errors.As(err, &er):
		return false
	// The server's own answer, not a broken exchange: asking again gets
	// the same (and another 32 MiB for a body over the limit).
	case errors.Is(err, ErrRedirect), errors.Is(err, ErrWaitTooLong), errors.As(err, &tooLarge), errors.As(err, &header):
		return false
	}
	return true
}

// errListChanged is returned (wrapped) when a list changed while it was
// read page by page, and reading it again did not give a stable answer.
var errListChanged = errors.New("the list changed while it was read")

// errPaging is returned (wrapped, saying what) when a list's pagination
// headers cannot be true: a next page that does not follow the current
// one, a page count below zero or above maxPages, a keyset link back to a
// page already read. Following them could read the same page forever or
// reserve memory for a trillion pages; the list becomes an error gap.
var errPaging = errors.New("GitLab's pagination does not add up")

func pagingError(path, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", errPaging, path, fmt.Sprintf(format, a...))
}

// relistTries is how often a list that changed while it was read is read
// again from its first page.
const relistTries = 2

// badRecord is an entry of a list that was not turned into an item: it
// could not be decoded, or it lacks a field GitLab always sends.
type badRecord struct {
	page, index int   // 1-based
	id          int64 // 0: the entry has none
	reason      string
}

// page is one decoded page of a list.
type page[T any] struct {
	items []T
	bad   []badRecord
}

// listed is one read of a list: its items in order, and the entries left out.
type listed[T any] struct {
	items []T
	bad   []badRecord
}

func (l *listed[T]) add(n int, p page[T]) {
	l.items = append(l.items, p.items...)
	for _, b := range p.bad {
		b.page = n
		l.bad = append(l.bad, b)
	}
}

// listAll reads every page of a list. It asks for per_page=100; when
// GitLab sends X-Total-Pages the remaining pages are fetched concurrently,
// otherwise (more than 10,000 results, https://docs.gitlab.com/api/rest/#pagination-response-headers)
// it follows X-Next-Page one page at a time. An entry that cannot be
// decoded or lacks a field GitLab always sends is left out as an error gap
// of its own, and the rest of the list is kept; two different entries of
// one token in the list are one token, read the riskier way, and a gap
// (dedupRecords).
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
		l, err := listOnce[T](ctx, c, path, query)
		if errors.Is(err, errListChanged) && attempt < relistTries {
			c.log.Debug("list changed while it was read; reading it again", "path", path, "attempt", attempt+1)
			continue
		}
		if err != nil {
			return nil, err
		}
		name := listName(path, query)
		items := dedupRecords(c, name, l.items)
		c.badRecords(name, l.bad)
		return items, nil
	}
}

// listOnce reads every page of a list once (listAll). Page numbers come
// from the collector, not from the headers: page 1, then each next page
// X-Next-Page names, which must be the one after (GitLab's offset
// pagination never skips or repeats a page), up to maxPages.
func listOnce[T any](ctx context.Context, c *collector, path string, query url.Values) (*listed[T], error) {
	q := cloneQuery(query)
	q.Set("per_page", strconv.Itoa(perPage))
	if q.Get("pagination") == "keyset" {
		return listKeyset[T](ctx, c, path, q)
	}
	first, resp, err := getPage[T](ctx, c, path, q)
	if err != nil {
		return nil, err
	}
	l := &listed[T]{}
	l.add(1, first)
	// client-go parses the headers as int64s; the transport checks their
	// syntax, but no number is trusted here either.
	switch total := resp.TotalPages; {
	case resp.NextPage == 0:
		return l, nil
	case resp.NextPage != 2:
		return nil, pagingError(path, "X-Next-Page is %d on page 1 (want 2, or none on the last page)", resp.NextPage)
	case total < 0:
		return nil, pagingError(path, "X-Total-Pages is %d", total)
	case total > int64(c.maxPages):
		return nil, pagingError(path, "X-Total-Pages is %d, more than the %d pages tokenaudit reads of one list", total, c.maxPages)
	case total > 1:
		return listPages(ctx, c, path, q, l, int(total), resp.Header.Get("X-Total"))
	}
	return listAhead(ctx, c, path, q, l)
}

// listAhead reads pages 2, 3, ... of a list whose length GitLab does not
// say (no X-Total-Pages past 10,000 entries), following X-Next-Page. The
// pages are asked for a window at a time, the window doubling up to the
// concurrency, instead of one after the other: a list of 94,000 tokens is
// 940 pages, which one at a time take 940 round trips. A window may run
// past the last page; those pages must be empty (GitLab answers an empty
// page past the end), and cost at most concurrency-1 requests.
func listAhead[T any](ctx context.Context, c *collector, path string, q url.Values, l *listed[T]) (*listed[T], error) {
	type fetched struct {
		p   page[T]
		r   *gitlab.Response
		err error
	}
	window := 1
	for n := 2; ; {
		if n > c.maxPages {
			return nil, pagingError(path, "no last page after %d pages, the most tokenaudit reads of one list", c.maxPages)
		}
		w := min(window, c.maxPages-n+1)
		got := make([]fetched, w)
		var wg sync.WaitGroup
		for i := range w {
			wg.Go(func() {
				pq := cloneQuery(q)
				pq.Set("page", strconv.Itoa(n+i))
				p, r, err := getPage[T](ctx, c, path, pq)
				got[i] = fetched{p, r, err}
			})
		}
		wg.Wait()
		// In page order: what a page past the last answered does not count.
		for i, f := range got {
			pn := n + i
			if f.err != nil {
				return nil, f.err
			}
			l.add(pn, f.p)
			switch {
			case f.r.NextPage == 0:
				for j, after := range got[i+1:] {
					if after.err == nil && len(after.p.items)+len(after.p.bad) > 0 {
						return nil, fmt.Errorf("%w: %s ended on page %d, and page %d has entries", errListChanged, path, pn, pn+1+j)
					}
				}
				return l, nil
			case f.r.NextPage != int64(pn)+1:
				return nil, pagingError(path, "X-Next-Page is %d on page %d (want %d, or none on the last page)", f.r.NextPage, pn, pn+1)
			}
		}
		n += w
		window = min(2*window, c.concurrency)
	}
}

// listKeyset reads a list with keyset pagination, following the Link
// header's rel="next" until there is none; it never falls back to
// offsets. Keyset pages are stable under concurrent changes, and GitLab's
// /projects needs them past offset 50,000
// (https://docs.gitlab.com/api/rest/#keyset-based-pagination). Only the
// link's query is taken (its host is GitLab's configured external URL,
// which may differ from ours), and a link back to a page already read ends
// the list as an error, as does maxPages.
func listKeyset[T any](ctx context.Context, c *collector, path string, q url.Values) (*listed[T], error) {
	l := &listed[T]{}
	seen := map[string]bool{q.Encode(): true}
	for n := 1; ; n++ {
		if n > c.maxPages {
			return nil, pagingError(path, "no last page after %d pages, the most tokenaudit reads of one list", c.maxPages)
		}
		p, r, err := getPage[T](ctx, c, path, q)
		if err != nil {
			return nil, err
		}
		if fn := pageHook[T](ctx); fn != nil {
			fn(p.items)
		}
		l.add(n, p)
		if r.NextLink == "" {
			return l, nil
		}
		u, err := url.Parse(r.NextLink)
		if err != nil {
			return nil, pagingError(path, `the Link rel="next" of page %d is no URL`, n)
		}
		next := cloneQuery(q)
		maps.Copy(next, u.Query())
		key := next.Encode()
		if seen[key] {
			return nil, pagingError(path, `the Link rel="next" of page %d points to a page already read`, n)
		}
		seen[key] = true
		q = next
	}
}

// listPages fetches pages 2..total concurrently and adds them to l in
// order. xTotal is the first page's X-Total; a page that reports another
// one fails the read with errListChanged.
func listPages[T any](ctx context.Context, c *collector, path string, q url.Values, l *listed[T], total int, xTotal string) (*listed[T], error) {
	pages := make([]page[T], total+1)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	for n := 2; n <= total; n++ {
		g.Go(func() error {
			pq := cloneQuery(q)
			pq.Set("page", strconv.Itoa(n))
			p, resp, err := getPage[T](gctx, c, path, pq)
			if err != nil {
				return err
			}
			if now := resp.Header.Get("X-Total"); now != xTotal {
				return fmt.Errorf("%w: %s had X-Total %s on page 1 and %s on page %d", errListChanged, path, xTotal, now, n)
			}
			pages[n] = p
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	size := len(l.items)
	for _, p := range pages {
		size += len(p.items)
	}
	l.items = slices.Grow(l.items, size-len(l.items))
	for n := 2; n <= total; n++ {
		l.add(n, pages[n])
	}
	return l, nil
}

// getPage reads and decodes one page of a list.
func getPage[T any](ctx context.Context, c *collector, path string, q url.Values) (page[T], *gitlab.Response, error) {
	var p page[T]
	resp, err := c.fetch(ctx, path, q, func(b []byte) error {
		var err error
		p, err = decodePage[T](b)
		return err
	})
	return p, resp, err
}

// decodePage decodes a page of a list. The whole page is decoded at once;
// when that fails, and the page is a JSON list, each entry is decoded on
// its own so that one entry GitLab's types do not fit (an expires_at of
// 2025-13-45) costs that entry only. A body that is no JSON list, or whose
// entries none can be read, is an error, and asked for again (fetch).
// Token entries that lack a field GitLab always sends are left out too
// (record.missing).
func decodePage[T any](b []byte) (page[T], error) {
	var p page[T]
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '[' {
		return p, fmt.Errorf("the answer is %s, not a list", jsonKind(b))
	}
	var index []int // entry positions when some were left out; nil: 1..n
	var zero T
	_, isKeyed := any(&zero).(keyed)
	if err := json.Unmarshal(b, &p.items); err == nil && isKeyed {
		var keys []patKeys
		if err := json.Unmarshal(b, &keys); err != nil || len(keys) != len(p.items) {
			return p, fmt.Errorf("the page reads differently twice")
		}
		for i := range p.items {
			any(&p.items[i]).(keyed).setSent(keys[i].fields())
		}
	} else if err != nil {
		var raws []json.RawMessage
		if json.Unmarshal(b, &raws) != nil {
			return p, err
		}
		p.items = make([]T, 0, len(raws))
		index = make([]int, 0, len(raws))
		for i, raw := range raws {
			var item T
			if err := json.Unmarshal(raw, &item); err != nil {
				p.bad = append(p.bad, badRecord{index: i + 1, id: rawID(raw), reason: unreadable[T](raw, err)})
				continue
			}
			if k, ok := any(&item).(keyed); ok {
				var keys patKeys
				_ = json.Unmarshal(raw, &keys) // raw decoded as an entry already
				k.setSent(keys.fields())
			}
			p.items = append(p.items, item)
			index = append(index, i+1)
		}
		// Not one entry readable: no page of this list (another API's
		// answer, a proxy's), like an object for a list.
		if len(p.items) == 0 {
			return page[T]{}, fmt.Errorf("no entry of the page can be read (entry 1: %s)", p.bad[0].reason)
		}
	}
	if !isRecord[T]() {
		return p, nil
	}
	kept := p.items[:0]
	for i := range p.items {
		r := asRecord(&p.items[i])
		if m := r.missing(); len(m) > 0 {
			at := i + 1
			if index != nil {
				at = index[i]
			}
			p.bad = append(p.bad, badRecord{index: at, id: max(r.recordID(), 0),
				reason: "the entry has no " + strings.Join(m, ", ") + ", which GitLab always sends"})
			continue
		}
		kept = append(kept, p.items[i])
	}
	clear(p.items[len(kept):])
	p.items = kept
	slices.SortFunc(p.bad, func(a, b badRecord) int { return a.index - b.index })
	return p, nil
}

// isRecord reports whether T is a token entry (asRecord).
func isRecord[T any]() bool {
	var zero T
	return asRecord(&zero) != nil
}

// rawID is the id of an entry that could not be decoded, or 0.
func rawID(raw json.RawMessage) int64 {
	var v struct {
		ID *int64 `json:"id"`
	}
	_ = json.Unmarshal(raw, &v)
	if v.ID != nil && *v.ID > 0 {
		return *v.ID
	}
	return 0
}

// unreadable says why an entry could not be decoded into a T: which of its
// fields, and what kind of value was there. It never quotes a value: a
// broken entry may hold a token.
func unreadable[T any](raw json.RawMessage, err error) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 || raw[0] != '{' {
		return "the entry is " + jsonKind(raw) + ", not an object"
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return "the entry cannot be read: " + valueProblem(err)
	}
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		one, _ := json.Marshal(map[string]json.RawMessage{k: fields[k]})
		var t T
		if e := json.Unmarshal(one, &t); e != nil {
			bad = append(bad, fmt.Sprintf("%s (%s)", strconv.Quote(k), valueProblem(e)))
		}
	}
	switch len(bad) {
	case 0:
		return "the entry cannot be read: " + valueProblem(err)
	case 1:
		k, why, _ := strings.Cut(bad[0], " (")
		return "field " + k + " cannot be read: " + strings.TrimSuffix(why, ")")
	}
	return "fields " + strings.Join(bad, ", ") + " cannot be read"
}

// valueProblem describes a decoding error by the kinds of value involved.
func valueProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var pe *time.ParseError
	switch {
	case errors.As(err, &se):
		return "not JSON"
	case errors.As(err, &te):
		got, _, _ := strings.Cut(te.Value, " ") // "number -5": the kind only
		return "a JSON " + got + " where " + wantKind(te.Type) + " belongs"
	case errors.As(err, &pe):
		return "not a date or time"
	}
	return "a value of the wrong form"
}

func wantKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another value"
}

// jsonKind names the kind of JSON value b starts with.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "empty"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a number"
	}
	return "no JSON"
}

// maxRecordGaps bounds the gaps one list's entries make: a server that
// breaks every entry of a long list gets that many gaps named and one
// that counts the rest, not a report of a million lines.
const maxRecordGaps = 20

// badRecords makes each entry left out of list an error gap naming it.
func (c *collector) badRecords(list string, bad []badRecord) {
	gaps := make([]recordGap, 0, len(bad))
	for _, b := range bad {
		what := fmt.Sprintf("entry %d of page %d", b.index, b.page)
		if b.id > 0 {
			what += fmt.Sprintf(" (id %d)", b.id)
		}
		gaps = append(gaps, recordGap{what, b.reason + "; the entry is left out"})
	}
	c.recordGaps(list, gaps, "entries left out")
}

// dedupRecords makes each token id of one list one item. GitLab lists a
// token once; the same entry twice happens when offset pages shift under a
// concurrent change, and is dropped quietly. Two entries with the same id
// that say different things (one revoked, one not) cannot both be true:
// the token is kept in the riskier reading of both (record.foldRiskier),
// so that a critical token is never hidden behind a harmless twin, and an
// error gap names the list and the id. Tokens seen in two different lists
// are merged later, by addToken.
func dedupRecords[T any](c *collector, list string, items []T) []T {
	if len(items) < 2 || !isRecord[T]() {
		return items
	}
	at := make(map[int64]int, len(items))
	var conflicts map[int64][]string
	out := items[:0]
	for i := range items {
		id := asRecord(&items[i]).recordID()
		j, dup := at[id]
		if !dup {
			at[id] = len(out)
			out = append(out, items[i])
			continue
		}
		keep := asRecord(&out[j])
		if d := keep.differs(&items[i]); len(d) > 0 {
			if conflicts == nil {
				conflicts = map[int64][]string{}
			}
			conflicts[id] = unionStrings(conflicts[id], d)
		}
		keep.foldRiskier(&items[i])
	}
	clear(items[len(out):])
	var gaps []recordGap
	for _, id := range slices.Sorted(maps.Keys(conflicts)) {
		gaps = append(gaps, recordGap{fmt.Sprintf("token id %d", id), fmt.Sprintf(
			"the list holds different entries with id %d (they differ in %s); the token is reported in the riskier reading of them: active if one says so, revoked only if all do, the later or no expiry, every scope",
			id, strings.Join(conflicts[id], ", "))})
	}
	c.recordGaps(list, gaps, "tokens listed twice")
	return out
}

// recordGap is one error gap of a list's entries.
type recordGap struct{ what, reason string }

// recordGaps records gaps of list's entries as error gaps, at most
// maxRecordGaps of them and then one that counts the rest, as rest.
func (c *collector) recordGaps(list string, gaps []recordGap, rest string) {
	if len(gaps) == 0 {
		return
	}
	if len(gaps) > maxRecordGaps {
		n := len(gaps) - maxRecordGaps + 1
		gaps = append(gaps[:maxRecordGaps-1:maxRecordGaps-1], recordGap{
			fmt.Sprintf("%d more %s", n, rest),
			fmt.Sprintf("%d more like the gaps above; run with --log-level debug to see each", n),
		})
	}
	for _, g := range gaps {
		c.addGap(inventory.Gap{Resource: list, What: g.what, Kind: inventory.GapError, Reason: g.reason})
	}
}

// listName names a list in a gap: its API path and the query the
// collector chose, without the paging parameters.
func listName(path string, query url.Values) string {
	q := cloneQuery(query)
	q.Del("per_page")
	q.Del("page")
	if len(q) == 0 {
		return "list /" + path
	}
	return "list /" + path + "?" + q.Encode()
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
