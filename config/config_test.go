package config_test

import (
	"encoding/base64"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/config"
)

// env is a fake environment.
type env map[string]string

func (e env) get(name string) string { return e[name] }

// write writes a file in dir and returns its path.
func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// load loads with file (--config, "" for none) and e, in an empty working
// folder unless the test chose one.
func load(t *testing.T, file string, e env) (*config.Config, error) {
	t.Helper()
	return config.Load(config.Options{File: file, Getenv: e.get})
}

// problems is the problems of err, which must be a *config.Error.
func problems(t *testing.T, err error) callbill.Problems {
	t.Helper()
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("not a configuration error: %v", err)
	}
	return ce.Problems
}

// TestDefaults: with no file and no variable every setting has its
// built-in value, from "default".
func TestDefaults(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := load(t, "", env{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != "" || c.DB.Value != "callbill.db" || c.Serve.Addr.Value != "127.0.0.1:8080" || c.Serve.Exports.Value != "exports" ||
		c.Serve.ExportKeepDays.Value != callbill.DefaultExportKeepDays || c.Serve.RejectsKeepDays.Value != callbill.DefaultRejectsKeepDays ||
		!c.Serve.AutoClose.Value || c.Serve.AutoCloseGrace.Value != 10*time.Minute || c.Serve.JobLease.Value != time.Minute ||
		c.Serve.BodyLimits() != config.DefaultBodyLimits || c.OperatorKey != (config.Secret{}) || c.MasterKey != (config.Secret{}) ||
		c.CJKFont.Value != "" || c.Serve.Node.Value != "" || len(c.Serve.TrustedProxies.Value) != 0 {
		t.Errorf("defaults: %+v", c)
	}
	for _, e := range c.Entries() {
		if e.From.Kind != config.Default || e.From.String() != "default" {
			t.Errorf("%s from %s", e.Key, e.From)
		}
	}
}

// TestPrecedence: default < file < environment variable < flag, for the
// database, the operator key and serve's address.
func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	file := write(t, dir, "c.yaml", "# callbill\ndb: file.db\noperator_key_file: /etc/callbill/operator.key\nserve:\n  addr: 127.0.0.1:9000\n")
	for _, c := range []struct {
		name       string
		file       string
		env        env
		flagDB     string
		db, dbFrom string
	}{
		{"default", "", env{}, "", "callbill.db", "default"},
		{"file", file, env{}, "", "file.db", "file:2"},
		{"env over file", file, env{"CALLBILL_DB": "env.db"}, "", "env.db", "env CALLBILL_DB"},
		{"flag over env and file", file, env{"CALLBILL_DB": "env.db"}, "flag.db", "flag.db", "flag --db"},
		{"flag over default", "", env{}, "flag.db", "flag.db", "flag --db"},
		{"env over default", "", env{"CALLBILL_DB": "env.db"}, "", "env.db", "env CALLBILL_DB"},
		{"an empty variable is not set", file, env{"CALLBILL_DB": ""}, "", "file.db", "file:2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := load(t, c.file, c.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.flagDB != "" {
				if err := cfg.Set("db", c.flagDB, config.FromFlag("--db")); err != nil {
					t.Fatal(err)
				}
			}
			if cfg.DB.Value != c.db || cfg.DB.From.String() != c.dbFrom {
				t.Errorf("db %q from %s, want %q from %s", cfg.DB.Value, cfg.DB.From, c.db, c.dbFrom)
			}
		})
	}

	// serve.addr has no variable: default < file < flag.
	cfg, _ := load(t, "", env{})
	if cfg.Serve.Addr.Value != "127.0.0.1:8080" || cfg.Serve.Addr.From.Kind != config.Default {
		t.Errorf("addr %+v", cfg.Serve.Addr)
	}
	cfg, _ = load(t, file, env{})
	if cfg.Serve.Addr.Value != "127.0.0.1:9000" || cfg.Serve.Addr.From != (config.Source{Kind: config.File, Line: 5, Column: 9}) {
		t.Errorf("addr %+v", cfg.Serve.Addr)
	}
	if err := cfg.Set(config.FlagFor("addr"), "127.0.0.1:9100", config.FromFlag("--addr")); err != nil || cfg.Serve.Addr.Value != "127.0.0.1:9100" ||
		cfg.Serve.Addr.From.String() != "flag --addr" {
		t.Errorf("addr %+v, %v", cfg.Serve.Addr, err)
	}

	// The operator key: the file names a key file; the variable's key wins
	// over it, in either form.
	cfg, _ = load(t, file, env{})
	if cfg.OperatorKey.File != "/etc/callbill/operator.key" || cfg.OperatorKey.From.String() != "file:3" {
		t.Errorf("operator key %+v", cfg.OperatorKey)
	}
	cfg, _ = load(t, file, env{"CALLBILL_OPERATOR_KEY": "from-the-environment"})
	if cfg.OperatorKey != (config.Secret{Text: "from-the-environment", From: config.Source{Kind: config.Env, Name: "CALLBILL_OPERATOR_KEY"}}) {
		t.Errorf("operator key %+v", cfg.OperatorKey)
	}
	cfg, _ = load(t, file, env{"CALLBILL_OPERATOR_KEY_FILE": "/run/secrets/op"})
	if cfg.OperatorKey.File != "/run/secrets/op" || cfg.OperatorKey.From.String() != "env CALLBILL_OPERATOR_KEY_FILE" {
		t.Errorf("operator key %+v", cfg.OperatorKey)
	}
}

// TestWhereTheFileIs: --config, else $CALLBILL_CONFIG, else ./callbill.yaml
// when it exists; a file named that does not exist is an error, no file at
// all is the defaults.
func TestWhereTheFileIs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	a := write(t, dir, "a.yaml", "db: a.db\n")
	b := write(t, dir, "b.yaml", "db: b.db\n")
	if c, err := load(t, a, env{config.EnvFile: b}); err != nil || c.DB.Value != "a.db" || c.Named != "--config" {
		t.Errorf("--config: %+v %v", c, err)
	}
	if c, err := load(t, "", env{config.EnvFile: b}); err != nil || c.DB.Value != "b.db" || c.Named != "$CALLBILL_CONFIG" {
		t.Errorf("$CALLBILL_CONFIG: %+v %v", c, err)
	}
	if c, err := load(t, "", env{}); err != nil || c.Path != "" || c.DB.Value != "callbill.db" {
		t.Errorf("no file: %+v %v", c, err)
	}
	write(t, dir, config.FileName, "db: here.db\n")
	if c, err := load(t, "", env{}); err != nil || c.DB.Value != "here.db" || c.Named != "./callbill.yaml" {
		t.Errorf("./callbill.yaml: %+v %v", c, err)
	}
	for _, c := range []struct {
		file string
		env  env
		want string
	}{
		{filepath.Join(dir, "missing.yaml"), env{}, "missing.yaml (named by --config) does not exist"},
		{"", env{config.EnvFile: filepath.Join(dir, "gone.yaml")}, "gone.yaml (named by $CALLBILL_CONFIG) does not exist"},
		{dir, env{}, "is not a regular file"},
	} {
		_, err := load(t, c.file, c.env)
		if ps := problems(t, err); len(ps) != 1 || !strings.Contains(ps[0].Message, c.want) {
			t.Errorf("%q %v: %v", c.file, c.env, err)
		}
	}
}

// TestLargeFileRefused: a file over 1 MiB is refused unread.
func TestLargeFileRefused(t *testing.T) {
	dir := t.TempDir()
	big := write(t, dir, "big.yaml", "db: x.db\n#"+strings.Repeat("x", config.MaxFileBytes)+"\n")
	_, err := load(t, big, env{})
	if ps := problems(t, err); len(ps) != 1 || !strings.Contains(ps[0].Message, "larger than 1 MiB") {
		t.Errorf("%v", err)
	}
	ok := write(t, dir, "ok.yaml", "db: x.db\n#"+strings.Repeat("x", config.MaxFileBytes-12)+"\n")
	if _, err := load(t, ok, env{}); err != nil {
		t.Errorf("a file of 1 MiB: %v", err)
	}
}

// TestProblemsHaveLineAndColumn: unknown keys, bad values, duplicates,
// aliases, a second document and syntax errors are each reported at
// their line and column, all of them in one report.
func TestProblemsHaveLineAndColumn(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []string // FILE:LINE:COL: key: message, as Error shows them
	}{
		{"unknown key and bad value", "db: x.db\nserve:\n  adr: 127.0.0.1:1\n  job_lease: forever\n  limits:\n    json_body: 1TiB\n", []string{
			`c.yaml:3:3: serve.adr: no such setting; the settings here are addr, exports, export_keep_days, rejects_keep_days, node, auto_close, ` +
				`auto_close_grace, job_lease, authorize_cap, trusted_proxies, limits`,
			`c.yaml:4:14: serve.job_lease: "forever" is not a duration such as 90s, 10m or 1h`,
			`c.yaml:6:16: serve.limits.json_body: "1TiB" is not a size such as 65536, 64KiB, 1MiB or 1GiB`}},
		{"a setting at the wrong level", "addr: :8080\nserve:\n  db: x.db\n", []string{
			`c.yaml:1:1: addr: no such setting here; did you mean serve.addr?`,
			`c.yaml:3:3: serve.db: no such setting here; did you mean db?`}},
		{"a variable's name as a key", "CALLBILL_DB: x.db\n", []string{
			`c.yaml:1:1: CALLBILL_DB: no such setting; the file's name for $CALLBILL_DB is db`}},
		{"twice", "db: a.db\nserve:\n  addr: :1\n  addr: :2\n", []string{`c.yaml:4:3: serve.addr: set twice; the first is at line 3`}},
		{"an alias", "db: &d a.db\nserve:\n  exports: *d\n", []string{
			`c.yaml:3:12: serve.exports: aliases (*name) are not used in a configuration file: write the value`}},
		{"a list where one value goes", "db: [a, b]\n", []string{`c.yaml:1:5: db: must be a single value, not a list or mapping`}},
		{"a section that is no mapping", "serve: 8080\n", []string{
			`c.yaml:1:8: serve: must be a mapping of settings: addr, exports, export_keep_days, rejects_keep_days, node, auto_close, ` +
				`auto_close_grace, job_lease, authorize_cap, trusted_proxies, limits`}},
		{"a second document", "db: a.db\n---\ndb: b.db\n", []string{`c.yaml:2:1: a configuration file holds one YAML document; remove everything from the second ---`}},
		{"not a mapping", "- db\n", []string{`c.yaml:1:1: a configuration file is a mapping of settings (db: …, serve: …), see deploy/callbill.yaml`}},
		{"a syntax error", "db: x.db\nserve:\n  addr: :1\n   exports: e\n", []string{
			`c.yaml:4:11: not valid YAML: mapping values are not allowed in this context; check the indentation of this line, or quote a value that contains ": "`}},
		{"an empty database", "db: \"\"\n", []string{
			`c.yaml:1:5: db: is empty; name a SQLite file (callbill.db) or a PostgreSQL DSN (postgres://USER@HOST:5432/DB)`}},
		{"a tab in a path", "serve:\n  exports: \"a\\tb\"\n", []string{`c.yaml:2:12: serve.exports: holds a control character (a tab, a newline, …)`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Parse([]byte(c.text), "c.yaml")
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("no error: %v", err)
			}
			var got []string
			for _, p := range ce.Problems {
				got = append(got, ce.Line(p))
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if callbill.ErrorCode(err) != callbill.EINVALID || !strings.HasPrefix(err.Error(), "the configuration has ") {
				t.Errorf("error %v", err)
			}
		})
	}
}

// TestEmptyFileAndNullValues: an empty file, a key without a value and an
// empty section keep the defaults.
func TestEmptyFileAndNullValues(t *testing.T) {
	for _, text := range []string{"", "# nothing\n", "db:\nserve:\n", "serve:\n  addr: ~\n  limits:\n", "---\n"} {
		c, err := config.Parse([]byte(text), "c.yaml")
		if err != nil || c.DB.Value != "callbill.db" || c.Serve.Addr.Value != "127.0.0.1:8080" || c.DB.From.Kind != config.Default {
			t.Errorf("%q: %+v %v", text, c, err)
		}
	}
}

// TestEverySettingFromTheFile: each key of the file sets its setting.
func TestEverySettingFromTheFile(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	text := `db: postgres://callbill@db.internal/callbill
operator_key_file: /etc/callbill/operator.key
master_key: ` + key + `
cjk_font: /usr/share/fonts/wqy.ttf
serve:
  addr: "[::1]:8443"
  exports: /var/lib/callbill/exports
  export_keep_days: 30
  rejects_keep_days: 3
  node: node-a
  auto_close: false
  auto_close_grace: 1h30m
  job_lease: 2m
  authorize_cap: 7200
  trusted_proxies: [127.0.0.1, "10.0.0.0/8"]
  limits:
    import_body: 2GiB
    json_body: 256KiB
    world_body: 16777216
pull:
  access_key_id: LTAI5tExample0001
  access_key_secret_file: /etc/callbill/ccc.secret
`
	c, err := config.Parse([]byte(text), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Serve
	if c.DB.Value != "postgres://callbill@db.internal/callbill" || c.OperatorKey.File != "/etc/callbill/operator.key" || c.MasterKey.Text != key ||
		c.CJKFont.Value != "/usr/share/fonts/wqy.ttf" || s.Addr.Value != "[::1]:8443" || s.Exports.Value != "/var/lib/callbill/exports" ||
		s.Retention() != (callbill.Retention{ExportDays: 30, RejectsDays: 3}) || s.Node.Value != "node-a" || s.AutoClose.Value ||
		s.AutoCloseGrace.Value != 90*time.Minute || s.JobLease.Value != 2*time.Minute || s.AuthorizeCap.Value != 7200 ||
		s.BodyLimits() != (config.BodyLimits{Import: 2 << 30, JSON: 256 << 10, World: 16 << 20}) {
		t.Errorf("%+v", c)
	}
	if c.Pull.AccessKeyID.Value != "LTAI5tExample0001" || c.Pull.AccessKeySecret.File != "/etc/callbill/ccc.secret" {
		t.Errorf("pull: %+v", c.Pull)
	}
	if ps := s.TrustedProxies.Value; len(ps) != 2 || ps[0] != netip.MustParsePrefix("127.0.0.1/32") || ps[1] != netip.MustParsePrefix("10.0.0.0/8") {
		t.Errorf("proxies %v", ps)
	}
	// Every setting came from its line.
	for i, e := range c.Entries() {
		if e.Key == "operator_key" || e.Key == "master_key_file" || e.Key == "pull.access_key_secret" {
			continue // the other form is set
		}
		if e.From.Kind != config.File || e.From.Line == 0 {
			t.Errorf("%d %s from %s", i, e.Key, e.From)
		}
	}
	// A comma list is taken as the flag takes it.
	c, err = config.Parse([]byte("serve:\n  trusted_proxies: 127.0.0.1, ::1\n"), "c.yaml")
	if err != nil || len(c.Serve.TrustedProxies.Value) != 2 {
		t.Errorf("%v %v", c.Serve.TrustedProxies, err)
	}
}

// TestBounds: each bounded setting takes its bounds and refuses one past
// them.
func TestBounds(t *testing.T) {
	for _, c := range []struct {
		key       string
		ok, notOK []string
	}{
		{"serve.export_keep_days", []string{"1", "3650"}, []string{"0", "3651", "-1", "7.5", "seven"}},
		{"serve.rejects_keep_days", []string{"1", "3650"}, []string{"0", "3651"}},
		{"serve.auto_close_grace", []string{"0s", "24h"}, []string{"-1s", "24h1s", "10"}},
		{"serve.job_lease", []string{"1s", "1h"}, []string{"999ms", "1h1s"}},
		{"serve.limits.import_body", []string{"1KiB", "64GiB", "1024"}, []string{"1023", "65GiB", "1 GB", "-1", "9223372036854775807GiB"}},
		{"serve.limits.json_body", []string{"1KiB", "64MiB"}, []string{"1023B", "65MiB"}},
		{"serve.limits.world_body", []string{"1KiB", "1GiB"}, []string{"1023", "1025MiB"}},
		{"serve.addr", []string{":0", "127.0.0.1:65535", "[::1]:8080", "localhost:80"}, []string{"8080", "127.0.0.1:65536", "127.0.0.1:http", ""}},
		{"serve.node", []string{"a", strings.Repeat("n", 64), ""}, []string{strings.Repeat("n", 65), "a b", "a\x00"}},
		{"serve.auto_close", []string{"true", "false", "TRUE"}, []string{"yes", "1", ""}},
		{"serve.exports", []string{"e", strings.Repeat("e", 4096)}, []string{"", " ", strings.Repeat("e", 4097), "a\nb"}},
		{"db", []string{"x.db", "postgres://u@h/db"}, []string{"", "  ", "x\x00.db"}},
		{"serve.trusted_proxies", []string{"", "10.0.0.0/8,::1"}, []string{"10.0.0.0/33", "host.example", "10.0.0.1:80"}},
	} {
		for _, v := range c.ok {
			cfg := config.Defaults()
			if err := cfg.Set(c.key, v, config.FromFlag("--x")); err != nil {
				t.Errorf("%s %q: %v", c.key, v, err)
			}
		}
		for _, v := range c.notOK {
			cfg := config.Defaults()
			if err := cfg.Set(c.key, v, config.FromFlag("--x")); err == nil {
				t.Errorf("%s %q taken", c.key, v)
			}
		}
	}
}

// TestKeyGivenTwoWays: a key set both as text and as a file in one layer is
// a problem (which key seals what must not be a guess); in two layers,
// the later one wins.
func TestKeyGivenTwoWays(t *testing.T) {
	_, err := config.Parse([]byte("operator_key: k-123456\noperator_key_file: /etc/op\n"), "c.yaml")
	if ps := problems(t, err); len(ps) != 1 || ps[0].Line != 2 || ps[0].Message != "set either operator_key or operator_key_file, not both" {
		t.Errorf("%v", err)
	}
	_, err = load(t, "", env{"CALLBILL_MASTER_KEY": base64.StdEncoding.EncodeToString(make([]byte, 32)), "CALLBILL_MASTER_KEY_FILE": "/etc/mk"})
	if ps := problems(t, err); len(ps) != 1 || ps[0].Message != "$CALLBILL_MASTER_KEY_FILE: set either $CALLBILL_MASTER_KEY or $CALLBILL_MASTER_KEY_FILE, not both" {
		t.Errorf("%v", err)
	}
	dir := t.TempDir()
	file := write(t, dir, "c.yaml", "master_key_file: /etc/mk\n")
	c, err := load(t, file, env{"CALLBILL_MASTER_KEY": base64.StdEncoding.EncodeToString(make([]byte, 32))})
	if err != nil || c.MasterKey.File != "" || c.MasterKey.From.Kind != config.Env {
		t.Errorf("%+v %v", c.MasterKey, err)
	}
}

// TestSecretsNeverShown: a key's text appears in no entry and no problem,
// whether it is taken or refused.
func TestSecretsNeverShown(t *testing.T) {
	const op = "Operator-Key-Text-0123456789"
	mk := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	const ccc = "CCC-Secret-abcdefghijklmnop"
	c, err := load(t, "", env{"CALLBILL_OPERATOR_KEY": op, "CALLBILL_MASTER_KEY": mk, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ccc})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Entries() {
		if strings.Contains(e.Value, op) || strings.Contains(e.Value, mk) || strings.Contains(e.Value, ccc) {
			t.Errorf("%s shows the key: %q", e.Key, e.Value)
		}
		if (e.Key == "operator_key" || e.Key == "master_key" || e.Key == "pull.access_key_secret") && (e.Value != "set" || !e.Secret || e.From.Kind != config.Env) {
			t.Errorf("%+v", e)
		}
	}
	const badMaster = "not-a-base64-master-key-Secret"
	const badOp = "an operator key with spaces Secret"
	_, err = config.Parse([]byte("master_key: "+badMaster+"\noperator_key: "+badOp+"\n"), "c.yaml")
	if ps := problems(t, err); len(ps) != 2 || strings.Contains(err.Error(), "Secret") {
		t.Errorf("%v", err)
	}
	if k, err := c.ReadAccessKeySecret(); err != nil || k != ccc {
		t.Errorf("the AccessKey secret: %v", err)
	}
	_, err = config.Parse([]byte("pull:\n  access_key_secret: two words Secret\n"), "c.yaml")
	if ps := problems(t, err); len(ps) != 1 || strings.Contains(err.Error(), "Secret") {
		t.Errorf("%v", err)
	}
	_, err = load(t, "", env{"CALLBILL_MASTER_KEY": badMaster})
	if ps := problems(t, err); len(ps) != 1 || strings.Contains(err.Error(), "Secret") || !strings.Contains(err.Error(), "$CALLBILL_MASTER_KEY") {
		t.Errorf("%v", err)
	}
}

// TestOperatorKeyFile: read when asked (serve, once at start), trimmed;
// an empty, large or missing file is an error naming the file, never its
// content.
func TestOperatorKeyFile(t *testing.T) {
	dir := t.TempDir()
	key := write(t, dir, "op.key", "  op-key-from-a-file\n")
	c := config.Defaults()
	if err := c.Set("operator_key_file", key, config.Source{Kind: config.Env, Name: "CALLBILL_OPERATOR_KEY_FILE"}); err != nil {
		t.Fatal(err)
	}
	if k, err := c.ReadOperatorKey(); err != nil || k != "op-key-from-a-file" {
		t.Errorf("%q %v", k, err)
	}
	for name, text := range map[string]string{"empty": "\n\n", "large": strings.Repeat("k", 5000), "spaces": "two words Secret\n"} {
		c.Set("operator_key_file", write(t, dir, name, text), config.FromFlag("--x"))
		if _, err := c.ReadOperatorKey(); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, name)) || strings.Contains(err.Error(), "Secret") {
			t.Errorf("%s: %v", name, err)
		}
	}
	c.Set("operator_key_file", filepath.Join(dir, "missing"), config.FromFlag("--x"))
	if _, err := c.ReadOperatorKey(); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing: %v", err)
	}
	if k, err := config.Defaults().ReadOperatorKey(); err != nil || k != "" {
		t.Errorf("none: %q %v", k, err)
	}
}

// TestMasterKey: the text, else the file (master_key_file, else DB.key
// beside a SQLite file), created with a new key (0600) when missing.
func TestMasterKey(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	c := config.Defaults()
	if got := c.MasterKeyFile(db); got != db+".key" {
		t.Errorf("beside: %s", got)
	}
	if got := c.MasterKeyFile("postgres://u@h/db"); got != "callbill.key" {
		t.Errorf("postgres: %s", got)
	}
	k1, err := c.LoadMasterKey(db)
	if err != nil || len(k1) != 32 {
		t.Fatal(k1, err)
	}
	if st, err := os.Stat(db + ".key"); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the key file: %v %v", st, err)
	}
	if k2, err := c.LoadMasterKey(db); err != nil || string(k2) != string(k1) {
		t.Errorf("read again: %v", err)
	}
	fromEnv := config.Source{Kind: config.Env, Name: "CALLBILL_MASTER_KEY_FILE"}
	named := write(t, dir, "mk", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))+"\n")
	c.Set("master_key_file", named, fromEnv)
	if k, err := c.LoadMasterKey(db); err != nil || string(k) != "0123456789abcdef0123456789abcdef" {
		t.Errorf("named file: %q %v", k, err)
	}
	c.Set("master_key_file", write(t, dir, "bad", "short\n"), fromEnv)
	if _, err := c.LoadMasterKey(db); callbill.ErrorCode(err) != callbill.EINVALID || !strings.Contains(err.Error(), "bad must hold 32 bytes") {
		t.Errorf("bad file: %v", err)
	}
	// The text, from a later layer than the file's name.
	if err := c.Set("master_key", base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210")), config.FromFlag("--x")); err != nil {
		t.Fatal(err)
	}
	if k, err := c.LoadMasterKey(db); err != nil || string(k) != "fedcba9876543210fedcba9876543210" {
		t.Errorf("text: %q %v", k, err)
	}
}

// TestCheck: what the settings name on this machine — key files, the
// font, the master key file, the export folder — is checked, problems at
// the file's line; a master key file not made yet is a note.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	notDir := write(t, dir, "plain", "x")
	text := "operator_key_file: " + filepath.Join(dir, "no-op.key") + "\n" +
		"master_key_file: " + write(t, dir, "mk", "short\n") + "\n" +
		"cjk_font: " + filepath.Join(dir, "no-font.ttf") + "\n" +
		"serve:\n  exports: " + filepath.Join(notDir, "exports") + "\n"
	c, err := config.Parse([]byte(text), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ps, notes := c.Check(filepath.Join(dir, "x.db"))
	want := []struct {
		key  string
		line int
		msg  string
	}{
		{"operator_key_file", 1, "cannot read the key file"},
		{"master_key_file", 2, "must be 32 bytes in base64"},
		{"cjk_font", 3, "cannot read the font file"},
		{"serve.exports", 5, "is not a folder"},
	}
	if len(ps) != len(want) || len(notes) != 0 {
		t.Fatalf("%v %v", ps, notes)
	}
	for i, w := range want {
		if ps[i].Path != w.key || ps[i].Line != w.line || !strings.Contains(ps[i].Message, w.msg) {
			t.Errorf("%d: %+v, want %+v", i, ps[i], w)
		}
	}

	// Readable files, a folder to create, a master key yet to be made: fine,
	// with a note; nothing is left behind.
	font := write(t, dir, "font.ttf", "not checked as a font")
	op := write(t, dir, "op.key", "k-0123456789\n")
	work := filepath.Join(dir, "work")
	os.Mkdir(work, 0o700)
	c, _ = config.Parse([]byte("operator_key_file: "+op+"\ncjk_font: "+font+"\nserve:\n  exports: "+filepath.Join(work, "a", "b")+"\n"), "c.yaml")
	ps, notes = c.Check(filepath.Join(work, "x.db"))
	if len(ps) != 0 || len(notes) != 1 || !strings.Contains(notes[0], "no master key file at "+filepath.Join(work, "x.db.key")) {
		t.Errorf("%v %v", ps, notes)
	}
	if es, _ := os.ReadDir(work); len(es) != 0 {
		t.Errorf("Check left %v", es)
	}

	// A key inline in a file others may read is a note.
	path := write(t, dir, "inline.yaml", "operator_key: k-0123456789\n")
	os.Chmod(path, 0o644)
	c, err = load(t, path, env{})
	if err != nil {
		t.Fatal(err)
	}
	c.Serve.Exports.Value = work
	if _, notes := c.Check(filepath.Join(work, "x.db")); len(notes) != 2 || !strings.Contains(notes[1], "chmod 600") {
		t.Errorf("%v", notes)
	}
}

// TestParseTrustedProxies: addresses and prefixes, normalized; anything
// else is refused, named.
func TestParseTrustedProxies(t *testing.T) {
	ps, err := config.ParseTrustedProxies(" 10.0.0.0/8,192.168.1.7 , 2001:db8::/32,::ffff:172.16.0.0/108,")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32", "172.16.0.0/12"}
	if len(ps) != len(want) {
		t.Fatalf("%v", ps)
	}
	for i, p := range ps {
		if p.String() != want[i] {
			t.Errorf("%d: %s, want %s", i, p, want[i])
		}
	}
	if !ps[0].Contains(netip.MustParseAddr("10.9.8.7")) {
		t.Error("10.0.0.0/8 does not hold 10.9.8.7")
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.1:80", "1.2.3"} {
		if _, err := config.ParseTrustedProxies("127.0.0.1," + bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestDeployExample: deploy/callbill.yaml, the example of
// docs/operations.md, parses, and sets what it says.
func TestDeployExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "deploy", "callbill.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(b, "deploy/callbill.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.DB.From.Kind != config.File || c.Serve.Exports.From.Kind != config.File || c.OperatorKey.File == "" || c.MasterKey.File == "" {
		t.Errorf("%+v", c)
	}
	doc, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), string(b)) {
		t.Error("docs/operations.md does not show deploy/callbill.yaml as it is")
	}
}

// TestOperationsDocNamesEverySetting: the documentation's table names each
// key and each environment variable.
func TestOperationsDocNamesEverySetting(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range config.Keys() {
		if !strings.Contains(string(doc), "`"+k[0]+"`") {
			t.Errorf("docs/operations.md does not name %s", k[0])
		}
		if k[1] != "" && !strings.Contains(string(doc), "`"+k[1]+"`") {
			t.Errorf("docs/operations.md does not name $%s", k[1])
		}
	}
	for _, name := range []string{config.EnvFile, "GOMEMLIMIT", "CALLBILL_FAULT_"} {
		if !strings.Contains(string(doc), name) {
			t.Errorf("docs/operations.md does not name %s", name)
		}
	}
}
