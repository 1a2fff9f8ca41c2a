package audit

import (
	"fmt"
	"reflect"
)

// threshold is one numeric setting of the policy.
type threshold struct {
	// key is the setting's name in the configuration file: the field's
	// mapstructure tag, read by keyed so that it cannot differ from what
	// the file decodes into.
	key   string
	field func(*Policy) *int
	def   int
	// min is the smallest value allowed.
	min int
	// atLeast is the key of another threshold this one may not be below;
	// "" for none.
	atLeast string
	unit    string // of the value: "days" or "projects"
	// meaning says what the value is, naming the rules that read it.
	meaning string
}

// thresholds describes every threshold of the policy, in the order of
// Policy's fields. It is their one description: DefaultPolicy takes the
// defaults from it, Validate what is allowed and docs/rules.md the table
// of settings, so adding a threshold is a Policy field and a row here.
var thresholds = keyed([]threshold{
	// 365 days is GitLab's own maximum lifetime for personal, project and
	// group access tokens (https://docs.gitlab.com/user/profile/personal_access_tokens/).
	{field: func(p *Policy) *int { return &p.MaxLifetimeDays }, def: 365, min: 1, unit: "days",
		meaning: "longest token lifetime, expiry date minus creation date (TA-002); bar for the instance's maximum (TA-071)"},
	{field: func(p *Policy) *int { return &p.ExpiringUrgentDays }, def: 7, min: 1, unit: "days",
		meaning: "expires within this many days (TA-003)"},
	{field: func(p *Policy) *int { return &p.ExpiringSoonDays }, def: 30, min: 1, atLeast: "expiring_urgent_days", unit: "days",
		meaning: "expires within this many days, but not within expiring_urgent_days (TA-004)"},
	// The token guide says to avoid group tokens for groups of more than
	// 10-20 projects.
	{field: func(p *Policy) *int { return &p.LargeGroupProjects }, def: 20, min: 1, unit: "projects",
		meaning: "a group access token's group with more projects, subgroups included, is large (TA-022)"},
	{field: func(p *Policy) *int { return &p.PersonReachProjects }, def: 50, min: 1, unit: "projects",
		meaning: "a person's token whose account is a member of more projects reaches many, where the number is known (TA-024)"},
	{field: func(p *Policy) *int { return &p.StaleDays }, def: 90, min: 1, unit: "days",
		meaning: "not used for more days (TA-030)"},
	{field: func(p *Policy) *int { return &p.NeverUsedDays }, def: 30, min: 1, unit: "days",
		meaning: "never used and created more days ago (TA-031)"},
	{field: func(p *Policy) *int { return &p.RotationDays }, def: 365, min: 1, unit: "days",
		meaning: "created more days ago: due for rotation (TA-050)"},
	{field: func(p *Policy) *int { return &p.TriggerUnusedDays }, def: 90, min: 1, unit: "days",
		meaning: "pipeline trigger last used (or, if never used, created) more days ago (TA-063)"},
})

// keyed fills in each threshold's key from the mapstructure tag of the
// field it points at. A row that points at no tagged int field of Policy,
// or names an unknown atLeast, is a programming error and panics when the
// package loads.
func keyed(ts []threshold) []threshold {
	var p Policy
	v := reflect.ValueOf(&p).Elem()
	for i := range ts {
		ptr := ts[i].field(&p)
		for j := range v.NumField() {
			if f := v.Field(j); f.Kind() == reflect.Int && f.Addr().Interface() == any(ptr) {
				ts[i].key = v.Type().Field(j).Tag.Get("mapstructure")
			}
		}
		if ts[i].key == "" {
			panic(fmt.Sprintf("audit: threshold %d points at no tagged int field of Policy", i))
		}
	}
	for _, t := range ts {
		if t.atLeast != "" && thresholdIndex(ts, t.atLeast) < 0 {
			panic(fmt.Sprintf("audit: threshold %s: atLeast names no threshold %q", t.key, t.atLeast))
		}
	}
	return ts
}

func thresholdIndex(ts []threshold, key string) int {
	for i, t := range ts {
		if t.key == key {
			return i
		}
	}
	return -1
}

// allowed says what values the threshold takes, for Validate's messages
// and the documentation.
func (t threshold) allowed() string {
	s := fmt.Sprintf("a whole number above %d", t.min-1)
	if t.atLeast != "" {
		s += ", at least " + t.atLeast
	}
	return s
}

// thresholdProblems lists every threshold out of its range, naming it.
// atLeast is judged only when both values are themselves allowed, so one
// mistake gives one message.
func (p Policy) thresholdProblems() []error {
	var errs []error
	for _, t := range thresholds {
		v := *t.field(&p)
		if v < t.min {
			errs = append(errs, fmt.Errorf("policy %s: %d is not allowed (want %s)", t.key, v, t.allowed()))
			continue
		}
		if t.atLeast == "" {
			continue
		}
		other := thresholds[thresholdIndex(thresholds, t.atLeast)]
		if o := *other.field(&p); o >= other.min && v < o {
			errs = append(errs, fmt.Errorf("policy %s: %d is below %s %d (want at least that)", t.key, v, other.key, o))
		}
	}
	return errs
}
