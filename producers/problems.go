// Package producers turns benchmark files and pre-generated LLM samples into codeverify events.
// It reads files only; publishing is the caller's job (streams.Producer).
package producers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/codeverify/codeverify/schemas"
)

// MBPPSplit is the standard split of an MBPP task id (google-research mbpp/README.md).
func MBPPSplit(taskID int) string {
	switch {
	case taskID >= 1 && taskID <= 10:
		return "prompt"
	case taskID >= 11 && taskID <= 510:
		return "test"
	case taskID >= 511 && taskID <= 600:
		return "validation"
	case taskID >= 601 && taskID <= 974:
		return "train"
	}
	return "unknown"
}

// entryPoint guesses the function under test from the first assert that calls something other than
// a builtin wrapper (set(...), math.isclose(...)).
func entryPoint(tests []string) string {
	wrappers := map[string]bool{"set": true, "sorted": true, "abs": true, "round": true, "len": true, "list": true, "tuple": true, "str": true, "int": true, "float": true, "isclose": true, "math": true}
	re := regexp.MustCompile(`([A-Za-z_][\w.]*)\s*\(`)
	for _, t := range tests {
		for _, m := range re.FindAllStringSubmatch(strings.TrimPrefix(strings.TrimSpace(t), "assert"), -1) {
			name := m[1]
			if i := strings.LastIndex(name, "."); i >= 0 {
				name = name[i+1:]
			}
			if !wrappers[name] {
				return name
			}
		}
	}
	return ""
}

func finish(p schemas.Problem) schemas.Problem {
	p.TestSuiteHash = p.SuiteHash()
	return p
}

// readLines calls fn for every non-blank line of a JSONL file, with its 1-based line number.
func readLines(path string, fn func(n int, line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := fn(n, line); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// LoadMBPP reads the original mbpp.jsonl (974 problems). Challenge tests are not part of the
// standard protocol and are not included.
func LoadMBPP(path string) ([]schemas.Problem, error) {
	var out []schemas.Problem
	err := readLines(path, func(_ int, line []byte) error {
		var r struct {
			TaskID        int      `json:"task_id"`
			Text          string   `json:"text"`
			Code          string   `json:"code"`
			TestSetupCode string   `json:"test_setup_code"`
			TestList      []string `json:"test_list"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		if r.TaskID == 0 || len(r.TestList) == 0 {
			return fmt.Errorf("not an MBPP record (task_id and test_list required)")
		}
		out = append(out, finish(schemas.Problem{
			ProblemID: "mbpp/" + strconv.Itoa(r.TaskID), Benchmark: "mbpp", Split: MBPPSplit(r.TaskID),
			Prompt: r.Text, EntryPoint: entryPoint(r.TestList), ReferenceCode: r.Code,
			TestSetup: r.TestSetupCode, Tests: r.TestList, TestStyle: schemas.StyleAsserts,
		}))
		return nil
	})
	return out, err
}

// LoadSanitizedMBPP reads sanitized-mbpp.json (427 problems, a JSON array).
func LoadSanitizedMBPP(path string) ([]schemas.Problem, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rs []struct {
		TaskID      int      `json:"task_id"`
		Prompt      string   `json:"prompt"`
		Code        string   `json:"code"`
		TestImports []string `json:"test_imports"`
		TestList    []string `json:"test_list"`
	}
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]schemas.Problem, 0, len(rs))
	for i, r := range rs {
		if r.TaskID == 0 || len(r.TestList) == 0 {
			return nil, fmt.Errorf("%s: record %d: not a sanitized MBPP record", path, i)
		}
		out = append(out, finish(schemas.Problem{
			ProblemID: "mbpp-sanitized/" + strconv.Itoa(r.TaskID), Benchmark: "mbpp-sanitized", Split: MBPPSplit(r.TaskID),
			Prompt: r.Prompt, EntryPoint: entryPoint(r.TestList), ReferenceCode: r.Code,
			TestImports: r.TestImports, Tests: r.TestList, TestStyle: schemas.StyleAsserts,
		}))
	}
	return out, nil
}

// LoadHumanEval reads HumanEval-style problems (task_id, prompt, entry_point, canonical_solution,
// test): HumanEval itself ("HumanEval/N", split test) and CodeT's recasting of MBPP ("MbppEval/N",
// MBPP splits).
func LoadHumanEval(path string) ([]schemas.Problem, error) {
	var out []schemas.Problem
	err := readLines(path, func(_ int, line []byte) error {
		var r struct {
			TaskID            string `json:"task_id"`
			Prompt            string `json:"prompt"`
			EntryPoint        string `json:"entry_point"`
			CanonicalSolution string `json:"canonical_solution"`
			Test              string `json:"test"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		if r.TaskID == "" || r.EntryPoint == "" || r.Test == "" {
			return fmt.Errorf("not a HumanEval record (task_id, entry_point and test required)")
		}
		bench, split := "humaneval", "test"
		if num, ok := strings.CutPrefix(r.TaskID, "MbppEval/"); ok {
			id, _ := strconv.Atoi(num)
			bench, split = "mbpp-humaneval-style", MBPPSplit(id)
		}
		out = append(out, finish(schemas.Problem{
			ProblemID: r.TaskID, Benchmark: bench, Split: split, Prompt: r.Prompt, EntryPoint: r.EntryPoint,
			ReferenceCode: r.Prompt + r.CanonicalSolution, Tests: []string{r.Test}, TestStyle: schemas.StyleCheck,
		}))
		return nil
	})
	return out, err
}

// LoadProblems picks the loader from the file: a .json array is sanitized MBPP; a .jsonl whose first
// record has test_list is MBPP, one with entry_point is HumanEval-style.
func LoadProblems(path string) ([]schemas.Problem, error) {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return LoadSanitizedMBPP(path)
	}
	first, err := firstRecord(path)
	if err != nil {
		return nil, err
	}
	switch {
	case first == nil:
		return nil, fmt.Errorf("%s: no problems in file", path)
	case first["test_list"] != nil:
		return LoadMBPP(path)
	case first["entry_point"] != nil:
		return LoadHumanEval(path)
	}
	return nil, fmt.Errorf("%s: unknown problem format (want MBPP .jsonl/.json or HumanEval .jsonl)", path)
}

// errStop ends readLines early without an error.
var errStop = errors.New("stop")

// firstRecord returns the keys of a JSONL file's first record (nil for an empty file), so loaders
// can tell formats apart.
func firstRecord(path string) (map[string]json.RawMessage, error) {
	var first map[string]json.RawMessage
	err := readLines(path, func(_ int, line []byte) error {
		if err := json.Unmarshal(line, &first); err != nil {
			return err
		}
		return errStop
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return first, err
}
