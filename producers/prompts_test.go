package producers

import (
	"path/filepath"
	"testing"

	"github.com/codeverify/codeverify/schemas"
)

func TestBuildPromptsFollowsThePlanAndIsDeterministic(t *testing.T) {
	probs := []schemas.Problem{
		{ProblemID: "mbpp/601", Benchmark: "mbpp", Split: "train"},
		{ProblemID: "mbpp/11", Benchmark: "mbpp", Split: "test"},
	}
	opt := PromptOptions{Model: "m", Run: "r1", Seed: 3}
	a := BuildPrompts(probs, opt)
	if a[0].Purpose != "train" || a[0].N != 100 || a[0].Temperature != 1.0 {
		t.Fatalf("train prompt %+v", a[0])
	}
	if a[1].Purpose != "eval" || a[1].N != 16 || a[1].MaxTokens != 512 || a[1].TopP != 0.95 {
		t.Fatalf("test prompt %+v", a[1])
	}
	b := BuildPrompts(probs, opt)
	if a[0].RequestID != b[0].RequestID || a[0].RequestID == a[1].RequestID {
		t.Fatalf("request ids not deterministic or not distinct: %s %s %s", a[0].RequestID, b[0].RequestID, a[1].RequestID)
	}
	c := BuildPrompts(probs, PromptOptions{Model: "m", Run: "r2", Seed: 3})
	if c[0].RequestID == a[0].RequestID {
		t.Fatal("a different run must get different request ids")
	}
}

func TestPromptsForRealMBPPTrain(t *testing.T) {
	probs, err := LoadMBPP(filepath.Join(dataDir(t), "mbpp", "mbpp.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	train := FilterSplit(probs, "train")
	if len(train) != 374 {
		t.Fatalf("%d train problems, want 374", len(train))
	}
	total := 0
	for _, p := range BuildPrompts(train, PromptOptions{Model: "m"}) {
		total += int(p.N)
	}
	if total != 37400 {
		t.Fatalf("%d samples planned, want 37400", total)
	}
}

func TestBuildPromptsForTests(t *testing.T) {
	ps := []schemas.Problem{{ProblemID: "HumanEval/0", Split: "test"}}
	a := BuildPrompts(ps, PromptOptions{Model: "m", Purpose: schemas.PurposeTests})
	if a[0].Purpose != schemas.PurposeTests || a[0].N != 0 || a[0].Temperature != 0 || a[0].MaxTokens != 0 {
		t.Fatalf("tests prompt: %+v (zeros are the model's tests settings)", a[0])
	}
	b := BuildPrompts(ps, PromptOptions{Model: "m"})
	if a[0].RequestID == b[0].RequestID {
		t.Fatal("a tests prompt shares its request id with the candidates prompt")
	}
}
