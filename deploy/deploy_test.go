// Package deploy_test checks the deployment files offline: the tools that own each format accept
// them (docker-compose, kustomize, promtool), and every codeverify command line, environment
// variable, port, image and metric name in them is one the code actually has. Nothing is pulled or
// started. A test whose tool is missing skips with the reason (make test installs the tools through
// deploy/setup-debian.sh); the checks against the binary and the sources need only Go.
package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	composeFile   = "compose/docker-compose.yml"
	alertsFile    = "prometheus/alerts.yml"
	promConfig    = "prometheus/prometheus.yml"
	alertsTests   = "prometheus/alerts_test.yml"
	dockerfile    = "Dockerfile"
	k8sDir        = "k8s"
	k8sInfraDir   = "k8s/infra"
	codeverifyBin = "/usr/local/bin/codeverify"
)

// k8sFiles are every manifest under k8s/, kustomized or applied by hand (jobs/).
func k8sFiles(t *testing.T) []string {
	var files []string
	err := filepath.WalkDir(k8sDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") && filepath.Base(p) != "kustomization.yaml" && !strings.HasPrefix(p, "k8s/config/") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("k8s manifests: %v (%d files)", err, len(files))
	}
	return files
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (deploy/setup-debian.sh installs it): skipping", name)
	}
	return p
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stderr.Bytes(), stdout.Bytes())
	}
	return stdout.Bytes()
}

// ---- the format owners accept the files --------------------------------------------------------

func TestComposeConfig(t *testing.T) {
	dc := needTool(t, "docker-compose")
	// Every profile on, so the gpu/verifier/tools services are validated too.
	out := run(t, dc, "-f", composeFile, "--profile", "gpu", "--profile", "verifier", "--profile", "tools", "config")
	var c struct{ Services map[string]any }
	if err := yaml.Unmarshal(out, &c); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"kafka-1", "kafka-2", "kafka-3", "clickhouse", "vllm", "prometheus", "generator", "executor", "sink", "reranker"} {
		if c.Services[s] == nil {
			t.Errorf("docker-compose config has no service %s", s)
		}
	}
}

func TestKustomize(t *testing.T) {
	kubectl := needTool(t, "kubectl")
	for _, dir := range []string{k8sDir, k8sInfraDir} {
		out := run(t, kubectl, "kustomize", dir)
		kinds := map[string]int{}
		for _, d := range decodeDocs(t, dir, out) {
			kinds[str(d, "kind")]++
		}
		t.Logf("%s: %v", dir, kinds)
		want := map[string][]string{
			k8sDir:      {"Deployment", "Service", "ScaledObject", "ConfigMap", "Secret"},
			k8sInfraDir: {"Kafka", "KafkaNodePool", "ClickHouseInstallation"},
		}[dir]
		for _, k := range want {
			if kinds[k] == 0 {
				t.Errorf("kubectl kustomize %s renders no %s", dir, k)
			}
		}
		if kinds["StatefulSet"] > 0 {
			t.Errorf("%s has a StatefulSet: Kafka and ClickHouse are operator resources", dir)
		}
	}
}

func TestPrometheusRules(t *testing.T) {
	promtool := needTool(t, "promtool")
	run(t, promtool, "check", "rules", alertsFile)
	run(t, promtool, "check", "config", promConfig)
	run(t, promtool, "test", "rules", alertsTests) // the alerts fire on the series they are meant for
}

// ---- the files use what codeverify has ------------------------------------------------------------

// cmdLine is one codeverify invocation found in a deployment file.
type cmdLine struct {
	where string
	args  []string // without the program name
	env   []string // environment variable names set for it
	image string   // "" outside containers
}

// TestCommandLinesAccepted: every subcommand and --flag used exists for that subcommand (from the
// binary's own --help), and every environment variable set for codeverify is one its code reads.
func TestCommandLinesAccepted(t *testing.T) {
	bin := buildBinary(t)
	lines := allCommandLines(t)
	if len(lines) < 10 {
		t.Fatalf("found only %d codeverify command lines: the parsers missed some", len(lines))
	}
	readEnv := envVarsRead(t)
	flagsOf := map[string]map[string]bool{}
	for _, l := range lines {
		sub := subcommand(l.args)
		if len(sub) == 0 {
			t.Errorf("%s: no subcommand in %q", l.where, l.args)
			continue
		}
		key := strings.Join(sub, " ")
		if flagsOf[key] == nil {
			flagsOf[key] = helpFlags(t, bin, sub)
		}
		for _, a := range l.args[len(sub):] {
			if !strings.HasPrefix(a, "--") {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			if !flagsOf[key][name] {
				t.Errorf("%s: codeverify %s has no flag --%s", l.where, key, name)
			}
		}
		for _, e := range l.env {
			if !readEnv[e] {
				t.Errorf("%s: environment variable %s is not read by codeverify", l.where, e)
			}
		}
	}
	keys := make([]string, 0, len(flagsOf))
	for k := range flagsOf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("%d command lines, subcommands %v", len(lines), keys)
}

// TestPortsMatchFlags: every port a probe, Service, healthcheck or scrape config names is the port
// the container's own --metrics-addr / --addr listens on.
func TestPortsMatchFlags(t *testing.T) {
	checked := 0
	// Kubernetes: probes → containerPort → the address flag; Services → selected pods' containerPort.
	type pod struct {
		labels     map[string]any
		containers []map[string]any
	}
	var pods []pod
	var services []map[string]any
	for _, f := range k8sFiles(t) {
		for _, d := range decodeFile(t, f) {
			switch str(d, "kind") {
			case "Deployment", "Job":
				tmpl := get(d, "spec", "template")
				p := pod{labels: mapOf(get(tmpl, "metadata", "labels"))}
				for _, c := range list(get(tmpl, "spec", "containers")) {
					p.containers = append(p.containers, mapOf(c))
				}
				pods = append(pods, p)
				for _, c := range p.containers {
					listen := listenPorts(argsOf(c))
					for _, probe := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
						pr := get(c, probe, "httpGet")
						if pr == nil {
							continue
						}
						n, ok := containerPort(c, get(pr, "port"))
						if !ok || !listen[n] {
							t.Errorf("%s: %s %s port %v (= %d) is not a port its args listen on (%v)", f, str(c, "name"), probe, get(pr, "port"), n, listen)
						}
						checked++
					}
					if str(d, "kind") == "Deployment" && strings.HasPrefix(str(c, "image"), "codeverify") && get(c, "command") == nil {
						if get(c, "livenessProbe") == nil || get(c, "readinessProbe") == nil {
							t.Errorf("%s: container %s has no liveness or readiness probe", f, str(c, "name"))
						}
						if get(c, "resources", "requests") == nil {
							t.Errorf("%s: container %s has no resource requests", f, str(c, "name"))
						}
					}
				}
			case "Service":
				services = append(services, d)
			}
		}
	}
	for _, s := range services {
		sel := mapOf(get(s, "spec", "selector"))
		var matched []pod
		for _, p := range pods {
			if subset(sel, p.labels) {
				matched = append(matched, p)
			}
		}
		if len(matched) == 0 {
			t.Errorf("Service %s selects no pod template", str(get(s, "metadata"), "name"))
		}
		for _, sp := range list(get(s, "spec", "ports")) {
			for _, p := range matched {
				found := false
				for _, c := range p.containers {
					if n, ok := containerPort(c, get(sp, "targetPort")); ok && listenPorts(argsOf(c))[n] {
						found = true
					}
				}
				if !found {
					t.Errorf("Service %s port %v: no selected container listens on its targetPort", str(get(s, "metadata"), "name"), get(sp, "targetPort"))
				}
				checked++
			}
		}
	}
	// Compose: healthcheck URLs and Prometheus targets against --metrics-addr in the command.
	services2 := composeServices(t)
	portInURL := regexp.MustCompile(`127\.0\.0\.1:(\d+)/readyz`)
	for name, s := range services2 {
		for _, a := range listStrings(get(s, "healthcheck", "test")) {
			if m := portInURL.FindStringSubmatch(a); m != nil {
				n, _ := strconv.Atoi(m[1])
				if !listenPorts(commandOf(s))[n] {
					t.Errorf("compose %s: healthcheck port %d is not its --metrics-addr", name, n)
				}
				checked++
			}
		}
	}
	var prom struct {
		ScrapeConfigs []struct {
			JobName      string `yaml:"job_name"`
			DNSSDConfigs []struct {
				Names []string
				Port  int
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, promConfig, &prom)
	for _, sc := range prom.ScrapeConfigs {
		for _, dc := range sc.DNSSDConfigs {
			for _, n := range dc.Names {
				s, ok := services2[n]
				if !ok {
					t.Errorf("%s: job %s scrapes %s, which is no compose service", promConfig, sc.JobName, n)
					continue
				}
				if strings.HasPrefix(sc.JobName, "codeverify-") && !listenPorts(commandOf(s))[dc.Port] {
					t.Errorf("%s: job %s scrapes port %d, not %s's --metrics-addr", promConfig, sc.JobName, dc.Port, n)
				}
				checked++
			}
		}
	}
	// systemd: fixed metrics ports are distinct; the executor template's port is its instance.
	seen := map[int]string{}
	for _, l := range systemdLines(t) {
		for p := range listenPorts(l.args) {
			if other, dup := seen[p]; dup {
				t.Errorf("%s and %s both listen on %d", l.where, other, p)
			}
			seen[p] = l.where
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d ports: the parsers missed some", checked)
	}
}

// TestImagesBuiltOrPinned: a codeverify image is a target of deploy/Dockerfile; every other image
// is an upstream image with an explicit version tag (never latest).
func TestImagesBuiltOrPinned(t *testing.T) {
	targets := dockerfileTargets(t)
	ownImage := map[string]string{"codeverify": "runtime", "codeverify-trainer": "trainer"}
	check := func(where, image string) {
		repo, tag := splitImage(image)
		if target, ok := ownImage[repo]; ok {
			if !targets[target] {
				t.Errorf("%s: image %s should come from Dockerfile target %q, which does not exist (targets %v)", where, image, target, targets)
			}
			return
		}
		if tag == "" || tag == "latest" || strings.Contains(tag, "$") {
			t.Errorf("%s: upstream image %s is not pinned to a version", where, image)
		}
	}
	for name, s := range composeServices(t) {
		img := str(s, "image")
		if img == "" {
			t.Errorf("compose %s: no image", name)
			continue
		}
		check("compose "+name, img)
		if b := get(s, "build"); b != nil {
			repo, _ := splitImage(img)
			if str(b, "dockerfile") != "deploy/Dockerfile" || str(b, "target") != ownImage[repo] {
				t.Errorf("compose %s: builds %v, want deploy/Dockerfile target %s", name, b, ownImage[repo])
			}
		}
	}
	n := 0
	for _, f := range k8sFiles(t) {
		for _, d := range decodeFile(t, f) {
			walk(d, func(k string, v any) {
				if k == "image" {
					if s, ok := v.(string); ok {
						check(f, s)
						n++
					}
				}
			})
		}
	}
	for _, img := range dockerfileBaseImages(t) {
		check(dockerfile, img)
	}
	if n < 5 {
		t.Fatalf("found only %d images in k8s/", n)
	}
}

// TestAlertMetricsExported: every codeverify_* series an alert reads is registered by the Go code;
// the few others come from named exporters.
func TestAlertMetricsExported(t *testing.T) {
	exported := exportedMetrics(t)
	foreign := map[string]string{
		"kafka_consumergroup_lag": "kafka-exporter (compose) / Strimzi kafkaExporter (k8s)",
		"up":                      "Prometheus itself",
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string
				Expr  string
			}
		}
	}
	readYAML(t, alertsFile, &rules)
	name := regexp.MustCompile(`\b[a-z_][a-z0-9_]*\b`)
	promql := map[string]bool{"sum": true, "by": true, "rate": true, "deriv": true, "increase": true, "and": true,
		"unless": true, "or": true, "m": true}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			// Drop label matchers ({...}), ranges ([...]) and grouping (by (...)), then look at the
			// identifiers left: functions, operators and metric names.
			expr := regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|\b(?:by|without|on|ignoring)\s*\([^)]*\)`).ReplaceAllString(r.Expr, " ")
			for _, id := range name.FindAllString(expr, -1) {
				if promql[id] {
					continue
				}
				n++
				if strings.HasPrefix(id, "codeverify_") {
					if !exported[id] {
						t.Errorf("alert %s reads %s, which codeverify does not export", r.Alert, id)
					}
				} else if foreign[id] == "" {
					t.Errorf("alert %s reads %s: neither codeverify's nor a known exporter's", r.Alert, id)
				}
			}
		}
	}
	if n < 8 {
		t.Fatalf("found only %d metric names in %s", n, alertsFile)
	}
}

// TestScalingMatchesTopology: KEDA scales the executor on the group and topic the topology declares,
// to at most that topic's partition count.
func TestScalingMatchesTopology(t *testing.T) {
	topo := string(runBin(t, buildBinary(t), "topology"))
	for _, d := range decodeFile(t, filepath.Join(k8sDir, "executor.yaml")) {
		if str(d, "kind") != "ScaledObject" {
			continue
		}
		tr := mapOf(list(get(d, "spec", "triggers"))[0])
		group, topic := str(get(tr, "metadata"), "consumerGroup"), str(get(tr, "metadata"), "topic")
		if !strings.Contains(topo, topic+" (group "+group+")") {
			t.Errorf("ScaledObject: topology has no input %s (group %s)", topic, group)
		}
		m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(topic) + `\s.*partitions=(\d+)`).FindStringSubmatch(topo)
		if m == nil {
			t.Fatalf("topology lists no topic %s", topic)
		}
		if max := fmt.Sprint(get(d, "spec", "maxReplicaCount")); max != m[1] {
			t.Errorf("ScaledObject maxReplicaCount %s, want the %s partitions of %s", max, m[1], topic)
		}
		return
	}
	t.Fatal("no ScaledObject in k8s/executor.yaml")
}

// TestSandboxSettings: what the executor's sandbox needs is set wherever it runs.
func TestSandboxSettings(t *testing.T) {
	ex := composeServices(t)["executor"]
	if opts := strings.Join(listStrings(get(ex, "security_opt")), " "); !strings.Contains(opts, "seccomp=unconfined") || !strings.Contains(opts, "apparmor=unconfined") {
		t.Errorf("compose executor security_opt %q: the sandbox needs seccomp and AppArmor unconfined", opts)
	}
	for _, d := range decodeFile(t, filepath.Join(k8sDir, "executor.yaml")) {
		if str(d, "kind") == "Deployment" && str(get(d, "spec", "template", "spec", "securityContext", "seccompProfile"), "type") != "Unconfined" {
			t.Error("k8s executor: seccompProfile must be Unconfined (user namespaces)")
		}
	}
	unit, err := os.ReadFile("systemd/codeverify-executor@.service")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^Delegate=yes$`).Match(unit) || !regexp.MustCompile(`--metrics-addr 0\.0\.0\.0:%i\s`).Match(unit) {
		t.Error("executor unit: wants Delegate=yes and the instance as its metrics port")
	}
}

// ---- collecting command lines ----------------------------------------------------------------------

func allCommandLines(t *testing.T) []cmdLine {
	var lines []cmdLine
	for name, s := range composeServices(t) {
		img := str(s, "image")
		if !strings.HasPrefix(img, "codeverify") {
			continue
		}
		var env []string
		for k := range mapOf(get(s, "environment")) {
			env = append(env, k)
		}
		if args := commandOf(s); len(args) > 0 {
			lines = append(lines, cmdLine{where: "compose " + name, args: args, env: env, image: img})
		} else if len(env) > 0 {
			lines = append(lines, cmdLine{where: "compose " + name, args: []string{"--help"}, env: env, image: img})
		}
	}
	for _, f := range k8sFiles(t) {
		for _, d := range decodeFile(t, f) {
			walkContainers(d, func(c map[string]any) {
				if !strings.HasPrefix(str(c, "image"), "codeverify") || get(c, "command") != nil {
					return // another program (an init script): not codeverify's command line
				}
				var env []string
				for _, e := range list(get(c, "env")) {
					env = append(env, str(e, "name"))
				}
				lines = append(lines, cmdLine{where: f + " " + str(c, "name"), args: argsOf(c), env: env, image: str(c, "image")})
			})
		}
	}
	lines = append(lines, systemdLines(t)...)
	// The image's own ENV applies to every container.
	var env []string
	for _, m := range regexp.MustCompile(`(?m)\b(CODEVERIFY_[A-Z0-9_]+)=`).FindAllStringSubmatch(readFile(t, dockerfile), -1) {
		env = append(env, m[1])
	}
	lines = append(lines, cmdLine{where: dockerfile + " ENV", args: []string{"--help"}, env: env})
	return lines
}

// systemdLines: ExecStart of codeverify in every unit (continuations joined, %i as a port).
func systemdLines(t *testing.T) []cmdLine {
	units, _ := filepath.Glob("systemd/*.service")
	more, _ := filepath.Glob("vllm/*.service")
	var lines []cmdLine
	for _, u := range append(units, more...) {
		text := strings.ReplaceAll(readFile(t, u), "\\\n", " ")
		var env []string
		for _, m := range regexp.MustCompile(`(?m)^Environment="?([A-Za-z_][A-Za-z0-9_]*)=`).FindAllStringSubmatch(text, -1) {
			env = append(env, m[1])
		}
		for _, m := range regexp.MustCompile(`(?m)^ExecStart=(.*)$`).FindAllStringSubmatch(text, -1) {
			f := strings.Fields(strings.ReplaceAll(m[1], "%i", "9501"))
			if len(f) == 0 || f[0] != codeverifyBin {
				continue
			}
			lines = append(lines, cmdLine{where: u, args: f[1:], env: env})
		}
	}
	return lines
}

// subcommand: the leading words before the first flag (rerank run, execute, …).
func subcommand(args []string) []string {
	var sub []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		sub = append(sub, a)
	}
	if len(args) == 1 && args[0] == "--help" {
		return []string{"help-root"}
	}
	return sub
}

var helpFlag = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9][a-z0-9-]*)`)

// helpFlags runs `codeverify SUB --help` and returns its flags (local and global).
func helpFlags(t *testing.T, bin string, sub []string) map[string]bool {
	args := append(append([]string{}, sub...), "--help")
	if sub[0] == "help-root" {
		args = []string{"--help"}
	}
	out := string(runBin(t, bin, args...))
	if sub[0] != "help-root" && !strings.Contains(out, "codeverify "+strings.Join(sub, " ")) {
		t.Errorf("codeverify has no subcommand %q:\n%s", strings.Join(sub, " "), out)
	}
	flags := map[string]bool{"help": true}
	for _, m := range helpFlag.FindAllStringSubmatch(out, -1) {
		flags[m[1]] = true
	}
	return flags
}

// envVarsRead: the environment variables codeverify's non-test code names as a string literal
// (os.Getenv / getenv / envOr / ResolveLibrary's LibraryEnv) — CODEVERIFY_* and the OpenAI client's.
func envVarsRead(t *testing.T) map[string]bool {
	read := map[string]bool{}
	lit := regexp.MustCompile(`"((?:CODEVERIFY|OPENAI)_[A-Z0-9_]+)"`)
	for _, src := range goSources(t) {
		for _, m := range lit.FindAllStringSubmatch(src.text, -1) {
			read[m[1]] = true
		}
	}
	if !read["CODEVERIFY_BROKERS"] || !read["CODEVERIFY_CONFIG"] {
		t.Fatalf("reading the config's environment variables from the sources failed: %v", read)
	}
	return read
}

// exportedMetrics: metric names the Go code registers, literal ("codeverify_sink_rows_total") or
// a prefix literal ending in _ joined with another literal of the same file ("codeverify_runner_" +
// name, counter("processed_total", …)); histograms also export _bucket, _sum and _count.
func exportedMetrics(t *testing.T) map[string]bool {
	names := map[string]bool{}
	lit := regexp.MustCompile(`"([a-z][a-z0-9_]*)"`)
	for _, src := range goSources(t) {
		var prefixes, words []string
		for _, m := range lit.FindAllStringSubmatch(src.text, -1) {
			w := m[1]
			words = append(words, w)
			if strings.HasPrefix(w, "codeverify_") {
				if strings.HasSuffix(w, "_") {
					prefixes = append(prefixes, w)
				} else {
					names[w] = true
				}
			}
		}
		for _, p := range prefixes {
			for _, w := range words {
				names[p+w] = true
			}
		}
	}
	for n := range names {
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			names[n+s] = true
		}
	}
	if !names["codeverify_runner_processed_total"] {
		t.Fatalf("reading metric names from the sources failed (%d names)", len(names))
	}
	return names
}

type goSource struct{ path, text string }

var sourcesOnce struct {
	sync.Once
	srcs []goSource
	err  error
}

// goSources: the module's non-test Go files (the code that runs in production).
func goSources(t *testing.T) []goSource {
	sourcesOnce.Do(func() {
		sourcesOnce.err = filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "var" || d.Name() == ".git" || d.Name() == "deploy" || d.Name() == "node_modules") && p != ".." {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				sourcesOnce.srcs = append(sourcesOnce.srcs, goSource{p, string(b)})
			}
			return nil
		})
	})
	if sourcesOnce.err != nil {
		t.Fatal(sourcesOnce.err)
	}
	return sourcesOnce.srcs
}

var binOnce struct {
	sync.Once
	path string
	err  error
	out  []byte
}

// buildBinary builds ./cmd/codeverify once per test binary run.
func buildBinary(t *testing.T) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "codeverify-deploy-test-")
		if err != nil {
			binOnce.err = err
			return
		}
		binOnce.path = filepath.Join(dir, "codeverify")
		goTool, err := exec.LookPath("go")
		if err != nil {
			binOnce.err = fmt.Errorf("go tool not on PATH: %w", err)
			return
		}
		cmd := exec.Command(goTool, "build", "-o", binOnce.path, "./cmd/codeverify")
		cmd.Dir = ".."
		binOnce.out, binOnce.err = cmd.CombinedOutput()
	})
	if binOnce.err != nil {
		t.Fatalf("go build ./cmd/codeverify: %v\n%s", binOnce.err, binOnce.out)
	}
	return binOnce.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binOnce.path != "" {
		os.RemoveAll(filepath.Dir(binOnce.path))
	}
	os.Exit(code)
}

func runBin(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()} // no CODEVERIFY_* from the caller
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("codeverify %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// ---- file parsing ----------------------------------------------------------------------------------

var composeOnce struct {
	sync.Once
	services map[string]map[string]any
	err      error
}

// composeServices parses the compose file itself (anchors and merge keys resolved by yaml.v3), so
// these checks run without docker-compose.
func composeServices(t *testing.T) map[string]map[string]any {
	composeOnce.Do(func() {
		var c struct{ Services map[string]map[string]any }
		b, err := os.ReadFile(composeFile)
		if err == nil {
			err = yaml.Unmarshal(b, &c)
		}
		composeOnce.services, composeOnce.err = c.Services, err
	})
	if composeOnce.err != nil {
		t.Fatal(composeOnce.err)
	}
	return composeOnce.services
}

func commandOf(s map[string]any) []string {
	switch c := get(s, "command").(type) {
	case string:
		return strings.Fields(c)
	default:
		return listStrings(c)
	}
}

func argsOf(c map[string]any) []string { return listStrings(get(c, "args")) }

// listenPorts: the ports of --metrics-addr / --addr values (host:port, or the next word).
func listenPorts(args []string) map[int]bool {
	ports := map[int]bool{}
	for i, a := range args {
		var v string
		switch {
		case a == "--metrics-addr" || a == "--addr":
			if i+1 < len(args) {
				v = args[i+1]
			}
		case strings.HasPrefix(a, "--metrics-addr=") || strings.HasPrefix(a, "--addr="):
			_, v, _ = strings.Cut(a, "=")
		default:
			continue
		}
		if i := strings.LastIndex(v, ":"); i >= 0 {
			if n, err := strconv.Atoi(v[i+1:]); err == nil {
				ports[n] = true
			}
		}
	}
	return ports
}

// containerPort resolves a probe's or Service's port (a number or a port name) to a number.
func containerPort(c map[string]any, port any) (int, bool) {
	switch p := port.(type) {
	case int:
		return p, true
	case string:
		for _, cp := range list(get(c, "ports")) {
			if str(cp, "name") == p {
				n, ok := get(cp, "containerPort").(int)
				return n, ok
			}
		}
	}
	return 0, false
}

func walkContainers(d map[string]any, f func(map[string]any)) {
	walkAny(d, func(k string, v any) {
		if k == "containers" || k == "initContainers" {
			for _, c := range list(v) {
				f(mapOf(c))
			}
		}
	})
}

func walk(d map[string]any, f func(k string, v any)) { walkAny(d, f) }

func walkAny(v any, f func(k string, v any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			f(k, c)
			walkAny(c, f)
		}
	case []any:
		for _, c := range x {
			walkAny(c, f)
		}
	}
}

func dockerfileTargets(t *testing.T) map[string]bool {
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?mi)^FROM\s+\S+\s+AS\s+(\S+)`).FindAllStringSubmatch(readFile(t, dockerfile), -1) {
		targets[m[1]] = true
	}
	return targets
}

// dockerfileBaseImages: the ARG defaults FROM lines use, and literal FROM images that are not stages.
func dockerfileBaseImages(t *testing.T) []string {
	text := readFile(t, dockerfile)
	stages := dockerfileTargets(t)
	args := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^ARG\s+([A-Z_]+)=(\S+)`).FindAllStringSubmatch(text, -1) {
		args[m[1]] = m[2]
	}
	var images []string
	for _, m := range regexp.MustCompile(`(?mi)^FROM\s+(\S+)`).FindAllStringSubmatch(text, -1) {
		img := m[1]
		if strings.HasPrefix(img, "${") {
			img = args[strings.Trim(img, "${}")]
		}
		if !stages[img] {
			images = append(images, img)
		}
	}
	if len(images) < 2 {
		t.Fatalf("Dockerfile base images: %v", images)
	}
	return images
}

func splitImage(image string) (repo, tag string) {
	image, _, _ = strings.Cut(image, "@")
	slash := strings.LastIndex(image, "/")
	if i := strings.LastIndex(image, ":"); i > slash {
		return image[:i], image[i+1:]
	}
	return image, ""
}

func decodeFile(t *testing.T, path string) []map[string]any {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decodeDocs(t, path, b)
}

func decodeDocs(t *testing.T, where string, b []byte) []map[string]any {
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return docs
			}
			t.Fatalf("%s: %v", where, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

func readYAML(t *testing.T, path string, v any) {
	if err := yaml.Unmarshal([]byte(readFile(t, path)), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readFile(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func get(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any, key string) string {
	s, _ := get(v, key).(string)
	return s
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func listStrings(v any) []string {
	var out []string
	for _, x := range list(v) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func subset(sel, labels map[string]any) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestConfigFilesLoad: the binary accepts every config file the deployments mount (unknown keys are
// errors).
func TestConfigFilesLoad(t *testing.T) {
	bin := buildBinary(t)
	for _, f := range []string{"compose/codeverify.yaml", "k8s/config/codeverify.yaml", "codeverify.example.yaml"} {
		runBin(t, bin, "topology", "--config", f)
	}
}
