package schemas

import "testing"

func TestRerankCodecsRoundTrip(t *testing.T) {
	c, err := NewRerankCodecs()
	if err != nil {
		t.Fatal(err)
	}
	s := Score{CandidateID: "c1", RequestID: "r1", ProblemID: "humaneval/HumanEval/0", Energy: -1.25, ModelVersion: "v1", ScoredAtMs: 7}
	b, err := c.Score.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Score.Decode(b); err != nil || got != s {
		t.Fatalf("score: %+v, %v", got, err)
	}
	sel := Selection{RequestID: "r1", ProblemID: "p", CandidateID: "c1", Energy: 0.5, Candidates: 3, Expected: 4, Partial: true, ModelVersion: "v2", SelectedAtMs: 9}
	b, err = c.Selection.Encode(sel)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Selection.Decode(b); err != nil || got != sel {
		t.Fatalf("selection: %+v, %v", got, err)
	}
	if _, err := c.Selection.Decode(b[:len(b)-3]); err == nil {
		t.Fatal("truncated selection decoded")
	}
	if (Score{CandidateID: "c"}).Validate() == nil || (Selection{RequestID: "r", CandidateID: "c"}).Validate() == nil {
		t.Fatal("a score or selection without a model version is valid")
	}
}
