package producers

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/codeverify/codeverify/schemas"
)

// CodeTStops are the stop sequences CodeT's post-processing cuts completions at (the standard
// protocol for the CodeGen HumanEval samples).
func CodeTStops() []string { return []string{"\nclass", "\ndef", "\n#", "\nif", "\nprint"} }

// Truncate cuts a completion at the earliest stop sequence.
func Truncate(completion string, stops []string) string {
	cut := len(completion)
	for _, s := range stops {
		if i := strings.Index(completion, s); i >= 0 && i < cut {
			cut = i
		}
	}
	return completion[:cut]
}

// SampleOptions describe where pre-generated samples came from; they are copied into every Candidate.
type SampleOptions struct {
	Model       string
	Source      string // default "replay"
	Temperature float64
	TopP        float64
	MaxTokens   int32
	// Stops cut CodeT completions; nil means CodeTStops(), an empty non-nil slice means no cut.
	Stops []string
}

func (o SampleOptions) candidate(p schemas.Problem, index int, code, completion string) schemas.Candidate {
	src := o.Source
	if src == "" {
		src = "replay"
	}
	req := "replay:" + o.Model + ":" + p.ProblemID
	return schemas.Candidate{
		CandidateID: schemas.CandidateID(req, index), RequestID: req, ProblemID: p.ProblemID,
		Benchmark: p.Benchmark, Split: p.Split, SampleIndex: int32(index), Code: code, Completion: completion,
		Model: o.Model, Source: src, Temperature: o.Temperature, TopP: o.TopP, MaxTokens: o.MaxTokens,
	}
}

// Unmatched is a sample line whose problem is not among the loaded problems.
type Unmatched struct {
	Line   int
	Reason string
}

// LoadCodeTSamples reads the CodeT format: one line per problem, {"prompt", "samples": [...]},
// matched to its problem by exact prompt; each program is prompt + completion cut at the stops.
func LoadCodeTSamples(path string, problems []schemas.Problem, opt SampleOptions) ([]schemas.Candidate, []Unmatched, error) {
	byPrompt := make(map[string]schemas.Problem, len(problems))
	for _, p := range problems {
		byPrompt[p.Prompt] = p
	}
	stops := opt.Stops
	if stops == nil {
		stops = CodeTStops()
	}
	var out []schemas.Candidate
	var unmatched []Unmatched
	err := readCodeT(path, "sample", func(n int, prompt string, samples []string) error {
		p, ok := byPrompt[prompt]
		if !ok {
			unmatched = append(unmatched, Unmatched{Line: n, Reason: "no problem has this exact prompt"})
			return nil
		}
		for i, s := range samples {
			out = append(out, opt.candidate(p, i, p.Prompt+Truncate(s, stops), s))
		}
		return nil
	})
	return out, unmatched, err
}

// readCodeT reads a file of CodeT's format, one {"prompt", "samples": [...]} line per problem, and
// calls fn with each line's number, prompt and samples; a line without a prompt is not a CodeT
// <kind> line.
func readCodeT(path, kind string, fn func(n int, prompt string, samples []string) error) error {
	return readLines(path, func(n int, line []byte) error {
		var r struct {
			Prompt  *string  `json:"prompt"`
			Samples []string `json:"samples"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		if r.Prompt == nil {
			return fmt.Errorf("not a CodeT %s line (want {\"prompt\", \"samples\"})", kind)
		}
		return fn(n, *r.Prompt, r.Samples)
	})
}

// LoadEvalSamples reads the human-eval / EvalPlus format, one {"task_id", "completion"} or
// {"task_id", "solution"} per line. A HumanEval-style completion is appended to the prompt; a
// solution, or an MBPP completion, is the whole program. sample_index is the sample's position among
// the samples of the same task, in file order.
func LoadEvalSamples(path string, problems []schemas.Problem, opt SampleOptions) ([]schemas.Candidate, []Unmatched, error) {
	byID := make(map[string]schemas.Problem, len(problems))
	for _, p := range problems {
		byID[p.ProblemID] = p
		if num, ok := strings.CutPrefix(p.ProblemID, "mbpp/"); ok { // EvalPlus writes "Mbpp/601"
			byID["Mbpp/"+num] = p
		}
		if num, ok := strings.CutPrefix(p.ProblemID, "mbpp-sanitized/"); ok {
			byID["Mbpp/"+num] = p
		}
	}
	seen := map[string]int{}
	var out []schemas.Candidate
	var unmatched []Unmatched
	err := readLines(path, func(n int, line []byte) error {
		var r struct {
			TaskID     json.RawMessage `json:"task_id"`
			Completion *string         `json:"completion"`
			Solution   *string         `json:"solution"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		id := strings.Trim(string(r.TaskID), `"`)
		if id == "" || (r.Completion == nil && r.Solution == nil) {
			return fmt.Errorf("not an eval sample (want task_id and completion or solution)")
		}
		p, ok := byID[id]
		if !ok { // MBPP sample files often carry the bare task number
			p, ok = byID["mbpp/"+id]
		}
		if !ok {
			unmatched = append(unmatched, Unmatched{Line: n, Reason: "unknown task_id " + id})
			return nil
		}
		var code, raw string
		switch {
		case r.Solution != nil:
			code, raw = *r.Solution, *r.Solution
		case p.TestStyle == schemas.StyleCheck:
			code, raw = p.Prompt+*r.Completion, *r.Completion
		default:
			code, raw = *r.Completion, *r.Completion
		}
		idx := seen[p.ProblemID]
		seen[p.ProblemID]++
		out = append(out, opt.candidate(p, idx, code, raw))
		return nil
	})
	return out, unmatched, err
}

// LoadSamples picks the format from the first line: "samples" → CodeT, "task_id" → eval format.
func LoadSamples(path string, problems []schemas.Problem, opt SampleOptions) ([]schemas.Candidate, []Unmatched, error) {
	first, err := firstRecord(path)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case first == nil:
		return nil, nil, fmt.Errorf("%s: no samples in file", path)
	case first["samples"] != nil:
		return LoadCodeTSamples(path, problems, opt)
	case first["task_id"] != nil:
		return LoadEvalSamples(path, problems, opt)
	}
	return nil, nil, fmt.Errorf("%s: unknown sample format (want CodeT {prompt, samples} or {task_id, completion|solution})", path)
}
