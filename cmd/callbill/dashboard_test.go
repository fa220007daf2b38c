package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// dashboardFile is the Grafana dashboard shipped for the /metrics series,
// alertsFile the Prometheus alerting rules.
const (
	dashboardFile = "../../deploy/grafana-dashboard.json"
	alertsFile    = "../../deploy/prometheus-alerts.yml"
)

// grafanaDashboard is what the test reads of a dashboard.
type grafanaDashboard struct {
	SchemaVersion int            `json:"schemaVersion"`
	Inputs        []grafanaInput `json:"__inputs"`
	Templating    struct {
		List []struct {
			Name, Type string
			Query      any
		}
	}
	Panels []grafanaPanel
}

type grafanaInput struct {
	Name     string
	Type     string
	PluginID string `json:"pluginId"`
}

type grafanaPanel struct {
	ID         int
	Type       string
	Title      string
	Datasource *struct{ Type, UID string }
	Targets    []struct {
		RefID      string `json:"refId"`
		Expr       string
		Datasource *struct{ Type, UID string }
	}
	Panels []grafanaPanel // a collapsed row's
}

// grafanaVariables stand for Grafana's variables in a target's PromQL
// while it is parsed: the ranges Grafana fills in, and the node variable
// (a regex of instances).
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h", "$instance", ".*")

// TestDashboardQueriesWhatServeExports reads deploy/grafana-dashboard.json:
// it must be a valid dashboard (schema ≥ 36, the data source an input and
// a template variable ${DS_PROMETHEUS}, a node variable), every panel must
// query, every query must be valid PromQL, and every callbill_ series a
// query names must be exported by a running `callbill serve` at /metrics
// (a histogram's _bucket, _sum and _count by their histogram) — from
// start-up, with nothing imported or closed yet. Conversely, every
// callbill_ series the server exports must be on the dashboard. The
// alerting rules of deploy/prometheus-alerts.yml must parse too and query
// only callbill_ series the server exports.
func TestDashboardQueriesWhatServeExports(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d, want 36 or later", d.SchemaVersion)
	}
	if !slices.ContainsFunc(d.Inputs, func(in grafanaInput) bool {
		return in.Name == "DS_PROMETHEUS" && in.Type == "datasource" && in.PluginID == "prometheus"
	}) {
		t.Errorf("no DS_PROMETHEUS data source input: %+v", d.Inputs)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["DS_PROMETHEUS"] != "datasource" || vars["instance"] != "query" {
		t.Errorf("template variables %v: want DS_PROMETHEUS (datasource) and instance (query)", vars)
	}

	// Every metric name each query selects, from its syntax tree.
	queried := map[string][]string{} // name → the panels querying it
	var panels []grafanaPanel
	for _, p := range d.Panels {
		panels = append(panels, p)
		panels = append(panels, p.Panels...)
	}
	ids := map[int]bool{}
	for _, p := range panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no target", p.Title)
		}
		if p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" {
			t.Errorf("panel %q: data source %+v, want ${DS_PROMETHEUS}", p.Title, p.Datasource)
		}
		for _, tg := range p.Targets {
			if tg.Datasource == nil || tg.Datasource.UID != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q target %s: data source %+v, want ${DS_PROMETHEUS}", p.Title, tg.RefID, tg.Datasource)
			}
			if !strings.Contains(tg.Expr, `instance=~"$instance"`) {
				t.Errorf("panel %q target %s does not follow the node variable: %s", p.Title, tg.RefID, tg.Expr)
			}
			expr := grafanaVariables.Replace(tg.Expr)
			if strings.Contains(expr, "$") {
				t.Errorf("panel %q target %s uses a variable the dashboard does not define: %s", p.Title, tg.RefID, tg.Expr)
				continue
			}
			names, err := callbillSeries(expr)
			if err != nil {
				t.Errorf("panel %q target %s is not valid PromQL: %v\n%s", p.Title, tg.RefID, err, tg.Expr)
				continue
			}
			for _, name := range names {
				queried[name] = append(queried[name], p.Title)
			}
			if len(names) == 0 {
				t.Errorf("panel %q target %s queries no callbill_ series: %s", p.Title, tg.RefID, tg.Expr)
			}
		}
	}
	if len(queried) == 0 {
		t.Fatal("the dashboard queries nothing")
	}
	alerted := alertSeries(t)

	// A running server, with nothing done yet but one request (the HTTP
	// latency series has a route then).
	dir := t.TempDir()
	n := startNode(t, dir, filepath.Join(dir, "metrics.db"), "metrics")
	if code := n.do(t, "GET", "/healthz", nil, nil); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	resp, err := http.Get(n.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	exported, histograms := readExposition(t, resp.Body)

	for what, names := range map[string]map[string][]string{"the dashboard": queried, alertsFile: alerted} {
		var missing []string
		for name, users := range names {
			base := name
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(name, suffix); ok && histograms[b] {
					base = b
				}
			}
			if !exported[base] {
				missing = append(missing, name+" ("+strings.Join(slices.Compact(users), ", ")+")")
			}
		}
		sort.Strings(missing)
		for _, m := range missing {
			t.Errorf("%s queries %s, which serve does not export", what, m)
		}
	}

	shown := map[string]bool{}
	for name := range queried {
		shown[name] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && histograms[b] {
				shown[b] = true
			}
		}
	}
	var unshown []string
	for name := range exported {
		if strings.HasPrefix(name, "callbill_") && !shown[name] {
			unshown = append(unshown, name)
		}
	}
	sort.Strings(unshown)
	for _, name := range unshown {
		t.Errorf("serve exports %s, which no panel of %s shows", name, dashboardFile)
	}
}

// callbillSeries parses PromQL and returns the callbill_ metric names its
// selectors name.
func callbillSeries(expr string) ([]string, error) {
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && strings.HasPrefix(vs.Name, "callbill_") {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, nil
}

// alertSeries reads the alerting rules: each must have a name, a valid
// expression and a summary; it returns the callbill_ series they query,
// with the alerts querying each.
func alertSeries(t *testing.T) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Expr, For    string
				Labels, Annotations map[string]string
			}
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	out := map[string][]string{}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: a rule without a name or a summary: %+v", alertsFile, r)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: %s: for %q: %v", alertsFile, r.Alert, r.For, err)
				}
			}
			names, err := callbillSeries(r.Expr)
			if err != nil {
				t.Errorf("%s: %s is not valid PromQL: %v\n%s", alertsFile, r.Alert, err, r.Expr)
			}
			for _, name := range names {
				out[name] = append(out[name], r.Alert)
			}
		}
	}
	if n == 0 {
		t.Fatalf("%s has no rule", alertsFile)
	}
	return out
}

// sampleName is the metric name of a sample line of the text exposition.
var sampleName = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]`)

// readExposition returns the metric families that have samples (a
// histogram by its own name, its _bucket, _sum and _count lines included)
// and which families are histograms.
func readExposition(t *testing.T, r io.Reader) (exported, histograms map[string]bool) {
	t.Helper()
	exported, histograms = map[string]bool{}, map[string]bool{}
	var samples []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" && f[3] == "histogram" {
			histograms[f[2]] = true
		}
		if m := sampleName.FindStringSubmatch(line); m != nil {
			samples = append(samples, m[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range samples {
		exported[name] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && histograms[b] {
				exported[b] = true
				delete(exported, name)
			}
		}
	}
	if len(exported) == 0 {
		t.Fatal("/metrics exported nothing")
	}
	return exported, histograms
}
