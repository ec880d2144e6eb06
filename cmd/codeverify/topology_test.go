package main

import (
	"os"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/streams"
)

func TestTopologyCommand(t *testing.T) {
	top := streams.DefaultTopology()

	text, err := runCLI(t, "topology")
	if err != nil {
		t.Fatalf("topology: %v\n%s", err, text)
	}
	if text != top.Text() {
		t.Errorf("topology printed\n%s\nwant\n%s", text, top.Text())
	}
	for _, want := range []string{
		"executor        candidates (group codeverify-executor) → verdicts, behaviors; tables problems, tests",
		"reranker        candidates (group codeverify-reranker), prompts (group codeverify-reranker-prompts), behaviors (group codeverify-reranker-behaviors), models (own reader) → scores, selections; tables problems",
		"candidates      key=problem_id partitions=8 retention=28d schema=candidate dlq=candidates.dlq",
		"verdicts.dlq",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("topology lacks %q:\n%s", want, text)
		}
	}

	mermaid, err := runCLI(t, "topology", "--mermaid")
	if err != nil {
		t.Fatalf("topology --mermaid: %v\n%s", err, mermaid)
	}
	if !strings.HasPrefix(mermaid, "graph LR\n") || mermaid != top.Mermaid() {
		t.Errorf("topology --mermaid printed\n%s", mermaid)
	}
	for _, s := range top.Stages {
		if !strings.Contains(mermaid, "["+s.Name+"]") {
			t.Errorf("--mermaid lacks stage %s", s.Name)
		}
	}
	for _, tp := range top.Topics {
		if !strings.Contains(mermaid, "[("+tp.Name+")]") {
			t.Errorf("--mermaid lacks topic %s", tp.Name)
		}
	}

	// The docs show what the command prints; regenerate them when the topology changes.
	for path, want := range map[string]string{"../../docs/architecture.md": mermaid, "../../README.md": text} {
		doc, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), want) {
			t.Errorf("%s does not hold the current `codeverify topology` output (%d bytes); regenerate it", path, len(want))
		}
	}
}
