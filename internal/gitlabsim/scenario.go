package gitlabsim

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// A scenario file declares a GitLab instance by hand, in YAML. Every key is
// optional unless marked; an unknown key is an error. Users, groups,
// projects and tokens refer to each other by username and full path (a
// user also by its numeric ID). IDs not given are assigned in file order,
// after the highest ID so far and skipping IDs given explicitly.
//
//	now: 2026-11-27T12:00:00Z        # default GeneratorNow
//	version: 18.5.1-ee               # default GeneratorVersion; -ce for Community Edition (versions.go)
//	revision: 6a6b2f7f3c1
//	gitlab_com: false
//	credentials_inventory_off: false # GitLab.com: the flag of /groups/:id/manage off
//	granular_pats_flag: false        # granular tokens served as active
//	last_used_ips: populated         # absent | empty | populated
//	settings:                        # GitLab's setting names; defaults as Generate
//	  require_personal_access_token_expiry: false
//	  max_personal_access_token_lifetime: null
//	  service_access_tokens_expiration_enforced: false
//	  personal_access_token_prefix: glpat-
//	  throttle_authenticated_api_enabled: false
//	  throttle_authenticated_api_requests_per_period: 7200
//	  throttle_authenticated_api_period_in_seconds: 3600
//	  admin_mode: false              # on: admin tokens need the admin_mode scope
//	users:
//	  - username: root               # required, except for bots and service accounts
//	    id: 1
//	    name: Administrator
//	    email: admin@example.com     # default <username>@example.com (bots: @noreply.<GeneratorHost>)
//	    state: active                # active, blocked, deactivated, banned, ldap_blocked, blocked_pending_approval
//	    admin: true
//	    type: human                  # human, project_bot, service_account
//	    bot_source_type: project     # project_bot: project or group
//	    bot_source: acme/api         # its full path, or a numeric ID (which may name a deleted project)
//	    access_level: 40             # project_bot: its membership in its source
//	    service_account_group: acme  # group service account: its top-level group
//	    created_at: 2024-01-01T00:00:00Z
//	    last_activity_on: 2026-11-20
//	groups:
//	  - path: acme/platform          # required: the full path, or the last segment with parent
//	    parent: acme
//	    name: Platform
//	    visibility: private
//	    members: [{user: alice, access_level: 50}]
//	    access_requests: [{user: carol, requested_at: 2026-11-20T10:00:00Z}]
//	    plan: ultimate               # top-level, GitLab.com: free, premium, ultimate (default)
//	    require_dpop_for_manage_api_endpoints: false
//	projects:
//	  - path: api                    # required: last segment with group or user, or the full path
//	    group: acme/platform
//	    user: alice                  # a project in a user namespace
//	    archived: false
//	    members: [{user: bob, access_level: 30}]
//	    access_requests: [{user: carol}]   # requested_at default 7 days before now
//	    job_token_scope: {inbound_enabled: true, allowlist_projects: [acme/web], allowlist_groups: [acme]}
//	tokens:                          # personal, impersonation, service-account and bot tokens
//	  - user: alice                  # required
//	    name: ci                     # required
//	    scopes: [read_api]
//	    created_at: 2026-10-01T09:00:00Z   # default 30 days before now
//	    expires_at: 2027-03-01       # a date, or null (the default): never expires
//	    last_used_at: null
//	    last_used_ips: [10.0.0.1]
//	    revoked: false
//	    impersonation: false
//	    granular: false              # a fine-grained token
//	    value: glpat-...             # default: generated, deterministic
//	    plant: healthy
//	deploy_tokens:
//	  - project: acme/api            # exactly one of project and group
//	    name: k8s
//	    username: gitlab+deploy-token-1    # default gitlab+deploy-token-<id>
//	    scopes: [read_registry]
//	    expires_at: 2027-01-01T00:00:00Z   # or null
//	triggers:
//	  - project: acme/api            # required
//	    owner: alice                 # omitted or null: the owner was deleted (owner 0)
//	    description: deploy
//	    created_at, updated_at, last_used, expires_at
//
// What the version and edition cannot hold is left out, as GitLab would
// have it (fitVersion): service accounts on CE, and before 17.9 the
// inactive project and group access tokens with their bots.
type scenarioFile struct {
	Now          *time.Time        `yaml:"now"`
	Version      string            `yaml:"version"`
	Revision     string            `yaml:"revision"`
	GitLabCom    bool              `yaml:"gitlab_com"`
	CredInvOff   bool              `yaml:"credentials_inventory_off"`
	GranularFlag bool              `yaml:"granular_pats_flag"`
	LastUsedIPs  string            `yaml:"last_used_ips"`
	Settings     scenarioSettings  `yaml:"settings"`
	Users        []scenarioUser    `yaml:"users"`
	Groups       []scenarioGroup   `yaml:"groups"`
	Projects     []scenarioProject `yaml:"projects"`
	Tokens       []scenarioToken   `yaml:"tokens"`
	DeployTokens []scenarioDeploy  `yaml:"deploy_tokens"`
	Triggers     []scenarioTrigger `yaml:"triggers"`
	lines        map[string][]int  // section -> line of each item
}

type scenarioSettings struct {
	RequireExpiry         *bool   `yaml:"require_personal_access_token_expiry"`
	MaxLifetime           *int    `yaml:"max_personal_access_token_lifetime"`
	ServiceExpiryEnforced *bool   `yaml:"service_access_tokens_expiration_enforced"`
	Prefix                *string `yaml:"personal_access_token_prefix"`
	ThrottleEnabled       *bool   `yaml:"throttle_authenticated_api_enabled"`
	ThrottleRequests      *int    `yaml:"throttle_authenticated_api_requests_per_period"`
	ThrottlePeriodSeconds *int    `yaml:"throttle_authenticated_api_period_in_seconds"`
	AdminMode             *bool   `yaml:"admin_mode"`
}

type scenarioRequest struct {
	User        string     `yaml:"user"`
	RequestedAt *time.Time `yaml:"requested_at"`
}

type scenarioMember struct {
	User        string `yaml:"user"`
	AccessLevel int    `yaml:"access_level"`
}

type scenarioUser struct {
	ID                  int64      `yaml:"id"`
	Username            string     `yaml:"username"`
	Name                string     `yaml:"name"`
	Email               string     `yaml:"email"`
	State               string     `yaml:"state"`
	Admin               bool       `yaml:"admin"`
	Type                string     `yaml:"type"`
	BotSourceType       string     `yaml:"bot_source_type"`
	BotSource           string     `yaml:"bot_source"`
	AccessLevel         int        `yaml:"access_level"`
	ServiceAccountGroup string     `yaml:"service_account_group"`
	CreatedAt           *time.Time `yaml:"created_at"`
	LastActivityOn      *time.Time `yaml:"last_activity_on"`
}

type scenarioGroup struct {
	Plan       string            `yaml:"plan"`
	DPoP       bool              `yaml:"require_dpop_for_manage_api_endpoints"`
	ID         int64             `yaml:"id"`
	Path       string            `yaml:"path"`
	Parent     string            `yaml:"parent"`
	Name       string            `yaml:"name"`
	Visibility string            `yaml:"visibility"`
	CreatedAt  *time.Time        `yaml:"created_at"`
	Members    []scenarioMember  `yaml:"members"`
	Requests   []scenarioRequest `yaml:"access_requests"`
}

type scenarioJobTokenScope struct {
	InboundEnabled    *bool    `yaml:"inbound_enabled"`
	AllowlistProjects []string `yaml:"allowlist_projects"`
	AllowlistGroups   []string `yaml:"allowlist_groups"`
}

type scenarioProject struct {
	ID             int64                 `yaml:"id"`
	Path           string                `yaml:"path"`
	Group          string                `yaml:"group"`
	User           string                `yaml:"user"`
	Name           string                `yaml:"name"`
	Archived       bool                  `yaml:"archived"`
	Visibility     string                `yaml:"visibility"`
	CreatedAt      *time.Time            `yaml:"created_at"`
	LastActivityAt *time.Time            `yaml:"last_activity_at"`
	Members        []scenarioMember      `yaml:"members"`
	Requests       []scenarioRequest     `yaml:"access_requests"`
	JobTokenScope  scenarioJobTokenScope `yaml:"job_token_scope"`
}

type scenarioToken struct {
	ID            int64      `yaml:"id"`
	User          string     `yaml:"user"`
	Name          string     `yaml:"name"`
	Description   string     `yaml:"description"`
	Scopes        []string   `yaml:"scopes"`
	CreatedAt     *time.Time `yaml:"created_at"`
	ExpiresAt     *time.Time `yaml:"expires_at"`
	LastUsedAt    *time.Time `yaml:"last_used_at"`
	LastUsedIPs   []string   `yaml:"last_used_ips"`
	Revoked       bool       `yaml:"revoked"`
	Impersonation bool       `yaml:"impersonation"`
	Granular      bool       `yaml:"granular"`
	Value         string     `yaml:"value"`
	Plant         string     `yaml:"plant"`
}

type scenarioDeploy struct {
	ID        int64      `yaml:"id"`
	Name      string     `yaml:"name"`
	Username  string     `yaml:"username"`
	Project   string     `yaml:"project"`
	Group     string     `yaml:"group"`
	ExpiresAt *time.Time `yaml:"expires_at"`
	Revoked   bool       `yaml:"revoked"`
	Scopes    []string   `yaml:"scopes"`
	Value     string     `yaml:"value"`
	Plant     string     `yaml:"plant"`
}

type scenarioTrigger struct {
	ID          int64      `yaml:"id"`
	Project     string     `yaml:"project"`
	Owner       string     `yaml:"owner"`
	Description string     `yaml:"description"`
	CreatedAt   *time.Time `yaml:"created_at"`
	UpdatedAt   *time.Time `yaml:"updated_at"`
	LastUsed    *time.Time `yaml:"last_used"`
	ExpiresAt   *time.Time `yaml:"expires_at"`
	Value       string     `yaml:"value"`
	Plant       string     `yaml:"plant"`
}

// LoadScenario reads a scenario file (see ParseScenario).
func LoadScenario(path string) (*World, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	w, err := ParseScenario(data)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	return w, nil
}

// ParseScenario builds the World a scenario file declares (its format is
// documented on scenarioFile in scenario.go). Decoding is strict: an
// unknown key is an error naming the key and its line; a reference to an
// unknown user, group or project is an error naming the item and its line.
// Token values not given are generated, the same on every load.
func ParseScenario(data []byte) (*World, error) {
	var f scenarioFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode scenario: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("decode scenario: %w", err)
	}
	f.lines = itemLines(&root)
	b := &scenarioBuilder{
		f:        &f,
		users:    make(map[string]*User),
		userByID: make(map[int64]*User),
		groups:   make(map[string]*Group),
		projects: make(map[string]*Project),
		values:   make(map[string]string),
		// Generated values derive from the file's text: the same file
		// always gives the same values, another file others.
		rng: rand.New(rand.NewPCG(0x7363656e6172696f, fnvHash(data))), // "scenario"
	}
	return b.build()
}

func fnvHash(data []byte) uint64 {
	h := fnv.New64a()
	h.Write(data)
	return h.Sum64()
}

// itemLines maps each top-level section to the line of each of its items.
func itemLines(root *yaml.Node) map[string][]int {
	lines := make(map[string][]int)
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return lines
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if seq := m.Content[i+1]; seq.Kind == yaml.SequenceNode {
			for _, item := range seq.Content {
				lines[m.Content[i].Value] = append(lines[m.Content[i].Value], item.Line)
			}
		}
	}
	return lines
}

type scenarioBuilder struct {
	f        *scenarioFile
	w        *World
	users    map[string]*User // by username
	userByID map[int64]*User
	groups   map[string]*Group // by full path
	groupIDs map[int64]string  // full path by ID
	projects map[string]*Project
	values   map[string]string // value -> the item holding it
	rng      *rand.Rand
}

// itemError names an item of a section by its line and label.
func (b *scenarioBuilder) itemError(section string, i int, label string, format string, args ...any) error {
	line := 0
	if ls := b.f.lines[section]; i < len(ls) {
		line = ls[i]
	}
	return fmt.Errorf("line %d: %s %s: %s", line, strings.TrimSuffix(section, "s"), label, fmt.Sprintf(format, args...))
}

// idAssigner hands out IDs in file order: explicit ones as given (unique,
// positive), missing ones after the highest so far, skipping explicit ones.
type idAssigner struct {
	taken map[int64]bool
	last  int64
}

func newIDAssigner(explicit []int64) (*idAssigner, int, error) {
	a := &idAssigner{taken: make(map[int64]bool)}
	for i, id := range explicit {
		switch {
		case id < 0:
			return nil, i, fmt.Errorf("id %d is not positive", id)
		case id == 0:
		case a.taken[id]:
			return nil, i, fmt.Errorf("id %d is used twice", id)
		default:
			a.taken[id] = true
		}
	}
	return a, 0, nil
}

func (a *idAssigner) next(explicit int64) int64 {
	if explicit != 0 {
		a.last = max(a.last, explicit)
		return explicit
	}
	for a.last++; a.taken[a.last]; a.last++ {
	}
	return a.last
}

func (b *scenarioBuilder) build() (*World, error) {
	f := b.f
	now, err := time.Parse(time.RFC3339, GeneratorNow)
	if err != nil {
		return nil, fmt.Errorf("parse generator time: %w", err)
	}
	if f.Now != nil {
		now = f.Now.UTC()
	}
	b.w = &World{
		Now: now, Version: f.Version, Revision: f.Revision, GitLabCom: f.GitLabCom,
		CredentialsInventoryOff: f.CredInvOff, GranularPATsFlag: f.GranularFlag,
		LastUsedIPs: f.LastUsedIPs, Settings: defaultSettings(),
	}
	if b.w.Version == "" {
		b.w.Version, b.w.Revision = GeneratorVersion, cmpOr(b.w.Revision, GeneratorRevision)
	}
	if _, err := parseGitLabVersion(b.w.Version, b.w.GitLabCom); err != nil {
		return nil, err
	}
	switch f.LastUsedIPs {
	case "", "absent", "empty", "populated":
	default:
		return nil, fmt.Errorf("last_used_ips %q: want absent, empty or populated", f.LastUsedIPs)
	}
	s := &b.w.Settings
	setIf(&s.RequirePersonalAccessTokenExpiry, f.Settings.RequireExpiry)
	s.MaxPersonalAccessTokenLifetime = f.Settings.MaxLifetime
	setIf(&s.ServiceAccessTokensExpirationEnforced, f.Settings.ServiceExpiryEnforced)
	setIf(&s.PersonalAccessTokenPrefix, f.Settings.Prefix)
	setIf(&s.ThrottleAuthenticatedAPIEnabled, f.Settings.ThrottleEnabled)
	setIf(&s.ThrottleAuthenticatedAPIRequests, f.Settings.ThrottleRequests)
	setIf(&s.ThrottleAuthenticatedAPIPeriodSeconds, f.Settings.ThrottlePeriodSeconds)
	setIf(&s.AdminMode, f.Settings.AdminMode)

	for _, step := range []func() error{b.buildUsers, b.buildGroups, b.buildProjects, b.buildBots, b.buildTokens, b.buildDeployTokens, b.buildTriggers} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	fitVersion(b.w)
	sortWorld(b.w)
	return b.w, nil
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func ids[T any](items []T, id func(T) int64) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

var userStates = []string{"active", "blocked", "deactivated", "banned", "ldap_blocked", "blocked_pending_approval"}

func (b *scenarioBuilder) buildUsers() error {
	f := b.f
	a, bad, err := newIDAssigner(ids(f.Users, func(u scenarioUser) int64 { return u.ID }))
	if err != nil {
		return b.itemError("users", bad, fmt.Sprintf("%q", f.Users[bad].Username), "%v", err)
	}
	for i, su := range f.Users {
		u := &User{
			ID: a.next(su.ID), Username: su.Username, Name: su.Name, Email: su.Email,
			State: cmpOr(su.State, "active"), Admin: su.Admin, UserType: cmpOr(su.Type, UserTypeHuman),
			BotSourceType: su.BotSourceType, LastActivityOn: su.LastActivityOn,
		}
		label := fmt.Sprintf("%q", su.Username)
		if su.Username == "" {
			label = fmt.Sprintf("#%d", u.ID)
		}
		if !slices.Contains(userStates, u.State) {
			return b.itemError("users", i, label, "unknown state %q (want one of %s)", u.State, strings.Join(userStates, ", "))
		}
		switch u.UserType {
		case UserTypeHuman:
			if su.Username == "" {
				return b.itemError("users", i, label, "username is required")
			}
			if su.BotSourceType != "" || su.BotSource != "" || su.AccessLevel != 0 || su.ServiceAccountGroup != "" {
				return b.itemError("users", i, label, "bot_source, access_level and service_account_group are for bots and service accounts")
			}
		case UserTypeProjectBot:
			if su.BotSourceType != "project" && su.BotSourceType != "group" {
				return b.itemError("users", i, label, "bot_source_type %q: want project or group", su.BotSourceType)
			}
			if su.BotSource == "" {
				return b.itemError("users", i, label, "bot_source is required for a project_bot")
			}
		case UserTypeServiceAccount:
		default:
			return b.itemError("users", i, label, "unknown type %q (want human, project_bot or service_account)", u.UserType)
		}
		if su.CreatedAt != nil {
			u.CreatedAt = su.CreatedAt.UTC()
		} else {
			u.CreatedAt = b.w.Now.AddDate(-1, 0, 0)
		}
		if u.LastActivityOn != nil {
			d := u.LastActivityOn.UTC().Truncate(24 * time.Hour)
			u.LastActivityOn = &d
		}
		if u.Username != "" {
			if _, dup := b.users[u.Username]; dup {
				return b.itemError("users", i, label, "username is used twice")
			}
			b.users[u.Username] = u
		}
		b.userByID[u.ID] = u
		b.w.Users = append(b.w.Users, u)
	}
	return nil
}

// userRef resolves a reference to a user: a username, or a numeric ID.
func (b *scenarioBuilder) userRef(ref string) *User {
	if u, ok := b.users[ref]; ok {
		return u
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return b.userByID[id]
	}
	return nil
}

var accessLevelSet = map[int]bool{10: true, 15: true, 20: true, 30: true, 40: true, 50: true}

func (b *scenarioBuilder) members(section string, i int, label string, in []scenarioMember) ([]Membership, error) {
	var out []Membership
	for _, m := range in {
		u := b.userRef(m.User)
		if u == nil {
			return nil, b.itemError(section, i, label, "member: unknown user %q", m.User)
		}
		if !accessLevelSet[m.AccessLevel] {
			return nil, b.itemError(section, i, label, "member %q: access_level %d (want 10, 15, 20, 30, 40 or 50)", m.User, m.AccessLevel)
		}
		for _, o := range out {
			if o.UserID == u.ID {
				return nil, b.itemError(section, i, label, "member %q is listed twice", m.User)
			}
		}
		out = append(out, Membership{UserID: u.ID, AccessLevel: m.AccessLevel})
	}
	return out, nil
}

// requests resolves access requests; a member cannot also request access.
func (b *scenarioBuilder) requests(section string, i int, label string, in []scenarioRequest, members []Membership) ([]AccessRequest, error) {
	var out []AccessRequest
	for _, r := range in {
		u := b.userRef(r.User)
		if u == nil {
			return nil, b.itemError(section, i, label, "access request: unknown user %q", r.User)
		}
		for _, m := range members {
			if m.UserID == u.ID {
				return nil, b.itemError(section, i, label, "access request of %q, a member already", r.User)
			}
		}
		at := b.w.Now.AddDate(0, 0, -7)
		if r.RequestedAt != nil {
			at = r.RequestedAt.UTC()
		}
		out = append(out, AccessRequest{UserID: u.ID, RequestedAt: at})
	}
	return out, nil
}

func (b *scenarioBuilder) buildGroups() error {
	f := b.f
	a, bad, err := newIDAssigner(ids(f.Groups, func(g scenarioGroup) int64 { return g.ID }))
	if err != nil {
		return b.itemError("groups", bad, fmt.Sprintf("%q", f.Groups[bad].Path), "%v", err)
	}
	full := make([]string, len(f.Groups))
	for i, sg := range f.Groups {
		if sg.Path == "" {
			return b.itemError("groups", i, "#"+strconv.Itoa(i+1), "path is required")
		}
		full[i] = strings.Trim(sg.Path, "/")
		if sg.Parent != "" {
			if strings.Contains(full[i], "/") {
				return b.itemError("groups", i, fmt.Sprintf("%q", sg.Path), "give either a full path or parent with the last path segment")
			}
			full[i] = strings.Trim(sg.Parent, "/") + "/" + full[i]
		}
	}
	b.groupIDs = make(map[int64]string)
	for i, sg := range f.Groups {
		label := fmt.Sprintf("%q", full[i])
		gr := &Group{
			ID: a.next(sg.ID), Path: full[i][strings.LastIndex(full[i], "/")+1:],
			Name: sg.Name, Visibility: cmpOr(sg.Visibility, "private"),
			Plan: sg.Plan, RequireDPoPForManageAPI: sg.DPoP,
		}
		switch sg.Plan {
		case "", "free", "premium", "ultimate":
		default:
			return b.itemError("groups", i, label, "plan %q: want free, premium or ultimate", sg.Plan)
		}
		if sg.Plan != "" && strings.Contains(full[i], "/") {
			return b.itemError("groups", i, label, "plan is for top-level groups")
		}
		gr.Name = cmpOr(gr.Name, gr.Path)
		if _, dup := b.groups[full[i]]; dup {
			return b.itemError("groups", i, label, "full path is used twice")
		}
		if sg.CreatedAt != nil {
			gr.CreatedAt = sg.CreatedAt.UTC()
		} else {
			gr.CreatedAt = b.w.Now.AddDate(-1, 0, 0)
		}
		if gr.Members, err = b.members("groups", i, label, sg.Members); err != nil {
			return err
		}
		if gr.AccessRequests, err = b.requests("groups", i, label, sg.Requests, gr.Members); err != nil {
			return err
		}
		b.groups[full[i]] = gr
		b.groupIDs[gr.ID] = full[i]
		b.w.Groups = append(b.w.Groups, gr)
	}
	// Parents may be declared after their subgroups.
	for i, gr := range b.w.Groups {
		if j := strings.LastIndex(full[i], "/"); j >= 0 {
			parent, ok := b.groups[full[i][:j]]
			if !ok {
				return b.itemError("groups", i, fmt.Sprintf("%q", full[i]), "unknown parent group %q", full[i][:j])
			}
			gr.ParentID = parent.ID
		}
	}
	return nil
}

func (b *scenarioBuilder) buildProjects() error {
	f := b.f
	a, bad, err := newIDAssigner(ids(f.Projects, func(p scenarioProject) int64 { return p.ID }))
	if err != nil {
		return b.itemError("projects", bad, fmt.Sprintf("%q", f.Projects[bad].Path), "%v", err)
	}
	for i, sp := range f.Projects {
		label := fmt.Sprintf("%q", sp.Path)
		path := strings.Trim(sp.Path, "/")
		if path == "" {
			return b.itemError("projects", i, "#"+strconv.Itoa(i+1), "path is required")
		}
		ns := ""
		if j := strings.LastIndex(path, "/"); j >= 0 {
			if sp.Group != "" || sp.User != "" {
				return b.itemError("projects", i, label, "give either a full path or group/user with the last path segment")
			}
			ns, path = path[:j], path[j+1:]
		}
		p := &Project{
			ID: a.next(sp.ID), Path: path, Name: cmpOr(sp.Name, path), Archived: sp.Archived,
			Visibility: cmpOr(sp.Visibility, "private"),
		}
		switch {
		case sp.Group != "" && sp.User != "":
			return b.itemError("projects", i, label, "give group or user, not both")
		case sp.Group != "":
			ns = strings.Trim(sp.Group, "/")
			gr, ok := b.groups[ns]
			if !ok {
				return b.itemError("projects", i, label, "unknown group %q", ns)
			}
			p.GroupID = gr.ID
		case sp.User != "":
			u := b.userRef(sp.User)
			if u == nil {
				return b.itemError("projects", i, label, "unknown user %q", sp.User)
			}
			p.UserID, ns = u.ID, u.Username
		case ns != "":
			if gr, ok := b.groups[ns]; ok {
				p.GroupID = gr.ID
			} else if u, ok := b.users[ns]; ok {
				p.UserID = u.ID
			} else {
				return b.itemError("projects", i, label, "unknown namespace %q (no such group or user)", ns)
			}
		default:
			return b.itemError("projects", i, label, "a project needs a group or a user namespace")
		}
		full := ns + "/" + path
		label = fmt.Sprintf("%q", full)
		if _, dup := b.projects[full]; dup {
			return b.itemError("projects", i, label, "full path is used twice")
		}
		if sp.CreatedAt != nil {
			p.CreatedAt = sp.CreatedAt.UTC()
		} else {
			p.CreatedAt = b.w.Now.AddDate(-1, 0, 0)
		}
		p.LastActivityAt = p.CreatedAt
		if sp.LastActivityAt != nil {
			p.LastActivityAt = sp.LastActivityAt.UTC()
		}
		if p.Members, err = b.members("projects", i, label, sp.Members); err != nil {
			return err
		}
		if p.AccessRequests, err = b.requests("projects", i, label, sp.Requests, p.Members); err != nil {
			return err
		}
		p.JobTokenScope.InboundEnabled = sp.JobTokenScope.InboundEnabled == nil || *sp.JobTokenScope.InboundEnabled
		b.projects[full] = p
		b.w.Projects = append(b.w.Projects, p)
	}
	// Allowlists may name projects declared later.
	for i, sp := range f.Projects {
		p := b.w.Projects[i]
		for _, ref := range sp.JobTokenScope.AllowlistProjects {
			q, ok := b.projects[strings.Trim(ref, "/")]
			if !ok {
				return b.itemError("projects", i, fmt.Sprintf("%q", sp.Path), "job_token_scope: unknown project %q", ref)
			}
			p.JobTokenScope.AllowlistProjectIDs = append(p.JobTokenScope.AllowlistProjectIDs, q.ID)
		}
		for _, ref := range sp.JobTokenScope.AllowlistGroups {
			gr, ok := b.groups[strings.Trim(ref, "/")]
			if !ok {
				return b.itemError("projects", i, fmt.Sprintf("%q", sp.Path), "job_token_scope: unknown group %q", ref)
			}
			p.JobTokenScope.AllowlistGroupIDs = append(p.JobTokenScope.AllowlistGroupIDs, gr.ID)
		}
	}
	return nil
}

// buildBots resolves the sources of bot users and service accounts, names
// the ones without a username as GitLab would
// (https://docs.gitlab.com/user/project/settings/project_access_tokens/#bot-users-for-projects,
// https://docs.gitlab.com/api/service_accounts/) and makes each bot with an access_level a member of its source.
func (b *scenarioBuilder) buildBots() error {
	for i, su := range b.f.Users {
		u := b.w.Users[i]
		label := fmt.Sprintf("%q", su.Username)
		if su.Username == "" {
			label = fmt.Sprintf("#%d", u.ID)
		}
		switch u.UserType {
		case UserTypeProjectBot:
			var members *[]Membership
			if id, err := strconv.ParseInt(su.BotSource, 10, 64); err == nil {
				// A numeric source may name a project or group deleted since.
				u.BotSourceID = id
				for _, p := range b.w.Projects {
					if su.BotSourceType == "project" && p.ID == id {
						members = &p.Members
					}
				}
				for _, gr := range b.w.Groups {
					if su.BotSourceType == "group" && gr.ID == id {
						members = &gr.Members
					}
				}
			} else if su.BotSourceType == "project" {
				p, ok := b.projects[strings.Trim(su.BotSource, "/")]
				if !ok {
					return b.itemError("users", i, label, "unknown project %q", su.BotSource)
				}
				u.BotSourceID, members = p.ID, &p.Members
			} else {
				gr, ok := b.groups[strings.Trim(su.BotSource, "/")]
				if !ok {
					return b.itemError("users", i, label, "unknown group %q", su.BotSource)
				}
				u.BotSourceID, members = gr.ID, &gr.Members
			}
			if u.Username == "" {
				u.Username = fmt.Sprintf("%s_%d_bot_%s", su.BotSourceType, u.BotSourceID, randString(b.rng, hexDigits, 32))
				b.users[u.Username] = u
			}
			if su.AccessLevel != 0 {
				if !accessLevelSet[su.AccessLevel] {
					return b.itemError("users", i, label, "access_level %d (want 10, 15, 20, 30, 40 or 50)", su.AccessLevel)
				}
				if members == nil {
					return b.itemError("users", i, label, "access_level given, but %s %s does not exist", su.BotSourceType, su.BotSource)
				}
				*members = append(*members, Membership{UserID: u.ID, AccessLevel: su.AccessLevel})
			}
		case UserTypeServiceAccount:
			if su.ServiceAccountGroup != "" {
				gr, ok := b.groups[strings.Trim(su.ServiceAccountGroup, "/")]
				if !ok {
					return b.itemError("users", i, label, "unknown group %q", su.ServiceAccountGroup)
				}
				if gr.ParentID != 0 {
					return b.itemError("users", i, label, "service_account_group %q is no top-level group", su.ServiceAccountGroup)
				}
				u.ServiceAccountGroupID = gr.ID
			}
			if u.Username == "" {
				if u.ServiceAccountGroupID != 0 {
					u.Username = fmt.Sprintf("service_account_group_%d_%s", u.ServiceAccountGroupID, randString(b.rng, hexDigits, 32))
				} else {
					u.Username = "service_account_" + randString(b.rng, hexDigits, 32)
				}
				b.users[u.Username] = u
			}
		}
		if u.Name == "" {
			u.Name = u.Username
		}
		if u.Email == "" {
			if u.UserType == UserTypeHuman {
				u.Email = u.Username + "@example.com"
			} else {
				u.Email = u.Username + "@noreply." + GeneratorHost
			}
		}
	}
	return nil
}

// secret returns the item's value, or a generated one, and checks that no
// two tokens share a value. The value is never part of an error.
func (b *scenarioBuilder) secret(v, prefix, alphabet string, n int, section string, i int, label string) (string, error) {
	if v == "" {
		for v == "" || b.values[v] != "" {
			v = prefix + randString(b.rng, alphabet, n)
		}
	}
	if other := b.values[v]; other != "" {
		return "", b.itemError(section, i, label, "value is the same as that of %s", other)
	}
	b.values[v] = fmt.Sprintf("%s %s", strings.TrimSuffix(section, "s"), label)
	return v, nil
}

func isDate(t time.Time) bool { return t.Equal(t.UTC().Truncate(24 * time.Hour)) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (b *scenarioBuilder) buildTokens() error {
	f := b.f
	a, bad, err := newIDAssigner(ids(f.Tokens, func(t scenarioToken) int64 { return t.ID }))
	if err != nil {
		return b.itemError("tokens", bad, fmt.Sprintf("%q", f.Tokens[bad].Name), "%v", err)
	}
	for i, st := range f.Tokens {
		label := fmt.Sprintf("%q", st.Name)
		if st.Name == "" {
			return b.itemError("tokens", i, "#"+strconv.Itoa(i+1), "name is required")
		}
		u := b.userRef(st.User)
		if u == nil {
			return b.itemError("tokens", i, label, "unknown user %q", st.User)
		}
		t := &PersonalAccessToken{
			ID: a.next(st.ID), UserID: u.ID, Name: st.Name, Description: st.Description,
			Scopes: st.Scopes, ExpiresAt: utcPtr(st.ExpiresAt), LastUsedAt: utcPtr(st.LastUsedAt),
			LastUsedIPs: st.LastUsedIPs, Revoked: st.Revoked, Impersonation: st.Impersonation, Granular: st.Granular, Plant: st.Plant,
		}
		if t.Scopes == nil {
			t.Scopes = []string{}
		}
		t.CreatedAt = b.w.Now.AddDate(0, 0, -30)
		if st.CreatedAt != nil {
			t.CreatedAt = st.CreatedAt.UTC()
		}
		// GitLab stores a personal, project or group token's expiry as a date.
		if t.ExpiresAt != nil && !isDate(*t.ExpiresAt) {
			return b.itemError("tokens", i, label, "expires_at must be a date (YYYY-MM-DD)")
		}
		if t.Value, err = b.secret(st.Value, b.w.Settings.PersonalAccessTokenPrefix, urlSafe, 20, "tokens", i, label); err != nil {
			return err
		}
		b.w.Tokens = append(b.w.Tokens, t)
	}
	return nil
}

func (b *scenarioBuilder) buildDeployTokens() error {
	f := b.f
	a, bad, err := newIDAssigner(ids(f.DeployTokens, func(d scenarioDeploy) int64 { return d.ID }))
	if err != nil {
		return b.itemError("deploy_tokens", bad, fmt.Sprintf("%q", f.DeployTokens[bad].Name), "%v", err)
	}
	for i, sd := range f.DeployTokens {
		label := fmt.Sprintf("%q", sd.Name)
		d := &DeployToken{
			ID: a.next(sd.ID), Name: sd.Name, Username: sd.Username, ExpiresAt: utcPtr(sd.ExpiresAt),
			Revoked: sd.Revoked, Scopes: sd.Scopes, Plant: sd.Plant,
		}
		if d.Scopes == nil {
			d.Scopes = []string{}
		}
		if d.Username == "" {
			d.Username = fmt.Sprintf("gitlab+deploy-token-%d", d.ID)
		}
		switch {
		case (sd.Project == "") == (sd.Group == ""):
			return b.itemError("deploy_tokens", i, label, "give exactly one of project and group")
		case sd.Project != "":
			p, ok := b.projects[strings.Trim(sd.Project, "/")]
			if !ok {
				return b.itemError("deploy_tokens", i, label, "unknown project %q", sd.Project)
			}
			d.ProjectID = p.ID
		default:
			gr, ok := b.groups[strings.Trim(sd.Group, "/")]
			if !ok {
				return b.itemError("deploy_tokens", i, label, "unknown group %q", sd.Group)
			}
			d.GroupID = gr.ID
		}
		if d.Value, err = b.secret(sd.Value, "gldt-", urlSafe, 20, "deploy_tokens", i, label); err != nil {
			return err
		}
		b.w.DeployTokens = append(b.w.DeployTokens, d)
	}
	return nil
}

func (b *scenarioBuilder) buildTriggers() error {
	f := b.f
	a, bad, err := newIDAssigner(ids(f.Triggers, func(t scenarioTrigger) int64 { return t.ID }))
	if err != nil {
		return b.itemError("triggers", bad, fmt.Sprintf("%q", f.Triggers[bad].Description), "%v", err)
	}
	for i, st := range f.Triggers {
		tr := &Trigger{
			ID: a.next(st.ID), Description: st.Description, LastUsed: utcPtr(st.LastUsed),
			ExpiresAt: utcPtr(st.ExpiresAt), Plant: st.Plant,
		}
		label := fmt.Sprintf("%d (%q)", tr.ID, st.Description)
		p, ok := b.projects[strings.Trim(st.Project, "/")]
		if !ok {
			return b.itemError("triggers", i, label, "unknown project %q", st.Project)
		}
		tr.ProjectID = p.ID
		if st.Owner != "" {
			u := b.userRef(st.Owner)
			if u == nil {
				return b.itemError("triggers", i, label, "unknown owner %q", st.Owner)
			}
			tr.OwnerID = u.ID
		}
		tr.CreatedAt = b.w.Now.AddDate(0, 0, -30)
		if st.CreatedAt != nil {
			tr.CreatedAt = st.CreatedAt.UTC()
		}
		tr.UpdatedAt = tr.CreatedAt
		if st.UpdatedAt != nil {
			tr.UpdatedAt = st.UpdatedAt.UTC()
		}
		if tr.Value, err = b.secret(st.Value, "glptt-", hexDigits, 40, "triggers", i, label); err != nil {
			return err
		}
		b.w.Triggers = append(b.w.Triggers, tr)
	}
	return nil
}
