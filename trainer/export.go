package trainer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/codeverify/codeverify/schemas"
)

// ExportRecord is one line of the dataset export (`codeverify export`, the seed's
// data_synthetic_code.jsonl): one labelled (problem, code) of the dataset.
type ExportRecord struct {
	ProblemID   string `json:"problem_id"`
	Split       string `json:"split"`
	Prompt      string `json:"prompt"`
	Code        string `json:"code"`
	Label       string `json:"label"`
	FailureKind string `json:"failure_kind"`
	Model       string `json:"model"`
	Benchmark   string `json:"benchmark"`
	CandidateID string `json:"candidate_id"`
	SampleIndex int32  `json:"sample_index"`
	// Copies is how many candidates had this exact (problem, code) before de-duplication (absent: 1);
	// ReadExport restores them, so the dataset (and its hash) is the one the topics give.
	Copies int `json:"copies,omitempty"`
}

// copiesField is what the export writes for Copies: nothing for the usual single copy.
func copiesField(n int) int {
	if n <= 1 {
		return 0
	}
	return n
}

// WriteExport writes the dataset's examples as export records, one JSON line each.
func WriteExport(w io.Writer, ds *Dataset) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, e := range ds.Examples {
		if err := enc.Encode(ExportRecord{ProblemID: e.ProblemID, Split: e.Split, Prompt: e.Prompt, Code: e.Code, Label: e.Label,
			FailureKind: e.FailureKind, Model: e.Model, Benchmark: e.Benchmark, CandidateID: e.CandidateID, SampleIndex: e.SampleIndex,
			Copies: copiesField(e.Copies)}); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteExportFile writes the export to path, or to stdout when path is "-"; a file written is
// reported on log.
func WriteExportFile(path string, ds *Dataset, stdout, log io.Writer) error {
	if path == "-" {
		return WriteExport(stdout, ds)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := WriteExport(f, ds); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %d examples to %s\n", len(ds.Examples), path)
	return nil
}

// ReadExport reads an export file back as problems, candidates and verdicts (candidate i has
// verdict i), so a host without the topics (a GPU machine) can train on exactly that data.
func ReadExport(path string) (*Replayed, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep := &Replayed{Undecodable: map[string]int{}}
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		var r ExportRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if r.ProblemID == "" || r.CandidateID == "" || (r.Label != schemas.Pass && r.Label != schemas.Fail) {
			return nil, fmt.Errorf("%s:%d: not an export record (problem %q, candidate %q, label %q)", path, n, r.ProblemID, r.CandidateID, r.Label)
		}
		if !seen[r.ProblemID] {
			seen[r.ProblemID] = true
			rep.Problems = append(rep.Problems, schemas.Problem{ProblemID: r.ProblemID, Benchmark: r.Benchmark, Split: r.Split, Prompt: r.Prompt})
		}
		// The de-duplicated copies come back under derived ids that sort after the original, so the
		// dataset keeps the original and counts the copies, as it does from the topics.
		for c := range max(r.Copies, 1) {
			id := r.CandidateID
			if c > 0 {
				id = fmt.Sprintf("%s#copy-%d", r.CandidateID, c)
			}
			rep.Candidates = append(rep.Candidates, schemas.Candidate{CandidateID: id, RequestID: r.ProblemID, ProblemID: r.ProblemID,
				Benchmark: r.Benchmark, Split: r.Split, SampleIndex: r.SampleIndex, Code: r.Code, Model: r.Model})
			rep.Verdicts = append(rep.Verdicts, schemas.Verdict{CandidateID: id, RequestID: r.ProblemID, ProblemID: r.ProblemID,
				Benchmark: r.Benchmark, Split: r.Split, Model: r.Model, SampleIndex: r.SampleIndex, Label: r.Label, FailureKind: r.FailureKind})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}
