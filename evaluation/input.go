package evaluation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/codeverify/codeverify/processors/testgen"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/trainer"
)

// input is what an evaluation draws from: candidates with their problems and, for an export,
// their labels (nil: execute).
type input struct {
	problems    []schemas.Problem
	cands       []schemas.Candidate
	labels      []string
	hash        string // content of the input files
	name        string
	hasGenModel bool // candidates carry their generating model, so the manifest's dataset filters apply
}

func loadInput(o Options) (input, error) {
	if o.FromExport != "" {
		rep, err := trainer.ReadExport(o.FromExport)
		if err != nil {
			return input{}, err
		}
		in := input{problems: rep.Problems, cands: rep.Candidates, labels: make([]string, len(rep.Verdicts)), hasGenModel: true,
			name: filepath.Base(o.FromExport)}
		for i, v := range rep.Verdicts { // ReadExport gives candidate i its verdict i
			in.labels[i] = v.Label
		}
		in.hash, err = hashFiles(o.FromExport)
		return in, err
	}
	problems, err := producers.LoadProblems(o.Problems)
	if err != nil {
		return input{}, err
	}
	cands, unmatched, err := producers.LoadSamples(o.Samples, problems, producers.SampleOptions{Model: "eval"})
	if err != nil {
		return input{}, err
	}
	if len(unmatched) > 0 {
		return input{}, fmt.Errorf("eval: %d sample lines match no problem (first: line %d: %s)", len(unmatched), unmatched[0].Line, unmatched[0].Reason)
	}
	hash, err := hashFiles(o.Problems, o.Samples)
	return input{problems: problems, cands: cands, hash: hash, name: filepath.Base(o.Problems) + " + " + filepath.Base(o.Samples)}, err
}

// hashFiles is the content hash that names an input: the same bytes under another path are the
// same input.
func hashFiles(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		st, err := f.Stat()
		if err == nil {
			fmt.Fprintf(h, "%d\x00", st.Size())
			_, err = io.Copy(h, f)
		}
		f.Close()
		if err != nil {
			return "", fmt.Errorf("eval: hash %s: %w", p, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// loadTests extracts the generated asserts of o.Tests with CodeT's rules, keyed by problem, and
// returns the input's hash extended with the tests file, so evaluations with and without tests are
// different inputs.
func loadTests(ctx context.Context, o Options, in input) (map[string][]schemas.GeneratedAssert, string, error) {
	sets, err := producers.LoadCodeTTests(ctx, o.Tests, in.problems, "eval", testgen.Python{})
	if err != nil {
		return nil, "", fmt.Errorf("eval: --tests: %w", err)
	}
	out := make(map[string][]schemas.GeneratedAssert, len(sets))
	for _, t := range sets {
		out[t.ProblemID] = append(out[t.ProblemID], t.Asserts...)
	}
	hash, err := hashFiles(o.Problems, o.Samples, o.Tests)
	return out, hash, err
}

// testsSummary says how many of the evaluated problems have generated asserts, and how many.
func testsSummary(tests map[string][]schemas.GeneratedAssert, order []string) string {
	with, asserts := 0, 0
	for _, pid := range order {
		if n := len(tests[pid]); n > 0 {
			with++
			asserts += n
		}
	}
	return fmt.Sprintf("%d of %d problems have generated asserts (%d distinct in all)", with, len(order), asserts)
}
