package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/trainer"
)

// TestExportLabelsFromClickHouse: export --labels clickhouse joins the replayed problems and
// candidates with ClickHouse's verdicts (FINAL, the newest execution), not the verdicts topic.
func TestExportLabelsFromClickHouse(t *testing.T) {
	e := newEnv(t)
	publishLabeled(t, e, 4, 5)
	ctx := context.Background()
	vs, bad, err := streams.ReadAll(ctx, e.app.Cluster(), "verdicts", e.codecs.Verdict)
	if err != nil || bad > 0 {
		t.Fatalf("read verdicts: %v (undecodable %d)", err, bad)
	}
	// ClickHouse holds every verdict, and a later re-execution of one PASS that now FAILs.
	flipped := slices.IndexFunc(vs, func(v schemas.Verdict) bool { return v.Label == schemas.Pass && v.Split == "train" })
	again := vs[flipped]
	again.Label, again.FailureKind, again.ExecutedAtMs = schemas.Fail, schemas.KindException, again.ExecutedAtMs+1000
	if err := e.sink.WriteVerdicts(ctx, append(slices.Clone(vs), again)); err != nil {
		t.Fatal(err)
	}
	export := func(labels string) map[string]trainer.ExportRecord {
		t.Helper()
		out := filepath.Join(t.TempDir(), labels+".jsonl")
		exp := e.app.exportCmd()
		exp.SetArgs([]string{"--out", out, "--split", "train", "--labels", labels})
		if err := exp.ExecuteContext(ctx); err != nil {
			t.Fatalf("export --labels %s: %v", labels, err)
		}
		rep, err := trainer.ReadExport(out)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]trainer.ExportRecord{}
		for i, c := range rep.Candidates {
			got[c.CandidateID] = trainer.ExportRecord{ProblemID: c.ProblemID, Code: c.Code, Label: rep.Verdicts[i].Label, FailureKind: rep.Verdicts[i].FailureKind}
		}
		return got
	}
	fromTopic, fromCH := export("topic"), export("clickhouse")
	if len(fromTopic) == 0 || len(fromTopic) != len(fromCH) {
		t.Fatalf("%d records from the topic, %d with ClickHouse labels", len(fromTopic), len(fromCH))
	}
	for id, r := range fromTopic {
		c := fromCH[id]
		switch {
		case id == again.CandidateID && (r.Label != schemas.Pass || c.Label != schemas.Fail || c.FailureKind != schemas.KindException):
			t.Errorf("re-executed %s: topic %s, ClickHouse %s/%s; want PASS then FAIL/exception", id, r.Label, c.Label, c.FailureKind)
		case id != again.CandidateID && r != c:
			t.Errorf("%s: topic %+v, ClickHouse %+v", id, r, c)
		}
	}
	exp := e.app.exportCmd()
	exp.SetArgs([]string{"--out", filepath.Join(t.TempDir(), "x.jsonl"), "--labels", "clickhouse", "--offsets", "verdicts:0=3"})
	if err := exp.ExecuteContext(ctx); err == nil || !strings.Contains(err.Error(), "verdicts offsets") {
		t.Errorf("verdicts offsets with ClickHouse labels: %v", err)
	}
}
