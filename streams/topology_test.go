package streams

import (
	"strings"
	"testing"
)

func TestDefaultTopologyValidates(t *testing.T) {
	top := DefaultTopology()
	if err := top.Validate(); err != nil {
		t.Fatalf("default topology: %v", err)
	}
	// The catalog is derived from it: every topic read by a group has its dead-letter topic.
	for _, s := range top.Stages {
		for _, in := range s.Inputs {
			if in.Group == "" {
				continue
			}
			if _, ok := top.Topic(DLQTopic(in.Topic)); !ok {
				t.Errorf("stage %s reads %s with group %s, but %s is not in the catalog", s.Name, in.Topic, in.Group, DLQTopic(in.Topic))
			}
		}
	}
	if got, want := len(DefaultCatalog()), len(top.Topics)+4; got != want { // prompts, candidates, verdicts, behaviors
		t.Errorf("DefaultCatalog: %d topics, want %d", got, want)
	}
	s, ok := top.Stage(StageExecutor)
	if !ok || strings.Join(s.Groups(), ",") != GroupExecutor {
		t.Errorf("executor stage %+v, groups %v", s, s.Groups())
	}
}

func TestTopologyValidateRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*Topology)
		want string
	}{
		"undeclared input": {func(tp *Topology) {
			tp.Stages = append(tp.Stages, Stage{Name: "x", Inputs: []Input{{Topic: "nowhere", Group: "g"}}})
		}, `stage x: input "nowhere" is not a declared topic`},
		"undeclared output": {func(tp *Topology) {
			tp.Stages[0].Outputs = append(tp.Stages[0].Outputs, "nowhere")
		}, `stage produce: output "nowhere" is not a declared topic`},
		"undeclared table": {func(tp *Topology) {
			tp.Stages = append(tp.Stages, Stage{Name: "x", Outputs: []string{TopicScores}, Tables: []string{"nowhere"}})
		}, `stage x: table "nowhere" is not a declared topic`},
		"unknown schema": {func(tp *Topology) {
			tp.Topics[0].Schema = "no_such_schema"
		}, `topic problems: unknown schema "no_such_schema"`},
		"no schema": {func(tp *Topology) {
			tp.Topics[1].Schema = ""
		}, "topic prompts: no schema"},
		"group without dead letters": {func(tp *Topology) {
			tp.Stages = append(tp.Stages, Stage{Name: "x", Inputs: []Input{{Topic: TopicScores, Group: "g"}}})
		}, "topic scores is read by group g but declares no dead-letter topic"},
		"shared group": {func(tp *Topology) {
			tp.Stages = append(tp.Stages, Stage{Name: "x", Inputs: []Input{{Topic: TopicVerdicts, Group: GroupExecutor}}})
		}, "consumer group " + GroupExecutor + " already used by executor reading candidates"},
		"duplicate stage": {func(tp *Topology) {
			tp.Stages = append(tp.Stages, tp.Stages[0])
		}, "stage produce: declared twice"},
		"duplicate topic": {func(tp *Topology) {
			tp.Topics = append(tp.Topics, tp.Topics[0])
		}, "topic problems: declared twice"},
	} {
		t.Run(name, func(t *testing.T) {
			top := DefaultTopology()
			tc.edit(&top)
			err := top.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// The schema check is pluggable: a lookup that knows nothing rejects every Avro topic.
	err := DefaultTopology().ValidateSchemas(func(string) bool { return false })
	if err == nil || !strings.Contains(err.Error(), `topic verdicts: unknown schema "verdict"`) {
		t.Errorf("ValidateSchemas(none known) = %v", err)
	}
}

func TestTopologyRendering(t *testing.T) {
	top := DefaultTopology()
	mm := top.Mermaid()
	if !strings.HasPrefix(mm, "graph LR\n") {
		t.Errorf("Mermaid does not start with graph LR:\n%s", mm)
	}
	text := top.Text()
	for _, s := range top.Stages {
		if !strings.Contains(mm, "["+s.Name+"]") {
			t.Errorf("Mermaid lacks stage %s", s.Name)
		}
		if !strings.Contains(text, "  "+s.Name+" ") {
			t.Errorf("Text lacks stage %s", s.Name)
		}
		for _, g := range s.Groups() {
			if !strings.Contains(mm, "|"+g+"|") || !strings.Contains(text, "group "+g) {
				t.Errorf("group %s of %s missing", g, s.Name)
			}
		}
	}
	for _, tp := range top.Topics {
		if !strings.Contains(mm, "[("+tp.Name+")]") {
			t.Errorf("Mermaid lacks topic %s", tp.Name)
		}
	}
	for _, tp := range top.Catalog() {
		if !strings.Contains(text, "  "+tp.Name+" ") {
			t.Errorf("Text lacks topic %s", tp.Name)
		}
	}
	for _, want := range []string{
		"t_candidates -->|" + GroupExecutor + "| s_executor",
		"s_executor --> t_verdicts",
		"t_tests -.->|table| s_executor",
		"t_models -.->|own reader| s_reranker",
		// A dead-letter topic is drawn where a stage reads it.
		"t_prompts_dlq[(prompts.dlq)]",
		"t_prompts_dlq -.->|own reader| s_campaign",
	} {
		if !strings.Contains(mm, want) {
			t.Errorf("Mermaid lacks edge %q", want)
		}
	}
	if strings.Contains(mm, "verdicts.dlq") {
		t.Errorf("Mermaid draws verdicts.dlq, which no stage reads:\n%s", mm)
	}
	if !strings.Contains(text, "  campaign        prompts (own reader), prompts.dlq (own reader), candidates (own reader), candidates.dlq (own reader), verdicts (own reader) → problems, prompts  [codeverify campaign]\n") {
		t.Errorf("Text stage line for campaign:\n%s", text)
	}
	if !strings.Contains(text, "problems        key=problem_id partitions=1 retention=compacted schema=problem") {
		t.Errorf("Text topic line for problems:\n%s", text)
	}
}

func TestTopologySelect(t *testing.T) {
	c, err := DefaultTopology().Select(TopicScores, DLQTopic(TopicBehaviors))
	if err != nil || len(c) != 2 || c[1].Schema != "behavior" || c[1].Partitions != 1 {
		t.Fatalf("Select = %+v, %v", c, err)
	}
	if _, err := DefaultTopology().Select("nowhere"); err == nil {
		t.Error("Select of an undeclared topic succeeded")
	}
}
