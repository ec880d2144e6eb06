package codeverify_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestPackageBoundaries holds the lines the design draws: only streams/ imports the Kafka client,
// only sinks/clickhouse imports the ClickHouse client, schemas/ imports nothing of ours, processors
// know nothing of Kafka or ClickHouse, and nothing imports cmd/.
func TestPackageBoundaries(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/codeverify/codeverify/"
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
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
