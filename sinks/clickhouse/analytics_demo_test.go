package clickhouse

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/schemas"
)

// The demo's data, as codeverify itself stored it: the executor's verdicts on the published
// CodeGen-16B samples of 100 HumanEval problems (100 each), the behaviours of those samples on
// CodeGen's generated tests, and the candidates of seven verifier evaluations (three model
// versions, held-out fold 0). Executing the samples again would take minutes, so the rows
// were exported from the demo's `codeverify` database (after FINAL) into testdata/demo_*.tsv.gz:
//
//	SELECT benchmark, split, model, request_id, problem_id, sample_index, label, failure_kind, executed_at_ms
//	    FROM verdicts FINAL ORDER BY problem_id, sample_index                         -- demo_verdicts
//	SELECT request_id, sample_index, arrayStringConcat(arrayMap(s -> substring(s, 1, 1), test_status), '')
//	    FROM behaviors FINAL ORDER BY request_id, sample_index                        -- demo_behaviors
//	SELECT request_id, any(arrayStringConcat(test_id, ',')) FROM behaviors FINAL
//	    GROUP BY request_id ORDER BY request_id                                       -- demo_generated_tests
//	SELECT eval_id, model_version, input_hash, scope, n, seed, problem_id, position, candidate_id, pass,
//	    toFloat64(energy) FROM eval_candidates FINAL WHERE model_version IN (…)
//	    ORDER BY eval_id, problem_id, position                                        -- demo_eval_candidates
//
// (FORMAT TabSeparatedWithNames, gzip -9 -n). Candidate ids are left out: they are derived from
// request id and sample index (schemas.CandidateID), as the demo derived them. The columns
// codeverify's queries do not read (code hashes, per-test messages, runtimes) are left out too.
type demoData struct {
	verdicts  []schemas.Verdict
	behaviors []schemas.Behavior
	evals     []demoEval
}

type demoEval struct {
	run   EvalRun
	cands []EvalCandidate
}

// readTSV reads a gzipped TabSeparatedWithNames file, checking its header.
func readTSV(t *testing.T, name string, header ...string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var rows [][]string
	for sc.Scan() {
		rows = append(rows, strings.Split(sc.Text(), "\t"))
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], header) {
		t.Fatalf("%s: header %v, want %v", name, rows[:min(1, len(rows))], header)
	}
	for i, r := range rows {
		if len(r) != len(header) {
			t.Fatalf("%s line %d: %d fields, want %d", name, i+1, len(r), len(header))
		}
	}
	return rows[1:]
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func loadDemo(t *testing.T) demoData {
	t.Helper()
	var d demoData
	byCandidate := map[string]schemas.Verdict{}
	for _, r := range readTSV(t, "demo_verdicts.tsv.gz", "benchmark", "split", "model", "request_id", "problem_id",
		"sample_index", "label", "failure_kind", "executed_at_ms") {
		sample := int(atoi(t, r[5]))
		v := schemas.Verdict{
			CandidateID: schemas.CandidateID(r[3], sample), RequestID: r[3], ProblemID: r[4],
			Benchmark: r[0], Split: r[1], Model: r[2], SampleIndex: int32(sample),
			Label: r[6], FailureKind: r[7], ExecutedAtMs: atoi(t, r[8]),
		}
		d.verdicts = append(d.verdicts, v)
		byCandidate[v.CandidateID] = v
	}

	tests := map[string][]string{}
	for _, r := range readTSV(t, "demo_generated_tests.tsv.gz", "request_id", "test_ids") {
		tests[r[0]] = strings.Split(r[1], ",")
	}
	status := map[byte]string{'p': schemas.TestPass, 'f': schemas.TestFail, 'e': schemas.TestError, 't': schemas.TestTimeout}
	for _, r := range readTSV(t, "demo_behaviors.tsv.gz", "request_id", "sample_index", "statuses") {
		v, ok := byCandidate[schemas.CandidateID(r[0], int(atoi(t, r[1])))]
		ids := tests[r[0]]
		if !ok || len(ids) != len(r[2]) {
			t.Fatalf("behaviour %s/%s: verdict found %v, %d statuses for %d tests", r[0], r[1], ok, len(r[2]), len(ids))
		}
		b := schemas.Behavior{CandidateID: v.CandidateID, RequestID: v.RequestID, ProblemID: v.ProblemID,
			Benchmark: v.Benchmark, Split: v.Split, Model: v.Model, SampleIndex: v.SampleIndex, ExecutedAtMs: v.ExecutedAtMs}
		for i, id := range ids {
			st, ok := status[r[2][i]]
			if !ok {
				t.Fatalf("behaviour %s/%s: status letter %q", r[0], r[1], r[2][i])
			}
			b.Results = append(b.Results, schemas.GeneratedTestResult{TestID: id, Frequency: 1, Status: st})
		}
		d.behaviors = append(d.behaviors, b)
	}

	for _, r := range readTSV(t, "demo_eval_candidates.tsv.gz", "eval_id", "model_version", "input_hash", "scope", "n",
		"seed", "problem_id", "position", "candidate_id", "pass", "energy") {
		run := EvalRun{EvalID: r[0], ModelVersion: r[1], InputHash: r[2], InputName: "demo", Scope: r[3],
			N: int(atoi(t, r[4])), Seed: uint64(atoi(t, r[5]))}
		if len(d.evals) == 0 || d.evals[len(d.evals)-1].run != run {
			d.evals = append(d.evals, demoEval{run: run})
		}
		energy, err := strconv.ParseFloat(r[10], 64)
		if err != nil {
			t.Fatal(err)
		}
		e := &d.evals[len(d.evals)-1]
		e.cands = append(e.cands, EvalCandidate{ProblemID: r[6], Position: int(atoi(t, r[7])), CandidateID: r[8],
			Pass: r[9] == "1", Energy: float32(energy)})
	}
	if len(d.verdicts) == 0 || len(d.behaviors) == 0 || len(d.evals) == 0 {
		t.Fatalf("demo fixture: %d verdicts, %d behaviours, %d evaluations", len(d.verdicts), len(d.behaviors), len(d.evals))
	}
	return d
}

// store writes the demo through the sink's own writers, with the redeliveries at-least-once
// delivery brings: a tenth of the verdicts and behaviours a second time, one evaluation rerun, and
// an older execution of a passing candidate that failed three days earlier. Every figure below
// must come out as if each had arrived once, the newest execution winning.
func (d demoData) store(t *testing.T, s *Sink) {
	t.Helper()
	ctx := context.Background()
	stale := d.verdicts[slices.IndexFunc(d.verdicts, func(v schemas.Verdict) bool { return v.Label == schemas.Pass })]
	stale.Label, stale.FailureKind = schemas.Fail, schemas.KindAssertion
	stale.ExecutedAtMs -= 3 * 24 * 3600 * 1000
	for _, err := range []error{
		s.WriteVerdicts(ctx, d.verdicts),
		s.WriteVerdicts(ctx, append(d.verdicts[:len(d.verdicts)/10:len(d.verdicts)/10], stale)),
		s.WriteBehaviors(ctx, d.behaviors),
		s.WriteBehaviors(ctx, d.behaviors[len(d.behaviors)-len(d.behaviors)/10:]),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range append(d.evals, d.evals[0]) {
		if err := s.WriteEval(ctx, e.run, e.cands); err != nil {
			t.Fatal(fmt.Errorf("eval %s: %w", e.run.EvalID, err))
		}
	}
}
