package codeverify_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/codeverify/codeverify/"

// goPackage is what go list says of one package.
type goPackage struct {
	ImportPath string
	Imports    []string
}

// listDeps is every package of the module and everything they import, transitively, as
// `go list -deps` gives it (production code: test files may reach further, e.g. kfake).
func listDeps(t *testing.T) map[string]goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json", "./...")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]goPackage{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// TestPackageBoundaries holds the lines the design draws on direct imports: only streams/ imports
// the Kafka client, only sinks/clickhouse imports the ClickHouse client, schemas/ imports nothing
// of ours, processors know nothing of Kafka or ClickHouse, and nothing imports cmd/.
func TestPackageBoundaries(t *testing.T) {
	seen := 0
	for _, p := range listDeps(t) {
		if !strings.HasPrefix(p.ImportPath, mod) {
			continue
		}
		seen++
		rel := strings.TrimPrefix(p.ImportPath, mod)
		for _, imp := range p.Imports {
			switch {
			case strings.HasPrefix(imp, "github.com/segmentio/kafka-go") || strings.HasPrefix(imp, "github.com/twmb/franz-go"):
				if rel != "streams" {
					t.Errorf("%s imports %s: only streams/ may use the Kafka client", rel, imp)
				}
			case strings.HasPrefix(imp, "github.com/ClickHouse/"):
				if rel != "sinks/clickhouse" {
					t.Errorf("%s imports %s: only sinks/clickhouse may use the ClickHouse client", rel, imp)
				}
			case strings.HasPrefix(imp, "github.com/yalue/onnxruntime_go"):
				if rel != "serving" {
					t.Errorf("%s imports %s: only serving/ may use ONNX Runtime", rel, imp)
				}
			case strings.HasPrefix(imp, mod+"cmd"):
				t.Errorf("%s imports %s: nothing imports cmd/", rel, imp)
			case strings.HasPrefix(imp, mod) && rel == "schemas":
				t.Errorf("schemas imports %s: schemas/ imports nothing of ours", imp)
			case strings.HasPrefix(rel, "processors") && (strings.HasPrefix(imp, mod+"streams") || strings.HasPrefix(imp, mod+"sinks")):
				t.Errorf("%s imports %s: processors are pure logic", rel, imp)
			}
		}
	}
	if seen < 5 {
		t.Fatalf("go list saw only %d packages", seen)
	}
}

// clients are the heavy dependencies and the packages of ours allowed to reach them, directly or
// not. A package off the list that comes to depend on one (say serving through trainer, which
// replays topics) fails here even though none of its own imports names the client.
// wiring are the packages that compose the others into runnable stages and commands: they may
// reach every client, through the package that owns it.
var wiring = []string{"cmd/", "internal/config", "internal/ops", "pipeline", "evaluation", "bench", "campaign"}

var clients = []struct {
	name     string
	prefixes []string
	allowed  []string // relative import paths; a trailing "/" allows the subtree
}{
	{"the Kafka client", []string{"github.com/segmentio/kafka-go", "github.com/twmb/franz-go"},
		// trainer replays the labeled topics and announces versions, through streams; testkit, the
		// tests' shared fixtures, builds a tiny model with trainer.
		append([]string{"streams", "streams/kafkatest", "trainer", "internal/testkit"}, wiring...)},
	{"the ClickHouse client", []string{"github.com/ClickHouse/clickhouse-go"}, append([]string{"sinks/clickhouse", "sinks/clickhouse/chtest"}, wiring...)},
	{"ONNX Runtime", []string{"github.com/yalue/onnxruntime_go"}, append([]string{"serving", "internal/testkit"}, wiring...)},
}

// TestTransitiveBoundaries: what a package reaches through everything it imports. The model
// contract (model/), the events (schemas/) and the processors reach none of the clients; only
// streams/ (and trainer and cmd, through it) reach Kafka; only sinks/clickhouse reaches ClickHouse;
// only serving/ reaches ONNX Runtime.
func TestTransitiveBoundaries(t *testing.T) {
	pkgs := listDeps(t)
	ours := 0
	for _, p := range pkgs {
		if !strings.HasPrefix(p.ImportPath, mod) {
			continue
		}
		ours++
		rel := strings.TrimPrefix(p.ImportPath, mod)
		for _, c := range clients {
			if allowedFor(rel, c.allowed) {
				continue
			}
			if chain := pathTo(pkgs, p.ImportPath, c.prefixes); chain != nil {
				t.Errorf("%s reaches %s: %s", rel, c.name, strings.Join(chain, " → "))
			}
		}
		pure := rel == "model" || rel == "schemas" || strings.HasPrefix(rel, "processors/")
		if chain := pathTo(pkgs, p.ImportPath, []string{mod + "streams", mod + "sinks/", mod + "trainer", mod + "serving"}); pure && chain != nil {
			t.Errorf("%s reaches %s (%s): model/, schemas/ and processors/ are pure logic", rel, chain[len(chain)-1], strings.Join(chain, " → "))
		}
	}
	if ours < 5 {
		t.Fatalf("go list saw only %d packages of ours", ours)
	}
	// The check has teeth only if the lines are where it thinks: the allowed packages do reach them.
	for _, want := range []struct{ pkg, dep string }{{"streams", "github.com/segmentio/kafka-go"},
		{"sinks/clickhouse", "github.com/ClickHouse/clickhouse-go"}, {"serving", "github.com/yalue/onnxruntime_go"}} {
		if pathTo(pkgs, mod+want.pkg, []string{want.dep}) == nil {
			t.Errorf("%s does not reach %s: is go list -deps seeing the graph?", want.pkg, want.dep)
		}
	}
}

func allowedFor(rel string, allowed []string) bool {
	return slices.ContainsFunc(allowed, func(a string) bool {
		return rel == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(rel, a))
	})
}

// pathTo is an import chain from pkg to a package under one of prefixes (shortest, by breadth-first
// search), or nil when there is none.
func pathTo(pkgs map[string]goPackage, pkg string, prefixes []string) []string {
	match := func(p string) bool {
		return slices.ContainsFunc(prefixes, func(pre string) bool { return p == pre || strings.HasPrefix(p, strings.TrimSuffix(pre, "/")+"/") })
	}
	parent := map[string]string{pkg: ""}
	queue := []string{pkg}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur != pkg && match(cur) {
			var chain []string
			for p := cur; p != ""; p = parent[p] {
				chain = append(chain, strings.TrimPrefix(p, mod))
			}
			slices.Reverse(chain)
			return chain
		}
		for _, imp := range pkgs[cur].Imports {
			if _, seen := parent[imp]; !seen {
				parent[imp] = cur
				queue = append(queue, imp)
			}
		}
	}
	return nil
}
