package gitlabsim

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// GeneratorNow is World.Now of every generated instance, so that reports of
// the same preset and seed are identical whenever they are made.
const GeneratorNow = "2026-11-27T12:00:00Z"

// GeneratorHost is the host name the generator puts in bot and service
// account e-mail addresses (<username>@noreply.<host>), as GitLab does
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/gitlab/utils/username_and_email_generator.rb).
const GeneratorHost = "gitlab.example.com"

// GeneratorVersion and GeneratorRevision are what a generated instance
// answers on /version and /metadata.
const (
	GeneratorVersion  = "18.5.1-ee"
	GeneratorRevision = "6a6b2f7f3c1"
)

// GeneratorGitLabComVersion is what a GitLab.com instance answers on
// /version (WithGitLabCom): GitLab.com runs pre-release EE builds, here
// that of 18.7, in which its group credentials inventory API became
// generally available
// (https://docs.gitlab.com/api/groups/#credentials-inventory-management).
const GeneratorGitLabComVersion = "18.7.0-pre"

// Token kinds, as the ground-truth helpers classify tokens (TokenKind).
// They are the kinds the audit reports (README, "Reports"), derived from what
// GitLab's data implies: the owner's user_type and username.
const (
	KindPersonal        = "personal"
	KindImpersonation   = "impersonation"
	KindServiceAccount  = "service_account"
	KindProjectAccess   = "project_access"
	KindGroupAccess     = "group_access"
	KindDeploy          = "deploy"
	KindPipelineTrigger = "pipeline_trigger"
)

// Planted-risk labels. The generator sets exactly one on every token and
// keeps every other attribute of the token healthy, so that only the planted
// risk applies. "Healthy" means: active, expires 31-300 days after Now,
// lifetime (expiry minus creation) at most 365 days, created within the last
// 365 days, no api/sudo/admin_mode scope, used within the last 30 days, owner
// active and no administrator, resource tokens at access level 40 or lower.
// The generator keeps a few days away from each of these bounds, so that a
// rule counting days one way or another judges a token the same.
const (
	// Personal, impersonation, service-account, project and group access tokens.
	PlantHealthy         = "healthy"
	PlantNeverExpires    = "never-expires"
	PlantLongLifetime    = "long-lifetime"
	PlantExpiring7d      = "expiring-7d"
	PlantExpiring30d     = "expiring-30d"
	PlantExpired         = "expired"
	PlantRevoked         = "revoked"
	PlantAPIScope        = "api-scope"
	PlantSudoScope       = "sudo-scope"
	PlantAdminModeScope  = "admin-mode-scope"
	PlantUnknownScope    = "unknown-scope"
	PlantStale           = "stale"
	PlantNeverUsedOld    = "never-used-old"
	PlantAdminAPI        = "admin-api"
	PlantBlockedOwner    = "blocked-owner"
	PlantOwnerAccess     = "owner-access"
	PlantSmallGroupToken = "small-group-token"
	PlantLargeGroupToken = "large-group-token"
	// Deploy tokens.
	PlantDeployHealthy      = "deploy-healthy"
	PlantDeployNeverExpires = "deploy-never-expires"
	PlantDeployWrite        = "deploy-write"
	// Pipeline trigger tokens.
	PlantTriggerHealthy      = "trigger-healthy"
	PlantTriggerNoOwner      = "trigger-no-owner"
	PlantTriggerBlockedOwner = "trigger-blocked-owner"
	PlantTriggerStale        = "trigger-stale"
)

// SmallGroupMaxProjects is the largest number of projects (in the group and
// all its subgroups) of a group whose access tokens the generator labels
// small-group-token; above it they are large-group-token.
const SmallGroupMaxProjects = 20

// presetSpec sizes a generated instance. Token counts are per kind.
type presetSpec struct {
	Humans      int // including root and the other administrators
	Admins      int // including root; at least 2 so admin plants never fall on root
	Blocked     int
	Deactivated int
	InstanceSAs int
	GroupSAs    int

	TopGroups    int
	Subgroups    int
	Projects     int // all projects, including UserProjects
	UserProjects int // projects in user namespaces

	Personal       int // including the two well-known tokens
	Impersonation  int
	ServiceAccount int
	ProjectAccess  int
	GroupAccess    int
	Deploy         int
	Triggers       int

	// OrphanBot adds a project bot whose project was deleted.
	OrphanBot bool
}

type presetEntry struct {
	name string
	spec presetSpec
}

var presetSpecs = []presetEntry{
	{"tiny", presetSpec{
		Humans: 6, Admins: 2, Blocked: 1, InstanceSAs: 1,
		TopGroups: 2, Subgroups: 1, Projects: 4, UserProjects: 1,
		Personal: 5, Impersonation: 1, ServiceAccount: 1, ProjectAccess: 2, GroupAccess: 1, Deploy: 1, Triggers: 1,
	}},
	{"small", presetSpec{
		Humans: 150, Admins: 3, Blocked: 5, Deactivated: 4, InstanceSAs: 4, GroupSAs: 6,
		TopGroups: 8, Subgroups: 25, Projects: 100, UserProjects: 10,
		Personal: 250, Impersonation: 10, ServiceAccount: 30, ProjectAccess: 80, GroupAccess: 30, Deploy: 50, Triggers: 50,
	}},
	{"medium", presetSpec{
		Humans: 1500, Admins: 5, Blocked: 40, Deactivated: 30, InstanceSAs: 15, GroupSAs: 40,
		TopGroups: 40, Subgroups: 250, Projects: 1000, UserProjects: 80,
		Personal: 2500, Impersonation: 100, ServiceAccount: 300, ProjectAccess: 800, GroupAccess: 300, Deploy: 500, Triggers: 500,
		OrphanBot: true,
	}},
	{"large", presetSpec{
		Humans: 6000, Admins: 8, Blocked: 150, Deactivated: 120, InstanceSAs: 40, GroupSAs: 150,
		TopGroups: 120, Subgroups: 1200, Projects: 5000, UserProjects: 400,
		Personal: 10000, Impersonation: 400, ServiceAccount: 1200, ProjectAccess: 3200, GroupAccess: 1200, Deploy: 2000, Triggers: 2000,
		OrphanBot: true,
	}},
	{"xl", presetSpec{
		Humans: 30000, Admins: 12, Blocked: 700, Deactivated: 500, InstanceSAs: 100, GroupSAs: 500,
		TopGroups: 400, Subgroups: 5000, Projects: 21000, UserProjects: 1500,
		Personal: 60000, Impersonation: 2000, ServiceAccount: 6000, ProjectAccess: 20000, GroupAccess: 6000, Deploy: 13000, Triggers: 13000,
		OrphanBot: true,
	}},
}

// Presets lists the generator's presets from the smallest to the largest.
func Presets() []string {
	names := make([]string, len(presetSpecs))
	for i, p := range presetSpecs {
		names[i] = p.name
	}
	return names
}

// Generate builds the instance of a preset (see Presets). The same preset
// and seed always give the same World (values, dates and IDs included);
// World.Now is GeneratorNow.
//
// The instance is a self-managed GitLab upgraded from before 16.0:
// require_personal_access_token_expiry is false, so tokens without expiry
// still exist (https://gitlab.com/gitlab-org/gitlab/-/merge_requests/170112). Every token carries a Plant label
// (the Plant* constants). Besides the random population, every preset has
// two well-known tokens, part of the ground truth like any other: see
// World.AdminToken and World.GroupOwnerToken. Options (GenOption) change
// the instance beyond that; without them it is the same as it has always
// been for that preset and seed.
func Generate(preset string, seed int64, opts ...GenOption) (*World, error) {
	var cfg genConfig
	for _, o := range opts {
		o(&cfg)
	}
	i := slices.IndexFunc(presetSpecs, func(p presetEntry) bool { return p.name == preset })
	if i < 0 {
		return nil, fmt.Errorf("unknown preset %q (want one of %s)", preset, strings.Join(Presets(), ", "))
	}
	now, err := time.Parse(time.RFC3339, GeneratorNow)
	if err != nil {
		return nil, fmt.Errorf("parse generator time: %w", err)
	}
	g := &generator{
		spec:    presetSpecs[i].spec,
		rng:     rand.New(rand.NewPCG(uint64(seed), 0x746f6b656e617564)), // "tokenaud"
		now:     now,
		today:   now.Truncate(24 * time.Hour),
		values:  make(map[string]struct{}),
		saRNG:   rand.New(rand.NewPCG(uint64(seed), 0x73616e616d657321)), // "sanames!"
		saTaken: make(map[string]bool),
		w: &World{
			Now:         now,
			Version:     GeneratorVersion,
			Revision:    GeneratorRevision,
			LastUsedIPs: "populated",
			Settings:    defaultSettings(),
		},
	}
	if err := g.configure(cfg); err != nil {
		return nil, err
	}
	g.genIPPool()
	g.genHumans()
	g.genInstanceServiceAccounts()
	g.genGroupsAndProjects()
	g.genGroupServiceAccounts()
	g.genJobTokenScopes()
	g.genPATs()
	g.genDeployTokens()
	g.genTriggers()
	g.genAccessRequests(seed)
	g.applyOptions(cfg, seed)
	genUserUpdates(g.w, seed)
	fitVersion(g.w)
	return g.w, nil
}

// genUserUpdates gives every user an UpdatedAt between its creation and
// Now. It draws from a stream of its own so as not to shift the draws, and
// so the values, of every other step.
func genUserUpdates(w *World, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x7570646174656421)) // "updated!"
	for _, u := range w.Users {
		span := max(int64(w.Now.Sub(u.CreatedAt)), 0)
		u.UpdatedAt = u.CreatedAt.Add(time.Duration(rng.Int64N(span + 1)))
	}
}

// defaultSettings are the application settings of generated instances and
// the defaults of scenario files: an instance upgraded to 17.3+ whose
// administrator turned require_personal_access_token_expiry off, so tokens
// without expiry may exist (https://docs.gitlab.com/api/settings/). The throttle values
// are GitLab's self-managed defaults, switched off as on a fresh install.
func defaultSettings() Settings {
	return Settings{
		RequirePersonalAccessTokenExpiry:      false,
		MaxPersonalAccessTokenLifetime:        nil,
		ServiceAccessTokensExpirationEnforced: false,
		PersonalAccessTokenPrefix:             "glpat-",
		ThrottleAuthenticatedAPIEnabled:       false,
		ThrottleAuthenticatedAPIRequests:      7200,
		ThrottleAuthenticatedAPIPeriodSeconds: 3600,
	}
}

type generator struct {
	spec  presetSpec
	rng   *rand.Rand
	w     *World
	now   time.Time
	today time.Time // Now at midnight UTC: the day expiry dates count from

	nextUserID  int64
	nextGroupID int64

	root       *User
	admins     []*User // administrators other than root
	active     []*User // active non-admin humans, groupOwner included
	inactive   []*User // blocked and deactivated humans
	groupOwner *User   // direct Owner of the largest top-level group
	sas        []*User // instance and group service accounts

	groupByID      map[int64]*Group
	groupTop       map[int64]int64 // group ID -> its top-level group ID
	groupDepth     map[int64]int
	projectsBelow  map[int64]int // projects in the group and its subgroups
	activeBelow    map[int64]int // the same, archived projects left out
	projectByID    map[int64]*Project
	deletedProject int64 // an ID left free: a project deleted since
	largestTop     int64 // the largest top-level group, the well-known owner's

	values map[string]struct{}
	ipPool []string

	v       gitlabVersion   // the World's version (configure)
	saRNG   *rand.Rand      // service-account usernames (saUsername)
	saTaken map[string]bool // free-form service-account usernames given
}

// between returns a uniform integer in [lo, hi].
func (g *generator) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + g.rng.IntN(hi-lo+1)
}

// chance reports true with probability p.
func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

// daysAgo is a moment d to d+1 days before Now.
func (g *generator) daysAgo(d int) time.Time {
	return g.now.Add(-time.Duration(d)*24*time.Hour - time.Duration(g.rng.Int64N(int64(24*time.Hour))))
}

// dateIn is midnight UTC d days after today (before it when d < 0): an
// expiry date as GitLab stores it.
func (g *generator) dateIn(d int) *time.Time {
	t := g.today.AddDate(0, 0, d)
	return &t
}

// timeBetween is a uniform moment in [a, b].
func (g *generator) timeBetween(a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(g.rng.Int64N(int64(b.Sub(a)))))
}

func dateOf(t time.Time) *time.Time {
	d := t.UTC().Truncate(24 * time.Hour)
	return &d
}

const hexDigits = "0123456789abcdef"
const urlSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// randString draws n characters of alphabet (64 or 16 letters).
func randString(rng *rand.Rand, alphabet string, n int) string {
	var b strings.Builder
	b.Grow(n)
	bits := 6
	if len(alphabet) == 16 {
		bits = 4
	}
	var x uint64
	left := 0
	for range n {
		if left < bits {
			x, left = rng.Uint64(), 64
		}
		b.WriteByte(alphabet[x&(1<<bits-1)])
		x >>= bits
		left -= bits
	}
	return b.String()
}

// secret returns a new token value: prefix plus n characters, unique in the
// World.
func (g *generator) secret(prefix, alphabet string, n int) string {
	for {
		v := prefix + randString(g.rng, alphabet, n)
		if _, dup := g.values[v]; !dup {
			g.values[v] = struct{}{}
			return v
		}
	}
}

func (g *generator) genIPPool() {
	for i := range 48 {
		g.ipPool = append(g.ipPool, fmt.Sprintf("10.%d.%d.%d", g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254)))
		if i%4 == 0 {
			g.ipPool = append(g.ipPool, fmt.Sprintf("2001:db8:%x::%x", g.rng.IntN(1<<16), 1+g.rng.IntN(1<<16-1)))
		}
	}
}

// lastUsedIPs returns 1 to 3 distinct addresses of the pool for a used token.
func (g *generator) lastUsedIPs(used *time.Time) []string {
	if used == nil {
		return nil
	}
	n := 1 + g.rng.IntN(3)
	ips := make([]string, 0, n)
	for len(ips) < n {
		ip := g.ipPool[g.rng.IntN(len(g.ipPool))]
		if !slices.Contains(ips, ip) {
			ips = append(ips, ip)
		}
	}
	return ips
}

func (g *generator) addUser(u *User) *User {
	g.nextUserID++
	u.ID = g.nextUserID
	g.w.Users = append(g.w.Users, u)
	return u
}

// touch records activity of u on the day of t.
func touch(u *User, t *time.Time) {
	if u == nil || t == nil {
		return
	}
	if d := dateOf(*t); u.LastActivityOn == nil || d.After(*u.LastActivityOn) {
		u.LastActivityOn = d
	}
}

var firstNames = []string{
	"alice", "bob", "carla", "dmitri", "elena", "farid", "grace", "hiro", "ines", "jonas",
	"kofi", "lena", "mateo", "nadia", "oscar", "priya", "quentin", "rosa", "sven", "tamar",
	"umar", "vera", "wei", "xenia", "yusuf", "zoe",
}

var lastNames = []string{
	"smith", "garcia", "muller", "rossi", "kowalski", "nguyen", "okafor", "silva", "tanaka", "dubois",
	"jensen", "novak", "ahmed", "kim", "larsen", "moreau", "petrov", "santos", "weber", "yilmaz",
}

func (g *generator) genHumans() {
	sp := g.spec
	used := make(map[string]int)
	g.root = g.addUser(&User{
		Username: "root", Name: "Administrator", Email: "admin@example.com",
		State: "active", Admin: true, UserType: UserTypeHuman,
		CreatedAt: g.daysAgo(g.between(2500, 3000)),
	})
	humans := []*User{g.root}
	for range sp.Humans - 1 {
		first, last := firstNames[g.rng.IntN(len(firstNames))], lastNames[g.rng.IntN(len(lastNames))]
		base := first + "." + last
		used[base]++
		username := base
		if n := used[base]; n > 1 {
			username = fmt.Sprintf("%s%d", base, n)
		}
		u := g.addUser(&User{
			Username: username,
			Name:     strings.ToUpper(first[:1]) + first[1:] + " " + strings.ToUpper(last[:1]) + last[1:],
			Email:    username + "@example.com",
			State:    "active", UserType: UserTypeHuman,
			CreatedAt: g.daysAgo(g.between(370, 2400)),
		})
		humans = append(humans, u)
	}
	// humans[1:Admins] are the other administrators; the rest are ordinary
	// users, some blocked or deactivated at random.
	for _, u := range humans[1:sp.Admins] {
		u.Admin = true
		g.admins = append(g.admins, u)
	}
	rest := humans[sp.Admins:]
	g.groupOwner = rest[0]
	states := make([]string, len(rest)-1)
	for i := range states {
		switch {
		case i < sp.Blocked:
			states[i] = "blocked"
		case i < sp.Blocked+sp.Deactivated:
			states[i] = "deactivated"
		default:
			states[i] = "active"
		}
	}
	g.rng.Shuffle(len(states), func(i, j int) { states[i], states[j] = states[j], states[i] })
	g.active = append(g.active, g.groupOwner)
	for i, u := range rest[1:] {
		u.State = states[i]
		if u.State == "active" {
			g.active = append(g.active, u)
		} else {
			g.inactive = append(g.inactive, u)
		}
	}
	for _, u := range humans {
		// A baseline activity; tokens used later move it forward.
		if u.State == "active" {
			touch(u, new(g.daysAgo(g.between(0, 60))))
		} else {
			touch(u, new(g.daysAgo(g.between(120, 700))))
		}
	}
}

func (g *generator) genInstanceServiceAccounts() {
	for range g.spec.InstanceSAs {
		name := g.saUsername("service_account_" + randString(g.rng, hexDigits, 32))
		g.sas = append(g.sas, g.addUser(&User{
			Username: name, Name: saNames[g.rng.IntN(len(saNames))],
			Email: name + "@noreply." + GeneratorHost, State: "active",
			UserType: UserTypeServiceAccount, CreatedAt: g.daysAgo(g.between(370, 900)),
		}))
	}
}

var saNames = []string{"Service account user", "CI deployer", "Release automation", "Backup job", "Security scanner", "Renovate"}

// saUsernames are the free-form usernames the generator gives service
// accounts: since GitLab 16.10 whoever creates one may name it
// (https://docs.gitlab.com/api/service_accounts/, "username and name
// attributes added in GitLab 16.10"), so most are not recognisable by name.
var saUsernames = []string{
	"terraform-automation", "ci-deployer", "renovate-bot", "release-bot", "backup-job", "security-scanner",
	"argocd-sync", "docs-publisher", "metrics-exporter", "dependency-updater", "k8s-deployer", "sonar-scanner",
	"migration-runner", "nightly-build", "jira-sync", "svc-platform",
}

// saUsername names a service account: the username GitLab generates when
// none is given (generated, drawn by the caller whatever the outcome so that
// the generator's other values stay put) for about a third of them, a
// free-form one for the rest. The choice draws from a stream of its own;
// names are unique in the World, as GitLab's usernames are.
func (g *generator) saUsername(generated string) string {
	if !g.v.has(featServiceAccountNames, g.w.GitLabCom) || g.saRNG.IntN(10) < 3 {
		return generated
	}
	base := saUsernames[g.saRNG.IntN(len(saUsernames))]
	name := base
	if g.saRNG.IntN(4) == 0 {
		name = fmt.Sprintf("%s-%d", base, 1+g.saRNG.IntN(20))
	}
	for n := 2; g.saTaken[name]; n++ {
		name = fmt.Sprintf("%s-%d", base, n)
	}
	g.saTaken[name] = true
	return name
}

var groupWords = []string{
	"platform", "payments", "mobile", "data", "infra", "security", "web", "search", "billing", "identity",
	"analytics", "devtools", "marketing", "support", "ml", "edge", "storage", "observability", "partners", "research",
}

var projectWords = []string{
	"api", "frontend", "backend", "worker", "docs", "terraform", "helm-charts", "sdk", "cli", "gateway",
	"scheduler", "ingest", "dashboard", "mobile-app", "infra-live", "pipelines", "website", "auth", "notifier", "exporter",
}

var accessLevels = []int{10, 15, 20, 30, 40, 50}

// randomLevel favours Developer and Maintainer, as real member lists do.
func (g *generator) randomLevel() int {
	switch r := g.rng.IntN(20); {
	case r < 2:
		return 10
	case r < 3:
		return 15
	case r < 6:
		return 20
	case r < 13:
		return 30
	case r < 18:
		return 40
	default:
		return 50
	}
}

func addMember(ms []Membership, userID int64, level int) []Membership {
	for _, m := range ms {
		if m.UserID == userID {
			return ms
		}
	}
	return append(ms, Membership{UserID: userID, AccessLevel: level})
}

func (g *generator) randomHuman() *User {
	// Members are mostly active users; blocked and deactivated users keep
	// their memberships in GitLab.
	if len(g.inactive) > 0 && g.chance(0.05) {
		return g.inactive[g.rng.IntN(len(g.inactive))]
	}
	return g.active[g.rng.IntN(len(g.active))]
}

func (g *generator) visibility() string {
	switch r := g.rng.IntN(10); {
	case r < 7:
		return "private"
	case r < 9:
		return "internal"
	default:
		return "public"
	}
}

// topGroupSizes splits n projects over t top-level groups with a heavy tail
// (Zipf-like weights): a few groups hold hundreds of projects, most fewer
// than twenty. The largest comes first.
func topGroupSizes(n, t int) []int {
	weights := make([]float64, t)
	var sum float64
	for i := range weights {
		weights[i] = 1 / math.Pow(float64(i+1), 1.1)
		sum += weights[i]
	}
	sizes := make([]int, t)
	total := 0
	for i, w := range weights {
		sizes[i] = max(1, int(w/sum*float64(n)))
		total += sizes[i]
	}
	sizes[0] += n - total
	return sizes
}

// genGroupsAndProjects builds the groups and the projects: one group tree
// per top-level group, sized by the projects it is to hold, then the
// projects, spread over the trees and user namespaces.
func (g *generator) genGroupsAndProjects() {
	sp := g.spec
	g.groupByID = make(map[int64]*Group)
	g.groupTop = make(map[int64]int64)
	g.groupDepth = make(map[int64]int)
	g.projectsBelow = make(map[int64]int)
	g.activeBelow = make(map[int64]int)
	g.projectByID = make(map[int64]*Project)

	inGroups := sp.Projects - sp.UserProjects
	sizes, largest := g.topGroupPlan(inGroups)
	// slots lists one namespace per project to create: group IDs, or 0 for
	// a user namespace. Shuffled, so project IDs interleave across groups
	// as they do on a real instance.
	slots := make([]int64, 0, sp.Projects)
	for i, size := range sizes {
		tree := g.genGroupTree(i == largest, g.subgroupCount(size, inGroups))
		if i == largest {
			g.largestTop = tree[0].ID
		}
		for range size {
			slots = append(slots, tree[g.rng.IntN(len(tree))].ID)
		}
	}
	for range sp.UserProjects {
		slots = append(slots, 0)
	}
	g.rng.Shuffle(len(slots), func(i, j int) { slots[i], slots[j] = slots[j], slots[i] })
	g.genProjects(slots)
}

// topGroupPlan returns how many of the inGroups projects each top-level
// group is to hold, in the order the groups are created, and which group
// is the largest. Which one that is is random; its first direct Owner is
// the well-known group owner.
func (g *generator) topGroupPlan(inGroups int) (sizes []int, largest int) {
	bySize := topGroupSizes(inGroups, g.spec.TopGroups)
	sizes = make([]int, len(bySize))
	for i, j := range g.rng.Perm(len(bySize)) {
		sizes[j] = bySize[i]
	}
	for i, s := range sizes {
		if s > sizes[largest] {
			largest = i
		}
	}
	return sizes, largest
}

// subgroupCount shares the preset's subgroups among the top-level groups in
// proportion to the projects they hold; a group of more than three projects
// has at least one.
func (g *generator) subgroupCount(size, inGroups int) int {
	n := int(math.Round(float64(g.spec.Subgroups) * float64(size) / float64(inGroups)))
	if size > 3 && n == 0 {
		n = 1
	}
	return n
}

// genGroupTree creates a top-level group with its members and nsub
// subgroups below it, at most five levels deep, each with a few members.
// It returns the tree's groups, the top-level group first.
func (g *generator) genGroupTree(largest bool, nsub int) []*Group {
	top := g.newGroup(nil)
	top.Members = addMember(top.Members, g.pickTopOwner(largest).ID, 50)
	top.Members = g.withRandomMembers(top.Members, g.rng.IntN(4))
	tree := []*Group{top}
	for range nsub {
		var parents []*Group
		for _, t := range tree {
			if g.groupDepth[t.ID] < 4 { // at most five levels
				parents = append(parents, t)
			}
		}
		sub := g.newGroup(parents[g.rng.IntN(len(parents))])
		sub.Members = g.withRandomMembers(sub.Members, g.rng.IntN(3))
		tree = append(tree, sub)
	}
	return tree
}

// newGroup creates a group below parent (top-level if nil), created after
// its parent.
func (g *generator) newGroup(parent *Group) *Group {
	g.nextGroupID++
	word := groupWords[g.rng.IntN(len(groupWords))]
	gr := &Group{
		ID: g.nextGroupID, Path: fmt.Sprintf("%s-%d", word, g.nextGroupID),
		Visibility: g.visibility(),
	}
	gr.Name = gr.Path
	if parent == nil {
		gr.CreatedAt = g.daysAgo(g.between(400, 2400))
		g.groupTop[gr.ID] = gr.ID
	} else {
		gr.ParentID = parent.ID
		gr.CreatedAt = g.timeBetween(parent.CreatedAt, g.now.AddDate(0, 0, -30))
		g.groupTop[gr.ID] = g.groupTop[parent.ID]
		g.groupDepth[gr.ID] = g.groupDepth[parent.ID] + 1
	}
	g.groupByID[gr.ID] = gr
	g.w.Groups = append(g.w.Groups, gr)
	return gr
}

// withRandomMembers adds n random humans with random roles to ms.
func (g *generator) withRandomMembers(ms []Membership, n int) []Membership {
	for range n {
		ms = addMember(ms, g.randomHuman().ID, g.randomLevel())
	}
	return ms
}

// genProjects creates one project per slot (a group ID, or 0 for a user
// namespace), with IDs in slot order and counted in the groups above them.
func (g *generator) genProjects(slots []int64) {
	var nextProjectID int64
	for i, gid := range slots {
		nextProjectID++
		// Deleted projects leave holes in the ID sequence; one of them is
		// where an orphaned bot points.
		if g.chance(0.02) || (g.deletedProject == 0 && i == len(slots)/2) {
			g.deletedProject = nextProjectID
			nextProjectID++
		}
		p := g.newProject(nextProjectID, gid)
		g.projectByID[p.ID] = p
		g.w.Projects = append(g.w.Projects, p)
		for id := gid; id != 0; id = g.groupByID[id].ParentID {
			g.projectsBelow[id]++
			if !p.Archived {
				g.activeBelow[id]++
			}
		}
	}
}

// newProject is project id in group gid, or for gid 0 in the namespace of a
// random active user, who owns it; it is created after its namespace and
// was last active after that, long ago if archived.
func (g *generator) newProject(id, gid int64) *Project {
	p := &Project{
		ID: id, Visibility: g.visibility(),
		Archived: g.chance(0.05),
	}
	p.Path = fmt.Sprintf("%s-%d", projectWords[g.rng.IntN(len(projectWords))], p.ID)
	p.Name = p.Path
	if gid != 0 {
		p.GroupID = gid
		p.CreatedAt = g.timeBetween(g.groupByID[gid].CreatedAt, g.now.AddDate(0, 0, -7))
	} else {
		owner := g.active[g.rng.IntN(len(g.active))]
		p.UserID = owner.ID
		p.CreatedAt = g.timeBetween(owner.CreatedAt, g.now.AddDate(0, 0, -7))
		p.Members = addMember(p.Members, owner.ID, 50) // the namespace owner
	}
	if p.Archived {
		p.LastActivityAt = g.timeBetween(p.CreatedAt, g.now.AddDate(0, 0, -90))
	} else {
		from := g.now.AddDate(0, 0, -60)
		if p.CreatedAt.After(from) {
			from = p.CreatedAt
		}
		p.LastActivityAt = g.timeBetween(from, g.now)
	}
	p.Members = g.withRandomMembers(p.Members, g.rng.IntN(4))
	return p
}

// tokenOwner picks the owner of a random personal or impersonation token:
// an active non-admin human other than the well-known group owner, whose
// only token is the one World.GroupOwnerToken finds.
func (g *generator) tokenOwner() *User {
	return g.active[1+g.rng.IntN(len(g.active)-1)] // active[0] is groupOwner
}

// pickTopOwner returns the first Owner of a top-level group: the
// well-known group owner for the largest group, a random active user
// otherwise.
func (g *generator) pickTopOwner(largest bool) *User {
	if largest {
		return g.groupOwner
	}
	return g.active[g.rng.IntN(len(g.active))]
}

func (g *generator) genGroupServiceAccounts() {
	var tops []*Group
	for _, gr := range g.w.Groups {
		if gr.ParentID == 0 {
			tops = append(tops, gr)
		}
	}
	for range g.spec.GroupSAs {
		top := tops[g.rng.IntN(len(tops))]
		name := g.saUsername(fmt.Sprintf("service_account_group_%d_%s", top.ID, randString(g.rng, hexDigits, 32)))
		u := g.addUser(&User{
			Username: name, Name: saNames[g.rng.IntN(len(saNames))],
			Email: name + "@noreply." + GeneratorHost, State: "active",
			UserType: UserTypeServiceAccount, ServiceAccountGroupID: top.ID,
			CreatedAt: g.timeBetween(top.CreatedAt, g.now.AddDate(0, 0, -370)),
		})
		// A group service account works through its membership.
		top.Members = addMember(top.Members, u.ID, []int{30, 40}[g.rng.IntN(2)])
		g.sas = append(g.sas, u)
	}
}

func (g *generator) genJobTokenScopes() {
	ps, gs := g.w.Projects, g.w.Groups
	for _, p := range ps {
		// Inbound restriction is the default for projects created since
		// 18.0; older projects often still have it off.
		p.JobTokenScope.InboundEnabled = g.chance(0.85)
		if len(ps) > 1 && g.chance(0.3) {
			for range 1 + g.rng.IntN(3) {
				q := ps[g.rng.IntN(len(ps))].ID
				if q != p.ID && !slices.Contains(p.JobTokenScope.AllowlistProjectIDs, q) {
					p.JobTokenScope.AllowlistProjectIDs = append(p.JobTokenScope.AllowlistProjectIDs, q)
				}
			}
		}
		if g.chance(0.1) {
			for range 1 + g.rng.IntN(2) {
				q := gs[g.rng.IntN(len(gs))].ID
				if !slices.Contains(p.JobTokenScope.AllowlistGroupIDs, q) {
					p.JobTokenScope.AllowlistGroupIDs = append(p.JobTokenScope.AllowlistGroupIDs, q)
				}
			}
		}
	}
}

type labelWeight struct {
	label  string
	weight float64
}

// allocate returns n labels: weight shares of each risk label (at least
// one each when n allows) and healthy for the rest, in random order. Small
// counts (tiny) get half healthy and a random pick of risks.
func (g *generator) allocate(n int, healthy string, risks []labelWeight) []string {
	labels := make([]string, 0, n)
	if n < 3*len(risks) {
		shuffled := slices.Clone(risks)
		g.rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for i := range n - (n+1)/2 {
			labels = append(labels, shuffled[i%len(shuffled)].label)
		}
	} else {
		for _, r := range risks {
			for range max(1, int(math.Round(r.weight*float64(n)))) {
				labels = append(labels, r.label)
			}
		}
	}
	for len(labels) < n {
		labels = append(labels, healthy)
	}
	g.rng.Shuffle(len(labels), func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
	return labels
}

var personalRisks = []labelWeight{
	{PlantNeverExpires, 0.04}, {PlantLongLifetime, 0.03}, {PlantExpiring7d, 0.015}, {PlantExpiring30d, 0.03},
	{PlantExpired, 0.06}, {PlantRevoked, 0.05}, {PlantAPIScope, 0.05}, {PlantUnknownScope, 0.015},
	{PlantStale, 0.04}, {PlantNeverUsedOld, 0.03}, {PlantBlockedOwner, 0.015},
	{PlantAdminAPI, 0.004}, {PlantSudoScope, 0.002}, {PlantAdminModeScope, 0.002},
}

var impersonationRisks = []labelWeight{
	{PlantNeverExpires, 0.05}, {PlantLongLifetime, 0.03}, {PlantExpired, 0.08}, {PlantRevoked, 0.08},
	{PlantAPIScope, 0.1}, {PlantStale, 0.05},
}

var serviceAccountRisks = []labelWeight{
	{PlantNeverExpires, 0.1}, {PlantLongLifetime, 0.05}, {PlantExpiring30d, 0.03}, {PlantRevoked, 0.03},
	{PlantAPIScope, 0.08}, {PlantUnknownScope, 0.02}, {PlantStale, 0.04}, {PlantNeverUsedOld, 0.03},
}

var projectAccessRisks = []labelWeight{
	{PlantOwnerAccess, 0.04}, {PlantNeverExpires, 0.04}, {PlantLongLifetime, 0.03}, {PlantExpiring7d, 0.015},
	{PlantExpiring30d, 0.03}, {PlantExpired, 0.05}, {PlantRevoked, 0.04}, {PlantAPIScope, 0.06},
	{PlantUnknownScope, 0.015}, {PlantStale, 0.04}, {PlantNeverUsedOld, 0.03},
}

var healthyScopeSets = [][]string{
	{"read_api"}, {"read_repository"}, {"read_api", "read_repository"}, {"read_registry"},
	{"read_repository", "write_repository"}, {"read_api", "read_registry"}, {"write_repository"},
}

func (g *generator) scopesFor(label string) []string {
	switch label {
	case PlantAPIScope:
		return slices.Clone([][]string{{"api"}, {"api", "read_repository"}, {"api", "read_registry"}}[g.rng.IntN(3)])
	case PlantAdminAPI:
		return slices.Clone([][]string{{"api"}, {"api", "read_user"}}[g.rng.IntN(2)])
	case PlantSudoScope:
		return []string{"read_api", "sudo"}
	case PlantAdminModeScope:
		return []string{"admin_mode", "read_api"}
	case PlantUnknownScope:
		return append(slices.Clone(healthyScopeSets[g.rng.IntN(len(healthyScopeSets))]), []string{"mcp", "granular"}[g.rng.IntN(2)])
	}
	return slices.Clone(healthyScopeSets[g.rng.IntN(len(healthyScopeSets))])
}

// patDates draws creation, expiry and last-use of a token for its label,
// keeping a margin from every bound of the healthy definition (see the
// Plant* constants): c is days since creation, e days from today to expiry,
// l days since last use.
func (g *generator) patDates(label string) (created time.Time, expires, used *time.Time) {
	c, e, l := 0, 0, 0
	never := false
	recent := func() int { return g.between(0, min(28, c-1)) }
	switch label {
	case PlantLongLifetime:
		c = g.between(90, 330)
		e = g.between(max(35, 380-c), 290)
		l = recent()
	case PlantExpiring7d:
		c = g.between(40, 340)
		e = g.between(2, 6)
		l = recent()
	case PlantExpiring30d:
		c = g.between(40, 320)
		e = g.between(10, 28)
		l = recent()
	case PlantExpired:
		// Expired a few days ago and used until shortly before, so no
		// staleness applies.
		e = -g.between(2, 25)
		c = g.between(60, 330)
		l = g.between(-e+1, 28)
	case PlantStale:
		c = g.between(120, 320)
		l = g.between(95, c-1)
		e = g.between(35, min(290, 355-c))
	case PlantNeverUsedOld:
		c = g.between(40, 290)
		l = -1
		e = g.between(35, min(290, 355-c))
	case PlantNeverExpires:
		c = g.between(2, 300)
		never = true
		l = recent()
	default:
		c = g.between(2, 300)
		e = g.between(35, min(290, 355-c))
		l = recent()
	}
	created = g.daysAgo(c)
	if !never {
		expires = g.dateIn(e)
	}
	if l >= 0 {
		used = new(g.daysAgo(l))
		if used.Before(created) {
			*used = created
		}
	}
	return created, expires, used
}

var tokenNames = []string{
	"ci", "laptop", "renovate", "terraform", "backup-script", "grafana", "release", "deploy", "danger-bot",
	"api-client", "local-dev", "migration", "sonar", "monitoring", "cli", "ide", "k8s-sync", "reporting",
}

// newPAT makes a token of owner planted with label; a nil owner (a bot
// made afterwards) is set by the caller.
func (g *generator) newPAT(owner *User, label string) *PersonalAccessToken {
	created, expires, used := g.patDates(label)
	t := &PersonalAccessToken{
		Name:        tokenNames[g.rng.IntN(len(tokenNames))],
		Scopes:      g.scopesFor(label),
		CreatedAt:   created,
		ExpiresAt:   expires,
		LastUsedAt:  used,
		LastUsedIPs: g.lastUsedIPs(used),
		Revoked:     label == PlantRevoked,
		Value:       g.secret(g.w.Settings.PersonalAccessTokenPrefix, urlSafe, 20),
		Plant:       label,
	}
	if g.chance(0.3) {
		t.Description = "used by " + t.Name
	}
	if owner != nil {
		t.UserID = owner.ID
		touch(owner, used)
	}
	return t
}

// newBot creates the bot user of a project or group access token, named as
// GitLab names it (https://docs.gitlab.com/user/project/settings/project_access_tokens/#bot-users-for-projects).
func (g *generator) newBot(sourceType string, sourceID int64, t *PersonalAccessToken) *User {
	username := fmt.Sprintf("%s_%d_bot_%s", sourceType, sourceID, randString(g.rng, hexDigits, 32))
	return g.addUser(&User{
		Username: username, Name: t.Name, Email: username + "@noreply." + GeneratorHost,
		State: "active", UserType: UserTypeProjectBot,
		BotSourceType: sourceType, BotSourceID: sourceID,
		CreatedAt: t.CreatedAt,
	})
}

// projectBefore picks a random project created before t. Should a few
// draws find none, it backdates one (and its namespace) to before t, so
// that no token predates its project.
func (g *generator) projectBefore(t time.Time) *Project {
	p := g.w.Projects[g.rng.IntN(len(g.w.Projects))]
	for try := 0; p.CreatedAt.After(t) && try < 50; try++ {
		p = g.w.Projects[g.rng.IntN(len(g.w.Projects))]
	}
	if p.CreatedAt.After(t) {
		p.CreatedAt = t.Add(-time.Hour)
		if p.GroupID != 0 {
			g.groupOlderThan(g.groupByID[p.GroupID], p.CreatedAt)
		} else if u := g.w.Users[p.UserID-1]; u.CreatedAt.After(p.CreatedAt) {
			u.CreatedAt = p.CreatedAt.Add(-time.Hour) // users are numbered from 1 without holes
		}
	}
	return p
}

// groupOlderThan backdates gr and its ancestors to before t where needed.
func (g *generator) groupOlderThan(gr *Group, t time.Time) {
	for ; gr != nil; gr = g.groupByID[gr.ParentID] {
		if gr.CreatedAt.After(t) {
			gr.CreatedAt = t.Add(-time.Hour)
		}
		t = gr.CreatedAt
	}
}

// botLevel is the access level of a resource token's bot: Maintainer (the
// default on creation) most often, never Owner unless planted.
func (g *generator) botLevel(label string) int {
	if label == PlantOwnerAccess {
		return 50
	}
	return []int{10, 20, 30, 40, 40, 40}[g.rng.IntN(6)]
}

func (g *generator) genPATs() {
	sp := g.spec
	var tokens []*PersonalAccessToken

	// The well-known tokens (World.AdminToken, World.GroupOwnerToken).
	for _, owner := range []*User{g.root, g.groupOwner} {
		used := new(g.daysAgo(1))
		t := &PersonalAccessToken{
			UserID: owner.ID, Name: "tokenaudit", Description: "read-only audit token",
			Scopes: []string{"read_api"}, CreatedAt: g.daysAgo(5), ExpiresAt: g.dateIn(300),
			LastUsedAt: used, LastUsedIPs: g.lastUsedIPs(used),
			Value: g.secret(g.w.Settings.PersonalAccessTokenPrefix, urlSafe, 20), Plant: PlantHealthy,
		}
		touch(owner, used)
		tokens = append(tokens, t)
	}

	for _, label := range g.allocate(sp.Personal-2, PlantHealthy, personalRisks) {
		var owner *User
		switch label {
		case PlantAdminAPI, PlantSudoScope, PlantAdminModeScope:
			// GitLab offers sudo and admin_mode only to administrators.
			owner = g.admins[g.rng.IntN(len(g.admins))]
		case PlantBlockedOwner:
			owner = g.inactive[g.rng.IntN(len(g.inactive))]
		default:
			owner = g.tokenOwner()
		}
		tokens = append(tokens, g.newPAT(owner, label))
	}

	for _, label := range g.allocate(sp.Impersonation, PlantHealthy, impersonationRisks) {
		t := g.newPAT(g.tokenOwner(), label)
		t.Impersonation = true
		tokens = append(tokens, t)
	}

	for _, label := range g.allocate(sp.ServiceAccount, PlantHealthy, serviceAccountRisks) {
		tokens = append(tokens, g.newPAT(g.sas[g.rng.IntN(len(g.sas))], label))
	}

	orphaned := !sp.OrphanBot
	for _, label := range g.allocate(sp.ProjectAccess, PlantHealthy, projectAccessRisks) {
		t := g.newPAT(nil, label)
		var p *Project
		pid := g.deletedProject
		if orphaned || label != PlantHealthy {
			p = g.projectBefore(t.CreatedAt)
			pid = p.ID
		} else {
			// The bot of a project deleted since: GitLab normally deletes
			// such bots, but instances do carry leftovers.
			orphaned = true
		}
		bot := g.newBot("project", pid, t)
		t.UserID = bot.ID
		touch(bot, t.LastUsedAt)
		if p != nil {
			p.Members = append(p.Members, Membership{UserID: bot.ID, AccessLevel: g.botLevel(label)})
		}
		tokens = append(tokens, t)
	}

	var small, large []*Group
	for _, gr := range g.w.Groups {
		switch {
		case g.projectsBelow[gr.ID] <= SmallGroupMaxProjects:
			small = append(small, gr)
		case g.activeBelow[gr.ID] > SmallGroupMaxProjects:
			large = append(large, gr)
		}
	}
	// A group access token carries the group-size risk whatever else is
	// true of it, so group tokens are planted only with their group's size.
	for range sp.GroupAccess {
		label, pool := PlantSmallGroupToken, small
		if len(large) > 0 && (len(small) == 0 || g.chance(0.5)) {
			label, pool = PlantLargeGroupToken, large
		}
		t := g.newPAT(nil, PlantHealthy)
		t.Plant = label
		gr := pool[g.rng.IntN(len(pool))]
		for try := 0; gr.CreatedAt.After(t.CreatedAt) && try < 50; try++ {
			gr = pool[g.rng.IntN(len(pool))]
		}
		g.groupOlderThan(gr, t.CreatedAt)
		bot := g.newBot("group", gr.ID, t)
		t.UserID = bot.ID
		touch(bot, t.LastUsedAt)
		gr.Members = append(gr.Members, Membership{UserID: bot.ID, AccessLevel: g.botLevel(label)})
		tokens = append(tokens, t)
	}
	// GitLab numbers tokens in creation order.
	slices.SortStableFunc(tokens, func(a, b *PersonalAccessToken) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for i, t := range tokens {
		t.ID = int64(i + 1)
	}
	g.w.Tokens = tokens
}

var deployRisks = []labelWeight{{PlantDeployNeverExpires, 0.15}, {PlantDeployWrite, 0.2}}

var deployReadScopes = [][]string{
	{"read_repository"}, {"read_registry"}, {"read_repository", "read_registry"}, {"read_package_registry"},
}

var deployWriteScopes = [][]string{
	{"read_repository", "write_repository"}, {"read_registry", "write_registry"},
	{"read_package_registry", "write_package_registry"}, {"write_registry"},
}

var deployNames = []string{"k8s-pull", "registry-pull", "mirror", "argo-cd", "package-publish", "backup"}

func (g *generator) genDeployTokens() {
	for i, label := range g.allocate(g.spec.Deploy, PlantDeployHealthy, deployRisks) {
		d := &DeployToken{
			ID:    int64(i + 1),
			Name:  deployNames[g.rng.IntN(len(deployNames))],
			Value: g.secret("gldt-", urlSafe, 20),
			Plant: label,
		}
		d.Username = fmt.Sprintf("gitlab+deploy-token-%d", d.ID)
		if g.chance(0.75) {
			d.ProjectID = g.w.Projects[g.rng.IntN(len(g.w.Projects))].ID
		} else {
			d.GroupID = g.w.Groups[g.rng.IntN(len(g.w.Groups))].ID
		}
		switch label {
		case PlantDeployWrite:
			d.Scopes = slices.Clone(deployWriteScopes[g.rng.IntN(len(deployWriteScopes))])
		default:
			d.Scopes = slices.Clone(deployReadScopes[g.rng.IntN(len(deployReadScopes))])
		}
		if label != PlantDeployNeverExpires {
			d.ExpiresAt = g.dateIn(g.between(35, 290))
		}
		g.w.DeployTokens = append(g.w.DeployTokens, d)
	}
}

var triggerRisks = []labelWeight{{PlantTriggerNoOwner, 0.08}, {PlantTriggerBlockedOwner, 0.05}, {PlantTriggerStale, 0.12}}

var triggerDescriptions = []string{"deploy trigger", "nightly", "downstream", "docs rebuild", "release", "external webhook"}

func (g *generator) genTriggers() {
	for i, label := range g.allocate(g.spec.Triggers, PlantTriggerHealthy, triggerRisks) {
		tr := &Trigger{
			ID:          int64(i + 1),
			Description: triggerDescriptions[g.rng.IntN(len(triggerDescriptions))],
			Value:       g.secret("glptt-", hexDigits, 40),
			Plant:       label,
		}
		var c, l int
		if label == PlantTriggerStale {
			l = g.between(95, 390)
			c = l + g.between(1, 200)
		} else {
			c = g.between(2, 360)
			l = g.between(0, min(28, c-1))
		}
		tr.CreatedAt = g.daysAgo(c)
		p := g.projectBefore(tr.CreatedAt)
		tr.ProjectID = p.ID
		tr.UpdatedAt = tr.CreatedAt
		if g.chance(0.2) {
			tr.UpdatedAt = g.timeBetween(tr.CreatedAt, g.now)
		}
		tr.LastUsed = new(g.daysAgo(l))
		if tr.LastUsed.Before(tr.CreatedAt) {
			*tr.LastUsed = tr.CreatedAt
		}
		if g.chance(0.2) {
			tr.ExpiresAt = g.dateIn(g.between(35, 290))
		}
		var owner *User
		switch label {
		case PlantTriggerNoOwner:
			// The owner's account was deleted: GitLab keeps the trigger.
		case PlantTriggerBlockedOwner:
			owner = g.inactive[g.rng.IntN(len(g.inactive))]
		default:
			owner = g.active[g.rng.IntN(len(g.active))]
		}
		if owner != nil {
			tr.OwnerID = owner.ID
			if owner.CreatedAt.After(tr.CreatedAt) {
				owner.CreatedAt = tr.CreatedAt.Add(-24 * time.Hour)
			}
			// Creating a trigger takes Maintainer (lib/api/ci/triggers.rb).
			p.Members = addMember(p.Members, owner.ID, 40)
			for i := range p.Members {
				if m := &p.Members[i]; m.UserID == owner.ID && m.AccessLevel < 40 {
					m.AccessLevel = 40
				}
			}
			if owner.State == "active" {
				touch(owner, tr.LastUsed)
			}
		}
		g.w.Triggers = append(g.w.Triggers, tr)
	}
}

// genAccessRequests adds pending access requests, one per fifty humans
// (at least two): active users asking to join a group or project they have
// no access to, which GitLab requires of a requester. They draw from a
// stream of their own, so every other value stays put.
func (g *generator) genAccessRequests(seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6163636573737271)) // "accessrq"
	member := func(ms []Membership, uid int64) bool {
		return slices.ContainsFunc(ms, func(m Membership) bool { return m.UserID == uid })
	}
	inGroup := func(gid, uid int64) bool {
		for gr := g.groupByID[gid]; gr != nil; gr = g.groupByID[gr.ParentID] {
			if member(gr.Members, uid) || slices.ContainsFunc(gr.AccessRequests, func(a AccessRequest) bool { return a.UserID == uid }) {
				return true
			}
		}
		return false
	}
	for made, tries := 0, 0; made < max(2, g.spec.Humans/50) && tries < 1000; tries++ {
		u := g.active[rng.IntN(len(g.active))]
		since := u.CreatedAt
		var reqs *[]AccessRequest
		if rng.IntN(2) == 0 {
			gr := g.w.Groups[rng.IntN(len(g.w.Groups))]
			if inGroup(gr.ID, u.ID) {
				continue
			}
			reqs = &gr.AccessRequests
			since = later(since, gr.CreatedAt)
		} else {
			p := g.w.Projects[rng.IntN(len(g.w.Projects))]
			if p.GroupID == 0 || member(p.Members, u.ID) || inGroup(p.GroupID, u.ID) ||
				slices.ContainsFunc(p.AccessRequests, func(a AccessRequest) bool { return a.UserID == u.ID }) {
				continue
			}
			reqs = &p.AccessRequests
			since = later(since, p.CreatedAt)
		}
		at := since.Add(time.Duration(rng.Int64N(max(int64(g.now.Sub(since)), 1))))
		*reqs = append(*reqs, AccessRequest{UserID: u.ID, RequestedAt: at})
		made++
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// AdminToken returns the value of the well-known administrator token: the
// first active, non-impersonation token with the read_api or api scope of
// the active administrator with the lowest ID. In generated instances it is
// root's read_api token expiring 300 days after Now, planted healthy; it is
// part of the ground truth like any other token. "" if there is none.
func (w *World) AdminToken() string {
	for _, u := range w.Users {
		if u.Admin && u.State == "active" && u.UserType == UserTypeHuman {
			if t := w.usableToken(u.ID); t != nil {
				return t.Value
			}
		}
	}
	return ""
}

// GroupOwnerToken returns the value of the well-known group-owner token and
// the path of its group: the largest top-level group (most projects below
// it, the lowest ID on a tie), its first direct Owner (access level 50) who
// is an active human and no administrator, and that user's first active
// non-impersonation token with read_api or api. The generator gives every
// preset such an owner with a read_api token, planted healthy; it is part of
// the ground truth like any other token. Empty strings if there is none.
func (w *World) GroupOwnerToken() (token, groupPath string) {
	counts := w.projectCountsBelow()
	var best *Group
	for _, gr := range w.Groups {
		if gr.ParentID == 0 && (best == nil || counts[gr.ID] > counts[best.ID]) {
			best = gr
		}
	}
	if best == nil {
		return "", ""
	}
	users := make(map[int64]*User, len(w.Users))
	for _, u := range w.Users {
		users[u.ID] = u
	}
	for _, m := range best.Members {
		u := users[m.UserID]
		if m.AccessLevel != 50 || u == nil || u.Admin || u.State != "active" || u.UserType != UserTypeHuman {
			continue
		}
		if t := w.usableToken(u.ID); t != nil {
			return t.Value, best.Path
		}
	}
	return "", ""
}

// usableToken is the first active non-impersonation token of a user that
// reads the API.
func (w *World) usableToken(userID int64) *PersonalAccessToken {
	for _, t := range w.Tokens {
		if t.UserID == userID && !t.Impersonation && w.TokenActive(t) &&
			(slices.Contains(t.Scopes, "read_api") || slices.Contains(t.Scopes, "api")) {
			return t
		}
	}
	return nil
}

// TokenActive reports GitLab's active for a token: not revoked and not
// expired, a token expiring at midnight UTC at the start of its expiry date
// (https://docs.gitlab.com/user/profile/personal_access_tokens/).
func (w *World) TokenActive(t *PersonalAccessToken) bool {
	return !t.Revoked && (t.ExpiresAt == nil || w.Now.Before(*t.ExpiresAt))
}

// GroupProjectCount is the number of projects in a group and all its
// subgroups, archived ones included.
func (w *World) GroupProjectCount(groupID int64) int {
	return w.projectCountsBelow()[groupID]
}

func (w *World) projectCountsBelow() map[int64]int {
	counts := make(map[int64]int, len(w.Groups))
	w.eachGroupAbove(func(gid int64, _ *Project) { counts[gid]++ })
	return counts
}

// eachGroupAbove calls fn for every project in a group and every group it
// lies in: its own group and that group's ancestors.
func (w *World) eachGroupAbove(fn func(gid int64, p *Project)) {
	parent := make(map[int64]int64, len(w.Groups))
	for _, gr := range w.Groups {
		parent[gr.ID] = gr.ParentID
	}
	for _, p := range w.Projects {
		// The bound guards against a cycle in a hand-written World.
		for id, n := p.GroupID, 0; id != 0 && n <= len(w.Groups); id, n = parent[id], n+1 {
			fn(id, p)
		}
	}
}

// ProjectsReached is, per user, the projects the user is a member of: each
// direct project membership and every project below a group the user is a
// direct member of, subgroups included (members inherit a group's
// membership, https://docs.gitlab.com/user/project/members/#membership-types).
func (w *World) ProjectsReached() map[int64]map[int64]bool {
	reach := map[int64]map[int64]bool{}
	add := func(uid, pid int64) {
		if reach[uid] == nil {
			reach[uid] = map[int64]bool{}
		}
		reach[uid][pid] = true
	}
	for _, p := range w.Projects {
		for _, m := range p.Members {
			add(m.UserID, p.ID)
		}
	}
	members := make(map[int64][]Membership, len(w.Groups))
	for _, g := range w.Groups {
		members[g.ID] = g.Members
	}
	w.eachGroupAbove(func(gid int64, p *Project) {
		for _, m := range members[gid] {
			add(m.UserID, p.ID)
		}
	})
	return reach
}

// TokenKind classifies a token stored as a personal access token the way
// GitLab's data implies: impersonation tokens by their flag, then by the
// owner's user_type, project and group access tokens by the bot's username
// prefix (project_<id>_bot_… / group_<id>_bot_…,
// https://docs.gitlab.com/user/project/settings/project_access_tokens/#bot-users-for-projects).
// owner may be nil (unknown owner): the token counts as personal.
func TokenKind(owner *User, t *PersonalAccessToken) string {
	switch {
	case t.Impersonation:
		return KindImpersonation
	case owner == nil:
		return KindPersonal
	case owner.UserType == UserTypeServiceAccount:
		return KindServiceAccount
	case owner.UserType == UserTypeProjectBot && strings.HasPrefix(owner.Username, "group_"):
		return KindGroupAccess
	case owner.UserType == UserTypeProjectBot:
		return KindProjectAccess
	}
	return KindPersonal
}

// TokenCounts counts the World's tokens by kind (the Kind* constants).
func (w *World) TokenCounts() map[string]int {
	users := make(map[int64]*User, len(w.Users))
	for _, u := range w.Users {
		users[u.ID] = u
	}
	counts := make(map[string]int)
	for _, t := range w.Tokens {
		counts[TokenKind(users[t.UserID], t)]++
	}
	counts[KindDeploy] += len(w.DeployTokens)
	counts[KindPipelineTrigger] += len(w.Triggers)
	return counts
}

// PlantCounts counts the World's tokens of every kind by Plant label;
// tokens without a label count under "".
func (w *World) PlantCounts() map[string]int {
	counts := make(map[string]int)
	for _, t := range w.Tokens {
		counts[t.Plant]++
	}
	for _, d := range w.DeployTokens {
		counts[d.Plant]++
	}
	for _, t := range w.Triggers {
		counts[t.Plant]++
	}
	return counts
}

// sortWorld orders every collection by ID, as World promises.
func sortWorld(w *World) {
	byID := func(a, b int64) int { return cmp.Compare(a, b) }
	slices.SortFunc(w.Users, func(a, b *User) int { return byID(a.ID, b.ID) })
	slices.SortFunc(w.Groups, func(a, b *Group) int { return byID(a.ID, b.ID) })
	slices.SortFunc(w.Projects, func(a, b *Project) int { return byID(a.ID, b.ID) })
	slices.SortFunc(w.Tokens, func(a, b *PersonalAccessToken) int { return byID(a.ID, b.ID) })
	slices.SortFunc(w.DeployTokens, func(a, b *DeployToken) int { return byID(a.ID, b.ID) })
	slices.SortFunc(w.Triggers, func(a, b *Trigger) int { return byID(a.ID, b.ID) })
}
