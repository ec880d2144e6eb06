package producers

import (
	"context"
	"encoding/json"
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
	err := readLines(path, func(n int, line []byte) error {
		var r struct {
			Prompt  *string  `json:"prompt"`
			Samples []string `json:"samples"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		if r.Prompt == nil {
			return fmt.Errorf("not a CodeT test-case line (want {\"prompt\", \"samples\"})")
		}
		p, ok := byPrompt[*r.Prompt]
		if !ok {
			if unmatched == 0 {
				firstUnmatched = "line " + strconv.Itoa(n) + ": " + strconv.Quote(shorten(*r.Prompt, 80))
			}
			unmatched++
			return nil
		}
		split := make([][]string, len(r.Samples))
		for i, s := range r.Samples {
			split[i] = testgen.Split(p.EntryPoint, s)
		}
		perSample = append(perSample, split)
		req := "replay:" + model + ":" + p.ProblemID
		out = append(out, schemas.TestCase{
			TestSetID: schemas.TestSetID(p.ProblemID, model, r.Samples), ProblemID: p.ProblemID,
			Benchmark: p.Benchmark, Model: model, Source: "replay", RequestID: req, Raw: r.Samples,
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
