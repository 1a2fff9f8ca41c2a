package gitlabsim

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Server serves a World as GitLab's REST API under /api/v4 and its GraphQL
// API at /api/graphql (graphql.go), on 127.0.0.1 unless Options.Addr says
// otherwise.
// It is safe for concurrent use.
type Server struct {
	opts    Options
	ts      *httptest.Server
	base    string // the instance URL, without /api/v4
	handler http.Handler

	mu sync.RWMutex // guards world and ix
	w  *World
	ix *index

	cmu    sync.Mutex
	counts map[string]int
	total  int

	mw *mwState // throttles and fault injector, for their stats and SetFaults (faults.go)
}

// NewServer starts a server for w on Options.Addr, by default 127.0.0.1
// with a random port. Like httptest.NewServer it panics if it cannot
// listen; Listen returns the error instead.
func NewServer(w *World, opts Options) *Server {
	s, err := Listen(w, opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Listen starts a server for w on Options.Addr, by default 127.0.0.1 with
// a random port. It refuses an address that is not loopback unless
// Options.AllowRemote is set.
func Listen(w *World, opts Options) (*Server, error) {
	addr := opts.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	if err := checkAddr(addr, opts.AllowRemote); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	s := &Server{opts: opts, w: w, ix: buildIndex(w), counts: map[string]int{}}
	s.handler = s.buildHandler()
	s.ts = &httptest.Server{
		Listener: ln,
		Config:   &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second},
	}
	// The handlers read base (for Link headers); it is set before the
	// first request can arrive, as httptest.Server.Start would set URL.
	s.base = "http://" + ln.Addr().String()
	s.ts.Start()
	return s, nil
}

// checkAddr refuses a listen address that other machines could reach,
// unless remote is set: the simulator's tokens are printed and made up,
// and a server that hands them out must not face a network by accident.
// "localhost" counts as loopback; an empty host (":8080") is every
// interface.
func checkAddr(addr string, remote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("start simulator: listen address %q: %w", addr, err)
	}
	if remote {
		return nil
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("start simulator: listen address %q is not loopback (127.0.0.1, ::1 or localhost); set AllowRemote to serve other machines", addr)
}

// URL is the instance's base URL, without /api/v4.
func (s *Server) URL() string { return s.base }

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// Handler is the server's whole handler chain (counting, rate limits,
// faults, routes), for serving it elsewhere.
func (s *Server) Handler() http.Handler { return s.handler }

// Counts returns the number of requests per route template
// ("GET /projects/:id/access_tokens"); requests to unknown routes count
// under "unknown".
func (s *Server) Counts() map[string]int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// TotalRequests is the number of requests served since start or the last
// ResetCounts.
func (s *Server) TotalRequests() int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.total
}

// ResetCounts sets all counts to zero.
func (s *Server) ResetCounts() {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.counts = map[string]int{}
	s.total = 0
}

// Mutate changes the World while the server runs (a token created or revoked
// between two pages) and rebuilds the lookups. No request is served while f
// runs.
func (s *Server) Mutate(f func(w *World)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.w)
	s.ix = buildIndex(s.w)
}

// World returns the served World. Read it only while no Mutate runs.
func (s *Server) World() *World {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.w
}

type routeCtxKey struct{}

// routeMatch is a request's matched route: its template and the values of
// its :params, in order.
type routeMatch struct {
	template string // "GET /projects/:id/access_tokens", or "unknown"
	r        *apiRoute
	params   []string
	graphql  bool // POST or GET /api/graphql (graphql.go)
}

// routeOf returns the route template of a request, for counting, rate
// limits and faults.
func (s *Server) routeOf(r *http.Request) string {
	return s.match(r).template
}

func (s *Server) match(r *http.Request) *routeMatch {
	if m, ok := r.Context().Value(routeCtxKey{}).(*routeMatch); ok {
		return m
	}
	return matchRoute(r)
}

func (s *Server) buildHandler() http.Handler {
	var h http.Handler = http.HandlerFunc(s.serveRoute)
	mws := s.middlewares()
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return s.counting(h)
}

// counting is the outermost middleware: it matches the route once, counts
// the request and keeps the match in the request context.
func (s *Server) counting(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := matchRoute(r)
		s.cmu.Lock()
		s.counts[m.template]++
		s.total++
		s.cmu.Unlock()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeCtxKey{}, m)))
	})
}

// handlerFunc serves one route with the index, the authenticated caller and
// the route's :params.
type handlerFunc func(s *Server, rc *reqCtx) (any, *apiError)

// reqCtx is what a route handler works with.
type reqCtx struct {
	w      http.ResponseWriter
	r      *http.Request
	ix     *index
	c      *caller
	params []string
	q      url.Values
}

func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request) {
	m := s.match(r)
	if m.graphql {
		s.serveGraphQL(w, r)
		return
	}
	if m.r == nil {
		// Unknown paths, and other methods on served paths (the simulator
		// only reads): GitLab's catch-all `route :any, '*path'` takes a
		// request no route of its method matches, before Grape would
		// answer 405 [I].
		errRoute404.write(w)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ix := s.ix
	rc := &reqCtx{w: w, r: r, ix: ix, params: m.params, q: r.URL.Query()}
	if !ix.has(m.r.feature) {
		// Not in this version or edition: as if there were no such route,
		// so a later route may take the path ("self" as an :id) or, with
		// none, the catch-all answers.
		if m = matchRouteIn(r, ix); m.r == nil {
			errRoute404.write(w)
			return
		}
		rc.params = m.params
	}
	if !m.r.public {
		c, err := ix.authenticate(r, m.r.scope)
		if err != nil {
			err.write(w)
			return
		}
		rc.c = c
	}
	body, aerr := m.r.h(s, rc)
	if aerr != nil {
		aerr.write(w)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// writeJSON answers 200 with a compact JSON body as Grape does.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b []byte
	var err error
	switch x := v.(type) {
	case []tokenEntity:
		b = make([]byte, 0, 400*len(x)+2)
		b = append(b, '[')
		for i := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTokenEntity(b, &x[i])
		}
		b = append(b, ']')
	case tokenEntity:
		b = appendTokenEntity(nil, &x)
	default:
		b, err = json.Marshal(v)
	}
	if err != nil {
		errMessage(http.StatusInternalServerError, "500 Internal Server Error").write(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// apiRoute is one API route the simulator serves.
type apiRoute struct {
	method   string
	segs     []string // path segments after /api/v4; ":x" matches one segment
	template string
	h        handlerFunc
	scope    scopeNeed
	public   bool    // no authentication (none here: GitLab serves these only to users)
	feature  feature // the versions and editions that have the route (versions.go)
}

// matchRoute finds the route of a request. :id segments are matched on the
// escaped path, so a URL-encoded full path ("group%2Fproject") stays one
// segment; each matched segment is then unescaped.
func matchRoute(r *http.Request) *routeMatch { return matchRouteIn(r, nil) }

// matchRouteIn is matchRoute among the routes ix serves (all if ix is nil).
func matchRouteIn(r *http.Request, ix *index) *routeMatch {
	p := r.URL.EscapedPath()
	if p == graphqlPath || p == graphqlPath+"/" {
		// GitLab routes GET and POST /api/graphql to GraphqlController#execute.
		if r.Method == http.MethodPost || r.Method == http.MethodGet {
			return &routeMatch{template: r.Method + " " + graphqlPath, graphql: true}
		}
		return &routeMatch{template: "unknown"}
	}
	const prefix = "/api/v4/"
	if !strings.HasPrefix(p, prefix) {
		return &routeMatch{template: "unknown"}
	}
	p = strings.TrimSuffix(strings.TrimPrefix(p, prefix), "/")
	// GitLab accepts a trailing .json format suffix on API routes; the
	// simulator does not, which Grape would also 404 for most of these.
	segs := strings.Split(p, "/")
	for _, rt := range apiRoutes {
		if len(rt.segs) != len(segs) {
			continue
		}
		params, ok := matchSegs(rt.segs, segs)
		if !ok {
			continue
		}
		if rt.method != r.Method && !(r.Method == http.MethodHead && rt.method == http.MethodGet) {
			continue
		}
		if ix != nil && !ix.has(rt.feature) {
			continue
		}
		return &routeMatch{template: rt.template, r: rt, params: params}
	}
	return &routeMatch{template: "unknown"}
}

func matchSegs(pattern, segs []string) ([]string, bool) {
	var params []string
	for i, ps := range pattern {
		if strings.HasPrefix(ps, ":") {
			v, err := url.PathUnescape(segs[i])
			if err != nil || v == "" {
				return nil, false
			}
			params = append(params, v)
			continue
		}
		if ps != segs[i] {
			return nil, false
		}
	}
	return params, true
}

func getRoute(path string, h handlerFunc, scope scopeNeed) *apiRoute {
	return &apiRoute{method: http.MethodGet, segs: strings.Split(strings.TrimPrefix(path, "/"), "/"), template: "GET " + path, h: h, scope: scope}
}

// since gives a route the feature that decides where it exists.
func since(f feature, r *apiRoute) *apiRoute { r.feature = f; return r }
