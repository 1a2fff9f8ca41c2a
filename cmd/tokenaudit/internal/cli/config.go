package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/collect"
	"github.com/tokenaudit/tokenaudit/inventory"
	"github.com/tokenaudit/tokenaudit/report"
)

// Config is every setting of `tokenaudit audit` and `tokenaudit serve`. The mapstructure tags are
// the keys of the configuration file; flags use the same names with '-' for
// '_', environment variables TOKENAUDIT_ plus the key in upper case with '_'
// for '.' and '-'. config.example.yaml documents each key, and a test checks
// that the defaults it states are DefaultConfig's.
type Config struct {
	GitLabURL            string        `mapstructure:"gitlab_url"`
	TokenFile            string        `mapstructure:"token_file"`
	Mode                 string        `mapstructure:"mode"`
	Groups               []string      `mapstructure:"groups"`
	Format               string        `mapstructure:"format"`
	Output               []string      `mapstructure:"output"`
	FailOn               string        `mapstructure:"fail_on"`
	Baseline             string        `mapstructure:"baseline"`
	FailOnNew            bool          `mapstructure:"fail_on_new"`
	Filter               FilterConfig  `mapstructure:"filter"`
	Concurrency          int           `mapstructure:"concurrency"`
	Retries              int           `mapstructure:"retries"`
	Timeout              time.Duration `mapstructure:"timeout"`
	MaxDuration          time.Duration `mapstructure:"max_duration"`
	MaxResponseMiB       int           `mapstructure:"max_response_mib"`
	MaxWait              time.Duration `mapstructure:"max_wait"`
	Progress             bool          `mapstructure:"progress"`
	Quiet                bool          `mapstructure:"quiet"`
	LogLevel             string        `mapstructure:"log_level"`
	CAFile               string        `mapstructure:"ca_file"`
	InsecureSkipVerify   bool          `mapstructure:"insecure_skip_verify"`
	AllowInsecureHTTP    bool          `mapstructure:"allow_insecure_http"`
	SkipTriggers         bool          `mapstructure:"skip_triggers"`
	SkipJobTokenScope    bool          `mapstructure:"skip_job_token_scope"`
	PersonReach          bool          `mapstructure:"person_reach"`
	GraphQL              bool          `mapstructure:"graphql"`
	SkipTriggerCreatedAt bool          `mapstructure:"skip_trigger_created_at"`
	SkipImpersonation    bool          `mapstructure:"skip_impersonation"`
	Policy               audit.Policy  `mapstructure:"policy"`
	Serve                ServeConfig   `mapstructure:"serve"`
}

// FilterConfig narrows what audit shows and gates on (audit.Filter): every
// report and the exit code see the same filtered result.
type FilterConfig struct {
	MinSeverity string   `mapstructure:"min_severity"`
	Kinds       []string `mapstructure:"kinds"`
	Owners      []string `mapstructure:"owners"`
	Resources   []string `mapstructure:"resources"`
	Rules       []string `mapstructure:"rules"`
}

// filter is the audit.Filter of the settings, which validate has checked.
func (c Config) filter() audit.Filter {
	f := audit.Filter{Owners: c.Filter.Owners, Resources: c.Filter.Resources}
	f.MinSeverity, _ = audit.ParseSeverity(c.Filter.MinSeverity)
	for _, k := range c.Filter.Kinds {
		f.Kinds = append(f.Kinds, inventory.Kind(k))
	}
	for _, r := range c.Filter.Rules {
		f.Rules = append(f.Rules, strings.ToUpper(r))
	}
	return f
}

// DefaultConfig returns the settings used when nothing says otherwise.
func DefaultConfig() Config {
	return Config{
		Mode:        string(inventory.ModeAuto),
		Groups:      []string{},
		Format:      "table",
		Output:      []string{},
		FailOn:      "high",
		Concurrency: collect.DefaultConcurrency,
		Retries:     collect.DefaultRetryMax,
		Timeout:     60 * time.Second,
		MaxDuration: defaultMaxDuration,
		// A page of 100 tokens is about 30 KB and of 100 projects about
		// 130 KB; the limit only stops a hostile or broken answer.
		MaxResponseMiB: int(collect.DefaultMaxBodyBytes >> 20),
		MaxWait:        5 * time.Minute,
		LogLevel:       "warn",
		GraphQL:        true,
		Policy:         audit.DefaultPolicy(),
		Serve:          defaultServeConfig(),
		Filter: FilterConfig{
			MinSeverity: "none",
			Kinds:       []string{}, Owners: []string{}, Resources: []string{}, Rules: []string{},
		},
	}
}

// defaultMaxDuration bounds a whole run unless max_duration says
// otherwise: the xl simulator preset (100,000 tokens) takes about 81,000
// requests over REST alone, 40 minutes at GitLab.com's 2,000 requests a
// minute, and about 35,000 with GraphQL (docs/performance.md): room for
// instances several times that size, while a GitLab that answers ever more
// slowly cannot hold a scheduled job forever.
const defaultMaxDuration = 6 * time.Hour

// defaultConfigFiles are looked for in the working directory when --config
// is not given; at most one of them may exist.
var defaultConfigFiles = []string{"tokenaudit.yaml", "tokenaudit.yml"}

// userConfigFile is the per-user file, read when the working directory has
// none: $XDG_CONFIG_HOME/tokenaudit/config.yaml, or ~/.config/tokenaudit/
// config.yaml when XDG_CONFIG_HOME is unset or empty (the XDG base
// directory rule, which gh and glab follow on every system). "" when
// neither variable says where.
func userConfigFile() string {
	base := os.Getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(base) { // the XDG rule: a relative path is to be ignored
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return ""
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "tokenaudit", "config.yaml")
}

// expandHome turns a leading ~ or ~/ into the home directory, as a shell
// would for an unquoted path; ~user and a ~ elsewhere stay as written.
func expandHome(path string) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("%s: cannot find the home directory for ~: %w", path, err)
	}
	return filepath.Join(home, path[1:]), nil
}

// hostURL makes GITLAB_HOST's value a URL: glab takes a bare host there
// (gitlab.example.com), which means https.
func hostURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || strings.Contains(raw, "://") {
		return raw
	}
	return "https://" + raw
}

// envPrefix starts every tokenaudit environment variable.
const envPrefix = "TOKENAUDIT"

// envName is the environment variable of a configuration key.
func envName(key string) string {
	return envPrefix + "_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// leaf is a configuration key that takes one value (a scalar or a list of
// strings): what flags and environment variables can set.
type leaf struct {
	key string
	typ reflect.Type
}

// leaves lists the settable keys of t, a struct with mapstructure tags, in
// field order. Maps and lists of structures are left to the file.
func leaves(t reflect.Type, prefix string) []leaf {
	var out []leaf
	for f := range t.Fields() {
		name := f.Tag.Get("mapstructure")
		if name == "" || name == "-" {
			continue
		}
		key := prefix + name
		switch {
		case f.Type == durationType:
			out = append(out, leaf{key, f.Type})
		case f.Type.Kind() == reflect.Struct:
			out = append(out, leaves(f.Type, key+".")...)
		case f.Type.Kind() == reflect.Map:
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() != reflect.String:
		default:
			out = append(out, leaf{key, f.Type})
		}
	}
	return out
}

var durationType = reflect.TypeFor[time.Duration]()

// urlEnvs are the variables the GitLab URL comes from, first set wins:
// GITLAB_URL as other GitLab tools use it, GITLAB_HOST as glab does (a bare
// host allowed, see hostURL), CI_SERVER_URL as GitLab CI sets it
// (https://docs.gitlab.com/ci/variables/predefined_variables/).
var urlEnvs = []string{envName("gitlab_url"), "GITLAB_URL", "GITLAB_HOST", "CI_SERVER_URL"}

// loadConfig layers the settings: flags that were set, then environment
// variables, then the configuration file (path, or when path is ""
// tokenaudit.yaml or tokenaudit.yml in dir, else userConfigFile), then
// DefaultConfig. flagKeys maps configuration keys to
// flags. It returns the configuration, the file it read ("" for none), and
// an error that names the offending key.
func loadConfig(path, dir string, flags *pflag.FlagSet, flagKeys map[string]string) (Config, string, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	def := DefaultConfig()
	for _, l := range leaves(reflect.TypeFor[Config](), "") {
		v.SetDefault(l.key, valueAt(reflect.ValueOf(def), l.key))
		envs := []string{envName(l.key)}
		if l.key == "gitlab_url" {
			envs = urlEnvs
		}
		for _, e := range envs {
			if raw, ok := os.LookupEnv(e); ok && raw != "" {
				if err := checkScalar(l.typ, raw); err != nil {
					return Config{}, "", fmt.Errorf("environment variable %s: %v", e, err)
				}
			}
		}
		if err := v.BindEnv(append([]string{l.key}, envs...)...); err != nil {
			return Config{}, "", fmt.Errorf("bind %s: %w", l.key, err)
		}
	}
	for key, name := range flagKeys {
		if f := flags.Lookup(name); f != nil {
			if err := v.BindPFlag(key, f); err != nil {
				return Config{}, "", fmt.Errorf("bind flag --%s: %w", name, err)
			}
		}
	}

	used, err := readConfigFile(v, path, dir)
	if err != nil {
		return Config{}, "", err
	}
	// Decoding onto the defaults keeps them for what viper does not know:
	// policy.rules and policy.exceptions, which only the file sets.
	cfg := def
	hook := viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		stringToListHook,
		timeToDateHook,
	))
	if err := v.UnmarshalExact(&cfg, hook); err != nil {
		// The file was checked key by key and the variables value by value,
		// so this is a combination we did not foresee; say what viper said.
		where := "settings"
		if used != "" {
			where = "config file " + used
		}
		return Config{}, used, fmt.Errorf("%s: %s", where, strings.Join(strings.Fields(err.Error()), " "))
	}
	// viper reads a list flag back by splitting it at commas, which would cut
	// --output json=a,b.json in two; take such flags' values as given.
	for key, name := range flagKeys {
		if f := flags.Lookup(name); f != nil && f.Changed && f.Value.Type() == "stringArray" {
			vals, _ := flags.GetStringArray(name)
			fieldAt(reflect.ValueOf(&cfg).Elem(), key).Set(reflect.ValueOf(vals))
		}
	}
	// Names are matched without regard to case or stray spaces: HIGH is high.
	for _, p := range []*string{&cfg.Mode, &cfg.Format, &cfg.FailOn, &cfg.LogLevel, &cfg.Serve.TokenSeries, &cfg.Filter.MinSeverity} {
		*p = strings.ToLower(strings.TrimSpace(*p))
	}
	cfg.GitLabURL = strings.TrimSpace(cfg.GitLabURL)
	if fromHostEnv(flags) {
		cfg.GitLabURL = hostURL(cfg.GitLabURL)
	}
	if cfg.TokenFile, err = expandHome(cfg.TokenFile); err != nil {
		return Config{}, used, fmt.Errorf("token_file %w", err)
	}
	// viper lower-cases map keys; rule IDs read back in their own form.
	if len(cfg.Policy.Rules) > 0 {
		rules := make(map[string]audit.RuleSetting, len(cfg.Policy.Rules))
		for id, r := range cfg.Policy.Rules {
			rules[strings.ToUpper(id)] = r
		}
		cfg.Policy.Rules = rules
	}
	return cfg, used, nil
}

// fromHostEnv reports whether the GitLab URL came from GITLAB_HOST: no
// --gitlab-url, and none of the variables before it in urlEnvs set.
func fromHostEnv(flags *pflag.FlagSet) bool {
	if flags != nil {
		if f := flags.Lookup("gitlab-url"); f != nil && f.Changed {
			return false
		}
	}
	for _, e := range urlEnvs {
		if os.Getenv(e) != "" {
			return e == "GITLAB_HOST"
		}
	}
	return false
}

// findConfigFile is the file to read when --config is not given: one of
// defaultConfigFiles in dir, else the user's own, else "". Both names in
// dir at once is an error, since either choice would ignore a file someone
// meant to be read.
func findConfigFile(dir string) (string, error) {
	var found []string
	for _, name := range defaultConfigFiles {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			found = append(found, filepath.Join(dir, name))
		}
	}
	switch len(found) {
	case 0:
		return userConfigFile(), nil
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("config files %s and %s both exist; remove one, or name one with --config", found[0], found[1])
}

// readConfigFile checks the file strictly (unknown keys, types, syntax, with
// line numbers) and hands it to v. The default files are optional; a file
// named with --config is not.
func readConfigFile(v *viper.Viper, path, dir string) (string, error) {
	explicit := path != ""
	if !explicit {
		var err error
		if path, err = findConfigFile(dir); err != nil || path == "" {
			return "", err
		}
	} else if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		return "", nil
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("config file %s does not exist", path)
	case err != nil:
		return "", fmt.Errorf("read config file: %w", err)
	}
	if err := checkYAML(data, reflect.TypeFor[Config]()); err != nil {
		return path, fmt.Errorf("config file %s: %w", path, err)
	}
	if err := v.ReadConfig(strings.NewReader(string(data))); err != nil {
		return path, fmt.Errorf("config file %s: %w", path, err)
	}
	return path, nil
}

// valueAt returns the value of the field of v (a struct) at the dotted key.
func valueAt(v reflect.Value, key string) any { return fieldAt(v, key).Interface() }

// fieldAt returns the field of v (a struct) at the dotted key.
func fieldAt(v reflect.Value, key string) reflect.Value {
	for part := range strings.SplitSeq(key, ".") {
		for i := range v.NumField() {
			if v.Type().Field(i).Tag.Get("mapstructure") == part {
				v = v.Field(i)
				break
			}
		}
	}
	return v
}

// stringToListHook splits a comma-separated variable into a list, and keeps
// "" an empty list (viper's own hook, minus its surprises with non-string
// slices).
func stringToListHook(f, t reflect.Type, data any) (any, error) {
	if f.Kind() != reflect.String || t.Kind() != reflect.Slice || t.Elem().Kind() != reflect.String {
		return data, nil
	}
	raw := strings.TrimSpace(data.(string))
	if raw == "" {
		return []string{}, nil
	}
	parts := strings.Split(raw, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, nil
}

// timeToDateHook turns an unquoted YAML date (expires: 2027-01-31), which
// the YAML decoder reads as a timestamp, back into its YYYY-MM-DD text.
func timeToDateHook(f, t reflect.Type, data any) (any, error) {
	if f != reflect.TypeFor[time.Time]() || t.Kind() != reflect.String {
		return data, nil
	}
	tm := data.(time.Time)
	if tm.Equal(tm.Truncate(24 * time.Hour)) {
		return tm.UTC().Format(time.DateOnly), nil
	}
	return tm.UTC().Format(time.RFC3339), nil
}

// checkScalar says whether raw, from an environment variable, fits typ.
func checkScalar(typ reflect.Type, raw string) error {
	shown := strconv.Quote(raw)
	if looksLikeToken(raw) {
		shown = "a value that looks like a token (not shown)"
	}
	switch {
	case typ == durationType:
		if _, err := time.ParseDuration(raw); err != nil {
			return fmt.Errorf("want a duration such as 30s or 2m, got %s", shown)
		}
	case typ.Kind() == reflect.Bool:
		if _, err := strconv.ParseBool(raw); err != nil {
			return fmt.Errorf("want true or false, got %s", shown)
		}
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Int64:
		if _, err := strconv.ParseInt(raw, 10, 64); err != nil {
			return fmt.Errorf("want a whole number, got %s", shown)
		}
	}
	return nil
}

// Choices of the settings that take one of a few names.
var (
	modeChoices     = []string{"auto", "instance", "groups", "self"}
	failOnChoices   = []string{"critical", "high", "medium", "low", "none"}
	logLevelChoices = []string{"debug", "info", "warn", "error"}
)

// validate reports every impossible value at once, each on its own line,
// naming the key and what is allowed.
func (c Config) validate() error {
	var errs []error
	bad := func(key string, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if !slices.Contains(modeChoices, c.Mode) {
		bad("mode", "%q is not allowed (want one of %s)", c.Mode, strings.Join(modeChoices, ", "))
	}
	if c.Mode == "groups" && len(c.Groups) == 0 {
		bad("groups", "mode groups needs at least one group (--group PATH)")
	}
	for i, g := range c.Groups {
		if strings.TrimSpace(g) == "" {
			bad("groups", "entry %d is empty (want a group path such as my-org)", i+1)
		}
	}
	if !slices.Contains(report.Formats(), c.Format) {
		bad("format", "%q is not allowed (want one of %s)", c.Format, strings.Join(report.Formats(), ", "))
	}
	if _, err := parseOutputs(c.Output); err != nil {
		errs = append(errs, err)
	}
	if !slices.Contains(failOnChoices, c.FailOn) {
		bad("fail_on", "%q is not allowed (want one of %s)", c.FailOn, strings.Join(failOnChoices, ", "))
	}
	if c.FailOnNew && c.Baseline == "" {
		bad("fail_on_new", "needs a baseline (--baseline PATH, an earlier JSON report); without one every finding would be new")
	}
	if _, err := audit.ParseSeverity(c.Filter.MinSeverity); err != nil {
		bad("filter.min_severity", "%v", err)
	}
	if err := c.filter().Validate(); err != nil {
		bad("filter", "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		bad("concurrency", "%d is not allowed (want a whole number from 1 to 64)", c.Concurrency)
	}
	if c.Retries < 0 || c.Retries > 20 {
		bad("retries", "%d is not allowed (want a whole number from 0 to 20)", c.Retries)
	}
	if c.Timeout <= 0 {
		bad("timeout", "%s is not allowed (want a duration above zero, such as 30s)", c.Timeout)
	}
	if c.MaxDuration < 0 {
		bad("max_duration", "%s is not allowed (want a duration such as 6h, or 0 for no limit)", c.MaxDuration)
	}
	if c.MaxResponseMiB < 1 || c.MaxResponseMiB > 4096 {
		bad("max_response_mib", "%d is not allowed (want a whole number of MiB from 1 to 4096)", c.MaxResponseMiB)
	}
	if c.MaxWait < time.Second || c.MaxWait > time.Hour {
		bad("max_wait", "%s is not allowed (want a duration from 1s to 1h, such as 5m)", c.MaxWait)
	}
	if !slices.Contains(logLevelChoices, c.LogLevel) {
		bad("log_level", "%q is not allowed (want one of %s)", c.LogLevel, strings.Join(logLevelChoices, ", "))
	}
	errs = append(errs, c.Serve.validate()...)
	if err := c.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// outputSpec is one --output FORMAT=PATH.
type outputSpec struct {
	format string
	path   string
}

// parseOutputs reads the --output values and refuses a format it does not
// know, a missing path, and two reports into one file.
func parseOutputs(specs []string) ([]outputSpec, error) {
	var out []outputSpec
	seen := map[string]bool{}
	for _, s := range specs {
		format, path, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("output: %q is not FORMAT=PATH (for example json=audit.json)", s)
		}
		if !slices.Contains(report.Formats(), format) {
			return nil, fmt.Errorf("output: format %q in %q is not allowed (want one of %s)", format, s, strings.Join(report.Formats(), ", "))
		}
		clean := filepath.Clean(path)
		if seen[clean] {
			return nil, fmt.Errorf("output: %s is named twice", path)
		}
		seen[clean] = true
		out = append(out, outputSpec{format, path})
	}
	return out, nil
}

// failOn turns fail_on into the lowest severity that fails the run;
// ok is false for "none".
func (c Config) failOn() (audit.Severity, bool) {
	if c.FailOn == "none" {
		return audit.SeverityNone, false
	}
	s, _ := audit.ParseSeverity(c.FailOn)
	return s, true
}

// checkURL refuses a GitLab URL that tokenaudit cannot or should not talk
// to, saying which problem it is. Reachability is checked later, with the
// network.
func checkURL(raw string, allowInsecureHTTP bool) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("no GitLab URL: set --gitlab-url, GITLAB_URL, GITLAB_HOST or gitlab_url in the config file (CI_SERVER_URL is used in GitLab CI)")
	}
	if looksLikeToken(raw) {
		return nil, errors.New("gitlab url looks like a token, not a URL (put the token in GITLAB_TOKEN or token_file, the URL in --gitlab-url)")
	}
	// Error messages show the URL without its query, fragment and password:
	// someone may have pasted ?private_token=... into it.
	shown := raw
	if i := strings.IndexAny(shown, "?#"); i >= 0 {
		shown = shown[:i] + "?…"
	}
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.Index(shown, "@"); i >= 0 {
			shown = "…" + shown[i:]
		}
		return nil, fmt.Errorf("gitlab url %q is not a URL", shown)
	}
	switch {
	case u.Scheme == "" || (u.Host == "" && u.Opaque != ""):
		// "gitlab.example.com" parses as a path, "gitlab.example.com:8443" as scheme+opaque.
		return nil, fmt.Errorf("gitlab url %q has no scheme (want https://host, for example https://%s)", shown, strings.TrimPrefix(shown, "//"))
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("gitlab url %q: scheme %q is not allowed (want https, or http)", redactURL(u), u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("gitlab url %q has no host (want https://host)", redactURL(u))
	case u.User != nil:
		return nil, fmt.Errorf("gitlab url %q holds credentials; remove them and use GITLAB_TOKEN", redactURL(u))
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("gitlab url %q has a query or fragment (want https://host, or https://host/path for GitLab under a relative URL)", redactURL(u))
	}
	if u.Scheme == "http" && !allowInsecureHTTP && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("gitlab url %q uses plain http to %s, which would send the token unencrypted (use https, or set --allow-insecure-http)", redactURL(u), u.Hostname())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.Path = strings.TrimSuffix(u.Path, "/api/v4")
	return u, nil
}

// configFileWarning warns about a config file that other users may change:
// it decides where the token is sent (gitlab_url) and which findings are
// suppressed. It is a warning, not a refusal, because GitLab Runner's
// Docker executor checks files out world-writable (umask 0000) in a
// container where no other user exists; token files, which hold the
// secret itself, are refused (readToken).
func configFileWarning(path string) string {
	if path == "" {
		return ""
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm()&0o022 == 0 {
		return ""
	}
	return fmt.Sprintf("warning: config file %s can be changed by other users (mode %04o), who could send your token elsewhere; run: chmod 600 %s",
		path, info.Mode().Perm(), path)
}

// tokenPrefix matches the prefixes GitLab gives its tokens: glpat-, gldt-,
// glptt-, glrt-, gloas-, glsoat- and the like
// (https://docs.gitlab.com/security/tokens/#token-prefixes).
var tokenPrefix = regexp.MustCompile(`^gl[a-z]{1,8}-`)

// looksLikeToken reports whether s may be a pasted token, which must not be
// echoed in an error message.
func looksLikeToken(s string) bool { return tokenPrefix.MatchString(strings.TrimSpace(s)) }

// redactURL shows a URL in an error message without its credentials,
// query and fragment.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = "", false, "", ""
	return c.String()
}
