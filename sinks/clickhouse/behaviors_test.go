package clickhouse

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/schemas"
)

// behavior builds the behaviour of the candidate verdict(benchmark, split, model, problem, sample)
// describes: statuses[i] is its status on generated test tests[i].
func behavior(benchmark, split, model, problem string, sample int, tests, statuses []string) schemas.Behavior {
	v := verdict(benchmark, split, model, problem, sample, true)
	b := schemas.Behavior{
		CandidateID: v.CandidateID, RequestID: v.RequestID, ProblemID: problem, Benchmark: benchmark,
		Split: split, Model: model, SampleIndex: int32(sample), TestsHash: "tests-v1",
		RuntimeMs: 3.5, ExecutorVersion: "executor-v1", ExecutedAtMs: v.ExecutedAtMs,
	}
	for i, id := range tests {
		b.Results = append(b.Results, schemas.GeneratedTestResult{
			TestID: id, Frequency: int32(i + 1), Status: statuses[i], Fingerprint: "fp-" + id,
		})
	}
	return b
}

func TestWriteBehaviorsRoundTripAndRedelivery(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	bs := []schemas.Behavior{
		behavior("mbpp", "test", "m1", "p1", 0, []string{"t1", "t2"}, []string{schemas.TestPass, schemas.TestFail}),
		behavior("mbpp", "test", "m1", "p1", 1, []string{"t1", "t2"}, []string{schemas.TestError, schemas.TestTimeout}),
		behavior("mbpp", "test", "m1", "p1", 2, nil, nil), // no generated tests: empty arrays
	}
	if err := s.WriteBehaviors(ctx, bs); err != nil {
		t.Fatal(err)
	}
	// A redelivery, and a re-execution of sample 1 with a newer result that must win.
	again := behavior("mbpp", "test", "m1", "p1", 1, []string{"t1", "t2"}, []string{schemas.TestPass, schemas.TestPass})
	again.ExecutedAtMs += 1000
	if err := s.WriteBehaviors(ctx, bs); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBehaviors(ctx, []schemas.Behavior{again}); err != nil {
		t.Fatal(err)
	}
	rows, distinct, err := s.BehaviorCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows != 3 || distinct != 3 {
		t.Fatalf("rows=%d distinct=%d, want 3/3", rows, distinct)
	}
	var ids, statuses, fps []string
	var freqs []int32
	var execMs uint64
	err = s.conn.QueryRow(ctx, `SELECT test_id, test_frequency, test_status, test_fingerprint, executed_at_ms
		FROM behaviors FINAL WHERE candidate_id = ?`, again.CandidateID).Scan(&ids, &freqs, &statuses, &fps, &execMs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids, []string{"t1", "t2"}) || !reflect.DeepEqual(freqs, []int32{1, 2}) ||
		!reflect.DeepEqual(statuses, []string{"pass", "pass"}) || !reflect.DeepEqual(fps, []string{"fp-t1", "fp-t2"}) ||
		execMs != uint64(again.ExecutedAtMs) {
		t.Fatalf("stored %v %v %v %v at %d; want the re-execution", ids, freqs, statuses, fps, execMs)
	}
}

func TestCheckRowsRefuseWhatCannotBeStored(t *testing.T) {
	good := behavior("mbpp", "test", "m1", "p1", 0, []string{"t1"}, []string{schemas.TestPass})
	if err := CheckBehavior(good); err != nil {
		t.Fatalf("valid behavior refused: %v", err)
	}
	mutate := func(f func(*schemas.Behavior)) schemas.Behavior {
		b := good
		b.Results = append([]schemas.GeneratedTestResult(nil), good.Results...)
		f(&b)
		return b
	}
	badBehaviors := map[string]schemas.Behavior{
		"empty candidate_id": mutate(func(b *schemas.Behavior) { b.CandidateID = "" }),
		`status "skipped"`:   mutate(func(b *schemas.Behavior) { b.Results[0].Status = "skipped" }),
		"empty test_id":      mutate(func(b *schemas.Behavior) { b.Results[0].TestID = "" }),
		"negative executed":  mutate(func(b *schemas.Behavior) { b.ExecutedAtMs = -5 }),
	}
	for want, b := range badBehaviors {
		err := CheckBehavior(b)
		if !errors.Is(err, ErrInvalidRow) || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckBehavior(%s) = %v, want ErrInvalidRow mentioning it", want, err)
		}
	}
	v := verdict("mbpp", "test", "m1", "p1", 0, true)
	v.Label = "MAYBE"
	if err := CheckVerdict(v); !errors.Is(err, ErrInvalidRow) || !strings.Contains(err.Error(), `label "MAYBE"`) {
		t.Errorf("CheckVerdict(bad label) = %v", err)
	}
}

func TestWriteBehaviorsRefusesABatchWithAnInvalidRow(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	bad := behavior("mbpp", "test", "m1", "p1", 1, []string{"t1"}, []string{"skipped"})
	err := s.WriteBehaviors(ctx, []schemas.Behavior{behavior("mbpp", "test", "m1", "p1", 0, nil, nil), bad})
	if !errors.Is(err, ErrInvalidRow) {
		t.Fatalf("WriteBehaviors with an invalid row: %v, want ErrInvalidRow", err)
	}
	if rows, _, err := s.BehaviorCount(ctx); err != nil || rows != 0 {
		t.Fatalf("rows=%d err=%v: nothing of a refused batch may be written", rows, err)
	}
}
