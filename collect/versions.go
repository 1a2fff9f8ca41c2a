package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// gitlabVersion is the GitLab a collection talks to, as GET /version and
// GET /metadata tell it (https://docs.gitlab.com/api/version/,
// https://docs.gitlab.com/api/metadata/). The zero value is an unknown
// version: every feature is then asked for, and a missing route tells.
type gitlabVersion struct {
	known        bool
	major, minor int
	// enterprise is set from /metadata's enterprise flag, or from the
	// version's -ee suffix where /metadata is not served.
	enterprise, editionKnown bool
}

// parseGitLabVersion reads "18.5.1-ee", "16.11.0", "17.5.0-pre".
func parseGitLabVersion(s string) gitlabVersion {
	var v gitlabVersion
	core, suffix, _ := strings.Cut(s, "-")
	parts := strings.Split(core, ".")
	if len(parts) < 2 {
		return v
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || major < 0 || minor < 0 {
		return v
	}
	v.known, v.major, v.minor = true, major, minor
	if suffix == "ee" {
		v.enterprise, v.editionKnown = true, true
	}
	return v
}

// feature is something the collector reads that not every GitLab has.
type feature struct {
	// what names it in gaps, as the other gaps of the same read do.
	what         string
	major, minor int  // the first version that has it
	enterprise   bool // Premium and Ultimate only: absent from CE
	// source is where GitLab documents it.
	source string
}

// Features the collector reads that GitLab 16.0 (the oldest supported) does
// not all have. Everything else it reads is older than 16.0.
var (
	featJobTokenScope = feature{what: "job token scope", major: 16, minor: 1,
		source: "https://docs.gitlab.com/api/project_job_token_scopes/"}
	featServiceAccounts = feature{what: "service accounts", major: 17, minor: 1, enterprise: true,
		source: "https://docs.gitlab.com/api/service_accounts/"}
	featServiceAccountTokens = feature{what: "service account tokens", major: 17, minor: 11, enterprise: true,
		source: "https://docs.gitlab.com/api/service_accounts/"}
	featCredentialsInventory = feature{what: "credentials inventory", major: 18, minor: 6, enterprise: true,
		source: "https://docs.gitlab.com/api/groups/#credentials-inventory-management"}
)

// has reports whether this GitLab has f, and if not, why (for a gap of
// kind unavailable). An unknown version or edition has everything: the
// collector asks, and a missing route answers for itself.
func (v gitlabVersion) has(f feature) (bool, string) {
	if f.enterprise && v.editionKnown && !v.enterprise {
		return false, fmt.Sprintf("not in GitLab Community Edition: %s needs GitLab Premium or Ultimate %d.%d or later (%s)", f.what, f.major, f.minor, f.source)
	}
	if v.known && (v.major < f.major || v.major == f.major && v.minor < f.minor) {
		return false, fmt.Sprintf("not in GitLab %d.%d: %s came in GitLab %d.%d (%s)", v.major, v.minor, f.what, f.major, f.minor, f.source)
	}
	return true, ""
}

// readVersion reads the version and edition; what cannot be read is a gap
// and leaves the version unknown.
func (c *collector) readVersion(ctx context.Context) {
	var v struct {
		Version string `json:"version"`
	}
	if _, err := c.get(ctx, "version", nil, &v); err != nil {
		c.gap(ctx, "instance", "version", err)
		return
	}
	c.inv.GitLab.Version = v.Version
	c.version = parseGitLabVersion(v.Version)
	// /metadata (GitLab 15.2) says the edition outright; a CE version
	// string has no suffix that says so.
	var m struct {
		Enterprise *bool `json:"enterprise"`
	}
	if _, err := c.get(ctx, "metadata", nil, &m); err == nil && m.Enterprise != nil {
		c.version.enterprise, c.version.editionKnown = *m.Enterprise, true
	} else if err != nil && ctx.Err() == nil {
		c.log.Debug("metadata not read; the edition is judged from the version string", "reason", errorReason(err))
	}
}

// unavailable records, once, that this GitLab lacks f, and reports whether
// it does; the caller then does not ask for it.
func (c *collector) unavailable(resource string, f feature) bool {
	ok, reason := c.version.has(f)
	if ok {
		return false
	}
	c.addGap(inventory.Gap{Resource: resource, What: f.what, Kind: inventory.GapUnavailable, Reason: reason})
	return true
}

// pastDeadline reports whether Options.MaxDuration has passed.
func (c *collector) pastDeadline() bool { return c.deadline != nil && c.deadline.Err() != nil }

// missingRoute reports whether err is Grape's catch-all 404, the answer of a
// route this GitLab does not have (an older version, or CE for an EE route):
// {"error":"404 Not Found"}. A resource the caller may not see answers
// {"message":"404 Project Not Found"} (or Group, User) instead
// (https://docs.gitlab.com/api/rest/troubleshooting/#status-codes).
func missingRoute(err error) bool {
	var m *errRouteMissing
	return errors.As(err, &m)
}

// missingReason is the reason of a gap for a route this GitLab lacks.
func (c *collector) missingReason() string {
	if v := c.inv.GitLab.Version; v != "" {
		return "not in GitLab " + v + ": the route answers GitLab's catch-all 404 (a newer version or another edition has it)"
	}
	return "not in this GitLab's version or edition: the route answers GitLab's catch-all 404"
}

// routeMissingHeader marks, on the response, a 404 that was Grape's
// catch-all: client-go turns every 404 into one shared error without its
// body, so the body is read below client-go, where it still is.
const routeMissingHeader = "X-Tokenaudit-Route-Missing"

// routeMarker is the transport that reads a 404's body (at most 1 KiB, then
// put back) and marks GitLab's catch-all answer. A header of that name sent
// by the server is dropped first, so only this transport sets it.
type routeMarker struct{ next http.RoundTripper }

func (m routeMarker) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := m.next.RoundTrip(r)
	if err != nil || resp == nil {
		return resp, err
	}
	resp.Header.Del(routeMissingHeader)
	if resp.StatusCode != http.StatusNotFound || resp.Body == nil {
		return resp, nil
	}
	head, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if rerr == nil && catchAll(head) {
		resp.Header.Set(routeMissingHeader, "1")
	}
	return resp, nil
}

// catchAll reports whether body is Grape's catch-all 404,
// {"error":"404 Not Found"}.
func catchAll(body []byte) bool {
	var b struct {
		Error   *string `json:"error"`
		Message *string `json:"message"`
	}
	return json.Unmarshal(body, &b) == nil && b.Error != nil && *b.Error == "404 Not Found" && b.Message == nil
}

// errRouteMissing wraps the 404 of a route this GitLab lacks; it still
// matches gitlab.HasStatusCode(err, 404).
type errRouteMissing struct{ err error }

func (e *errRouteMissing) Error() string { return e.err.Error() }
func (e *errRouteMissing) Unwrap() error { return e.err }

// markMissingRoute wraps err when routeMarker marked resp.
func markMissingRoute(resp *gitlab.Response, err error) error {
	if err != nil && resp != nil && resp.Response != nil && resp.Header.Get(routeMissingHeader) != "" {
		return &errRouteMissing{err}
	}
	return err
}
