package reranker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/codeverify/codeverify/processors/verifier"
	"github.com/codeverify/codeverify/schemas"
)

// TestJoinReleasesCandidatesOnlyOncePublished: a waiting candidate is a callback, called with its
// Score (problem, version, timestamp) only after its request's selection was published; a
// redelivered duplicate waiting beside it gets the same Score; afterwards nothing is held and a late
// duplicate is refused without being kept.
func TestJoinReleasesCandidatesOnlyOncePublished(t *testing.T) {
	j, err := NewJoin(testModel("v1", &lenScorer{}, 16), Options{Bound: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]schemas.Score{}
	done := func(id string) func(schemas.Score) {
		return func(sc schemas.Score) { got[id] = append(got[id], sc) }
	}
	j.Expect("r", 2, t0)
	for _, c := range []Candidate{{RequestID: "r", CandidateID: "a", Code: "long code"}, {RequestID: "r", CandidateID: "b", Code: "short"},
		{RequestID: "r", CandidateID: "b", Code: "short"}} {
		if err := j.Candidate(c, "p1", t0, done(c.CandidateID)); err != nil {
			t.Fatal(err)
		}
	}
	if n := j.Waiting(); n != 3 {
		t.Fatalf("waiting %d, want 3", n)
	}
	now := t0.Add(time.Second)
	sels, err := j.Flush(context.Background(), now)
	if err != nil || len(sels) != 1 {
		t.Fatalf("flush: %+v %v", sels, err)
	}
	want := schemas.Selection{RequestID: "r", ProblemID: "p1", CandidateID: "b", Energy: sels[0].Energy, Candidates: 2, Expected: 2,
		ModelVersion: "v1", SelectedAtMs: now.UnixMilli()}
	if sels[0] != want {
		t.Errorf("selection %+v, want %+v", sels[0], want)
	}
	if len(got) != 0 || j.Waiting() != 3 {
		t.Fatalf("released before the selection was published: %v", got)
	}
	j.Published(sels)
	if len(got["a"]) != 1 || len(got["b"]) != 2 || got["b"][0] != got["b"][1] {
		t.Fatalf("released %v: want a once and b twice, alike", got)
	}
	if sc := got["b"][0]; sc.ProblemID != "p1" || sc.ModelVersion != "v1" || sc.ScoredAtMs != now.UnixMilli() || float32(sc.Energy) != float32(sels[0].Energy) {
		t.Errorf("score %+v", sc)
	}
	if j.Waiting() != 0 || j.Open() != 0 || j.Selected() != 1 || j.Partial() != 0 {
		t.Errorf("after publishing: waiting %d, open %d, selected %d, partial %d", j.Waiting(), j.Open(), j.Selected(), j.Partial())
	}
	called := false
	err = j.Candidate(Candidate{RequestID: "r", CandidateID: "a", Code: "late"}, "p1", t0, func(schemas.Score) { called = true })
	if !errors.Is(err, ErrSelected) || j.Waiting() != 0 || called {
		t.Errorf("late duplicate: %v, waiting %d, called %v", err, j.Waiting(), called)
	}
	if err := j.Candidate(Candidate{CandidateID: "x"}, "p1", t0, nil); err == nil || j.Waiting() != 0 {
		t.Errorf("candidate without a request: %v, waiting %d", err, j.Waiting())
	}
}

// TestJoinHoldsBehaviorsUntilSelectedOrDropped: a behaviour is released with its request's
// selection, or when its request is dropped at the bound with no candidate (and then OnDrop is
// told); one of a selected request is refused and not kept.
func TestJoinHoldsBehaviorsUntilSelectedOrDropped(t *testing.T) {
	m := testModel("f1", &featScorer{}, 16)
	m.Features = verifier.FeatureNames()
	var dropped []string
	j, err := NewJoin(m, Options{Bound: time.Minute, OnDrop: func(id string) { dropped = append(dropped, id) }})
	if err != nil {
		t.Fatal(err)
	}
	released := map[string]int{}
	hold := func(b schemas.Behavior) {
		t.Helper()
		if err := j.Behavior(b, t0, func() { released[b.RequestID]++ }); err != nil {
			t.Fatal(err)
		}
	}
	j.Expect("r", 1, t0)
	hold(behavior("r", "a", "t1"))
	hold(behavior("lonely", "x", "t1"))
	if err := j.Candidate(Candidate{RequestID: "r", CandidateID: "a", Code: "a"}, "p", t0, func(schemas.Score) {}); err != nil {
		t.Fatal(err)
	}
	sels, err := j.Flush(context.Background(), t0)
	if err != nil || len(sels) != 1 || sels[0].Partial {
		t.Fatalf("flush: %+v %v", sels, err)
	}
	if released["r"] != 0 {
		t.Fatal("behaviour released before its selection was published")
	}
	j.Published(sels)
	if released["r"] != 1 || released["lonely"] != 0 {
		t.Errorf("released %v after r's selection", released)
	}
	if err := j.Behavior(behavior("r", "a"), t0, func() { released["r"]++ }); !errors.Is(err, ErrSelected) || released["r"] != 1 {
		t.Errorf("behaviour of a selected request: %v", err)
	}
	if sels, _ := j.Flush(context.Background(), t0.Add(time.Minute)); len(sels) != 0 {
		t.Errorf("a request without candidates was selected: %+v", sels)
	}
	if released["lonely"] != 1 || len(dropped) != 1 || dropped[0] != "lonely" || j.Waiting() != 0 {
		t.Errorf("dropped request: released %v, OnDrop %v, waiting %d", released, dropped, j.Waiting())
	}
}

// TestJoinCountsPartialSelections: a request selected at the bound among fewer candidates than its
// prompt asked for counts as partial once published.
func TestJoinCountsPartialSelections(t *testing.T) {
	j, _ := NewJoin(testModel("v1", &lenScorer{}, 16), Options{Bound: time.Minute})
	j.Expect("r", 3, t0)
	j.Candidate(Candidate{RequestID: "r", CandidateID: "a", Code: "a"}, "p", t0, func(schemas.Score) {})
	sels, err := j.Flush(context.Background(), t0.Add(time.Minute))
	if err != nil || len(sels) != 1 || !sels[0].Partial {
		t.Fatalf("flush at the bound: %+v %v", sels, err)
	}
	j.Published(sels)
	if j.Selected() != 1 || j.Partial() != 1 {
		t.Errorf("selected %d, partial %d", j.Selected(), j.Partial())
	}
}
