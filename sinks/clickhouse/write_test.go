package clickhouse

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

func TestRedeliveryDoesNotDoubleCount(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	var vs []schemas.Verdict
	vs = append(vs, problemVerdicts("mbpp", "test", "m1", "p1", 10, 3)...)
	vs = append(vs, problemVerdicts("mbpp", "test", "m1", "p2", 20, 0)...)
	vs = append(vs, problemVerdicts("humaneval", "test", "m1", "h1", 5, 5)...)

	if err := s.WriteVerdicts(ctx, vs); err != nil {
		t.Fatal(err)
	}
	rows, distinct, err := s.VerdictCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows != 35 || distinct != 35 {
		t.Fatalf("after first delivery: rows=%d distinct=%d, want 35/35", rows, distinct)
	}
	before, err := s.Report(ctx, ReportFilter{})
	if err != nil {
		t.Fatal(err)
	}

	// Redeliver everything, then a subset once more, each as its own insert (separate parts that
	// are not merged yet).
	if err := s.WriteVerdicts(ctx, vs); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteVerdicts(ctx, vs[5:15]); err != nil {
		t.Fatal(err)
	}
	var raw uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM verdicts").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if raw <= 35 {
		// Otherwise this test would not be testing deduplication at read time.
		t.Logf("server already collapsed the duplicates (raw rows %d)", raw)
	}
	rows, distinct, err = s.VerdictCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows != 35 || distinct != 35 {
		t.Fatalf("after redelivery (raw rows %d): rows=%d distinct=%d, want 35/35", raw, rows, distinct)
	}
	after, err := s.Report(ctx, ReportFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if !reportsEqual(before, after) {
		t.Fatalf("report changed by redelivery:\nbefore %+v\nafter  %+v", before, after)
	}

	// A re-execution (later executed_at) replaces the old label rather than adding a candidate.
	re := vs[3] // p1 sample 3 failed
	re.Label, re.FailureKind, re.ExecutedAtMs = schemas.Pass, schemas.KindNone, re.ExecutedAtMs+60_000
	if err := s.WriteVerdicts(ctx, []schemas.Verdict{re}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Report(ctx, ReportFilter{Benchmark: "mbpp"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Candidates != 30 || got[0].Passed != 4 {
		t.Fatalf("after re-execution: %+v, want 30 candidates 4 passed", got)
	}
}

func TestVerdictRoundTripsEveryField(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	want := verdict("mbpp", "test", "m1", "p7", 4, false)
	want.Detail = "Traceback …\nAssertionError: 'naïve' != 'naive'"
	if err := s.WriteVerdicts(ctx, []schemas.Verdict{want}); err != nil {
		t.Fatal(err)
	}
	var (
		got        schemas.Verdict
		label      string
		idx        []int32
		passed     []uint8
		kind, msg  []string
		executedMs uint64
		executedAt time.Time
	)
	err := s.conn.QueryRow(ctx, `SELECT candidate_id, request_id, problem_id, benchmark, split, model, sample_index,
	    toString(label), failure_kind, detail, test_index, test_passed, test_kind, test_message,
	    runtime_ms, executor_version, test_suite_hash, code_sha256, executed_at_ms, executed_at
	    FROM verdicts FINAL`).Scan(&got.CandidateID, &got.RequestID, &got.ProblemID, &got.Benchmark, &got.Split,
		&got.Model, &got.SampleIndex, &label, &got.FailureKind, &got.Detail, &idx, &passed, &kind, &msg,
		&got.RuntimeMs, &got.ExecutorVersion, &got.TestSuiteHash, &got.CodeSHA256, &executedMs, &executedAt)
	if err != nil {
		t.Fatal(err)
	}
	got.Label, got.ExecutedAtMs = label, int64(executedMs)
	for i := range idx {
		got.Tests = append(got.Tests, schemas.TestOutcome{Index: idx[i], Passed: passed[i] == 1, Kind: kind[i], Message: msg[i]})
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if executedAt.Unix() != want.ExecutedAtMs/1000 {
		t.Fatalf("executed_at = %v, want unix %d", executedAt, want.ExecutedAtMs/1000)
	}
}

func TestWriteVerdictsRejectsBadRowsBeforeSending(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	good := verdict("mbpp", "test", "m1", "p1", 0, true)
	bad := verdict("mbpp", "test", "m1", "p1", 1, true)
	bad.Label = "MAYBE"
	if err := s.WriteVerdicts(ctx, []schemas.Verdict{good, bad}); err == nil {
		t.Fatal("want an error for label MAYBE")
	}
	if rows, _, err := s.VerdictCount(ctx); err != nil || rows != 0 {
		t.Fatalf("rows=%d err=%v: a rejected batch must write nothing", rows, err)
	}
	if err := s.WriteVerdicts(ctx, nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
}
