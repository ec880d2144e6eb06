package producers

import (
	"context"
	"fmt"
	"strconv"

	"github.com/codeverify/codeverify/processors/testgen"
	"github.com/codeverify/codeverify/schemas"
)

// LoadCodeTTests reads a CodeT test-case file, one line per problem: {"prompt", "samples": [raw
// generations]}, where prompt is CodeT's test prompt (testgen.Prompt) of the problem. A line maps to
// the problem whose test prompt it is, exactly; a line that maps to none is an error. The asserts are
// extracted with CodeT's rules (testgen), every line's checked in one batch by check. Each TestCase
// has content-derived ids, so replaying the file again yields the same ones.
func LoadCodeTTests(ctx context.Context, path string, problems []schemas.Problem, model string, check testgen.Checker) ([]schemas.TestCase, error) {
	byPrompt := make(map[string]schemas.Problem, len(problems))
	for _, p := range problems {
		if p.EntryPoint != "" {
			byPrompt[testgen.Prompt(p.Prompt, p.EntryPoint)] = p
		}
	}
	var out []schemas.TestCase
	var perSample [][][]string
	unmatched, firstUnmatched := 0, ""
	err := readCodeT(path, "test-case", func(n int, prompt string, samples []string) error {
		p, ok := byPrompt[prompt]
		if !ok {
			if unmatched == 0 {
				firstUnmatched = "line " + strconv.Itoa(n) + ": " + strconv.Quote(shorten(prompt, 80))
			}
			unmatched++
			return nil
		}
		split := make([][]string, len(samples))
		for i, s := range samples {
			split[i] = testgen.Split(p.EntryPoint, s)
		}
		perSample = append(perSample, split)
		req := "replay:" + model + ":" + p.ProblemID
		out = append(out, schemas.TestCase{
			TestSetID: schemas.TestSetID(p.ProblemID, model, samples), ProblemID: p.ProblemID,
			Benchmark: p.Benchmark, Model: model, Source: "replay", RequestID: req, Raw: samples,
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if unmatched > 0 {
		return nil, fmt.Errorf("%s: %d test-case lines match no problem's test prompt (first: %s)", path, unmatched, firstUnmatched)
	}
	ok, err := testgen.CompileSet(ctx, check, testgen.Unique(perSample...))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	compiles := func(a string) bool { return ok[a] }
	for i := range out {
		out[i].Asserts = testgen.Count(perSample[i], compiles)
	}
	return out, nil
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
