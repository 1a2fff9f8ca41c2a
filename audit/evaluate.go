package audit

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// compiled is a rule as the policy sets it: enabled, with its severity.
type compiled struct {
	rule     *Rule
	severity Severity
}

// evaluator holds what Evaluate prepares once for all tokens.
type evaluator struct {
	ctx Context
	// active[k] and inactive[k] are the enabled token rules for kind k, by
	// the state of the token they judge, in catalogue order.
	active     map[inventory.Kind][]compiled
	inactive   map[inventory.Kind][]compiled
	instance   []compiled
	project    []compiled
	exceptions []Exception // in force at the audit's time

	// Scratch space reused from token to token, and arenas the kept
	// findings and unknown rule IDs are copied into in blocks: a few
	// allocations per thousand tokens rather than several per token.
	scratch        []Finding
	scratchUnknown []string
	scratchPassed  []string
	findingArena   []Finding
	unknownArena   []string
	passedArena    []string
}

// keep copies fs into the evaluator's arena and returns the copy, capped so
// that appending to it never writes into a neighbour's findings.
func keep[T any](arena *[]T, fs []T) []T {
	if len(fs) == 0 {
		return nil
	}
	if cap(*arena)-len(*arena) < len(fs) {
		*arena = make([]T, 0, max(4096, len(fs)))
	}
	start := len(*arena)
	*arena = append(*arena, fs...)
	return (*arena)[start:len(*arena):len(*arena)]
}

// Evaluate judges every token and resource of the inventory against the
// rule catalogue under the policy, at the instant now. It is pure and
// deterministic: the same inputs give the same Result. It fails only when
// the policy does not validate or there is no inventory.
func Evaluate(inv *inventory.Inventory, p Policy, now time.Time) (*Result, error) {
	if inv == nil {
		return nil, errors.New("evaluate: no inventory")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("evaluate: invalid policy: %w", err)
	}
	ev, expired := newEvaluator(p, now)

	res := &Result{
		Inventory:         inv,
		Now:               now,
		Tokens:            make([]TokenResult, len(inv.Tokens)),
		ExpiredExceptions: expired,
	}
	// Judge in input order, then sort small keys rather than the results
	// themselves (a TokenResult is large to move around).
	keys := make([]sortKey, len(inv.Tokens))
	for i := range inv.Tokens {
		res.Tokens[i] = ev.token(&inv.Tokens[i])
		keys[i] = keyOf(&res.Tokens[i], i)
	}
	slices.SortFunc(keys, compareKeys)
	perm := make([]int, len(keys))
	for i, k := range keys {
		perm[i] = k.index
	}
	permute(res.Tokens, perm)

	if inv.Settings != nil {
		for _, r := range ev.instance {
			if f, ok := ev.resource(r, "instance", func() (Outcome, string) { return r.rule.Instance(inv.Settings, &ev.ctx) }); ok {
				res.Findings = append(res.Findings, f)
			}
		}
	}
	for i := range inv.Projects {
		pr := &inv.Projects[i]
		name := ResourceName(pr.Resource)
		if pr.Resource.Type == "" {
			name = fmt.Sprintf("project %d", pr.Resource.ID)
		}
		for _, r := range ev.project {
			if f, ok := ev.resource(r, name, func() (Outcome, string) { return r.rule.Project(pr, &ev.ctx) }); ok {
				res.Findings = append(res.Findings, f)
			}
		}
	}
	slices.SortStableFunc(res.Findings, func(a, b ResourceFinding) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Resource, b.Resource),
		)
	})
	res.Summary = summarize(res)
	return res, nil
}

// permute reorders s in place so that position i holds what was at
// perm[i], following each cycle of the permutation once. It consumes perm.
func permute[T any](s []T, perm []int) {
	for i := range perm {
		if perm[i] < 0 {
			continue
		}
		held := s[i]
		j := i
		for {
			k := perm[j]
			perm[j] = -1
			if k == i {
				s[j] = held
				break
			}
			s[j] = s[k]
			j = k
		}
	}
}

// newEvaluator resolves the policy into enabled rules, severities and the
// exceptions in force, and returns the exceptions whose date has passed.
func newEvaluator(p Policy, now time.Time) (*evaluator, []ExpiredException) {
	ev := &evaluator{
		ctx:      Context{Now: now, Policy: p, disabled: map[string]bool{}},
		active:   map[inventory.Kind][]compiled{},
		inactive: map[inventory.Kind][]compiled{},
	}
	settings := make(map[string]RuleSetting, len(p.Rules))
	for id, s := range p.Rules {
		settings[strings.ToUpper(id)] = s
		if s.Disabled {
			ev.ctx.disabled[strings.ToUpper(id)] = true
		}
	}
	for i := range Rules {
		r := &Rules[i]
		s := settings[r.ID]
		if s.Disabled {
			continue
		}
		c := compiled{rule: r, severity: r.Severity}
		if s.Severity != "" {
			c.severity, _ = ParseSeverity(s.Severity) // validated
		}
		switch r.Target {
		case TargetToken:
			byKind := ev.active
			if r.Inactive {
				byKind = ev.inactive
			}
			for _, k := range r.Kinds {
				byKind[k] = append(byKind[k], c)
			}
		case TargetInstance:
			ev.instance = append(ev.instance, c)
		case TargetProject:
			ev.project = append(ev.project, c)
		}
	}
	var expired []ExpiredException
	for _, e := range p.Exceptions {
		at := e.expiresAt()
		if now.Before(at) {
			ev.exceptions = append(ev.exceptions, e)
			continue
		}
		expired = append(expired, ExpiredException{
			Rule:    e.Rule,
			Token:   e.describe(),
			Reason:  e.Reason,
			Expired: at,
		})
	}
	return ev, expired
}

// isActive reports whether the token works at now: not revoked, reported
// active, and not past its expiry instant.
func isActive(t *inventory.Token, now time.Time) bool {
	return t.Active && !t.Revoked && (t.Expires.Never() || now.Before(t.Expires.At))
}

// token judges one token.
func (ev *evaluator) token(t *inventory.Token) TokenResult {
	active := isActive(t, ev.ctx.Now)
	rules := ev.active[t.Kind]
	if !active {
		rules = ev.inactive[t.Kind]
	}
	tr := TokenResult{Token: *t, Active: active}
	tr.Findings, tr.Unknown, tr.Passed = ev.scratch[:0], ev.scratchUnknown[:0], ev.scratchPassed[:0]
	for _, c := range rules {
		outcome, detail := c.rule.Token(t, &ev.ctx)
		switch outcome {
		case OutcomeFail:
			f := newFinding(c, detail)
			for _, e := range ev.exceptions {
				if e.matchesRule(c.rule.ID) && e.matchesToken(t) {
					f.Suppressed = true
					f.SuppressionReason = e.Reason
					break
				}
			}
			tr.Findings = append(tr.Findings, f)
			if !f.Suppressed && f.Severity > tr.Severity {
				tr.Severity = f.Severity
			}
		case OutcomeUnknown:
			tr.Unknown = append(tr.Unknown, c.rule.ID)
		case OutcomePass:
			tr.Passed = append(tr.Passed, c.rule.ID)
		}
	}
	slices.SortStableFunc(tr.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Rule, b.Rule))
	})
	tr.RiskScore = Score(t, tr.Findings, active)
	ev.scratch, ev.scratchUnknown, ev.scratchPassed = tr.Findings, tr.Unknown, tr.Passed
	tr.Findings = keep(&ev.findingArena, tr.Findings)
	tr.Unknown = keep(&ev.unknownArena, tr.Unknown)
	tr.Passed = keep(&ev.passedArena, tr.Passed)
	return tr
}

// resource judges one instance or project rule, applying exceptions.
func (ev *evaluator) resource(c compiled, name string, check func() (Outcome, string)) (ResourceFinding, bool) {
	outcome, detail := check()
	if outcome != OutcomeFail {
		return ResourceFinding{}, false
	}
	f := ResourceFinding{Finding: newFinding(c, detail), Resource: name}
	for _, e := range ev.exceptions {
		if e.matchesRule(c.rule.ID) && e.matchesResource(name) {
			f.Suppressed = true
			f.SuppressionReason = e.Reason
			break
		}
	}
	return f, true
}

func newFinding(c compiled, detail string) Finding {
	return Finding{
		Rule:        c.rule.ID,
		Severity:    c.severity,
		Title:       c.rule.Title,
		Detail:      detail,
		Remediation: c.rule.Remediation,
	}
}

// kindOrder ranks kinds in inventory.Kinds order.
var kindOrder = func() map[inventory.Kind]int {
	m := make(map[inventory.Kind]int, len(inventory.Kinds))
	for i, k := range inventory.Kinds {
		m[k] = i
	}
	return m
}()

// sortKey holds what orders a token result.
type sortKey struct {
	severity Severity
	score    int
	kindRank int
	kind     inventory.Kind
	id       int64
	index    int
}

func keyOf(tr *TokenResult, index int) sortKey {
	rank, ok := kindOrder[tr.Token.Kind]
	if !ok {
		rank = len(kindOrder) // unknown kinds last
	}
	return sortKey{tr.Severity, tr.RiskScore, rank, tr.Token.Kind, tr.Token.ID, index}
}

// compareKeys puts the worst token first: severity, risk score, kind (in
// inventory.Kinds order; unknown kinds last, by name), then id.
func compareKeys(a, b sortKey) int {
	return cmp.Or(
		cmp.Compare(b.severity, a.severity),
		cmp.Compare(b.score, a.score),
		cmp.Compare(a.kindRank, b.kindRank),
		cmp.Compare(a.kind, b.kind),
		cmp.Compare(a.id, b.id),
		cmp.Compare(a.index, b.index), // duplicates keep their input order
	)
}

// compareTokenResults orders two results as Result.Tokens is ordered.
func compareTokenResults(a, b TokenResult) int {
	return compareKeys(keyOf(&a, 0), keyOf(&b, 0))
}

// summarize counts the result. Every severity and every known kind has an
// entry, zero included, so reports show stable columns.
func summarize(res *Result) Summary {
	s := Summary{
		Tokens:     len(res.Tokens),
		BySeverity: map[Severity]int{},
		ByKind:     map[inventory.Kind]int{},
		Findings:   map[Severity]int{},
		Gaps:       len(res.Inventory.Gaps),
		Complete:   res.Inventory.Complete(),
	}
	for sev := SeverityNone; sev <= SeverityCritical; sev++ {
		s.BySeverity[sev] = 0
		if sev != SeverityNone {
			s.Findings[sev] = 0
		}
	}
	for _, k := range inventory.Kinds {
		s.ByKind[k] = 0
	}
	count := func(f Finding) {
		if f.Suppressed {
			s.Suppressed++
		} else {
			s.Findings[f.Severity]++
		}
	}
	var bySeverity [SeverityCritical + 1]int
	for i := range res.Tokens {
		t := &res.Tokens[i]
		if t.Severity >= 0 && t.Severity <= SeverityCritical {
			bySeverity[t.Severity]++
		} else {
			s.BySeverity[t.Severity]++
		}
		s.ByKind[t.Token.Kind]++
		for _, f := range t.Findings {
			count(f)
		}
	}
	for sev, n := range bySeverity {
		s.BySeverity[Severity(sev)] += n
	}
	for _, f := range res.Findings {
		count(f.Finding)
	}
	for _, g := range res.Inventory.Gaps {
		switch g.Kind {
		case inventory.GapError:
			s.GapErrors++
		case inventory.GapUnavailable:
			s.GapUnavailable++
		}
	}
	return s
}
