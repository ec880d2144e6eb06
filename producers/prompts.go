package producers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/codeverify/codeverify/schemas"
)

// PromptPlan is how many samples a split gets and how they are drawn: the seed's protocol is 100
// samples at temperature 1.0 for training problems and 16 for evaluation.
type PromptPlan struct {
	Purpose     string
	N           int32
	Temperature float64
}

// PlanFor returns the standard plan of a split: train → 100 @ T=1.0 (training data); every other
// split → 16 @ T=0.8 (pass@k up to 16; 0.8 is the Codex paper's temperature for pass@k, k > 1).
func PlanFor(split string) PromptPlan {
	if split == "train" {
		return PromptPlan{Purpose: "train", N: 100, Temperature: 1.0}
	}
	return PromptPlan{Purpose: "eval", N: 16, Temperature: 0.8}
}

// PromptOptions are the settings shared by every prompt of a run. Zero N/Temperature take the plan.
type PromptOptions struct {
	// Purpose "" takes the split's plan; schemas.PurposeTests asks for generated tests, and a zero
	// N, Temperature or MaxTokens is then left for the generator to take from the model's settings.
	Purpose     string
	Model       string
	Run         string // distinguishes deliberate reruns: the same run yields the same request ids
	N           int32
	Temperature float64
	TopP        float64 // default 0.95
	MaxTokens   int32   // default 512
	Seed        int64   // 0 = unseeded
	CreatedAtMs int64
}

// BuildPrompts makes one Prompt per problem. The request id is a hash of everything that decides
// the samples, so publishing the same run twice yields the same ids (and so the same candidate ids).
func BuildPrompts(problems []schemas.Problem, opt PromptOptions) []schemas.Prompt {
	if opt.TopP == 0 {
		opt.TopP = 0.95
	}
	tests := opt.Purpose == schemas.PurposeTests
	if opt.MaxTokens == 0 && !tests {
		opt.MaxTokens = 512
	}
	out := make([]schemas.Prompt, 0, len(problems))
	for _, p := range problems {
		plan := PlanFor(p.Split)
		if tests {
			plan = PromptPlan{Purpose: schemas.PurposeTests}
		}
		if opt.N > 0 {
			plan.N = opt.N
		}
		if opt.Temperature > 0 {
			plan.Temperature = opt.Temperature
		}
		pr := schemas.Prompt{
			ProblemID: p.ProblemID, Benchmark: p.Benchmark, Split: p.Split, Purpose: plan.Purpose, N: plan.N,
			Temperature: plan.Temperature, TopP: opt.TopP, MaxTokens: opt.MaxTokens, Seed: opt.Seed, Model: opt.Model,
			CreatedAtMs: opt.CreatedAtMs,
		}
		pr.RequestID = RequestID(pr, opt.Run)
		out = append(out, pr)
	}
	return out
}

// RequestID derives a prompt's id from its content and the run name.
func RequestID(p schemas.Prompt, run string) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%g\x00%g\x00%d\x00%d\x00%s",
		run, p.ProblemID, p.Model, p.N, p.Temperature, p.TopP, p.MaxTokens, p.Seed, p.Purpose)))
	return "req-" + hex.EncodeToString(sum[:12])
}

// FilterSplit keeps the problems of the given splits (all when splits is empty).
func FilterSplit(problems []schemas.Problem, splits ...string) []schemas.Problem {
	if len(splits) == 0 {
		return problems
	}
	want := map[string]bool{}
	for _, s := range splits {
		want[s] = true
	}
	var out []schemas.Problem
	for _, p := range problems {
		if want[p.Split] {
			out = append(out, p)
		}
	}
	return out
}
