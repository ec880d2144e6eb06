package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/sinks/clickhouse/chtest"
)

const (
	dashboardFile   = "grafana/codeverify-dashboard.json"
	datasourcesFile = "grafana/provisioning/datasources.yml"
	dashboardsFile  = "grafana/provisioning/dashboards.yml"
)

type grafanaRef struct{ Type, UID string }

type grafanaPanel struct {
	ID         int
	Type       string
	Title      string
	Datasource *grafanaRef
	GridPos    struct{ X, Y, W, H int }
	Targets    []struct {
		RefID      string
		Datasource *grafanaRef
		Expr       string // Prometheus
		RawSQL     string `json:"rawSql"` // ClickHouse
	}
}

// readDashboard parses the dashboard strictly enough that a misspelt field in the parts the
// checks read fails here rather than in Grafana.
func readDashboard(t *testing.T) []grafanaPanel {
	t.Helper()
	var d struct {
		UID    string
		Title  string
		Panels []grafanaPanel
	}
	if err := json.Unmarshal([]byte(readFile(t, dashboardFile)), &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) < 8 {
		t.Fatalf("%s: uid %q, title %q, %d panels", dashboardFile, d.UID, d.Title, len(d.Panels))
	}
	return d.Panels
}

// queries yields every query of the dashboard with its panel and data source.
func queries(t *testing.T, f func(p grafanaPanel, ds grafanaRef, expr, sql string)) {
	for _, p := range readDashboard(t) {
		for _, q := range p.Targets {
			ds := q.Datasource
			if ds == nil {
				ds = p.Datasource
			}
			if ds == nil {
				t.Errorf("panel %q: a query without a data source", p.Title)
				continue
			}
			f(p, *ds, q.Expr, q.RawSQL)
		}
	}
}

func TestGrafanaDashboardLayout(t *testing.T) {
	ids := map[int]bool{}
	for _, p := range readDashboard(t) {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: grid position %+v is off the 24-column grid", p.Title, p.GridPos)
		}
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
}

// TestGrafanaDatasourcesProvisioned: every data source a panel or query names is provisioned with
// that uid and type, the ClickHouse one points at the compose ClickHouse with its database and
// user, and the compose grafana service mounts the files where the provisioning reads them.
func TestGrafanaDatasourcesProvisioned(t *testing.T) {
	var prov struct {
		Datasources []struct {
			Name, UID, Type, URL string
			JSONData             map[string]any `yaml:"jsonData"`
		}
	}
	readYAML(t, datasourcesFile, &prov)
	types := map[string]string{}
	for _, ds := range prov.Datasources {
		types[ds.UID] = ds.Type
	}
	used := map[string]bool{}
	check := func(where string, ds *grafanaRef) {
		if ds == nil {
			return
		}
		if types[ds.UID] != ds.Type {
			t.Errorf("%s: data source %s/%s is not provisioned (provisioned: %v)", where, ds.Type, ds.UID, types)
		}
		used[ds.Type] = true
	}
	for _, p := range readDashboard(t) {
		check(fmt.Sprintf("panel %q", p.Title), p.Datasource)
		for _, q := range p.Targets {
			check(fmt.Sprintf("panel %q query %s", p.Title, q.RefID), q.Datasource)
		}
	}
	if !used["grafana-clickhouse-datasource"] || !used["prometheus"] {
		t.Errorf("the dashboard uses data sources %v, want ClickHouse and Prometheus", used)
	}

	services := composeServices(t)
	chEnv := mapOf(get(services["clickhouse"], "environment"))
	for _, ds := range prov.Datasources {
		switch ds.Type {
		case "grafana-clickhouse-datasource":
			want := map[string]any{"host": "clickhouse", "port": 9000, "protocol": "native",
				"defaultDatabase": chEnv["CLICKHOUSE_DB"], "username": chEnv["CLICKHOUSE_USER"]}
			for k, v := range want {
				if fmt.Sprint(ds.JSONData[k]) != fmt.Sprint(v) {
					t.Errorf("%s: ClickHouse %s = %v, want %v (the compose clickhouse service)", datasourcesFile, k, ds.JSONData[k], v)
				}
			}
		case "prometheus":
			if ds.URL != "http://prometheus:9090" || services["prometheus"] == nil {
				t.Errorf("%s: Prometheus at %s, want the compose prometheus service (http://prometheus:9090)", datasourcesFile, ds.URL)
			}
		}
	}

	var providers struct {
		Providers []struct{ Options struct{ Path string } }
	}
	readYAML(t, dashboardsFile, &providers)
	g := services["grafana"]
	if g == nil || len(providers.Providers) != 1 {
		t.Fatalf("compose has grafana service %v; %s has %d providers, want 1", g != nil, dashboardsFile, len(providers.Providers))
	}
	mounts := map[string]string{}
	for _, v := range listStrings(get(g, "volumes")) {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 {
			mounts[filepath.Clean(filepath.Join("compose", parts[0]))] = parts[1]
		}
	}
	for file, dir := range map[string]string{
		datasourcesFile: "/etc/grafana/provisioning/datasources",
		dashboardsFile:  "/etc/grafana/provisioning/dashboards",
		dashboardFile:   providers.Providers[0].Options.Path,
	} {
		if m, ok := mounts[file]; !ok || filepath.Dir(m) != dir {
			t.Errorf("compose grafana mounts %s at %q, want a file in %s", file, m, dir)
		}
	}
	if !strings.Contains(fmt.Sprint(get(g, "environment")), "grafana-clickhouse-datasource@") {
		t.Error("compose grafana does not install grafana-clickhouse-datasource at a pinned version")
	}
}

// TestGrafanaMetricsExported: every metric a Prometheus panel reads is one codeverify registers (or
// kafka-exporter's lag), and promtool parses every expression.
func TestGrafanaMetricsExported(t *testing.T) {
	exported := exportedMetrics(t)
	promql := map[string]bool{"sum": true, "rate": true, "histogram_quantile": true}
	strip := regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|\b(?:by|without)\s*\([^)]*\)`)
	ident := regexp.MustCompile(`\b[a-z_][a-z0-9_]*\b`)
	var exprs []string
	queries(t, func(p grafanaPanel, ds grafanaRef, expr, _ string) {
		if ds.Type != "prometheus" {
			return
		}
		exprs = append(exprs, strings.ReplaceAll(expr, "$__rate_interval", "5m"))
		for _, id := range ident.FindAllString(strip.ReplaceAllString(expr, " "), -1) {
			switch {
			case promql[id]:
			case strings.HasPrefix(id, "codeverify_"):
				if !exported[id] {
					t.Errorf("panel %q reads %s, which codeverify does not export", p.Title, id)
				}
			case id != "kafka_consumergroup_lag":
				t.Errorf("panel %q reads %s: neither codeverify's metric nor kafka-exporter's lag", p.Title, id)
			}
		}
	})
	if len(exprs) < 5 {
		t.Fatalf("found only %d Prometheus queries", len(exprs))
	}
	promtool := needTool(t, "promtool")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		q, _ := json.Marshal(e) // a JSON string is a YAML string
		fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", i, q)
	}
	f := filepath.Join(t.TempDir(), "dashboard_rules.yml")
	if err := os.WriteFile(f, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, promtool, "check", "rules", f)
}

// expandMacros substitutes what the ClickHouse plugin would for its time macros: the dashboard's
// range as literal conditions.
func expandMacros(sql string, from, to time.Time) string {
	day := func(t time.Time) string { return t.UTC().Format(time.DateOnly) }
	sql = regexp.MustCompile(`\$__timeFilter\((\w+)\)`).ReplaceAllString(sql,
		fmt.Sprintf("$1 >= toDateTime(%d) AND $1 <= toDateTime(%d)", from.Unix(), to.Unix()))
	sql = regexp.MustCompile(`\$__dateFilter\((\w+)\)`).ReplaceAllString(sql,
		fmt.Sprintf("$1 >= toDate('%s') AND $1 <= toDate('%s')", day(from), day(to)))
	sql = strings.ReplaceAll(sql, "$__fromTime", fmt.Sprintf("toDateTime(%d)", from.Unix()))
	return strings.ReplaceAll(sql, "$__toTime", fmt.Sprintf("toDateTime(%d)", to.Unix()))
}

// TestGrafanaClickHouseQueriesRun runs every ClickHouse panel query on a fresh database with the
// schema and a few rows in the time range: each must run and return something.
func TestGrafanaClickHouseQueriesRun(t *testing.T) {
	var sqls []string
	queries(t, func(p grafanaPanel, ds grafanaRef, _, sql string) {
		if ds.Type == "grafana-clickhouse-datasource" {
			sqls = append(sqls, sql)
		}
	})
	if len(sqls) < 5 {
		t.Fatalf("found only %d ClickHouse queries", len(sqls))
	}
	s, _ := chtest.Open(t)
	ctx := context.Background()
	now := time.Now()
	var vs []schemas.Verdict
	for i, kind := range []string{schemas.KindNone, schemas.KindAssertion, schemas.KindSyntax} {
		label := schemas.Pass
		if kind != schemas.KindNone {
			label = schemas.Fail
		}
		req := "humaneval/test/m/HumanEval/0"
		vs = append(vs, schemas.Verdict{CandidateID: schemas.CandidateID(req, i), RequestID: req, ProblemID: "HumanEval/0",
			Benchmark: "humaneval", Split: "test", Model: "m", SampleIndex: int32(i), Label: label, FailureKind: kind,
			ExecutedAtMs: now.UnixMilli()})
	}
	if err := s.WriteVerdicts(ctx, vs); err != nil {
		t.Fatal(err)
	}
	run := clickhouse.EvalRun{EvalID: "e1", ModelVersion: "v1", InputHash: "h", Scope: "all", N: 2, Seed: 1}
	if err := s.WriteEval(ctx, run, []clickhouse.EvalCandidate{
		{ProblemID: "HumanEval/0", CandidateID: vs[0].CandidateID, Position: 0, Pass: true, Energy: -1},
		{ProblemID: "HumanEval/0", CandidateID: vs[1].CandidateID, Position: 1, Energy: 2},
	}); err != nil {
		t.Fatal(err)
	}
	for _, raw := range sqls {
		sql := expandMacros(raw, now.Add(-24*time.Hour), now.Add(time.Hour))
		if strings.Contains(sql, "$") {
			t.Errorf("a macro or variable this test does not know is left in:\n%s", sql)
			continue
		}
		got, err := s.Query(ctx, sql)
		if err != nil {
			t.Errorf("%v\n%s", err, sql)
		} else if len(got.Rows) == 0 {
			t.Errorf("no rows:\n%s", sql)
		}
	}
}
