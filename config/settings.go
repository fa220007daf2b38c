package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/contractpdf"
)

// def is one setting: its key in the file, the environment variable and
// the command-line flag that set it, its default, how a value is read and
// how it is shown.
type def struct {
	key    string
	env    string // "" for none
	flag   string // "" for none
	def    string // the default as text; "" for none
	secret bool   // shown only as set or not
	list   bool   // a YAML list is taken, its items joined by commas
	set    func(c *Config, raw string, from Source) error
	show   func(c *Config) (value string, from Source)
}

// defs are every setting, in the order `config check` and the docs show
// them.
var defs = []def{
	with(value("db", func(c *Config) *Setting[string] { return &c.DB }, parseDB, plain), "CALLBILL_DB", "db", "callbill.db"),
	operatorKey.text(checkOperatorKey),
	operatorKey.file(),
	masterKey.text(func(s string) error { _, err := DecodeMasterKey(s); return err }),
	masterKey.file(),
	with(value("pull.access_key_id", func(c *Config) *Setting[string] { return &c.Pull.AccessKeyID }, optional(parseAccessKeyID), orText("not set")),
		"ALIBABA_CLOUD_ACCESS_KEY_ID", "", ""),
	cccSecret.text(checkAccessKeySecret),
	cccSecret.file(),
	with(value("cjk_font", func(c *Config) *Setting[string] { return &c.CJKFont }, optional(parsePath), orText("built-in")), contractpdf.FontEnv, "", ""),
	with(value("serve.addr", func(c *Config) *Setting[string] { return &c.Serve.Addr }, parseAddr, plain), "", "addr", "127.0.0.1:8080"),
	with(value("serve.exports", func(c *Config) *Setting[string] { return &c.Serve.Exports }, parsePath, plain), "", "exports", "exports"),
	with(value("serve.export_keep_days", func(c *Config) *Setting[int] { return &c.Serve.ExportKeepDays }, parseDays, strconv.Itoa), "", "",
		strconv.Itoa(callbill.DefaultExportKeepDays)),
	with(value("serve.rejects_keep_days", func(c *Config) *Setting[int] { return &c.Serve.RejectsKeepDays }, parseDays, strconv.Itoa), "", "",
		strconv.Itoa(callbill.DefaultRejectsKeepDays)),
	with(value("serve.node", func(c *Config) *Setting[string] { return &c.Serve.Node }, optional(parseNode), orText("host-pid")), "", "node", ""),
	with(value("serve.auto_close", func(c *Config) *Setting[bool] { return &c.Serve.AutoClose }, parseBool, strconv.FormatBool), "", "auto-close", "true"),
	with(value("serve.auto_close_grace", func(c *Config) *Setting[time.Duration] { return &c.Serve.AutoCloseGrace },
		parseDuration(0, 24*time.Hour), FormatDuration), "", "auto-close-grace", "10m"),
	with(value("serve.job_lease", func(c *Config) *Setting[time.Duration] { return &c.Serve.JobLease },
		parseDuration(time.Second, time.Hour), FormatDuration), "", "job-lease", "1m"),
	with(value("serve.authorize_cap", func(c *Config) *Setting[int64] { return &c.Serve.AuthorizeCap }, parseCapSeconds, formatCap), "", "authorize-cap", "0"),
	listOf(with(value("serve.trusted_proxies", func(c *Config) *Setting[[]netip.Prefix] { return &c.Serve.TrustedProxies },
		ParseTrustedProxies, formatProxies), "", "trusted-proxies", "")),
	with(value("serve.limits.import_body", func(c *Config) *Setting[int64] { return &c.Serve.ImportBody },
		parseSize(1<<10, 64<<30), FormatSize), "", "", FormatSize(DefaultBodyLimits.Import)),
	with(value("serve.limits.json_body", func(c *Config) *Setting[int64] { return &c.Serve.JSONBody },
		parseSize(1<<10, 64<<20), FormatSize), "", "", FormatSize(DefaultBodyLimits.JSON)),
	with(value("serve.limits.world_body", func(c *Config) *Setting[int64] { return &c.Serve.WorldBody },
		parseSize(1<<10, 1<<30), FormatSize), "", "", FormatSize(DefaultBodyLimits.World)),
}

// value is a setting read by parse and shown by format.
func value[T any](key string, get func(*Config) *Setting[T], parse func(string) (T, error), format func(T) string) def {
	return def{key: key,
		set: func(c *Config, raw string, from Source) error {
			v, err := parse(raw)
			if err != nil {
				return err
			}
			*get(c) = Setting[T]{Value: v, From: from}
			return nil
		},
		show: func(c *Config) (string, Source) { s := get(c); return format(s.Value), s.From },
	}
}

func with(d def, env, flag, dflt string) def {
	d.env, d.flag, d.def = env, flag, dflt
	return d
}

func listOf(d def) def { d.list = true; return d }

// secret is a key that may be given as its text or as the name of a file
// holding it: two settings, of which one layer may set one.
type secret struct {
	key, env         string // the text's
	fileKey, fileEnv string // the file's
	get              func(*Config) *Secret
	unset            func(*Config) string // what happens when neither is set
}

var (
	operatorKey = secret{"operator_key", "CALLBILL_OPERATOR_KEY", "operator_key_file", "CALLBILL_OPERATOR_KEY_FILE",
		func(c *Config) *Secret { return &c.OperatorKey },
		func(*Config) string { return "not set: serve makes a key at start and prints it" }}
	cccSecret = secret{"pull.access_key_secret", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "pull.access_key_secret_file", "ALIBABA_CLOUD_ACCESS_KEY_SECRET_FILE",
		func(c *Config) *Secret { return &c.Pull.AccessKeySecret },
		func(*Config) string { return "not set: callbill pull cannot sign its requests" }}
	masterKey = secret{"master_key", "CALLBILL_MASTER_KEY", "master_key_file", "CALLBILL_MASTER_KEY_FILE",
		func(c *Config) *Secret { return &c.MasterKey },
		func(c *Config) string { return "not set: the key is in " + abs(c.MasterKeyFile(c.DB.Value)) }}
)

// text is the setting of the key's text, checked by check (whose message
// must not repeat the key).
func (k secret) text(check func(string) error) def {
	return def{key: k.key, env: k.env, secret: true,
		set: func(c *Config, raw string, from Source) error {
			s := k.get(c)
			if raw == "" { // "" in the file: not set
				return nil
			}
			if s.File != "" && s.From.Kind == from.Kind {
				return k.bothSet(from)
			}
			if err := check(raw); err != nil {
				return err
			}
			*s = Secret{Text: raw, From: from}
			return nil
		},
		show: func(c *Config) (string, Source) {
			if s := k.get(c); s.Text != "" {
				return "set", s.From
			}
			return "not set", Source{}
		},
	}
}

// file is the setting of the file holding the key.
func (k secret) file() def {
	return def{key: k.fileKey, env: k.fileEnv,
		set: func(c *Config, raw string, from Source) error {
			s := k.get(c)
			if raw == "" {
				return nil
			}
			if s.Text != "" && s.From.Kind == from.Kind {
				return k.bothSet(from)
			}
			path, err := parsePath(raw)
			if err != nil {
				return err
			}
			*s = Secret{File: path, From: from}
			return nil
		},
		show: func(c *Config) (string, Source) {
			switch s := k.get(c); {
			case s.File != "":
				return s.File, s.From
			case s.Text == "":
				return k.unset(c), Source{}
			}
			return "not set", Source{}
		},
	}
}

// bothSet is a key set both as its text and as its file in one layer:
// which key seals or opens what must not be a guess.
func (k secret) bothSet(from Source) error {
	if from.Kind == Env {
		return fmt.Errorf("set either $%s or $%s, not both", k.env, k.fileEnv)
	}
	return fmt.Errorf("set either %s or %s, not both", k.key, k.fileKey)
}

// lookup is the setting of key, nil for none.
func lookup(key string) *def {
	for i := range defs {
		if defs[i].key == key {
			return &defs[i]
		}
	}
	return nil
}

// isSection reports whether key holds settings (serve, serve.limits).
func isSection(key string) bool {
	for _, d := range defs {
		if strings.HasPrefix(d.key, key+".") {
			return true
		}
	}
	return false
}

// keysUnder lists the names of the settings and sections right under
// prefix ("" for the top of the file, "serve." for serve).
func keysUnder(prefix string) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range defs {
		if rest, ok := strings.CutPrefix(d.key, prefix); ok {
			name, _, _ := strings.Cut(rest, ".")
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out
}

// Entry is one setting as `config check` shows it.
type Entry struct {
	Key    string
	Value  string // a secret's is "set" or "not set"
	Secret bool
	From   Source
}

// Entries lists every setting with its effective value and source. A
// key's text is never in it; db is as written, so a caller showing it
// hides a DSN's password first (sqlstore.DescribeDSN).
func (c *Config) Entries() []Entry {
	out := make([]Entry, 0, len(defs))
	for _, d := range defs {
		v, from := d.show(c)
		out = append(out, Entry{Key: d.key, Value: v, Secret: d.secret, From: from})
	}
	return out
}

// Keys lists every setting's key, with the environment variable that sets
// it ("" for none): for the documentation's tests.
func Keys() [][2]string {
	out := make([][2]string, 0, len(defs))
	for _, d := range defs {
		out = append(out, [2]string{d.key, d.env})
	}
	return out
}

// maxPath bounds a file name or DSN.
const maxPath = 4096

// checkText refuses what no setting holds: control characters, broken
// UTF-8, more than max bytes.
func checkText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("is %d bytes long; at most %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return errors.New("holds a control character (a tab, a newline, …)")
		}
	}
	return nil
}

func plain(s string) string { return s }

// orText shows "" as what it stands for.
func orText(empty string) func(string) string {
	return func(s string) string {
		if s == "" {
			return empty
		}
		return s
	}
}

// optional takes "" as the default behaviour (the built-in font, host-pid).
func optional(parse func(string) (string, error)) func(string) (string, error) {
	return func(s string) (string, error) {
		if s == "" {
			return "", nil
		}
		return parse(s)
	}
}

func parseDB(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", errors.New("is empty; name a SQLite file (callbill.db) or a PostgreSQL DSN (postgres://USER@HOST:5432/DB)")
	}
	if err := checkText(s, maxPath); err != nil {
		return "", err
	}
	return s, nil
}

func parsePath(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", errors.New("is empty; name a file or folder")
	}
	if err := checkText(s, maxPath); err != nil {
		return "", err
	}
	return s, nil
}

func parseAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("%q is not HOST:PORT (127.0.0.1:8080, :8080, [::1]:8080)", cut(s, 64))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("%q: the port must be a number from 0 to 65535", cut(s, 64))
	}
	if err := checkText(host, 253); err != nil {
		return "", fmt.Errorf("the host %v", err)
	}
	return s, nil
}

// parseNode takes a node's name in job records: up to 64 characters, no
// spaces.
func parseNode(s string) (string, error) {
	if err := checkText(s, 64); err != nil {
		return "", err
	}
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return "", errors.New("must not hold spaces")
	}
	return s, nil
}

// parseCapSeconds takes the longest call authorization grants: 0 (the
// world's billing.max_call_seconds) up to 31 days of seconds.
func parseCapSeconds(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 || n > 31*86400 {
		return 0, fmt.Errorf("%q must be a whole number of seconds from 0 (the world's billing.max_call_seconds) to 2678400", cut(s, 64))
	}
	return n, nil
}

func formatCap(n int64) string {
	if n == 0 {
		return "0 (the world's billing.max_call_seconds)"
	}
	return strconv.FormatInt(n, 10)
}

// parseDays takes a retention: 1 to 3650 days.
func parseDays(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 3650 {
		return 0, fmt.Errorf("%q must be a whole number of days from 1 to 3650", cut(s, 64))
	}
	return n, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q must be true or false", cut(s, 64))
}

// parseDuration takes a Go duration (90s, 10m, 1h30m) from lo to hi.
func parseDuration(lo, hi time.Duration) func(string) (time.Duration, error) {
	return func(s string) (time.Duration, error) {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration such as 90s, 10m or 1h", cut(s, 64))
		}
		if d < lo || d > hi {
			return 0, fmt.Errorf("%s must be from %s to %s", FormatDuration(d), FormatDuration(lo), FormatDuration(hi))
		}
		return d, nil
	}
}

// FormatDuration writes a duration as people do: 10m, 1h30m, 90s, 0s.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// sizeUnits are the units a size may be written in: binary ones only,
// so that 1MiB is never read as 1,000,000 bytes.
var sizeUnits = []struct {
	name string
	n    int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// parseSize takes a size in bytes, or with a unit (64KiB, 1MiB, 1GiB),
// from lo to hi.
func parseSize(lo, hi int64) func(string) (int64, error) {
	return func(s string) (int64, error) {
		t := strings.TrimSpace(s)
		unit := int64(1)
		for _, u := range sizeUnits {
			if num, ok := strings.CutSuffix(t, u.name); ok {
				t, unit = strings.TrimSpace(num), u.n
				break
			}
		}
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a size such as 65536, 64KiB, 1MiB or 1GiB", cut(s, 64))
		}
		if n > hi/unit || n*unit < lo || n*unit > hi {
			return 0, fmt.Errorf("%s must be from %s to %s", cut(s, 64), FormatSize(lo), FormatSize(hi))
		}
		return n * unit, nil
	}
}

// FormatSize writes a size in the largest unit that divides it.
func FormatSize(n int64) string {
	for _, u := range sizeUnits {
		if n >= u.n && n%u.n == 0 && u.n > 1 {
			return strconv.FormatInt(n/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// ParseTrustedProxies reads a comma-separated list of IP addresses and
// CIDR prefixes (the reverse proxies in front of serve); "" is none.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR prefix", cut(item, 64))
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is not an IP address or CIDR prefix", cut(item, 64))
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	if len(out) > 1000 {
		return nil, fmt.Errorf("lists %d proxies; at most 1000 (use CIDR prefixes)", len(out))
	}
	return out, nil
}

func formatProxies(ps []netip.Prefix) string {
	if len(ps) == 0 {
		return "none"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// parseAccessKeyID takes an AccessKey id: at most 128 characters, without
// spaces or control characters. It is not held to Alibaba's form (letters
// and digits): the variable is the SDKs', and a value set for another tool
// must not stop every command.
func parseAccessKeyID(s string) (string, error) {
	if len(s) > 128 {
		return "", errors.New("an AccessKey id has at most 128 characters")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return "", errors.New("an AccessKey id has no spaces or control characters")
		}
	}
	return s, nil
}

// checkAccessKeySecret takes an AccessKey secret: printable, without
// spaces, at most 256 characters. Its messages never repeat it.
func checkAccessKeySecret(s string) error {
	if len(s) > 256 {
		return errors.New("an AccessKey secret has at most 256 characters")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return errors.New("an AccessKey secret has no spaces or control characters")
		}
	}
	return nil
}

// checkOperatorKey takes an operator key: a bearer token, so no spaces,
// and bounded.
func checkOperatorKey(s string) error {
	if err := checkText(s, 1024); err != nil {
		return fmt.Errorf("the key %v", err)
	}
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return errors.New("the key must not hold spaces (it is sent as Authorization: Bearer KEY)")
	}
	return nil
}

// DecodeMasterKey reads a master key: 32 bytes in base64.
func DecodeMasterKey(text string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil || len(k) != 32 {
		return nil, errors.New("the master key must be 32 bytes in base64 (head -c 32 /dev/urandom | base64)")
	}
	return k, nil
}
