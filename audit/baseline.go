package audit

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// Change says how a token or a finding relates to the baseline, an earlier
// report (--baseline). It is a small enum rather than a flag so that every
// report, those to come (HTML, JUnit) included, shows one of the same
// names. The zero value, ChangeNone, means there was no baseline.
type Change uint8

// Changes. Their names are part of the report contract.
const (
	ChangeNone      Change = iota // no baseline to compare with
	ChangeNew                     // not in the baseline
	ChangeUnchanged               // in the baseline too
)

var changeNames = [...]string{"", "new", "unchanged"}

// String returns the change's name: "new", "unchanged", "" for ChangeNone.
func (c Change) String() string {
	if int(c) < len(changeNames) {
		return changeNames[c]
	}
	return ""
}

// TokenRef names a token of the baseline that the current result does not
// hold as it was.
type TokenRef struct {
	GitLabURL string // set when the current result is merged
	Kind      inventory.Kind
	ID        int64
	Name      string
	Owner     string // the owner's username; "" when the token has none
	Resource  inventory.Resource
}

// ResolvedFinding is a finding of the baseline that the current result no
// longer has, as the baseline had it.
type ResolvedFinding struct {
	Finding
	// Token is the token it was about; nil for a finding of no token,
	// which Resource then names ("instance", "project acme/api").
	Token     *TokenRef
	Resource  string
	GitLabURL string // set when the current result is merged
}

// DisappearedToken is a token of the baseline that no current token
// matches: deleted, or no longer visible to the caller.
type DisappearedToken struct {
	TokenRef
	Severity  Severity // as the baseline judged it
	RiskScore int
}

// BaselineCounts counts the comparison. Findings are counted as
// Summary.Findings counts them, unsuppressed only (a resolved finding by
// whether the baseline had it suppressed); every finding severity has an
// entry.
type BaselineCounts struct {
	NewTokens, UnchangedTokens, DisappearedTokens    int
	NewFindings, UnchangedFindings, ResolvedFindings map[Severity]int
}

// BaselineDiff is what CompareBaseline found beyond the marks it sets on
// each token and finding.
type BaselineDiff struct {
	GeneratedAt time.Time // the baseline's audit time
	GitLabURL   string    // the baseline's GitLab ("" for a merge of several)
	Resolved    []ResolvedFinding
	Disappeared []DisappearedToken
	Counts      BaselineCounts
}

// rotatingKinds are the kinds GitLab rotates (POST .../rotate) into a new
// token with a new id, keeping the owner (a project or group access
// token's bot user included), the name and the scopes
// (https://docs.gitlab.com/api/personal_access_tokens/#rotate-a-personal-access-token,
// https://docs.gitlab.com/api/project_access_tokens/#rotate-a-project-access-token,
// https://docs.gitlab.com/api/group_access_tokens/#rotate-a-group-access-token).
// They are all personal access tokens underneath; deploy and trigger
// tokens cannot be rotated.
var rotatingKinds = map[inventory.Kind]bool{
	inventory.KindPersonal:       true,
	inventory.KindImpersonation:  true,
	inventory.KindServiceAccount: true,
	inventory.KindProjectAccess:  true,
	inventory.KindGroupAccess:    true,
}

type tokenKey struct {
	url  string
	kind inventory.Kind
	id   int64
}

// rotationKey is what a rotation keeps. GitLab links a rotated token to
// its predecessor in previous_personal_access_token_id, but no REST token
// entity exposes it
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/entities/personal_access_token.rb),
// so the match rests on these.
type rotationKey struct {
	url     string
	kind    inventory.Kind
	owner   int64
	resType inventory.ResourceType
	resID   int64
	name    string
}

func rotationKeyOf(url string, t *inventory.Token) (rotationKey, bool) {
	if !rotatingKinds[t.Kind] || t.Owner == nil {
		return rotationKey{}, false
	}
	return rotationKey{url, t.Kind, t.Owner.ID, t.Resource.Type, t.Resource.ID, t.Name}, true
}

type resourceKey struct {
	url, resource, rule string
}

// CompareBaseline compares r with base, an earlier result (read back from
// its JSON report), and records what it finds in r: every token and
// finding is marked new or unchanged, and r.Baseline lists the baseline's
// findings that r no longer has and its tokens that no token of r
// matches.
//
// A token of r matches the baseline token with the same (instance, kind,
// id). Failing that, a token of a kind GitLab rotates matches as its
// rotation a baseline token of the same instance, kind, owner (user id),
// resource and name with a lower id, provided no token of r has that
// baseline token's id or the one that has it no longer works (rotation
// revokes the old token, which GitLab may still list); the newest such
// baseline token, each taken by one rotation at most, working tokens of r
// choosing first. A finding of a token is unchanged when its token
// matches and the matched baseline token had a finding of the same rule;
// a finding of no token when the baseline had one of the same instance,
// resource and rule. The instance is the GitLab URL, normalised
// (NormalizeURL): a token's own in a merged result, the report's otherwise.
func CompareBaseline(r, base *Result) {
	merged := len(r.Sources) > 0
	d := &BaselineDiff{
		GeneratedAt: base.Now,
		Counts: BaselineCounts{
			NewFindings:       findingCounts(),
			UnchangedFindings: findingCounts(),
			ResolvedFindings:  findingCounts(),
		},
	}
	if base.Inventory != nil && len(base.Sources) == 0 {
		d.GitLabURL = base.Inventory.GitLab.URL
	}

	baseURL := make([]string, len(base.Tokens))
	byID := make(map[tokenKey]int, len(base.Tokens))
	for i := range base.Tokens {
		bt := &base.Tokens[i]
		baseURL[i] = instanceURL(base, bt.GitLabURL)
		byID[tokenKey{baseURL[i], bt.Token.Kind, bt.Token.ID}] = i
	}
	curURL := make([]string, len(r.Tokens))
	match := make([]int, len(r.Tokens)) // index into base.Tokens, -1 for none
	exact := make([]int, len(base.Tokens))
	for i := range exact {
		exact[i] = -1
	}
	for i := range r.Tokens {
		t := &r.Tokens[i]
		curURL[i] = instanceURL(r, t.GitLabURL)
		j, ok := byID[tokenKey{curURL[i], t.Token.Kind, t.Token.ID}]
		if !ok {
			match[i] = -1
			continue
		}
		match[i] = j
		exact[j] = i
	}

	// Rotations: the baseline tokens that may have a successor, newest
	// first within each key.
	candidates := map[rotationKey][]int{}
	for j := range base.Tokens {
		if e := exact[j]; e >= 0 && r.Tokens[e].Active {
			continue
		}
		if k, ok := rotationKeyOf(baseURL[j], &base.Tokens[j].Token); ok {
			candidates[k] = append(candidates[k], j)
		}
	}
	if len(candidates) > 0 {
		for _, js := range candidates {
			slices.SortFunc(js, func(a, b int) int { return cmp.Compare(base.Tokens[b].Token.ID, base.Tokens[a].Token.ID) })
		}
		var open []int
		for i := range r.Tokens {
			if match[i] < 0 {
				open = append(open, i)
			}
		}
		// A working token is the likelier successor of a rotation than a
		// revoked one; among equals the newest.
		slices.SortFunc(open, func(a, b int) int {
			ta, tb := &r.Tokens[a], &r.Tokens[b]
			if ta.Active != tb.Active {
				if ta.Active {
					return -1
				}
				return 1
			}
			return cmp.Compare(tb.Token.ID, ta.Token.ID)
		})
		taken := map[int]bool{}
		for _, i := range open {
			k, ok := rotationKeyOf(curURL[i], &r.Tokens[i].Token)
			if !ok {
				continue
			}
			for _, j := range candidates[k] {
				if !taken[j] && base.Tokens[j].Token.ID < r.Tokens[i].Token.ID {
					taken[j] = true
					match[i] = j
					break
				}
			}
		}
	}

	// Marks, and the rules each baseline token still has through the
	// tokens that match it.
	kept := make([]map[string]bool, len(base.Tokens))
	matched := make([]bool, len(base.Tokens))
	for i := range r.Tokens {
		t := &r.Tokens[i]
		j := match[i]
		if j < 0 {
			t.Baseline, t.BaselineID = ChangeNew, 0
			d.Counts.NewTokens++
			for k := range t.Findings {
				t.Findings[k].Baseline = ChangeNew
				countFinding(d.Counts.NewFindings, &t.Findings[k])
			}
			continue
		}
		bt := &base.Tokens[j]
		t.Baseline, t.BaselineID = ChangeUnchanged, bt.Token.ID
		d.Counts.UnchangedTokens++
		matched[j] = true
		if kept[j] == nil {
			kept[j] = map[string]bool{}
		}
		for k := range t.Findings {
			f := &t.Findings[k]
			f.Baseline = ChangeNew
			if hasRule(bt.Findings, f.Rule) {
				f.Baseline = ChangeUnchanged
				kept[j][f.Rule] = true
				countFinding(d.Counts.UnchangedFindings, f)
			} else {
				countFinding(d.Counts.NewFindings, f)
			}
		}
	}
	for j := range base.Tokens {
		bt := &base.Tokens[j]
		ref := TokenRef{
			Kind: bt.Token.Kind, ID: bt.Token.ID, Name: bt.Token.Name, Resource: bt.Token.Resource,
		}
		if merged {
			ref.GitLabURL = baseURL[j]
		}
		if bt.Token.Owner != nil {
			ref.Owner = bt.Token.Owner.Username
		}
		if !matched[j] {
			d.Disappeared = append(d.Disappeared, DisappearedToken{TokenRef: ref, Severity: bt.Severity, RiskScore: bt.RiskScore})
		}
		for _, f := range bt.Findings {
			if kept[j][f.Rule] {
				continue
			}
			f.Baseline = ChangeNone
			ref := ref
			d.Resolved = append(d.Resolved, ResolvedFinding{Finding: f, Token: &ref, GitLabURL: ref.GitLabURL})
			countFinding(d.Counts.ResolvedFindings, &f)
		}
	}
	d.Counts.DisappearedTokens = len(d.Disappeared)

	baseRes := make(map[resourceKey]bool, len(base.Findings))
	for i := range base.Findings {
		f := &base.Findings[i]
		baseRes[resourceKey{instanceURL(base, f.GitLabURL), f.Resource, f.Rule}] = true
	}
	curRes := make(map[resourceKey]bool, len(r.Findings))
	for i := range r.Findings {
		f := &r.Findings[i]
		k := resourceKey{instanceURL(r, f.GitLabURL), f.Resource, f.Rule}
		curRes[k] = true
		if baseRes[k] {
			f.Baseline = ChangeUnchanged
			countFinding(d.Counts.UnchangedFindings, &f.Finding)
		} else {
			f.Baseline = ChangeNew
			countFinding(d.Counts.NewFindings, &f.Finding)
		}
	}
	for i := range base.Findings {
		f := base.Findings[i]
		k := resourceKey{instanceURL(base, f.GitLabURL), f.Resource, f.Rule}
		if curRes[k] {
			continue
		}
		f.Baseline = ChangeNone
		rf := ResolvedFinding{Finding: f.Finding, Resource: f.Resource}
		if merged {
			rf.GitLabURL = k.url
		}
		d.Resolved = append(d.Resolved, rf)
		countFinding(d.Counts.ResolvedFindings, &f.Finding)
	}
	slices.SortStableFunc(d.Resolved, func(a, b ResolvedFinding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Rule, b.Rule))
	})
	r.Baseline = d
}

// NewFindingsAtOrAbove counts the unsuppressed findings, of tokens and of
// no token, that CompareBaseline marked new at severity floor or above,
// and returns the worst of them: what --fail-on-new gates on.
func (r *Result) NewFindingsAtOrAbove(floor Severity) (n int, worst Severity) {
	check := func(f *Finding) {
		if f.Baseline == ChangeNew && !f.Suppressed && f.Severity >= floor {
			n++
			worst = max(worst, f.Severity)
		}
	}
	for i := range r.Tokens {
		for k := range r.Tokens[i].Findings {
			check(&r.Tokens[i].Findings[k])
		}
	}
	for i := range r.Findings {
		check(&r.Findings[i].Finding)
	}
	return n, worst
}

// Instances lists the GitLab instances r holds, normalised: each source's
// of a merged result, the one of a single audit.
func (r *Result) Instances() []string {
	var urls []string
	for _, s := range r.Sources {
		urls = append(urls, NormalizeURL(s.GitLab.URL))
	}
	if len(urls) == 0 && r.Inventory != nil {
		urls = append(urls, NormalizeURL(r.Inventory.GitLab.URL))
	}
	slices.Sort(urls)
	return slices.Compact(urls)
}

// NormalizeURL is the form in which two spellings of one GitLab URL
// compare equal: scheme and host in lower case, without a default port, a
// trailing slash or /api/v4, user information, query or fragment.
func NormalizeURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return strings.TrimRight(strings.TrimSpace(raw), "/")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	path := strings.TrimRight(u.Path, "/")
	path = strings.TrimSuffix(path, "/api/v4")
	return u.Scheme + "://" + host + strings.TrimRight(path, "/")
}

// instanceURL is the normalised instance of an item of r whose own
// instance is own: its own where set (a merged result), r's otherwise.
func instanceURL(r *Result, own string) string {
	if own == "" && r.Inventory != nil {
		own = r.Inventory.GitLab.URL
	}
	if own == "" {
		return ""
	}
	return NormalizeURL(own)
}

func hasRule(fs []Finding, rule string) bool {
	for i := range fs {
		if fs[i].Rule == rule {
			return true
		}
	}
	return false
}

// findingCounts has an entry for every finding severity.
func findingCounts() map[Severity]int {
	m := make(map[Severity]int, int(SeverityCritical))
	for s := SeverityInfo; s <= SeverityCritical; s++ {
		m[s] = 0
	}
	return m
}

func countFinding(m map[Severity]int, f *Finding) {
	if !f.Suppressed {
		m[f.Severity]++
	}
}
