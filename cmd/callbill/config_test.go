package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// configEnv clears the variables a configuration reads, so that the
// tests see only what they set.
func configEnv(t *testing.T) {
	for _, v := range []string{"CALLBILL_CONFIG", "CALLBILL_DB", "CALLBILL_OPERATOR_KEY", "CALLBILL_OPERATOR_KEY_FILE",
		"CALLBILL_MASTER_KEY", "CALLBILL_MASTER_KEY_FILE", "CALLBILL_CJK_FONT"} {
		t.Setenv(v, "")
	}
}

// checkJSON is config check --json's answer.
type checkJSON struct {
	File     string
	NamedBy  string `json:"named_by"`
	Valid    bool
	Settings []struct {
		Key, Value, Source string
		Secret             bool
		Line               int
	}
	Notes    []string
	Problems []struct {
		Key           string
		Line, Column  int
		Message, Text string
	}
}

func (c *checkJSON) setting(key string) (value, source string) {
	for _, s := range c.Settings {
		if s.Key == key {
			return s.Value, s.Source
		}
	}
	return "", ""
}

func checkConfig(t *testing.T, args ...string) (checkJSON, result) {
	t.Helper()
	r := runIn(t, append(args, "config", "check", "--json")...)
	var c checkJSON
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatalf("config check --json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	return c, r
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigPrecedence: built-in default < file < environment variable <
// flag, for the database and the master key, as every command sees them.
func TestConfigPrecedence(t *testing.T) {
	configEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	mk := writeFile(t, filepath.Join(dir, "mk"), base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n")
	conf := writeFile(t, filepath.Join(dir, "c.yaml"), "db: file.db\nmaster_key_file: "+mk+"\n")
	want := func(c checkJSON, key, value, source string) {
		t.Helper()
		if v, s := c.setting(key); !strings.HasPrefix(v, value) || s != source {
			t.Errorf("%s = %q from %s, want %q from %s", key, v, s, value, source)
		}
	}
	c, _ := checkConfig(t)
	want(c, "db", filepath.Join(dir, "callbill.db"), "default")
	want(c, "master_key_file", "not set: the key is in "+filepath.Join(dir, "callbill.db.key"), "default")
	c, _ = checkConfig(t, "--config", conf)
	want(c, "db", filepath.Join(dir, "file.db"), "file:1")
	want(c, "master_key_file", mk, "file:2")
	t.Setenv("CALLBILL_DB", "env.db")
	t.Setenv("CALLBILL_MASTER_KEY", base64.StdEncoding.EncodeToString(make([]byte, 32)))
	c, _ = checkConfig(t, "--config", conf)
	want(c, "db", filepath.Join(dir, "env.db"), "env CALLBILL_DB")
	want(c, "master_key", "set", "env CALLBILL_MASTER_KEY")
	want(c, "master_key_file", "not set", "default")
	c, _ = checkConfig(t, "--config", conf, "--db", "flag.db")
	want(c, "db", filepath.Join(dir, "flag.db"), "flag --db")

	// ./callbill.yaml is read when nothing names a file; $CALLBILL_CONFIG
	// names one; --config wins over it.
	t.Setenv("CALLBILL_DB", "")
	writeFile(t, filepath.Join(dir, "callbill.yaml"), "db: here.db\n")
	c, _ = checkConfig(t)
	if want(c, "db", filepath.Join(dir, "here.db"), "file:1"); c.NamedBy != "./callbill.yaml" || c.File != filepath.Join(dir, "callbill.yaml") {
		t.Errorf("file %s named by %s", c.File, c.NamedBy)
	}
	t.Setenv("CALLBILL_CONFIG", conf)
	c, _ = checkConfig(t)
	want(c, "db", filepath.Join(dir, "file.db"), "file:1")
	c, _ = checkConfig(t, "--config", filepath.Join(dir, "callbill.yaml"))
	want(c, "db", filepath.Join(dir, "here.db"), "file:1")
}

// TestConfigDrivesServe: serve takes its database, address, export folder
// and retention, operator key file and request limit from the file; a
// flag given overrides its setting, and the flags left out change nothing.
func TestConfigDrivesServe(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	writeFile(t, filepath.Join(dir, "world.yaml"), authWorld)
	writeFile(t, filepath.Join(dir, "op.key"), operatorKey+"\n")
	conf := writeFile(t, filepath.Join(dir, "callbill.yaml"), fmt.Sprintf(`db: %s
operator_key_file: %s
serve:
  addr: %s
  exports: %s
  export_keep_days: 3
  auto_close: false
  limits:
    json_body: 1KiB
`, filepath.Join(dir, "data", "conf.db"), filepath.Join(dir, "op.key"), addr, filepath.Join(dir, "out")))
	os.Mkdir(filepath.Join(dir, "data"), 0o700)
	env := []string{"CALLBILL_DB=", "CALLBILL_CONFIG=", "CALLBILL_OPERATOR_KEY=", "CALLBILL_OPERATOR_KEY_FILE="}
	cmd := exec.Command(binary(t), "--config", conf, "apply", "-f", "world.yaml")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "conf.db")); err != nil {
		t.Fatalf("the database is not where db says: %v", err)
	}

	n := startConfigured(t, dir, env, "--config", conf, "serve", "--node", "n1")
	if n.url != "http://"+addr {
		t.Errorf("serving on %s, want serve.addr's %s", n.url, addr)
	}
	if st, err := os.Stat(filepath.Join(dir, "out")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("the export folder: %v %v", st, err)
	}
	if code := n.do(t, "GET", "/api/v1/accounts/3001", nil, nil); code != 200 {
		t.Errorf("with the key of operator_key_file: %d", code)
	}
	req, _ := http.NewRequest("GET", n.url+"/api/v1/accounts/3001", nil)
	req.Header.Set("Authorization", "Bearer another-key")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("with another key: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	big := `{"amount":"1.00","note":"` + strings.Repeat("x", 2000) + `"}`
	var problem struct{ Detail string }
	if code := n.doKey(t, "POST", "/api/v1/accounts/3001/topups", big, "k1", &problem); code != 400 || !strings.Contains(problem.Detail, "request body too large") {
		t.Errorf("a 2 KB top-up under json_body 1KiB: %d %+v", code, problem)
	}
	var job struct {
		ID       int64
		Status   string
		Finished string `json:"finished_at"`
		Expires  string `json:"expires_at"`
		Result   struct{ Path string }
	}
	if code := n.do(t, "POST", "/api/v1/exports", []byte(`{"account":"3001","cycle":"2026-10"}`), &job); code != 202 {
		t.Fatalf("export: %d", code)
	}
	for deadline := time.Now().Add(20 * time.Second); job.Status != "done"; {
		if time.Now().After(deadline) || job.Status == "failed" {
			t.Fatalf("export: %+v", job)
		}
		time.Sleep(50 * time.Millisecond)
		n.do(t, "GET", fmt.Sprintf("/api/v1/exports/%d", job.ID), nil, &job)
	}
	finished, _ := time.Parse(time.RFC3339, job.Finished)
	expires, _ := time.Parse(time.RFC3339, job.Expires)
	if !expires.Equal(finished.AddDate(0, 0, 3)) {
		t.Errorf("finished %s, expires %s: want export_keep_days 3", job.Finished, job.Expires)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", filepath.Base(job.Result.Path))); err != nil {
		t.Errorf("the export is not in serve.exports: %v", err)
	}

	// A flag given overrides the file.
	ln, _ = net.Listen("tcp", "127.0.0.1:0")
	other := ln.Addr().String()
	ln.Close()
	n2 := startConfigured(t, dir, env, "--config", conf, "serve", "--addr", other, "--node", "n2")
	if n2.url != "http://"+other {
		t.Errorf("serving on %s, want --addr's %s", n2.url, other)
	}
}

// startConfigured starts the binary with args and waits for its "serving
// on" line.
func startConfigured(t *testing.T, dir string, env []string, args ...string) *node {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.CreateTemp(dir, "serve-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		logf.Close()
	})
	sc := bufio.NewScanner(out)
	re := regexp.MustCompile(`serving on (http://\S+)`)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "operator key") {
			t.Errorf("serve made an operator key: %s", sc.Text())
		}
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, out)
			return &node{url: m[1], cmd: cmd}
		}
	}
	b, _ := os.ReadFile(logf.Name())
	t.Fatalf("serve did not start:\n%s", b)
	return nil
}

// TestConfigCheckMasksSecrets: a key's text, and a DSN's password, appear
// nowhere in config check's output, text or JSON; the key is shown as set,
// with where it came from.
func TestConfigCheckMasksSecrets(t *testing.T) {
	configEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	const opKey = "Operator-Hush-Text-42"
	masterKey := base64.StdEncoding.EncodeToString([]byte("master-Hush-bytes-0123456789abcd"))
	t.Setenv("CALLBILL_OPERATOR_KEY", opKey)
	conf := writeFile(t, filepath.Join(dir, "c.yaml"), "db: postgres://billing:Db-Hush-Password@db.internal:5432/callbill\nmaster_key: "+masterKey+"\n")
	text := runIn(t, "--config", conf, "config", "check")
	c, js := checkConfig(t, "--config", conf)
	for _, out := range []string{text.stdout, text.stderr, js.stdout, js.stderr} {
		for _, secret := range []string{opKey, masterKey, "Db-Hush-Password", "Hush"} {
			if strings.Contains(out, secret) {
				t.Errorf("the output shows %q:\n%s", secret, out)
			}
		}
	}
	if text.code != 0 || !regexp.MustCompile(`(?m)^operator_key +set +env CALLBILL_OPERATOR_KEY$`).MatchString(text.stdout) ||
		!regexp.MustCompile(`(?m)^master_key +set +file:2$`).MatchString(text.stdout) ||
		!strings.Contains(text.stdout, "postgres://billing:xxxxx@db.internal:5432/callbill (PostgreSQL; not contacted)") {
		t.Errorf("exit %d\n%s%s", text.code, text.stdout, text.stderr)
	}
	if v, s := c.setting("operator_key"); v != "set" || s != "env CALLBILL_OPERATOR_KEY" || !c.Valid || js.code != 0 {
		t.Errorf("%q from %s: %+v", v, s, c)
	}
}

// TestConfigCheckProblems: a file that cannot be used makes config check
// exit 1 listing every problem at its line and column (text on stderr, or
// JSON), and every other command refuses to run, creating nothing; a file
// named that does not exist is such a problem.
func TestConfigCheckProblems(t *testing.T) {
	configEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, filepath.Join(dir, "world.yaml"), authWorld)
	conf := writeFile(t, filepath.Join(dir, "bad.yaml"), "db: x.db\nserve:\n  adr: :8080\n  export_keep_days: 0\n")
	r := runIn(t, "--config", conf, "config", "check")
	want := "callbill: the configuration has 2 problems:\n" +
		"  " + conf + ":3:3: serve.adr: no such setting; the settings here are addr, exports, export_keep_days, rejects_keep_days, node, " +
		"auto_close, auto_close_grace, job_lease, authorize_cap, trusted_proxies, limits\n" +
		"  " + conf + `:4:21: serve.export_keep_days: "0" must be a whole number of days from 1 to 3650` + "\n"
	if r.code != exitError || r.stderr != want || r.stdout != "" {
		t.Errorf("exit %d\nstderr %q\nwant   %q\nstdout %q", r.code, r.stderr, want, r.stdout)
	}
	c, js := checkConfig(t, "--config", conf)
	if js.code != exitError || c.Valid || len(c.Problems) != 2 || c.Problems[1].Line != 4 || c.Problems[1].Column != 21 ||
		c.Problems[1].Key != "serve.export_keep_days" || len(c.Settings) != 0 {
		t.Errorf("exit %d: %+v", js.code, c)
	}
	if r := runIn(t, "--config", conf, "apply", "-f", "world.yaml"); r.code != exitError || !strings.Contains(r.stderr, "bad.yaml:3:3: serve.adr") {
		t.Errorf("apply with a bad configuration: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
		t.Error("apply ran with a bad configuration")
	}

	for _, args := range [][]string{{"--config", "missing.yaml", "config", "check"}, {"--config", "missing.yaml", "bill", "show", "--account", "1", "--cycle", "2026-10"}} {
		if r := runIn(t, args...); r.code != exitError || !strings.Contains(r.stderr, "the configuration file missing.yaml (named by --config) does not exist") {
			t.Errorf("%v: exit %d %s", args, r.code, r.stderr)
		}
	}
	t.Setenv("CALLBILL_CONFIG", filepath.Join(dir, "gone.yaml"))
	if r := runIn(t, "config", "check"); r.code != exitError || !strings.Contains(r.stderr, "gone.yaml (named by $CALLBILL_CONFIG) does not exist") {
		t.Errorf("$CALLBILL_CONFIG: exit %d %s", r.code, r.stderr)
	}
	t.Setenv("CALLBILL_CONFIG", "")

	// What the file names is checked too: the settings are shown, then the
	// problems.
	conf = writeFile(t, filepath.Join(dir, "names.yaml"), "operator_key_file: "+filepath.Join(dir, "no.key")+"\ndb: mysql://root@localhost/callbill\n")
	r = runIn(t, "--config", conf, "config", "check")
	if r.code != exitError || !strings.Contains(r.stdout, "operator_key_file") ||
		!strings.Contains(r.stderr, conf+":1:20: operator_key_file: cannot read the key file "+filepath.Join(dir, "no.key")) ||
		!strings.Contains(r.stderr, conf+":2:5: db: unsupported database DSN mysql://root@localhost/callbill") {
		t.Errorf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// --help needs no usable configuration.
	if r := runIn(t, "--config", "missing.yaml", "serve", "--help"); r.code != 0 {
		t.Errorf("serve --help: exit %d %s", r.code, r.stderr)
	}
}

// TestConfigCheckCreatesNothing: config check opens no database, and the
// probe of the export folder leaves nothing behind.
func TestConfigCheckCreatesNothing(t *testing.T) {
	configEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	r := runIn(t, "--db", filepath.Join(dir, "new.db"), "config", "check")
	if r.code != 0 || !strings.Contains(r.stdout, filepath.Join(dir, "new.db")+" (SQLite; no file yet: apply, serve or demo creates it)") ||
		!strings.HasSuffix(r.stdout, "the configuration is valid\n") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("config check left %v", names)
	}
}

// TestDeployConfigAccepted: deploy/callbill.yaml, with its folders moved
// into a temporary one and its key files made, is a configuration config
// check accepts, every setting it writes coming from it.
func TestDeployConfigAccepted(t *testing.T) {
	configEnv(t)
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "callbill.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	for _, sub := range []string{"var", "etc"} {
		os.Mkdir(filepath.Join(dir, sub), 0o700)
	}
	text := strings.NewReplacer("/var/lib/callbill", filepath.Join(dir, "var"), "/etc/callbill", filepath.Join(dir, "etc")).Replace(string(b))
	conf := writeFile(t, filepath.Join(dir, "callbill.yaml"), text)
	writeFile(t, filepath.Join(dir, "etc", "operator.key"), "deploy-operator-key\n")
	writeFile(t, filepath.Join(dir, "etc", "master.key"), base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n")
	c, r := checkConfig(t, "--config", conf)
	if r.code != 0 || !c.Valid || len(c.Notes) != 0 {
		t.Fatalf("exit %d: %+v\n%s", r.code, c, r.stderr)
	}
	for _, key := range []string{"db", "operator_key_file", "master_key_file", "serve.addr", "serve.exports", "serve.export_keep_days",
		"serve.trusted_proxies", "serve.limits.import_body"} {
		if _, s := c.setting(key); !strings.HasPrefix(s, "file:") {
			t.Errorf("%s from %s", key, s)
		}
	}
}
