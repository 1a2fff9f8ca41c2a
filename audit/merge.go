package audit

import (
	"cmp"
	"errors"
	"slices"
	"time"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// ModeMixed is the mode of a merged result whose sources were audited in
// different modes; Result.Sources says each one's.
const ModeMixed inventory.Mode = "mixed"

// Source is one report a merged result was made of.
type Source struct {
	GitLab      inventory.Instance // URL (normalised), version, mode, admin
	GeneratedAt time.Time
	Tokens      int
	Complete    bool
	Requests    int
	Duration    time.Duration
}

// Merge combines the results of several audits, of different groups or
// instances, into one, as if one audit had read them all. A merged
// result's tokens, findings of no token and gaps each carry their
// instance (GitLabURL, normalised); Sources lists the inputs, a merged
// input's own sources in its place.
//
// A token is identified by (instance, kind, id): one that several inputs
// hold (two group audits that overlap) is kept once, as the input audited
// last (the latest Now; on a tie the later input) has it; so is a finding
// of no token, by (instance, resource, rule). Gaps and expired exceptions
// are kept once each. The summary is counted again from what is kept; the
// requests and durations are the sum of the inputs' (work done, not wall
// time: the audits may have run side by side). Now is the latest input's.
// Baseline comparisons of the inputs are dropped: compare the merged
// result with CompareBaseline.
func Merge(results []*Result) (*Result, error) {
	if len(results) == 0 {
		return nil, errors.New("merge: no results")
	}
	out := &Result{Inventory: &inventory.Inventory{}}
	tokens := map[tokenKey]holder{}
	findings := map[resourceKey]holder{}
	gaps := map[inventory.Gap]bool{}
	expired := map[ExpiredException]bool{}
	for n, r := range results {
		if r == nil || r.Inventory == nil {
			return nil, errors.New("merge: a result without inventory")
		}
		if n == 0 || r.Now.After(out.Now) {
			out.Now = r.Now
		}
		inv := r.Inventory
		own := NormalizeURL(inv.GitLab.URL)
		if len(r.Sources) > 0 {
			out.Sources = append(out.Sources, r.Sources...)
		} else {
			gl := inv.GitLab
			gl.URL, gl.ModeReason, gl.Caller = own, "", ""
			out.Sources = append(out.Sources, Source{
				GitLab: gl, GeneratedAt: r.Now, Tokens: len(r.Tokens), Complete: inv.Complete(),
				Requests: inv.Stats.Requests, Duration: inv.Stats.Duration,
			})
		}
		out.Inventory.Stats.Requests += inv.Stats.Requests
		out.Inventory.Stats.Duration += inv.Stats.Duration

		for i := range r.Tokens {
			t := r.Tokens[i]
			t.GitLabURL = instanceURL(r, t.GitLabURL)
			t.Baseline, t.BaselineID = ChangeNone, 0
			t.Findings = slices.Clone(t.Findings)
			for k := range t.Findings {
				t.Findings[k].Baseline = ChangeNone
			}
			keepLatest(tokens, &out.Tokens, tokenKey{t.GitLabURL, t.Token.Kind, t.Token.ID}, r.Now, t)
		}
		for i := range r.Findings {
			f := r.Findings[i]
			f.GitLabURL = instanceURL(r, f.GitLabURL)
			f.Baseline = ChangeNone
			keepLatest(findings, &out.Findings, resourceKey{f.GitLabURL, f.Resource, f.Rule}, r.Now, f)
		}
		for _, g := range inv.Gaps {
			g.GitLabURL = instanceURL(r, g.GitLabURL)
			if !gaps[g] {
				gaps[g] = true
				out.Inventory.Gaps = append(out.Inventory.Gaps, g)
			}
		}
		for _, e := range r.ExpiredExceptions {
			e.Expired = e.Expired.UTC()
			if !expired[e] {
				expired[e] = true
				out.ExpiredExceptions = append(out.ExpiredExceptions, e)
			}
		}
	}
	out.Inventory.GitLab = common(out.Sources)

	slices.SortStableFunc(out.Tokens, func(a, b TokenResult) int {
		return cmp.Or(compareTokenResults(a, b), cmp.Compare(a.GitLabURL, b.GitLabURL))
	})
	slices.SortStableFunc(out.Findings, func(a, b ResourceFinding) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Resource, b.Resource),
			cmp.Compare(a.GitLabURL, b.GitLabURL),
		)
	})
	out.Summary = summarize(out)
	return out, nil
}

// holder is where a kept item is and the time of the result it came from.
type holder struct {
	now time.Time
	at  int // index in the kept items
}

// keepLatest keeps v, of a result audited at now, once per key in items:
// in the place of an item of the same key from a result audited no later,
// so that on equal times the later result wins.
func keepLatest[K comparable, T any](seen map[K]holder, items *[]T, k K, now time.Time, v T) {
	prev, ok := seen[k]
	switch {
	case !ok:
		seen[k] = holder{now, len(*items)}
		*items = append(*items, v)
	case !now.Before(prev.now):
		(*items)[prev.at] = v
		seen[k] = holder{now, prev.at}
	}
}

// common is the instance of a merged result: what its sources share. The
// URL and version are "" unless all sources have the same, the mode
// ModeMixed unless all have the same, admin true only if every source
// audited as an administrator.
func common(sources []Source) inventory.Instance {
	gl := sources[0].GitLab
	for _, s := range sources[1:] {
		if s.GitLab.URL != gl.URL {
			gl.URL = ""
		}
		if s.GitLab.Version != gl.Version {
			gl.Version = ""
		}
		if s.GitLab.Mode != gl.Mode {
			gl.Mode = ModeMixed
		}
		gl.Admin = gl.Admin && s.GitLab.Admin
	}
	return gl
}

// Summarize counts r as Evaluate does: for results built other than by
// Evaluate (a report read back, a merge).
func Summarize(r *Result) Summary { return summarize(r) }
