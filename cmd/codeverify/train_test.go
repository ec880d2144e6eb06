package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/trainer"
)

// publishLabeled puts a small labeled set on the topics: problems × n candidates with verdicts, the
// first two of each problem PASS (and carry a marker the FAILs lack).
func publishLabeled(t *testing.T, e *env, problems, n int) int {
	t.Helper()
	ctx := context.Background()
	var ps []schemas.Problem
	var cs []schemas.Candidate
	var vs []schemas.Verdict
	for p := range problems {
		pid := fmt.Sprintf("mbpp/%d", p)
		ps = append(ps, schemas.Problem{ProblemID: pid, Benchmark: "mbpp", Split: "train", Prompt: fmt.Sprintf("Write f returning %d.", p),
			Tests: []string{fmt.Sprintf("assert f() == %d", p)}, TestStyle: schemas.StyleAsserts})
		for i := range n {
			code, label, kind := fmt.Sprintf("def f():\n    return %d\n", p), schemas.Pass, schemas.KindNone
			if i >= 2 {
				code, label, kind = fmt.Sprintf("def f():\n    return None  # %d\n", i), schemas.Fail, schemas.KindAssertion
			}
			if i == 1 {
				code += "# checked\n"
			}
			id := schemas.CandidateID(pid, i)
			cs = append(cs, schemas.Candidate{CandidateID: id, RequestID: pid, ProblemID: pid, Benchmark: "mbpp", Split: "train", SampleIndex: int32(i), Code: code, Model: "synthetic-test", Source: "synthetic"})
			vs = append(vs, schemas.Verdict{CandidateID: id, RequestID: pid, ProblemID: pid, Benchmark: "mbpp", Split: "train", Model: "synthetic-test",
				SampleIndex: int32(i), Label: label, FailureKind: kind, ExecutedAtMs: time.Now().UnixMilli()})
		}
	}
	// One problem of another split, to be filtered out.
	ps = append(ps, schemas.Problem{ProblemID: "mbpp/test/0", Benchmark: "mbpp", Split: "test", Prompt: "x", Tests: []string{"assert True"}, TestStyle: schemas.StyleAsserts})
	cs = append(cs, schemas.Candidate{CandidateID: "t0", ProblemID: "mbpp/test/0", Split: "test", Code: "pass"})
	vs = append(vs, schemas.Verdict{CandidateID: "t0", ProblemID: "mbpp/test/0", Split: "test", Label: schemas.Pass, FailureKind: schemas.KindNone})
	b := e.app.Cluster()
	pp := streams.NewProducer(b, "problems", e.codecs.Problem, func(p schemas.Problem) string { return p.ProblemID })
	cp := streams.NewProducer(b, "candidates", e.codecs.Candidate, func(c schemas.Candidate) string { return c.ProblemID })
	vp := streams.NewProducer(b, "verdicts", e.codecs.Verdict, func(v schemas.Verdict) string { return v.CandidateID })
	defer pp.Close()
	defer cp.Close()
	defer vp.Close()
	if err := pp.Publish(ctx, ps...); err != nil {
		t.Fatal(err)
	}
	if err := cp.Publish(ctx, cs...); err != nil {
		t.Fatal(err)
	}
	if err := vp.Publish(ctx, vs...); err != nil {
		t.Fatal(err)
	}
	return len(vs)
}

// TestTrainEndToEnd: replay a labeled set from the embedded broker, train a tiny model for a few
// steps, export, pass parity, register, write the metrics to ClickHouse, announce on the models
// topic; then list/show the registry and export the dataset.
func TestTrainEndToEnd(t *testing.T) {
	if _, err := trainer.CheckPython(context.Background(), trainer.DefaultPython); err != nil {
		if os.Getenv("CODEVERIFY_SKIP_TORCH") == "1" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	e := newEnv(t)
	nVerdicts := publishLabeled(t, e, 16, 6)
	dir := t.TempDir()
	e.app.Config.VarDir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	start := time.Now()
	cmd := e.app.trainCmd()
	cmd.SetArgs([]string{"--split", "train", "--k", "2", "--draws", "0", "--folds", "4", "--max-len", "96", "--d-model", "32", "--layers", "1",
		"--heads", "2", "--ff", "64", "--epochs", "3", "--batch-size", "16", "--max-steps", "20", "--lr", "3e-3", "--threads", "1", "--device", "cpu",
		"--val-fold", "2"})
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("replay + train + export + parity + register in %s", took.Round(time.Millisecond))
	if took > 60*time.Second {
		t.Errorf("train took %s, the CI budget is 60 s", took)
	}

	reg := model.Registry{Dir: filepath.Join(dir, "models")}
	ms, err := reg.List()
	if err != nil || len(ms) != 1 {
		t.Fatalf("registry: %v %v", ms, err)
	}
	m := ms[0]
	if _, err := os.Stat(filepath.Join(reg.Dir, m.Version, "model.onnx")); err != nil {
		t.Error(err)
	}
	if m.Dataset.Stats.Examples != 16*6 || m.Dataset.Stats.FilteredOut != 1 || m.Dataset.Stats.Pairs != 16*2*2 || len(m.Dataset.Hash) != 64 {
		t.Errorf("dataset info %+v", m.Dataset)
	}
	consumed := map[string]int64{}
	for _, r := range m.Dataset.Consumed {
		consumed[r.Topic] += r.Count
	}
	if consumed["verdicts"] != int64(nVerdicts) || consumed["candidates"] != int64(nVerdicts) || consumed["problems"] != 17 {
		t.Errorf("consumed %v, want every published record", consumed)
	}
	if m.Training.ParityMaxAbsDiff > 1e-4 || m.Training.Steps == 0 || m.Training.Steps > 20 || m.Tokenizer.Kind != model.TokenizerKind || m.MaxLen != 96 {
		t.Errorf("manifest %+v", m)
	}
	if m.Metrics.ValProblems != 4 {
		t.Errorf("validated on %d problems, want one fold of 4", m.Metrics.ValProblems)
	}
	// --val-fold 2: the manifest names fold 2 of 4 with the deal's seed, which is what eval --holdout reads.
	if m.Training.ValFold != 2 || m.Training.Folds != 4 || m.Training.Seed != 1 {
		t.Errorf("manifest validation fold %d of %d (seed %d), want 2 of 4 (seed 1)", m.Training.ValFold, m.Training.Folds, m.Training.Seed)
	}
	if _, err := os.Stat(filepath.Join(dir, "train", m.Dataset.Hash[:12], "fold-2", "model.onnx")); err != nil {
		t.Errorf("fold-2 work dir: %v", err)
	}

	runs, err := e.sink.TrainingRuns(ctx, m.Version)
	if err != nil || len(runs) != 1 || runs[0].ValProblems != 4 || runs[0].Fold != 2 || runs[0].DatasetHash != m.Dataset.Hash {
		t.Errorf("clickhouse training runs %+v %v", runs, err)
	}
	evs, err := streams.ReadDeadLetters(ctx, e.app.Cluster(), streams.TopicModels) // any topic: key and value
	if err != nil || len(evs) != 1 || string(evs[0].Key) != m.Version {
		t.Fatalf("models topic: %v %v", evs, err)
	}
	codec, err := schemas.NewModelEventCodec()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := codec.Decode(evs[0].Value) // Avro, not the legacy JSON
	if err != nil || model.Matches(ev, m) != nil || ev.DatasetHash != m.Dataset.Hash || ev.Metrics.ValProblems != int32(m.Metrics.ValProblems) {
		t.Errorf("model event %+v %v", ev, err)
	}

	show := e.app.modelsCmd()
	show.SetArgs([]string{"show", "latest"})
	if err := show.ExecuteContext(ctx); err != nil {
		t.Error(err)
	}
	list := e.app.modelsCmd()
	list.SetArgs([]string{"list"})
	if err := list.ExecuteContext(ctx); err != nil {
		t.Error(err)
	}

	out := filepath.Join(dir, "data.jsonl")
	exp := e.app.exportCmd()
	exp.SetArgs([]string{"--out", out, "--split", "train"})
	if err := exp.ExecuteContext(ctx); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r trainer.ExportRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.ProblemID == "" || r.Code == "" || r.Prompt == "" || (r.Label != "PASS" && r.Label != "FAIL") || r.Split != "train" {
			t.Fatalf("line %d: %s (%v)", n+1, sc.Bytes(), err)
		}
		n++
	}
	if n != 16*6 {
		t.Errorf("exported %d lines, want %d", n, 16*6)
	}

	// --from-export reads the export back into the very dataset the topics gave (same content hash).
	rep, err := trainer.ReadExport(out)
	if err != nil {
		t.Fatal(err)
	}
	d := trainer.DatasetSpec{Splits: []string{"train"}, K: 2, Folds: 4, Seed: 1}
	ds, _, err := trainer.BuildReplayed(rep, d, io.Discard)
	if err != nil || ds.Hash != m.Dataset.Hash {
		t.Errorf("dataset from the export: hash %v, want %s (%v)", ds, m.Dataset.Hash, err)
	}
}

// A validation fold outside the deal, or together with --cv, is refused before any replay or training.
func TestTrainValFoldFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--folds", "4", "--val-fold", "4"}, "--val-fold 4: want 0 … 3"},
		{[]string{"train", "--val-fold", "5"}, "--val-fold 5: want 0 … 4"},
		{[]string{"train", "--val-fold", "-1"}, "--val-fold -1"},
		{[]string{"train", "--cv", "5", "--val-fold", "1"}, "--val-fold and --cv exclude each other"},
	} {
		out, err := runCLI(t, append(c.args, "--train-python", "/nonexistent/python3")...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an error containing %q\n%s", c.args, err, c.want, out)
		}
	}
}
